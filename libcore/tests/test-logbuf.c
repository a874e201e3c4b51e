/* test-logbuf: the batching sink keeps every line, in order, under
 * concurrent producers and a tiny capacity; flush, the timer and urgent
 * lines reach the file; write errors are reported and counted; bad options
 * and allocation failures are refused cleanly; it works under an rv_log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rivet/core/logbuf.h>

typedef struct tmpfile_t {
  char path[64];
  int fd;
} tmpfile_t;

static void tmp_open(tmpfile_t *t) {
  snprintf(t->path, sizeof t->path, "/tmp/rv-logbuf-XXXXXX");
  t->fd = mkstemp(t->path);
  assert_true(t->fd >= 0);
}

static void tmp_close(tmpfile_t *t) {
  close(t->fd);
  unlink(t->path);
}

/* The file's whole content, NUL-terminated; caller frees. */
static char *slurp(const tmpfile_t *t, size_t *len) {
  struct stat st;
  assert_int_equal(fstat(t->fd, &st), 0);
  char *s = malloc((size_t)st.st_size + 1);
  assert_non_null(s);
  assert_int_equal(pread(t->fd, s, (size_t)st.st_size, 0), st.st_size);
  s[st.st_size] = '\0';
  *len = (size_t)st.st_size;
  return s;
}

static void test_options(void **state) {
  (void)state;
  rv_logbuf *b = NULL;
  rv_logbuf_options o = {.fd = -1};
  assert_int_equal(rv_logbuf_create(&b, &o), RV_EINVAL);
  o.fd = 1;
  assert_int_equal(rv_logbuf_create(NULL, &o), RV_EINVAL);
  assert_int_equal(rv_logbuf_create(&b, NULL), RV_EINVAL);
  o.capacity = RV_LOGBUF_CAPACITY_MIN - 1;
  assert_int_equal(rv_logbuf_create(&b, &o), RV_EINVAL);
  o.capacity = 0;
  o.flush_ms = 60001;
  assert_int_equal(rv_logbuf_create(&b, &o), RV_EINVAL);
  o.flush_ms = 0;
  o.urgent_level = (rv_log_level)99;
  assert_int_equal(rv_logbuf_create(&b, &o), RV_EINVAL);
  assert_null(b);
  assert_int_equal(rv_logbuf_sink(NULL, RV_LOG_INFO, "x", 1), RV_EINVAL);
  assert_int_equal(rv_logbuf_flush(NULL), RV_EINVAL);
  assert_int_equal(rv_logbuf_destroy(NULL), RV_OK);
}

static void test_alloc_failures(void **state) {
  (void)state;
  for (size_t n = 0;; n++) {
    rv_alloc_failing fa;
    rv_logbuf_options o = {.fd = 1, .capacity = 4096, .alloc = rv_alloc_failing_init(&fa, NULL, n)};
    rv_logbuf *b = NULL;
    int rc = rv_logbuf_create(&b, &o);
    if (rc == RV_OK) {
      assert_int_equal(rv_logbuf_destroy(b), RV_OK);
      assert_int_equal(fa.live_blocks, 0);
      assert_true(n >= 3); /* the sink and two buffers */
      break;
    }
    assert_int_equal(rc, RV_ENOMEM);
    assert_int_equal(fa.live_blocks, 0);
  }
}

static void test_flush_and_destroy(void **state) {
  (void)state;
  tmpfile_t t;
  tmp_open(&t);
  rv_logbuf *b = NULL;
  rv_logbuf_options o = {.fd = t.fd, .flush_ms = 60000};
  assert_int_equal(rv_logbuf_create(&b, &o), RV_OK);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, "one\n", 4), RV_OK);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, "", 0), RV_OK);
  assert_int_equal(rv_logbuf_flush(b), RV_OK);
  size_t len;
  char *s = slurp(&t, &len);
  assert_string_equal(s, "one\n");
  free(s);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, "two\n", 4), RV_OK);
  char big[RV_LOGBUF_CAPACITY_DEFAULT + 1];
  memset(big, 'x', sizeof big);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, big, sizeof big), RV_ELIMIT);
  rv_logbuf_stats st;
  rv_logbuf_get_stats(b, &st);
  assert_int_equal(st.lines, 3);
  assert_int_equal(st.bytes, 8);
  assert_int_equal(rv_logbuf_destroy(b), RV_OK); /* writes "two" */
  s = slurp(&t, &len);
  assert_string_equal(s, "one\ntwo\n");
  free(s);
  tmp_close(&t);
}

/* Poll the file until it holds `want` bytes (bounded: 10 s). */
static bool wait_size(const tmpfile_t *t, off_t want) {
  for (int i = 0; i < 1000; i++) {
    struct stat st;
    if (fstat(t->fd, &st) == 0 && st.st_size >= want) {
      return true;
    }
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
  }
  return false;
}

