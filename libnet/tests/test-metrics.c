/* test-metrics: exact Prometheus 0.0.4 output, a strict external checker
 * (check-prom.py) run on it, registration errors, allocation failures, and
 * concurrent updates. Usage: test-net-metrics PYTHON CHECKER */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rivet/net/metrics.h>

extern char **environ;

static const char *python, *checker;

/* Run the checker on `text`; return its exit status. */
static int run_checker(const char *text, size_t len) {
  char path[] = "/tmp/rivet-prom-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  char *argv[] = {(char *)python, (char *)checker, path, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, python, NULL, NULL, argv, environ), 0);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  unlink(path);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void expose(rv_metrics *m, rv_buf *b) {
  rv_buf_resize(b, 0);
  assert_int_equal(rv_metrics_expose(m, b), RV_OK);
}

static void test_golden(void **state) {
  (void)state;
  rv_metrics *m;
  assert_int_equal(rv_metrics_create(&m, NULL), RV_OK);
  rv_counter *get, *post;
  const char *l1[] = {"method", "GET", "path", "/a\\b\"c\nd"};
  const char *l2[] = {"method", "POST", "path", "/"};
  assert_int_equal(
      rv_metrics_counter(m, "http_requests_total", "Requests.\nBy \\method.", l1, 2, &get), RV_OK);
  assert_int_equal(rv_metrics_counter(m, "http_requests_total", "ignored", l2, 2, &post), RV_OK);
  rv_counter *again;
  assert_int_equal(rv_metrics_counter(m, "http_requests_total", "x", l1, 2, &again), RV_OK);
  assert_ptr_equal(again, get); /* same name and labels: same series */
  rv_counter_add(get, 3);
  rv_counter_add(post, 1);
  rv_gauge *g;
  assert_int_equal(rv_metrics_gauge(m, "temp_celsius", "Temperature", NULL, 0, &g), RV_OK);
  rv_gauge_set(g, 21.5);
  rv_gauge_add(g, -0.25);
  rv_histogram *h, *h2;
  const double bounds[] = {0.005, 0.1, 1, 2.5};
  const char *hl[] = {"route", "/x"};
  assert_int_equal(rv_metrics_histogram(m, "latency_seconds", "Latency", NULL, 0, bounds, 4, &h),
                   RV_OK);
  assert_int_equal(rv_metrics_histogram(m, "latency_seconds", "", hl, 1, bounds, 4, &h2), RV_OK);
  rv_histogram_observe(h, 0.001);
  rv_histogram_observe(h, 0.1); /* le is inclusive */
  rv_histogram_observe(h, 0.5);
  rv_histogram_observe(h, 100);
  rv_gauge *special;
  assert_int_equal(rv_metrics_gauge(m, "special", "", NULL, 0, &special), RV_OK);
  rv_gauge_set(special, -INFINITY);
  rv_buf b;
  rv_buf_init(&b, NULL);
  expose(m, &b);
  const char *want = "# HELP http_requests_total Requests.\\nBy \\\\method.\n"
                     "# TYPE http_requests_total counter\n"
                     "http_requests_total{method=\"GET\",path=\"/a\\\\b\\\"c\\nd\"} 3\n"
                     "http_requests_total{method=\"POST\",path=\"/\"} 1\n"
                     "# HELP temp_celsius Temperature\n"
                     "# TYPE temp_celsius gauge\n"
                     "temp_celsius 21.25\n"
                     "# HELP latency_seconds Latency\n"
                     "# TYPE latency_seconds histogram\n"
                     "latency_seconds_bucket{le=\"0.005\"} 1\n"
                     "latency_seconds_bucket{le=\"0.1\"} 2\n"
                     "latency_seconds_bucket{le=\"1\"} 3\n"
                     "latency_seconds_bucket{le=\"2.5\"} 3\n"
                     "latency_seconds_bucket{le=\"+Inf\"} 4\n"
                     "latency_seconds_sum 100.601\n"
                     "latency_seconds_count 4\n"
                     "latency_seconds_bucket{route=\"/x\",le=\"0.005\"} 0\n"
                     "latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 0\n"
                     "latency_seconds_bucket{route=\"/x\",le=\"1\"} 0\n"
                     "latency_seconds_bucket{route=\"/x\",le=\"2.5\"} 0\n"
                     "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 0\n"
                     "latency_seconds_sum{route=\"/x\"} 0\n"
                     "latency_seconds_count{route=\"/x\"} 0\n"
                     "# HELP special \n"
                     "# TYPE special gauge\n"
                     "special -Inf\n";
  if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
    fail_msg("got:\n%.*s", (int)b.len, (const char *)b.data);
  }
  assert_int_equal(run_checker((const char *)b.data, b.len), 0);
  assert_int_equal(rv_counter_value(get), 3);
  assert_true(fabs(rv_gauge_value(g) - 21.25) < 1e-12);
  assert_int_equal(rv_histogram_count(h), 4);
  rv_histogram_observe(h2, NAN); /* lands in +Inf; the sum becomes NaN */
  expose(m, &b);
  assert_int_equal(run_checker((const char *)b.data, b.len), 0);
  rv_buf_push(&b, 0);
  assert_non_null(strstr((const char *)b.data, "latency_seconds_sum{route=\"/x\"} NaN\n"));
  rv_buf_free(&b);
  rv_metrics_destroy(m);
}

