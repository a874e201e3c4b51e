/* test-trace: W3C traceparent parsing and formatting (vectors from the
 * Trace Context specification), random ids, request ids on log lines. */
#define _GNU_SOURCE /* syscall() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rivet/net/trace.h>

/* The library's getrandom() calls land here (the executable's definition
 * interposes), so the tests can script failures, EINTR, short reads and an
 * all-zero draw. Mode 0 passes through to the kernel. */
static int rand_mode;
static int rand_calls;

ssize_t getrandom(void *buf, size_t n, unsigned int flags) {
  rand_calls++;
  switch (rand_mode) {
  case 1: /* fail */
    errno = EIO;
    return -1;
  case 2: /* EINTR first, then one byte at a time, zeros for the first seed */
    if (rand_calls == 1) {
      errno = EINTR;
      return -1;
    }
    *(unsigned char *)buf = rand_calls <= 33 ? 0 : (unsigned char)rand_calls;
    return 1;
  default:
    return syscall(SYS_getrandom, buf, n, flags);
  }
}

#define SPEC_EXAMPLE "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static void test_parse_format(void **state) {
  (void)state;
  rv_trace_ctx c;
  assert_int_equal(rv_trace_parse(SPEC_EXAMPLE, strlen(SPEC_EXAMPLE), &c), RV_OK);
  static const uint8_t tid[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                  0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
  static const uint8_t sid[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
  assert_memory_equal(c.trace_id, tid, 16);
  assert_memory_equal(c.span_id, sid, 8);
  assert_int_equal(c.flags, RV_TRACE_SAMPLED);
  char out[RV_TRACEPARENT_LEN + 1];
  rv_trace_format(&c, out);
  assert_string_equal(out, SPEC_EXAMPLE);
  char id[RV_TRACE_ID_LEN + 1];
  rv_trace_request_id(&c, id);
  assert_string_equal(id, "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331");
  /* A later version: parsed as 00 when followed by '-' or nothing; unknown
   * flags are dropped. */
  const char *v1 = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-extra";
  assert_int_equal(rv_trace_parse(v1, strlen(v1), &c), RV_OK);
  assert_int_equal(c.flags, 1);
  assert_int_equal(rv_trace_parse(v1, 55, &c), RV_OK);
}

static void test_parse_invalid(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",  /* short */
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", /* uppercase */
      "00-00000000000000000000000000000000-b7ad6b7169203331-01", /* zero trace id */
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", /* zero span id */
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* version ff */
      "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* bad version */
      "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* separators */
      "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333z-01", /* bad hex */
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0z",
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x", /* later version, no '-' */
  };
  rv_trace_ctx c;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (rv_trace_parse(bad[i], strlen(bad[i]), &c) != RV_EMALFORMED) {
      fail_msg("accepted %s", bad[i]);
    }
  }
  assert_int_equal(rv_trace_parse(NULL, 0, &c), RV_EMALFORMED);
  const char *long00 = SPEC_EXAMPLE "-x";
  assert_int_equal(rv_trace_parse(long00, strlen(long00), &c), RV_EUNSUPPORTED);
}

static void test_new_child(void **state) {
  (void)state;
  rv_trace_ctx a, b;
  assert_int_equal(rv_trace_new(&a, 0), RV_OK);
  assert_int_equal(rv_trace_new(&b, RV_TRACE_SAMPLED), RV_OK);
  assert_memory_not_equal(a.trace_id, b.trace_id, 16); /* 2^-128 to fail */
  assert_int_equal(b.flags, RV_TRACE_SAMPLED);
  char s[RV_TRACEPARENT_LEN + 1];
  rv_trace_format(&a, s);
  rv_trace_ctx back;
  assert_int_equal(rv_trace_parse(s, strlen(s), &back), RV_OK);
  assert_memory_equal(&back, &a, sizeof a);
  rv_trace_ctx child;
  assert_int_equal(rv_trace_child(&b, &child), RV_OK);
  assert_memory_equal(child.trace_id, b.trace_id, 16);
  assert_memory_not_equal(child.span_id, b.span_id, 8); /* 2^-64 to fail */
  assert_int_equal(child.flags, b.flags);
  assert_int_equal(rv_trace_child(&child, &child), RV_OK); /* aliasing allowed */
}

/* The generator is seeded once per thread, so each scripted source runs in
 * a fresh thread. */
typedef struct draw {
  rv_trace_ctx c;
  int rc_new, rc_child;
} draw;

static void *draw_thread(void *arg) {
  draw *d = arg;
  rv_trace_ctx keep = d->c;
  d->rc_new = rv_trace_new(&d->c, 0);
  d->rc_child = d->rc_new == RV_OK ? rv_trace_child(&d->c, &d->c) : rv_trace_child(&keep, &d->c);
  return NULL;
}

