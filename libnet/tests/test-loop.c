/* test-loop: fd watches (edge-triggered), timers, deferred calls, signals,
 * cross-thread wake-up. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rivet/net/loop.h>

typedef struct counted_io {
  rv_loop_io io; /* first member */
  rv_loop *loop;
  int calls;
  uint32_t last;
  rv_loop_io *victim; /* stopped from the callback */
} counted_io;

static void count_cb(rv_loop_io *io, uint32_t ev) {
  counted_io *c = (counted_io *)(void *)io; /* io is the first member */
  c->calls++;
  c->last = ev;
  if (c->victim != NULL) {
    rv_loop_io_stop(c->loop, c->victim);
  }
}

static void test_new_free_errors(void **state) {
  (void)state;
  assert_int_equal(rv_loop_new(NULL, NULL), RV_EINVAL);
  rv_loop_free(NULL);
  /* Every allocation failure is reported and leaks nothing. */
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    rv_loop *l = NULL;
    int rc = rv_loop_new(&l, a);
    if (rc == 0) {
      rv_loop_timer t;
      rv_loop_timer_init(&t);
      rc = rv_loop_timer_start(l, &t, 10, (rv_loop_timer_cb)abort);
      if (rc == 0) {
        rv_loop_free(l);
        assert_int_equal(f.live_blocks, 0);
        break;
      }
      assert_int_equal(rc, RV_ENOMEM);
      assert_false(rv_loop_timer_active(&t));
      rv_loop_free(l);
    } else {
      assert_int_equal(rc, RV_ENOMEM);
      assert_null(l);
    }
    assert_int_equal(f.live_blocks, 0);
  }
  /* Out of fds: the errno comes back mapped, not a crash. */
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit tiny = {.rlim_cur = 3, .rlim_max = old.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &tiny), 0);
  rv_loop *l = NULL;
  int rc = rv_loop_new(&l, NULL);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  assert_true(rc < 0);
  assert_null(l);
}

static void test_io_edge_triggered(void **state) {
  (void)state;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  counted_io c = {.loop = l};
  assert_int_equal(rv_loop_io_start(l, &c.io, p[0], RV_LOOP_READ | 0x80u, count_cb), RV_EINVAL);
  assert_int_equal(rv_loop_io_start(l, &c.io, -1, RV_LOOP_READ, count_cb), RV_EINVAL);
  assert_int_equal(rv_loop_io_start(l, &c.io, p[0], RV_LOOP_READ, NULL), RV_EINVAL);
  assert_int_equal(rv_loop_io_start(l, &c.io, 1000, RV_LOOP_READ, count_cb), RV_EINVAL);
  assert_int_equal(rv_loop_io_start(l, &c.io, p[0], RV_LOOP_READ, count_cb), 0);
  counted_io dup = {.loop = l};
  assert_int_equal(rv_loop_io_start(l, &dup.io, p[0], RV_LOOP_READ, count_cb), RV_EEXIST);
  assert_int_equal(rv_loop_run_once(l, 0), 0);
  assert_int_equal(write(p[1], "ab", 2), 2);
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_int_equal(c.calls, 1);
  assert_true(c.last & RV_LOOP_READ);
  /* Edge-triggered: unread data does not report again. */
  assert_int_equal(rv_loop_run_once(l, 0), 0);
  assert_int_equal(c.calls, 1);
  /* New data is a new edge. */
  assert_int_equal(write(p[1], "c", 1), 1);
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_int_equal(c.calls, 2);
  /* Watch the write end for writability via modify. */
  counted_io w = {.loop = l};
  assert_int_equal(rv_loop_io_start(l, &w.io, p[1], 0, count_cb), 0);
  assert_int_equal(rv_loop_run_once(l, 0), 0);
  assert_int_equal(rv_loop_io_modify(l, &w.io, RV_LOOP_WRITE), 0);
  assert_int_equal(rv_loop_io_modify(l, &w.io, RV_LOOP_WRITE), 0);
  assert_int_equal(rv_loop_io_modify(l, &w.io, 0x40u), RV_EINVAL);
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_true(w.last & RV_LOOP_WRITE);
  rv_loop_io_stop(l, &w.io);
  rv_loop_io_stop(l, &w.io); /* no-op */
  assert_int_equal(rv_loop_io_modify(l, &w.io, RV_LOOP_READ), RV_EINVAL);
  /* Hang-up is reported as READ|HUP. */
  close(p[1]);
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_true(c.last & RV_LOOP_HUP);
  rv_loop_io_stop(l, &c.io);
  close(p[0]);
  rv_loop_free(l);
}