/* The checker is not a rubber stamp: it rejects each of these. */
static void test_checker_rejects(void **state) {
  (void)state;
  static const char *const bad[] = {
      "a 1",                                       /* no final newline */
      "# TYPE a counter\n# TYPE a counter\na 1\n", /* two TYPEs */
      "a 1\n# TYPE a counter\n",                   /* TYPE after samples */
      "# TYPE a counter\na -1\n",                  /* negative counter */
      "a{x=\"1\",x=\"2\"} 1\n",                    /* repeated label */
      "a{x=\"\\t\"} 1\n",                          /* bad escape */
      "a{x=\"1} 1\n",                              /* unterminated */
      "a inf\n",                                   /* spelling */
      "a 1\nb 1\na 2\n",                           /* not contiguous */
      "# HELP a x\\y\na 1\n",                      /* bad HELP escape */
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",    /* no +Inf */
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", /* count */
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",          /* no sum */
      "1a 1\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (run_checker(bad[i], strlen(bad[i])) != 1) {
      fail_msg("checker accepted case %zu", i);
    }
  }
  const char *ok = "# HELP a x\n# TYPE a gauge\na{b=\"c\"} 1.5e3 1700000000000\n";
  assert_int_equal(run_checker(ok, strlen(ok)), 0);
}