static void test_timer_and_urgent(void **state) {
  (void)state;
  tmpfile_t t;
  tmp_open(&t);
  rv_logbuf *b = NULL;
  rv_logbuf_options o = {.fd = t.fd, .flush_ms = 20};
  assert_int_equal(rv_logbuf_create(&b, &o), RV_OK);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, "timed\n", 6), RV_OK);
  assert_true(wait_size(&t, 6)); /* written by the timer, no flush */
  assert_int_equal(rv_logbuf_destroy(b), RV_OK);
  /* An urgent line does not wait for a 60 s timer. */
  o.flush_ms = 60000;
  assert_int_equal(rv_logbuf_create(&b, &o), RV_OK);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_ERROR, "urgent\n", 7), RV_OK);
  assert_true(wait_size(&t, 13));
  assert_int_equal(rv_logbuf_destroy(b), RV_OK);
  tmp_close(&t);
}

static void test_write_error(void **state) {
  (void)state;
  int fd = open("/dev/full", O_WRONLY);
  if (fd < 0) {
    skip();
  }
  rv_logbuf *b = NULL;
  rv_logbuf_options o = {.fd = fd};
  assert_int_equal(rv_logbuf_create(&b, &o), RV_OK);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, "lost\n", 5), RV_OK);
  int rc = rv_logbuf_flush(b);
  assert_int_not_equal(rc, RV_OK);             /* ENOSPC, mapped */
  assert_int_equal(rv_logbuf_flush(b), RV_OK); /* reported once */
  rv_logbuf_stats st;
  rv_logbuf_get_stats(b, &st);
  assert_int_equal(st.dropped_bytes, 5);
  assert_int_equal(st.writes, 0);
  assert_int_equal(rv_logbuf_sink(b, RV_LOG_INFO, "lost\n", 5), RV_OK);
  assert_int_not_equal(rv_logbuf_destroy(b), RV_OK); /* the last error comes back */
  close(fd);
}

enum { THREADS = 4, LINES = 5000 };

typedef struct producer {
  rv_logbuf *b;
  rv_log *log;
  int id;
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  for (int i = 0; i < LINES; i++) {
    if (p->log != NULL) {
      rv_log_field f[2] = {RV_LOG_INT("t", p->id), RV_LOG_INT("i", i)};
      if (rv_log_write(p->log, RV_LOG_INFO, "m", f, 2) != RV_OK) {
        return (void *)1;
      }
    } else {
      char line[32];
      int n = snprintf(line, sizeof line, "%d %d\n", p->id, i);
      if (rv_logbuf_sink(p->b, RV_LOG_INFO, line, (size_t)n) != RV_OK) {
        return (void *)1;
      }
    }
  }
  return NULL;
}

/* Every line once, each thread's lines in order. */
static void check_lines(char *s, bool json) {
  int next[THREADS] = {0};
  int count = 0;
  for (char *save = NULL, *l = strtok_r(s, "\n", &save); l != NULL;
       l = strtok_r(NULL, "\n", &save)) {
    char *p = l;
    if (json) {
      p = strstr(l, "\"t\":");
      assert_non_null(p);
      p += 4;
    }
    char *end;
    long t = strtol(p, &end, 10);
    assert_true(end != p);
    p = end + (json ? 5 : 1); /* past `,"i":` or the space */
    long i = strtol(p, &end, 10);
    assert_true(end != p);
    assert_true(t >= 0 && t < THREADS);
    assert_int_equal(i, next[t]);
    next[t]++;
    count++;
  }
  assert_int_equal(count, THREADS * LINES);
}

static void run_producers(bool with_log) {
  tmpfile_t t;
  tmp_open(&t);
  rv_logbuf *b = NULL;
  /* A tiny buffer: producers must block and resume many times. */
  rv_logbuf_options o = {.fd = t.fd, .capacity = 512, .flush_ms = 1};
  assert_int_equal(rv_logbuf_create(&b, &o), RV_OK);
  rv_log *log = NULL;
  if (with_log) {
    rv_log_options lo = {
        .sink = rv_logbuf_sink, .sink_ctx = b, .sink_threadsafe = true, .max_record = 512};
    assert_int_equal(rv_log_create(&log, &lo), RV_OK);
  }
  pthread_t th[THREADS];
  producer p[THREADS];
  for (int i = 0; i < THREADS; i++) {
    p[i] = (producer){.b = b, .log = log, .id = i};
    assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    void *r;
    assert_int_equal(pthread_join(th[i], &r), 0);
    assert_null(r);
  }
  rv_logbuf_stats st;
  rv_logbuf_get_stats(b, &st);
  assert_int_equal(st.lines, THREADS * LINES);
  assert_true(st.writes >= 2);
  rv_log_destroy(log);
  assert_int_equal(rv_logbuf_destroy(b), RV_OK);
  size_t len;
  char *s = slurp(&t, &len);
  check_lines(s, with_log);
  free(s);
  tmp_close(&t);
}

static void test_producers(void **state) {
  (void)state;
  run_producers(false);
}

static void test_under_rv_log(void **state) {
  (void)state;
  run_producers(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options),           cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_flush_and_destroy), cmocka_unit_test(test_timer_and_urgent),
      cmocka_unit_test(test_write_error),       cmocka_unit_test(test_producers),
      cmocka_unit_test(test_under_rv_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