/* A watch stopped by an earlier callback of the same batch is not called. */
static void test_stop_within_batch(void **state) {
  (void)state;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  int a[2];
  int b[2];
  assert_int_equal(pipe(a), 0);
  assert_int_equal(pipe(b), 0);
  counted_io ca = {.loop = l};
  counted_io cb = {.loop = l};
  ca.victim = &cb.io;
  cb.victim = &ca.io;
  assert_int_equal(rv_loop_io_start(l, &ca.io, a[0], RV_LOOP_READ, count_cb), 0);
  assert_int_equal(rv_loop_io_start(l, &cb.io, b[0], RV_LOOP_READ, count_cb), 0);
  assert_int_equal(write(a[1], "x", 1), 1);
  assert_int_equal(write(b[1], "x", 1), 1);
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_int_equal(ca.calls + cb.calls, 1);
  for (int i = 0; i < 2; i++) {
    close(a[i]);
    close(b[i]);
  }
  rv_loop_free(l);
}

typedef struct rec_timer {
  rv_loop_timer t; /* first member */
  uint64_t key;
} rec_timer;

static uint64_t g_last_key;
static size_t g_fired;
static int g_order_ok;

static void rec_cb(rv_loop_timer *t) {
  rec_timer *r = (rec_timer *)(void *)t; /* t is the first member */
  if (r->key < g_last_key) {
    g_order_ok = 0;
  }
  g_last_key = r->key;
  g_fired++;
}

/* 50,000 timers (the idle timeouts of 50,000 connections) fire in deadline
 * order; stopped ones never fire; re-armed ones fire once, late. */
static void test_timers_many(void **state) {
  (void)state;
  enum { N = 50000 };
  unsigned seed = 12345;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  rec_timer *ts = calloc(N, sizeof *ts);
  assert_non_null(ts);
  for (size_t i = 0; i < N; i++) {
    ts[i].key = (uint64_t)(rand_r(&seed) % 200);
    assert_int_equal(rv_loop_timer_start(l, &ts[i].t, ts[i].key, rec_cb), 0);
  }
  assert_int_equal(rv_loop_timer_count(l), N);
  size_t stopped = 0;
  for (size_t i = 0; i < N; i += 7) {
    rv_loop_timer_stop(l, &ts[i].t);
    rv_loop_timer_stop(l, &ts[i].t);
    stopped++;
  }
  /* Re-arm some later: their key becomes the new delay. */
  for (size_t i = 3; i < N; i += 7) {
    ts[i].key = 200 + (uint64_t)(rand_r(&seed) % 50);
    assert_int_equal(rv_loop_timer_start(l, &ts[i].t, ts[i].key, rec_cb), 0);
  }
  assert_int_equal(rv_loop_timer_count(l), N - stopped);
  g_last_key = 0;
  g_fired = 0;
  g_order_ok = 1;
  for (int iter = 0; iter < 100000 && rv_loop_timer_count(l) > 0; iter++) {
    assert_true(rv_loop_run_once(l, -1) >= 0);
  }
  if (!g_order_ok) {
    fprintf(stderr, "seed 12345: timers fired out of order\n");
  }
  assert_true(g_order_ok);
  assert_int_equal(g_fired, N - stopped);
  free(ts);
  rv_loop_free(l);
}

static int g_rearms;
static void rearm_cb(rv_loop_timer *t);
static rv_loop *g_loop;
static void rearm_cb(rv_loop_timer *t) {
  g_rearms++;
  if (g_rearms < 3) {
    assert_int_equal(rv_loop_timer_start(g_loop, t, 0, rearm_cb), 0);
  }
}

static void test_timer_rearm_zero(void **state) {
  (void)state;
  assert_int_equal(rv_loop_new(&g_loop, NULL), 0);
  rv_loop_timer t;
  rv_loop_timer_init(&t);
  assert_int_equal(rv_loop_timer_start(NULL, &t, 0, rearm_cb), RV_EINVAL);
  assert_int_equal(rv_loop_timer_start(g_loop, &t, 0, NULL), RV_EINVAL);
  g_rearms = 0;
  assert_int_equal(rv_loop_timer_start(g_loop, &t, 0, rearm_cb), 0);
  /* A callback that re-arms with delay 0 runs once per iteration. */
  assert_int_equal(rv_loop_run_once(g_loop, 0), 1);
  assert_int_equal(g_rearms, 1);
  assert_int_equal(rv_loop_run_once(g_loop, 0), 1);
  assert_int_equal(rv_loop_run_once(g_loop, 0), 1);
  assert_int_equal(g_rearms, 3);
  assert_false(rv_loop_timer_active(&t));
  uint64_t before = rv_loop_now(g_loop);
  usleep(2000);
  rv_loop_update_time(g_loop);
  assert_true(rv_loop_now(g_loop) >= before + 1);
  rv_loop_free(g_loop);
}

