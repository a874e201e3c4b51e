/* Tests for workers: argument checks, every allocation failure, exactly-once
 * execution, jobs that enqueue jobs (including through a full queue),
 * shutdown while busy and while other threads keep submitting. Suite
 * 'concurrent': it also runs under ThreadSanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/core/workers.h>

#if defined(__SANITIZE_THREAD__)
#define HAVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAVE_TSAN 1
#endif
#endif
#ifndef HAVE_TSAN
#define HAVE_TSAN 0
#endif

static void nop(void *arg) { (void)arg; }

static void count_job(void *arg) { atomic_fetch_add((atomic_size_t *)arg, 1); }

static void test_create_errors(void **state) {
  (void)state;
  static int dummy;
  /* Never dereferenced: only compared, to prove `out` stays untouched. */
  rv_workers *const sentinel = (rv_workers *)(void *)&dummy;
  rv_workers *w = sentinel;
  assert_int_equal(rv_workers_create(NULL, NULL, 2, 16), RV_EINVAL);
  assert_int_equal(rv_workers_create(&w, NULL, 0, 16), RV_EINVAL);
  assert_int_equal(rv_workers_create(&w, NULL, 1025, 16), RV_EINVAL);
  assert_int_equal(rv_workers_create(&w, NULL, 2, 0), RV_EINVAL);
  assert_int_equal(rv_workers_create(&w, NULL, 2, 24), RV_EINVAL);
  assert_int_equal(rv_workers_create(&w, NULL, 2, (SIZE_MAX >> 1) + 1), RV_EOVERFLOW);
  assert_int_equal(rv_workers_create(&w, NULL, 2, (size_t)1 << 62), RV_EOVERFLOW);
  assert_ptr_equal(w, sentinel);
  assert_int_equal(rv_workers_submit(NULL, nop, NULL), RV_EINVAL);
  assert_int_equal(rv_workers_try_submit(NULL, nop, NULL), RV_EINVAL);
  assert_int_equal(rv_workers_wait(NULL), RV_EINVAL);
  assert_int_equal(rv_workers_shutdown(NULL), RV_EINVAL);
  rv_workers_destroy(NULL);

  assert_int_equal(rv_workers_create(&w, NULL, 2, 16), RV_OK);
  assert_int_equal(rv_workers_count(w), 2);
  assert_int_equal(rv_workers_submit(w, NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_workers_try_submit(w, NULL, NULL), RV_EINVAL);
  rv_workers_destroy(w);
}

/* Fail each allocation of rv_workers_create() in turn: it must report
 * RV_ENOMEM and leave nothing allocated. */
static void test_every_alloc_failure(void **state) {
  (void)state;
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    rv_workers *w = NULL;
    int rc = rv_workers_create(&w, a, 3, 8);
    if (rc == RV_OK) {
      atomic_size_t c = 0;
      assert_int_equal(rv_workers_submit(w, count_job, &c), RV_OK);
      rv_workers_destroy(w);
      assert_int_equal(atomic_load(&c), 1);
      assert_int_equal(f.live_blocks, 0);
      assert_true(n >= 3); /* the pool, its cells and its thread table */
      break;
    }
    assert_int_equal(rc, RV_ENOMEM);
    assert_null(w);
    assert_int_equal(f.live_blocks, 0);
    assert_int_equal(f.live_bytes, 0);
  }
}

/* RV_EAGAIN: in a child process whose address space is capped, thread
 * stacks cannot be mapped. Sanitizers reserve huge shadow mappings and do
 * not work under such a cap, so this runs in the plain build only. */
