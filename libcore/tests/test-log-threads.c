/* Tests for log with several threads logging at once (suite 'concurrent',
 * run again under TSan): through a sink that is not thread-safe (the log
 * serialises it) and through the fd sink on a shared O_APPEND file (one
 * write(2) per line). Every line must arrive whole, every (thread, seq)
 * once and in order per thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/core/err.h>
#include <rivet/core/log.h>

static int64_t fixed_ns = INT64_C(1795462250123456789);
static int64_t fixed_clock(void *ctx) { return *(const int64_t *)ctx; }

enum { THREADS = 4, PER_THREAD = 1500 };

struct collect {
  char *data; /* every line, appended by a sink that is not thread-safe */
  size_t len;
  size_t cap;
  _Atomic int inside; /* detects two sink calls at once */
  _Atomic int overlap;
};

static int collect_sink(void *ctx, rv_log_level level, const char *line, size_t len) {
  (void)level;
  struct collect *c = ctx;
  if (atomic_fetch_add(&c->inside, 1) != 0) {
    atomic_store(&c->overlap, 1);
  }
  if (c->len + len <= c->cap) {
    memcpy(c->data + c->len, line, len);
    c->len += len;
  }
  atomic_fetch_sub(&c->inside, 1);
  return RV_OK;
}

struct worker {
  rv_log *log;
  int id;
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    /* Some records go past the stack buffer, to the heap path. */
    const char *pad = (i % 50 == 0)
                          ? "long-long-long-long-long-long-long-long-long-long-long-long-long-long-"
                            "long-long-long-long-long-long-long-long-long-long-long-long-long-long"
                          : "";
    rv_log_info(w->log, "tick", RV_LOG_INT("t", w->id), RV_LOG_INT("seq", i),
                RV_LOG_STR("pad", pad), RV_LOG_STR("pad2", i % 50 == 0 ? pad : ""),
                RV_LOG_STR("pad3", pad), RV_LOG_STR("pad4", pad), RV_LOG_STR("pad5", pad),
                RV_LOG_STR("pad6", pad), RV_LOG_STR("pad7", pad), RV_LOG_STR("pad8", pad));
  }
  return NULL;
}

/* Every line whole, every (thread, seq) once and in order per thread. */
static void check_lines(const char *data, size_t len) {
  long next[THREADS] = {0};
  size_t lines = 0;
  const char *p = data;
  const char *end = data + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    assert_non_null(nl);
    /* Parse a NUL-terminated copy: the buffer holds only lines, no NUL. */
    char line[2048];
    size_t n = (size_t)(nl - p);
    assert_true(n < sizeof line);
    memcpy(line, p, n);
    line[n] = '\0';
    assert_true(line[0] == '{' && line[n - 1] == '}');
    const char *ts = strstr(line, "\"t\":");
    assert_non_null(ts);
    char *after;
    long t = strtol(ts + 4, &after, 10);
    assert_true(strncmp(after, ",\"seq\":", 7) == 0);
    long seq = strtol(after + 7, &after, 10);
    assert_int_equal(*after, ',');
    assert_true(t >= 0 && t < THREADS);
    if (seq != next[t]) {
      fail_msg("thread %ld: line %zu has seq %ld, want %ld", t, lines, seq, next[t]);
    }
    next[t]++;
    lines++;
    p = nl + 1;
  }
  assert_int_equal(lines, THREADS * PER_THREAD);
}

static void run_threads(rv_log *log) {
  pthread_t th[THREADS];
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i].log = log;
    w[i].id = i;
    assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
  }
}

static void test_threads(void **state) {
  (void)state;
  /* A sink that is not thread-safe: the log serialises it. */
  struct collect c;
  memset(&c, 0, sizeof c);
  c.cap = (size_t)THREADS * PER_THREAD * 2048;
  c.data = malloc(c.cap);
  assert_non_null(c.data);
  rv_log_options o = {0};
  o.sink = collect_sink;
  o.sink_ctx = &c;
  o.clock = fixed_clock;
  o.clock_ctx = &fixed_ns;
  rv_log *log;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  run_threads(log);
  rv_log_destroy(log);
  assert_int_equal(atomic_load(&c.overlap), 0);
  check_lines(c.data, c.len);

  /* The fd sink on a shared O_APPEND file: one write(2) per line. */
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  int fd = fileno(tmp);
  assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
  o.sink = rv_log_sink_fd;
  o.sink_ctx = &fd;
  o.sink_threadsafe = true;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  run_threads(log);
  rv_log_destroy(log);
  off_t size = lseek(fd, 0, SEEK_END);
  assert_true(size > 0 && (size_t)size <= c.cap);
  assert_int_equal(pread(fd, c.data, (size_t)size, 0), size);
  check_lines(c.data, (size_t)size);
  fclose(tmp);
  free(c.data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