static void run_draw(draw *d) {
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, draw_thread, d), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_random_source(void **state) {
  (void)state;
  draw d;
  rv_trace_ctx keep;
  memset(&keep, 0x5a, sizeof keep);
  d.c = keep;
  rand_mode = 1;
  run_draw(&d);
  assert_int_equal(d.rc_new, RV_EIO);
  assert_int_equal(d.rc_child, RV_EIO);
  assert_memory_equal(&d.c, &keep, sizeof d.c); /* untouched on failure */
  /* EINTR is retried, short reads are completed, an all-zero seed redrawn. */
  rand_mode = 2;
  rand_calls = 0;
  run_draw(&d);
  rand_mode = 0;
  assert_int_equal(d.rc_new, RV_OK);
  assert_int_equal(d.rc_child, RV_OK);
  static const uint8_t zero[16] = {0};
  assert_memory_not_equal(d.c.trace_id, zero, 16);
  assert_memory_not_equal(d.c.span_id, zero, 8);
  assert_int_equal(rand_calls, 1 + 32 + 32); /* EINTR, the zero seed, the real one */
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* One seed per thread, no system call per id, and no repeats. */
static void test_ids_unique(void **state) {
  (void)state;
  enum { N = 20000 };
  rv_trace_ctx c;
  assert_int_equal(rv_trace_new(&c, 0), RV_OK); /* seeds this thread if needed */
  rand_calls = 0;
  static uint64_t ids[N];
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(rv_trace_child(&c, &c), RV_OK);
    memcpy(&ids[i], c.span_id, 8);
  }
  assert_int_equal(rand_calls, 0);
  qsort(ids, N, sizeof ids[0], cmp_u64);
  for (size_t i = 1; i < N; i++) {
    assert_true(ids[i] != ids[i - 1]);
  }
}

/* A forked child reseeds: it must not draw the ids its parent draws next. */
static void test_fork_reseeds(void **state) {
  (void)state;
  rv_trace_ctx c;
  assert_int_equal(rv_trace_new(&c, 0), RV_OK);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    rv_trace_ctx k;
    int calls = rand_calls;
    int ok = rv_trace_new(&k, 0) == RV_OK && rand_calls > calls;
    ssize_t w = write(fds[1], ok ? (const void *)&k : (const void *)"", ok ? sizeof k : 1);
    _exit(w == (ssize_t)sizeof k ? 0 : 1);
  }
  close(fds[1]);
  rv_trace_ctx mine, theirs;
  assert_int_equal(rv_trace_new(&mine, 0), RV_OK);
  assert_int_equal(read(fds[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);
  close(fds[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_memory_not_equal(mine.trace_id, theirs.trace_id, 16);
}

typedef struct captured {
  char line[512];
  int n;
} captured;

static int sink(void *ctx, rv_log_level level, const char *line, size_t len) {
  (void)level;
  captured *c = ctx;
  assert_true(len < sizeof c->line);
  memcpy(c->line, line, len);
  c->line[len] = '\0';
  c->n++;
  return RV_OK;
}

static void test_log_lines(void **state) {
  (void)state;
  captured cap = {{0}, 0};
  rv_log_options o = {0};
  o.sink = sink;
  o.sink_ctx = &cap;
  rv_log *log;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  rv_trace_ctx c;
  assert_int_equal(rv_trace_parse(SPEC_EXAMPLE, strlen(SPEC_EXAMPLE), &c), RV_OK);
  char id[RV_TRACE_ID_LEN + 1];
  rv_trace_request_id(&c, id);
  rv_log_field f[1] = {RV_LOG_INT("status", 200)};
  assert_int_equal(rv_trace_log(log, RV_LOG_INFO, id, "request done", f, 1), RV_OK);
  assert_int_equal(cap.n, 1);
  assert_non_null(
      strstr(cap.line, "\"request_id\":\"0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331\""));
  assert_non_null(strstr(cap.line, "\"status\":200"));
  assert_int_equal(rv_trace_log(log, RV_LOG_INFO, id, "no fields", NULL, 0), RV_OK);
  assert_non_null(strstr(cap.line, "\"request_id\""));
  rv_log_field many[16];
  for (int i = 0; i < 16; i++) {
    many[i] = RV_LOG_INT("k", i);
  }
  assert_int_equal(rv_trace_log(log, RV_LOG_INFO, id, "m", many, 16), RV_EINVAL);
  assert_int_equal(rv_trace_log(log, RV_LOG_INFO, id, "m", NULL, 1), RV_EINVAL);
  assert_int_equal(cap.n, 2);
  rv_log_field lf = rv_trace_log_field(id);
  assert_string_equal(lf.key, "request_id");
  rv_log_destroy(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_format), cmocka_unit_test(test_parse_invalid),
      cmocka_unit_test(test_new_child),    cmocka_unit_test(test_random_source),
      cmocka_unit_test(test_ids_unique),   cmocka_unit_test(test_fork_reseeds),
      cmocka_unit_test(test_log_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