static void test_errors(void **state) {
  (void)state;
  rv_metrics *m;
  assert_int_equal(rv_metrics_create(NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_metrics_create(&m, NULL), RV_OK);
  rv_counter *c;
  rv_gauge *g;
  rv_histogram *h;
  static const char *const bad_names[] = {"", "1a", "a-b", "a b", "é"};
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(rv_metrics_counter(m, bad_names[i], "", NULL, 0, &c), RV_EINVAL);
  }
  assert_int_equal(rv_metrics_counter(m, NULL, "", NULL, 0, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a:b_c", NULL, NULL, 0, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a", "", NULL, 1, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(NULL, "a", "", NULL, 0, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a", "", NULL, 0, NULL), RV_EINVAL);
  const char *bl1[] = {"a:b", "v"}, *bl2[] = {"__x", "v"}, *bl3[] = {"k", "1", "k", "2"},
             *bl4[] = {"k", NULL}, *le[] = {"le", "1"};
  assert_int_equal(rv_metrics_counter(m, "a", "", bl1, 1, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a", "", bl2, 1, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a", "", bl3, 2, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a", "", bl4, 1, &c), RV_EINVAL);
  assert_int_equal(rv_metrics_counter(m, "a", "", le, 1, &c),
                   RV_OK); /* only reserved in histograms */
  assert_int_equal(rv_metrics_gauge(m, "a", "", NULL, 0, &g), RV_EEXIST);
  assert_int_equal(rv_metrics_histogram(m, "a", "", NULL, 0, NULL, 0, &h), RV_EEXIST);
  const double good[] = {1, 2}, unsorted[] = {2, 1}, dup[] = {1, 1}, inf[] = {1, INFINITY},
               nan[] = {NAN};
  assert_int_equal(rv_metrics_histogram(m, "h", "", le, 1, good, 2, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, unsorted, 2, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, dup, 2, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, inf, 2, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, nan, 1, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, NULL, 1, &h), RV_EINVAL);
  double many[65];
  for (int i = 0; i < 65; i++) {
    many[i] = i;
  }
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, many, 65, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h", "", NULL, 0, good, 2, &h), RV_OK);
  const char *other[] = {"x", "y"};
  assert_int_equal(rv_metrics_histogram(m, "h", "", other, 1, good, 1, &h), RV_EINVAL);
  assert_int_equal(rv_metrics_histogram(m, "h0", "", NULL, 0, NULL, 0, &h), RV_OK);
  rv_histogram_observe(h, 5);
  assert_int_equal(rv_histogram_count(h), 1);
  rv_buf b;
  rv_buf_init(&b, NULL);
  assert_int_equal(rv_metrics_expose(NULL, &b), RV_EINVAL);
  assert_int_equal(rv_metrics_expose(m, NULL), RV_EINVAL);
  expose(m, &b);
  assert_int_equal(run_checker((const char *)b.data, b.len), 0);
  rv_buf_free(&b);
  rv_metrics_destroy(m);
  rv_metrics_destroy(NULL);
}

static int build(rv_metrics *m) {
  rv_counter *c;
  rv_gauge *g;
  rv_histogram *h;
  const char *l[] = {"k", "v\"\n"};
  const double bounds[] = {1, 2, 3};
  int rc = rv_metrics_counter(m, "c_total", "help", l, 1, &c);
  rc = rc != RV_OK ? rc : rv_metrics_counter(m, "c_total", "help", NULL, 0, &c);
  rc = rc != RV_OK ? rc : rv_metrics_gauge(m, "g", "gauge help", NULL, 0, &g);
  rc = rc != RV_OK ? rc : rv_metrics_histogram(m, "h", "hist", l, 1, bounds, 3, &h);
  for (int i = 0; rc == RV_OK && i < 10; i++) {
    char name[16];
    snprintf(name, sizeof name, "m%d", i);
    rc = rv_metrics_gauge(m, name, "many families", NULL, 0, &g);
  }
  return rc;
}

static void test_enomem(void **state) {
  (void)state;
  bool done = false;
  for (size_t n = 0; !done; n++) {
    assert_true(n < 2000);
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    rv_metrics *m;
    int rc = rv_metrics_create(&m, a);
    if (rc == RV_OK) {
      rc = build(m);
      if (rc == RV_OK) {
        rv_buf b;
        rv_buf_init(&b, a);
        rv_buf_append(&b, "x", 1);
        rc = rv_metrics_expose(m, &b);
        if (rc == RV_OK) {
          done = b.len > 100;
        } else {
          assert_int_equal(b.len, 1); /* cut back to where it was */
        }
        rv_buf_free(&b);
      }
      rv_metrics_destroy(m);
    }
    if (!done) {
      assert_int_equal(rc, RV_ENOMEM);
    }
    assert_int_equal(f.live_blocks, 0);
  }
}

/* Concurrent updates, registrations and expositions. */
typedef struct shared {
  rv_metrics *m;
  rv_counter *c;
  rv_gauge *g;
  rv_histogram *h;
} shared;

static void *worker(void *arg) {
  shared *s = arg;
  for (int i = 0; i < 20000; i++) {
    rv_counter_add(s->c, 1);
    rv_gauge_add(s->g, 1.0);
    rv_histogram_observe(s->h, (double)(i % 4));
    if (i % 5000 == 0) {
      rv_counter *c;
      assert_int_equal(rv_metrics_counter(s->m, "late_total", "", NULL, 0, &c), RV_OK);
      rv_counter_add(c, 1);
      rv_buf b;
      rv_buf_init(&b, NULL);
      assert_int_equal(rv_metrics_expose(s->m, &b), RV_OK);
      rv_buf_free(&b);
    }
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  shared s;
  const double bounds[] = {0.5, 1.5, 2.5};
  assert_int_equal(rv_metrics_create(&s.m, NULL), RV_OK);
  assert_int_equal(rv_metrics_counter(s.m, "c_total", "", NULL, 0, &s.c), RV_OK);
  assert_int_equal(rv_metrics_gauge(s.m, "g", "", NULL, 0, &s.g), RV_OK);
  assert_int_equal(rv_metrics_histogram(s.m, "h", "", NULL, 0, bounds, 3, &s.h), RV_OK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, worker, &s), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
  }
  assert_int_equal(rv_counter_value(s.c), 80000);
  assert_true(rv_gauge_value(s.g) == 80000.0); /* exact: small integers */
  assert_int_equal(rv_histogram_count(s.h), 80000);
  rv_buf b;
  rv_buf_init(&b, NULL);
  expose(s.m, &b);
  rv_buf_push(&b, 0);
  assert_non_null(strstr((const char *)b.data, "h_bucket{le=\"0.5\"} 20000\n"));
  assert_non_null(strstr((const char *)b.data, "h_bucket{le=\"+Inf\"} 80000\n"));
  assert_non_null(strstr((const char *)b.data, "h_sum 120000\n"));
  assert_non_null(strstr((const char *)b.data, "late_total 16\n"));
  rv_buf_free(&b);
  rv_metrics_destroy(s.m);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PYTHON CHECKER\n", argv[0]);
    return 2;
  }
  python = argv[1];
  checker = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),  cmocka_unit_test(test_checker_rejects),
      cmocka_unit_test(test_errors),  cmocka_unit_test(test_enomem),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