static void test_thread_failure(void **state) {
  (void)state;
  if (RV_HAVE_ASAN || HAVE_TSAN) {
    skip();
  }
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    rv_workers *w = NULL;
    /* Make sure malloc has an arena before the cap, then allow ~64 MiB
     * more than now: far less than 64 default (8 MiB) thread stacks. */
    void *warm = malloc(1 << 16);
    free(warm);
    struct rlimit rl;
    FILE *f = fopen("/proc/self/statm", "r");
    char line[128];
    if (!f || !fgets(line, sizeof(line), f)) {
      _exit(2);
    }
    fclose(f);
    unsigned long pages = strtoul(line, NULL, 10); /* first field: total pages */
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64UL << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
      _exit(3);
    }
    int rc = rv_workers_create(&w, NULL, 64, 16);
    _exit(rc == RV_EAGAIN && w == NULL ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* Each job marks its own slot: exactly once means every slot is 1. */
enum { MANY = 20000 };
static atomic_uchar marks[MANY];

static void mark_job(void *arg) { atomic_fetch_add((atomic_uchar *)arg, 1); }

static void test_exactly_once(void **state) {
  (void)state;
  rv_workers *w = NULL;
  assert_int_equal(rv_workers_create(&w, NULL, 4, 64), RV_OK);
  for (size_t i = 0; i < MANY; i++) {
    atomic_store(&marks[i], 0);
  }
  for (size_t i = 0; i < MANY; i++) {
    assert_int_equal(rv_workers_submit(w, mark_job, &marks[i]), RV_OK);
  }
  assert_int_equal(rv_workers_wait(w), RV_OK);
  for (size_t i = 0; i < MANY; i++) {
    assert_int_equal(atomic_load(&marks[i]), 1);
  }
  assert_int_equal(rv_workers_wait(w), RV_OK); /* idle: returns at once */
  rv_workers_destroy(w);
}

/* try_submit on a full queue: one worker held by a gate job, queue of 2. */
typedef struct gate {
  atomic_bool open;
  atomic_bool entered;
} gate;

static void gate_job(void *arg) {
  gate *g = arg;
  atomic_store(&g->entered, true);
  while (!atomic_load(&g->open)) {
    sched_yield();
  }
}

static void test_try_submit_full(void **state) {
  (void)state;
  rv_workers *w = NULL;
  assert_int_equal(rv_workers_create(&w, NULL, 1, 2), RV_OK);
  gate g;
  atomic_init(&g.open, false);
  atomic_init(&g.entered, false);
  assert_int_equal(rv_workers_submit(w, gate_job, &g), RV_OK);
  while (!atomic_load(&g.entered)) {
    sched_yield();
  }
  atomic_size_t c = 0;
  assert_int_equal(rv_workers_try_submit(w, count_job, &c), RV_OK);
  assert_int_equal(rv_workers_try_submit(w, count_job, &c), RV_OK);
  assert_int_equal(rv_workers_try_submit(w, count_job, &c), RV_EFULL);
  atomic_store(&g.open, true);
  assert_int_equal(rv_workers_wait(w), RV_OK);
  assert_int_equal(atomic_load(&c), 2); /* the refused job never ran */
  rv_workers_destroy(w);
}

/* Jobs that enqueue jobs: a binary tree of depth D, on a tiny queue so that
 * workers hit a full queue and run children inline. */
typedef struct tree {
  rv_workers *w;
  atomic_size_t nodes;
  atomic_int errors;
} tree;

typedef struct node {
  tree *t;
  unsigned depth;
} node;

static node node_pool[1 << 13];
static atomic_size_t node_next;

static void tree_job(void *arg);

static void spawn(tree *t, unsigned depth) {
  size_t slot = atomic_fetch_add(&node_next, 1);
  node_pool[slot].t = t;
  node_pool[slot].depth = depth;
  if (rv_workers_submit(t->w, tree_job, &node_pool[slot]) != RV_OK) {
    atomic_fetch_add(&t->errors, 1);
  }
}

static void tree_job(void *arg) {
  node *n = arg;
  tree *t = n->t;
  atomic_fetch_add(&t->nodes, 1);
  /* A job may not wait for or shut down its own pool. */
  if (rv_workers_wait(t->w) != RV_ESTATE || rv_workers_shutdown(t->w) != RV_ESTATE) {
    atomic_fetch_add(&t->errors, 1);
  }
  if (n->depth > 0) {
    spawn(t, n->depth - 1);
    spawn(t, n->depth - 1);
  }
}

static void test_jobs_enqueue_jobs(void **state) {
  (void)state;
  enum { DEPTH = 11 }; /* 2^12 - 1 nodes */
  tree t;
  atomic_init(&t.nodes, 0);
  atomic_init(&t.errors, 0);
  atomic_store(&node_next, 0);
  assert_int_equal(rv_workers_create(&t.w, NULL, 3, 4), RV_OK);
  spawn(&t, DEPTH);
  assert_int_equal(rv_workers_wait(t.w), RV_OK);
  assert_int_equal(atomic_load(&t.nodes), (1U << (DEPTH + 1)) - 1);
  assert_int_equal(atomic_load(&t.errors), 0);
  /* Shut down while a new tree is still growing: every node still runs. */
  atomic_store(&t.nodes, 0);
  atomic_store(&node_next, 0);
  spawn(&t, DEPTH);
  assert_int_equal(rv_workers_shutdown(t.w), RV_OK);
  assert_int_equal(atomic_load(&t.nodes), (1U << (DEPTH + 1)) - 1);
  assert_int_equal(atomic_load(&t.errors), 0);
  assert_int_equal(rv_workers_submit(t.w, nop, NULL), RV_ECLOSED);
  assert_int_equal(rv_workers_try_submit(t.w, nop, NULL), RV_ECLOSED);
  assert_int_equal(rv_workers_shutdown(t.w), RV_OK); /* idempotent */
  assert_int_equal(rv_workers_wait(t.w), RV_OK);
  rv_workers_destroy(t.w);
}

/* Shutdown while other threads keep submitting slow-ish jobs: each submit
 * is either accepted (0, and then the job ran) or refused (RV_ECLOSED). */
typedef struct feeder {
  rv_workers *w;
  atomic_size_t *ran;
  size_t accepted;
  size_t refused;
  size_t other;
} feeder;

static void busy_job(void *arg) {
  for (int i = 0; i < 200; i++) {
    atomic_signal_fence(memory_order_seq_cst); /* keep the loop */
  }
  atomic_fetch_add((atomic_size_t *)arg, 1);
}

static void *feed(void *arg) {
  feeder *f = arg;
  for (int i = 0; i < 200000; i++) {
    int rc = (i & 1) ? rv_workers_submit(f->w, busy_job, f->ran)
                     : rv_workers_try_submit(f->w, busy_job, f->ran);
    if (rc == RV_OK) {
      f->accepted++;
    } else if (rc == RV_ECLOSED) {
      f->refused++;
      break;
    } else if (rc != RV_EFULL) {
      f->other++;
    }
  }
  return NULL;
}

static void test_shutdown_while_busy(void **state) {
  (void)state;
  for (int round = 0; round < 5; round++) {
    rv_workers *w = NULL;
    atomic_size_t ran = 0;
    assert_int_equal(rv_workers_create(&w, NULL, 3, 32), RV_OK);
    feeder f[3] = {{w, &ran, 0, 0, 0}, {w, &ran, 0, 0, 0}, {w, &ran, 0, 0, 0}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
      assert_int_equal(pthread_create(&th[i], NULL, feed, &f[i]), 0);
    }
    /* Let the feeders get going (no timing assumption: any amount of
     * progress, including none, is a valid case). */
    for (int i = 0; i < 50 * (round + 1); i++) {
      sched_yield();
    }
    assert_int_equal(rv_workers_shutdown(w), RV_OK);
    size_t after = atomic_load(&ran); /* nothing can run after shutdown */
    size_t accepted = 0;
    for (int i = 0; i < 3; i++) {
      assert_int_equal(pthread_join(th[i], NULL), 0);
      accepted += f[i].accepted;
      assert_int_equal(f[i].other, 0);
    }
    assert_int_equal(atomic_load(&ran), accepted); /* no accepted job lost */
    assert_int_equal(after, accepted);             /* all ran before shutdown returned */
    rv_workers_destroy(w);
  }
}

/* Several threads wait at once while jobs are still arriving. */
typedef struct waiter_arg {
  rv_workers *w;
  int rc;
} waiter_arg;

static void *waiter(void *arg) {
  waiter_arg *a = arg;
  a->rc = rv_workers_wait(a->w);
  return NULL;
}

static void test_concurrent_wait(void **state) {
  (void)state;
  rv_workers *w = NULL;
  atomic_size_t c = 0;
  assert_int_equal(rv_workers_create(&w, NULL, 2, 16), RV_OK);
  for (int i = 0; i < 500; i++) {
    assert_int_equal(rv_workers_submit(w, count_job, &c), RV_OK);
  }
  pthread_t th[3];
  waiter_arg wa[3];
  for (int i = 0; i < 3; i++) {
    wa[i].w = w;
    wa[i].rc = 1;
    assert_int_equal(pthread_create(&th[i], NULL, waiter, &wa[i]), 0);
  }
  for (int i = 0; i < 500; i++) {
    assert_int_equal(rv_workers_submit(w, count_job, &c), RV_OK);
  }
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(wa[i].rc, RV_OK);
  }
  assert_int_equal(rv_workers_wait(w), RV_OK);
  assert_int_equal(atomic_load(&c), 1000);
  rv_workers_destroy(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_errors),       cmocka_unit_test(test_every_alloc_failure),
      cmocka_unit_test(test_thread_failure),      cmocka_unit_test(test_exactly_once),
      cmocka_unit_test(test_try_submit_full),     cmocka_unit_test(test_jobs_enqueue_jobs),
      cmocka_unit_test(test_shutdown_while_busy), cmocka_unit_test(test_concurrent_wait),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