static int g_defer_calls;
static void defer_cb(rv_loop_deferred *d) {
  (void)d;
  g_defer_calls++;
}

static void test_defer(void **state) {
  (void)state;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  rv_loop_deferred a = {0};
  rv_loop_deferred b = {0};
  rv_loop_deferred c = {0};
  g_defer_calls = 0;
  rv_loop_defer(l, &a, defer_cb);
  rv_loop_defer(l, &a, defer_cb); /* already queued: once */
  rv_loop_defer(l, &b, defer_cb);
  rv_loop_defer(l, &c, defer_cb);
  rv_loop_defer_cancel(l, &b);
  rv_loop_defer_cancel(l, &b);
  rv_loop_defer_cancel(l, &c); /* the tail */
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_int_equal(g_defer_calls, 1);
  rv_loop_defer(l, &c, defer_cb);
  assert_int_equal(rv_loop_run_once(l, 1000), 1);
  assert_int_equal(g_defer_calls, 2);
  rv_loop_free(l);
}

static int g_sig;
static void sig_cb(rv_loop *l, int signo, void *user) {
  (void)l;
  *(int *)user += 1;
  g_sig = signo;
}

static void test_signals(void **state) {
  (void)state;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  int n = 0;
  assert_int_equal(rv_loop_signal_start(l, 0, sig_cb, &n), RV_EINVAL);
  assert_int_equal(rv_loop_signal_start(l, 65, sig_cb, &n), RV_EINVAL);
  assert_int_equal(rv_loop_signal_start(l, SIGKILL, sig_cb, &n), RV_EINVAL);
  assert_int_equal(rv_loop_signal_start(l, SIGUSR1, NULL, &n), RV_EINVAL);
  assert_int_equal(rv_loop_signal_start(l, SIGUSR1, sig_cb, &n), 0);
  assert_int_equal(rv_loop_signal_start(l, SIGUSR2, sig_cb, &n), 0);
  assert_int_equal(raise(SIGUSR1), 0);
  for (int i = 0; i < 100 && n == 0; i++) {
    assert_true(rv_loop_run_once(l, 100) >= 0);
  }
  assert_int_equal(n, 1);
  assert_int_equal(g_sig, SIGUSR1);
  assert_int_equal(raise(SIGUSR2), 0);
  for (int i = 0; i < 100 && n == 1; i++) {
    assert_true(rv_loop_run_once(l, 100) >= 0);
  }
  assert_int_equal(g_sig, SIGUSR2);
  rv_loop_signal_stop(l, SIGUSR2);
  rv_loop_signal_stop(l, SIGUSR2);
  /* Unblocked again after stop. */
  sigset_t cur;
  sigprocmask(SIG_SETMASK, NULL, &cur);
  assert_false(sigismember(&cur, SIGUSR2));
  assert_true(sigismember(&cur, SIGUSR1));
  rv_loop_free(l);
  sigprocmask(SIG_SETMASK, NULL, &cur);
  assert_false(sigismember(&cur, SIGUSR1));
}

static void wake_cb(rv_loop *l, void *user) {
  *(int *)user += 1;
  rv_loop_stop(l);
}

static void *waker(void *arg) {
  usleep(10000);
  assert_int_equal(rv_loop_wake(arg), 0);
  return NULL;
}

/* Another thread wakes a loop blocked with no timers; run() returns. */
static void test_wake_cross_thread(void **state) {
  (void)state;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  int woke = 0;
  rv_loop_set_wake_cb(l, wake_cb, &woke);
  for (int i = 0; i < 20; i++) {
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waker, l), 0);
    assert_int_equal(rv_loop_run(l), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
  }
  assert_int_equal(woke, 20);
  /* Without a callback a wake-up just ends the wait. */
  rv_loop_set_wake_cb(l, NULL, NULL);
  assert_int_equal(rv_loop_wake(l), 0);
  assert_int_equal(rv_loop_run_once(l, 5000), 1);
  rv_loop_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_free_errors),   cmocka_unit_test(test_io_edge_triggered),
      cmocka_unit_test(test_stop_within_batch), cmocka_unit_test(test_timers_many),
      cmocka_unit_test(test_timer_rearm_zero),  cmocka_unit_test(test_defer),
      cmocka_unit_test(test_signals),           cmocka_unit_test(test_wake_cross_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
