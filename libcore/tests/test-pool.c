/* Tests for pool: sizes, both inits and every error they return, exhaustion,
 * caches, misuse detection through the panic handler, and a threaded stress
 * test (suite 'concurrent', also run under TSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rivet/core/err.h>
#include <rivet/core/pool.h>

/* ---- sizes ------------------------------------------------------------- */

static void test_sizes(void **state) {
  (void)state;
  assert_int_equal(rv_pool_block_align(0), 0);
  assert_int_equal(rv_pool_block_align(1), 1);
  assert_int_equal(rv_pool_block_align(12), 4);
  assert_int_equal(rv_pool_block_align(24), 8);
  assert_int_equal(rv_pool_block_align(64), 64);
  assert_int_equal(rv_pool_block_align(4096), RV_POOL_MAX_ALIGN);
  assert_int_equal(rv_pool_block_align(100), 4);

  assert_int_equal(rv_pool_buffer_size(64, 10), RV_POOL_BUFFER_SIZE(64, 10));
  assert_int_equal(rv_pool_buffer_size(0, 10), 0);
  assert_int_equal(rv_pool_buffer_size(64, 0), 0);
  assert_int_equal(rv_pool_buffer_size(64, RV_POOL_MAX_BLOCKS + 1), 0);
  assert_int_equal(rv_pool_buffer_size(SIZE_MAX, 1), 0);       /* block + overhead overflows */
  assert_int_equal(rv_pool_buffer_size(SIZE_MAX / 4, 8), 0);   /* product overflows */
  assert_int_equal(rv_pool_buffer_size(SIZE_MAX - 100, 1), 0); /* fixed part overflows */
}

/* ---- init_buffer ------------------------------------------------------- */

static void test_init_buffer_errors(void **state) {
  (void)state;
  static unsigned char buf[RV_POOL_BUFFER_SIZE(64, 4)];
  rv_pool p;
  memset(&p, 0x5a, sizeof p);
  const rv_pool before = p;
  assert_int_equal(rv_pool_init_buffer(NULL, buf, sizeof buf, 64), RV_EINVAL);
  assert_int_equal(rv_pool_init_buffer(&p, NULL, sizeof buf, 64), RV_EINVAL);
  assert_int_equal(rv_pool_init_buffer(&p, buf, sizeof buf, 0), RV_EINVAL);
  assert_int_equal(rv_pool_init_buffer(&p, buf, sizeof buf, SIZE_MAX), RV_EINVAL);
  assert_int_equal(rv_pool_init_buffer(&p, buf, 0, 64), RV_EINVAL);
  assert_int_equal(rv_pool_init_buffer(&p, buf, RV_POOL_FIXED_OVERHEAD, 64), RV_EINVAL);
  /* Room for the bookkeeping but not for one block. */
  assert_int_equal(rv_pool_init_buffer(&p, buf, RV_POOL_BUFFER_SIZE(64, 1) - 1, 64), RV_EINVAL);
  assert_memory_equal(&p, &before, sizeof p); /* untouched on error */
  /* Exactly one block fits at the documented size. */
  assert_int_equal(rv_pool_init_buffer(&p, buf, RV_POOL_BUFFER_SIZE(64, 1), 64), RV_OK);
  rv_pool_stats st;
  rv_pool_stats_get(&p, &st);
  assert_int_equal(st.nblocks, 1);
  rv_pool_free(&p);
}

/* Get every block: each distinct, aligned, inside the buffer, writable;
 * then the pool is empty; put them all back. */
static void drain_and_refill(rv_pool *p, size_t n, size_t bs, const void *lo, const void *hi) {
  void *blocks[64];
  assert_true(n <= 64);
  for (size_t i = 0; i < n; i++) {
    unsigned char *b = rv_pool_get(p);
    assert_non_null(b);
    assert_true((const unsigned char *)b >= (const unsigned char *)lo);
    assert_true(b + bs <= (const unsigned char *)hi);
    assert_int_equal((uintptr_t)b % rv_pool_block_align(bs), 0);
    assert_true(rv_pool_owns(p, b));
    memset(b, (int)i, bs);
    blocks[i] = b;
  }
  for (size_t i = 0; i < n; i++) { /* nothing overlapped */
    for (size_t j = 0; j < bs; j++) {
      assert_int_equal(((unsigned char *)blocks[i])[j], (unsigned char)i);
    }
  }
  assert_null(rv_pool_get(p));
  rv_pool_stats st;
  rv_pool_stats_get(p, &st);
  assert_int_equal(st.in_use, n);
  assert_int_equal(st.peak_in_use, n);
  assert_true(st.exhausted >= 1);
  for (size_t i = 0; i < n; i++) {
    rv_pool_put(p, blocks[i]);
  }
  rv_pool_put(p, NULL); /* no-op */
  rv_pool_stats_get(p, &st);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.peak_in_use, n);
}

static void test_init_buffer_any_alignment(void **state) {
  (void)state;
  enum { N = 16 };
  const size_t sizes[] = {1, 3, 12, 24, 64, 100, 128};
  static unsigned char buf[RV_POOL_BUFFER_SIZE(128, N) + RV_POOL_MAX_ALIGN];
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    for (size_t mis = 0; mis < RV_POOL_MAX_ALIGN; mis++) {
      rv_pool p;
      size_t need = RV_POOL_BUFFER_SIZE(sizes[s], N);
      assert_int_equal(rv_pool_init_buffer(&p, buf + mis, need, sizes[s]), RV_OK);
      rv_pool_stats st;
      rv_pool_stats_get(&p, &st);
      assert_true(st.nblocks >= N); /* the macro is enough at any alignment */
      assert_int_equal(st.block_size, sizes[s]);
      assert_int_equal(st.block_align, rv_pool_block_align(sizes[s]));
      if (mis % 13 == 0) {
        drain_and_refill(&p, st.nblocks < 64 ? st.nblocks : 64, sizes[s], buf + mis,
                         buf + mis + need);
      }
      rv_pool_free(&p);
    }
  }
}

static void test_lifo_and_owns(void **state) {
  (void)state;
  static unsigned char buf[RV_POOL_BUFFER_SIZE(24, 8)];
  rv_pool p;
  assert_int_equal(rv_pool_init_buffer(&p, buf, sizeof buf, 24), RV_OK);
  unsigned char *a = rv_pool_get(&p);
  unsigned char *b = rv_pool_get(&p);
  assert_ptr_not_equal(a, b);
  rv_pool_put(&p, a);
  assert_ptr_equal(rv_pool_get(&p), a); /* most recently put comes back first */
  assert_true(rv_pool_owns(&p, a));
  assert_false(rv_pool_owns(&p, a + 1));                /* interior */
  assert_false(rv_pool_owns(&p, a + (size_t)24 * 100)); /* past the end */
  assert_false(rv_pool_owns(&p, buf));                  /* bookkeeping, not a block */
  assert_false(rv_pool_owns(&p, NULL));
  int local;
  assert_false(rv_pool_owns(&p, &local));
  rv_pool_put(&p, a);
  rv_pool_put(&p, b);
  rv_pool_free(&p);
  rv_pool_free(&p); /* twice is harmless */
  rv_pool_free(NULL);
}

/* ---- init with an allocator ------------------------------------------- */

static void test_init_errors(void **state) {
  (void)state;
  rv_pool p;
  memset(&p, 0x5a, sizeof p);
  const rv_pool before = p;
  assert_int_equal(rv_pool_init(NULL, NULL, 64, 4), RV_EINVAL);
  assert_int_equal(rv_pool_init(&p, NULL, 0, 4), RV_EINVAL);
  assert_int_equal(rv_pool_init(&p, NULL, 64, 0), RV_EINVAL);
  assert_int_equal(rv_pool_init(&p, NULL, 1, RV_POOL_MAX_BLOCKS + 1), RV_ERANGE);
  assert_int_equal(rv_pool_init(&p, NULL, SIZE_MAX / 2, 3), RV_EOVERFLOW);
  assert_int_equal(rv_pool_init(&p, NULL, SIZE_MAX, 1), RV_EOVERFLOW);
  assert_memory_equal(&p, &before, sizeof p);
}

static void test_init_failing_alloc(void **state) {
  (void)state;
  rv_alloc_failing f;
  rv_pool p;
  /* The only allocation fails: RV_ENOMEM and nothing held. */
  const rv_alloc *a = rv_alloc_failing_init(&f, NULL, 0);
  assert_int_equal(rv_pool_init(&p, a, 64, 32), RV_ENOMEM);
  assert_int_equal(f.failures, 1);
  assert_int_equal(f.live_blocks, 0);
  /* Loop over N until init needs no more allocations than N. */
  for (size_t n = 0;; n++) {
    a = rv_alloc_failing_init(&f, NULL, n);
    int rc = rv_pool_init(&p, a, 64, 32);
    if (rc == RV_OK) {
      assert_int_equal(f.failures, 0);
      assert_int_equal(f.live_blocks, 1); /* one allocation, nothing after */
      drain_and_refill(&p, 32, 64, p.blocks, p.blocks + (size_t)32 * 64);
      assert_int_equal(f.calls, 1); /* get/put allocated nothing */
      rv_pool_free(&p);
      assert_int_equal(f.live_blocks, 0);
      assert_int_equal(f.live_bytes, 0);
      break;
    }
    assert_int_equal(rc, RV_ENOMEM);
    assert_int_equal(f.live_blocks, 0);
  }
}

/* ---- caches --------------------------------------------------------------- */

static void test_cache(void **state) {
  (void)state;
  enum { N = 3 * RV_POOL_CACHE_SLOTS - 7 };
  rv_pool p;
  assert_int_equal(rv_pool_init(&p, NULL, 64, N), RV_OK);
  rv_pool_cache c1, c2;
  rv_pool_cache_init(&c1, &p);
  rv_pool_cache_init(&c2, &p);
  rv_pool_stats st;

  /* The first get takes one batch from the pool. */
  void *b = rv_pool_cache_get(&c1);
  assert_non_null(b);
  assert_true(rv_pool_owns(&p, b));
  rv_pool_stats_get(&p, &st);
  assert_int_equal(st.in_use, RV_POOL_CACHE_BATCH);

  /* Drain everything through two caches; blocks are distinct. */
  void *held[N] = {0};
  size_t k = 0;
  held[k++] = b;
  for (;;) {
    void *x = rv_pool_cache_get(k % 2 ? &c2 : &c1);
    if (!x) {
      x = rv_pool_cache_get(k % 2 ? &c1 : &c2); /* the other may still hold some */
      if (!x) {
        break;
      }
    }
    for (size_t i = 0; i < k; i++) {
      assert_ptr_not_equal(held[i], x);
    }
    assert_true(k < N);
    held[k++] = x;
  }
  assert_int_equal(k, N);
  rv_pool_stats_get(&p, &st);
  assert_int_equal(st.in_use, N);
  assert_null(rv_pool_get(&p));

  /* Put all through c2 only (cross-cache put): it spills in batches. */
  for (size_t i = 0; i < N; i++) {
    rv_pool_cache_put(&c2, held[i]);
  }
  rv_pool_cache_put(&c2, NULL); /* no-op */
  rv_pool_stats_get(&p, &st);
  assert_true(st.in_use <= RV_POOL_CACHE_SLOTS);
  assert_true(st.in_use > 0);
  /* A plain get still works while caches hold blocks. */
  void *y = rv_pool_get(&p);
  assert_non_null(y);
  rv_pool_put(&p, y);

  rv_pool_cache_flush(&c1);
  rv_pool_cache_flush(&c2);
  rv_pool_cache_flush(&c2); /* empty: nothing to do */
  rv_pool_stats_get(&p, &st);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.peak_in_use, N);
  /* Everything is back: N plain gets succeed, then none. */
  for (size_t i = 0; i < N; i++) {
    held[i] = rv_pool_get(&p);
    assert_non_null(held[i]);
  }
  assert_null(rv_pool_get(&p));
  for (size_t i = 0; i < N; i++) {
    rv_pool_put(&p, held[i]);
  }
  rv_pool_free(&p);
}

/* The out-of-line functions directly, and the inline fast path even in a
 * debug build (by clearing the private `checked` flag, as a build of rivet
 * with NDEBUG does; the cache's blocks then stay within that cache). */
static void test_cache_paths(void **state) {
  (void)state;
  enum { N = 2 * RV_POOL_CACHE_SLOTS };
  static unsigned char buf[RV_POOL_BUFFER_SIZE(48, N)];
  rv_pool p;
  assert_int_equal(rv_pool_init_buffer(&p, buf, sizeof buf, 48), RV_OK);
  for (int fast = 0; fast < 2; fast++) {
    rv_pool_cache c;
    rv_pool_cache_init(&c, &p);
    if (fast) {
      c.checked = 0;
    }
    void *held[N];
    for (size_t i = 0; i < N; i++) {
      held[i] = i % 2 ? rv_pool_cache_get(&c) : rv_pool_cache_get_slow(&c);
      assert_non_null(held[i]);
      assert_true(rv_pool_owns(&p, held[i]));
    }
    assert_null(rv_pool_cache_get(&c));
    assert_null(rv_pool_cache_get_slow(&c));
    rv_pool_stats st;
    rv_pool_stats_get(&p, &st);
    assert_true(st.exhausted >= 2);
    for (size_t i = 0; i < N; i++) {
      if (i % 3) {
        rv_pool_cache_put(&c, held[i]);
      } else {
        rv_pool_cache_put_slow(&c, held[i]);
      }
    }
    rv_pool_cache_put_slow(&c, NULL);
    rv_pool_cache_flush(&c);
    rv_pool_stats_get(&p, &st);
    assert_int_equal(st.in_use, 0);
  }
  rv_pool_free(&p);
}

/* ---- misuse: the panic handler longjmps back here --------------------- */

static jmp_buf panic_jump;
static const char *panic_msg;

static void jumping_handler(const char *msg) {
  panic_msg = msg;
  longjmp(panic_jump, 1);
}

/* Run one misuse; true if it reached rv_panic() with text containing `what`. */
#define EXPECT_PANIC(call, what)                                                                   \
  do {                                                                                             \
    panic_msg = NULL;                                                                              \
    if (setjmp(panic_jump) == 0) {                                                                 \
      call;                                                                                        \
      fail_msg("no panic for %s", #call);                                                          \
    }                                                                                              \
    assert_non_null(panic_msg);                                                                    \
    assert_non_null(strstr(panic_msg ? panic_msg : "", what));                                     \
  } while (0)

static void test_misuse(void **state) {
  (void)state;
  static unsigned char buf[RV_POOL_BUFFER_SIZE(32, 8)];
  static unsigned char other[RV_POOL_BUFFER_SIZE(32, 8)];
  rv_pool p, q;
  assert_int_equal(rv_pool_init_buffer(&p, buf, sizeof buf, 32), RV_OK);
  assert_int_equal(rv_pool_init_buffer(&q, other, sizeof other, 32), RV_OK);
  rv_pool_cache c;
  rv_pool_cache_init(&c, &p);
  rv_panic_fn prev = rv_set_panic_handler(jumping_handler);

  unsigned char *a = rv_pool_get(&p);
  unsigned char *foreign = rv_pool_get(&q);
  int local = 0;
  EXPECT_PANIC(rv_pool_put(&p, &local), "not a block of this pool");
  EXPECT_PANIC(rv_pool_put(&p, foreign), "not a block of this pool");
  EXPECT_PANIC(rv_pool_put(&p, buf), "not a block of this pool"); /* bookkeeping area */
  EXPECT_PANIC(rv_pool_cache_put(&c, foreign), "not a block of this pool");
  c.checked = 0; /* the inline fast path sends foreign pointers to the checks too */
  EXPECT_PANIC(rv_pool_cache_put(&c, foreign), "not a block of this pool");
  EXPECT_PANIC(rv_pool_cache_put(&c, &local), "not a block of this pool");
  rv_pool_cache_init(&c, &p);
#ifndef NDEBUG
  EXPECT_PANIC(rv_pool_put(&p, a + 8), "inside a block");
  EXPECT_PANIC(rv_pool_cache_put(&c, a + 1), "inside a block");
  rv_pool_put(&p, a);
  EXPECT_PANIC(rv_pool_put(&p, a), "put twice");
  a = rv_pool_cache_get(&c);
  rv_pool_cache_put(&c, a);
  EXPECT_PANIC(rv_pool_cache_put(&c, a), "put twice");
  EXPECT_PANIC(rv_pool_put(&p, a), "put twice"); /* held in a cache = free */
  /* Nothing was corrupted by the refused calls. */
  rv_pool_cache_flush(&c);
  rv_pool_stats st;
  rv_pool_stats_get(&p, &st);
  assert_int_equal(st.in_use, 0);
#else
  rv_pool_put(&p, a);
#endif
  rv_set_panic_handler(prev);
  rv_pool_put(&q, foreign);
  rv_pool_free(&p);
  rv_pool_free(&q);
}

/* ---- threaded stress (suite 'concurrent') ----------------------------- */

enum { THREADS = 6, POOL_BLOCKS = 96, BLOCK = 64, ROUNDS = 200000, HOLD = 24 };
#define STRESS_SEED 0x9e3779b97f4a7c15u
#define STRESS_SECONDS 3.0

struct stress {
  rv_pool pool;
  _Atomic(void *) mailbox[8]; /* blocks handed between threads */
  atomic_bool stop;
  atomic_int errors;
  atomic_ulong ops;
  struct timespec start;
};

struct worker {
  struct stress *s;
  int id;
  uint64_t seed;
};

static uint64_t xorshift(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static double elapsed(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A block a thread owns carries its owner's stamp in every byte; finding
 * anything else means two owners (a broken free list). */
static void stamp(unsigned char *b, int id) { memset(b, id, BLOCK); }

static int stamp_ok(const unsigned char *b, int id) {
  for (size_t i = 0; i < BLOCK; i++) {
    if (b[i] != (unsigned char)id) {
      return 0;
    }
  }
  return 1;
}

static void *stress_thread(void *arg) {
  struct worker *w = arg;
  struct stress *s = w->s;
  int use_cache = w->id % 2; /* half the threads go through a cache */
  rv_pool_cache c;
  rv_pool_cache_init(&c, &s->pool);
  unsigned char *held[HOLD];
  size_t nheld = 0;
  unsigned long ops = 0;
  for (int r = 0; r < ROUNDS && !atomic_load(&s->stop); r++) {
    uint64_t x = xorshift(&w->seed);
    if ((r & 1023) == 0 && elapsed(&s->start) > STRESS_SECONDS) {
      atomic_store(&s->stop, true); /* bounded in time as well as in count */
    }
    if (x % 3 != 0 && nheld < HOLD) {
      unsigned char *b = use_cache ? rv_pool_cache_get(&c) : rv_pool_get(&s->pool);
      if (b) {
        stamp(b, w->id);
        held[nheld++] = b;
      }
    } else if (nheld > 0) {
      unsigned char *b = held[--nheld];
      if (!stamp_ok(b, w->id)) {
        atomic_fetch_add(&s->errors, 1);
      }
      if (x % 7 == 0) {
        /* Hand the block to whoever looks in this mailbox next; take what
         * was there (blocks move between threads and caches). */
        stamp(b, 0);
        unsigned char *got = atomic_exchange(&s->mailbox[x % 8], b);
        if (got) {
          if (!stamp_ok(got, 0)) {
            atomic_fetch_add(&s->errors, 1);
          }
          stamp(got, w->id);
          held[nheld++] = got;
        }
      } else if (use_cache) {
        rv_pool_cache_put(&c, b);
      } else {
        rv_pool_put(&s->pool, b);
      }
    }
    ops++;
  }
  while (nheld > 0) {
    rv_pool_put(&s->pool, held[--nheld]);
  }
  rv_pool_cache_flush(&c);
  atomic_fetch_add(&s->ops, ops);
  return NULL;
}

static void test_stress(void **state) {
  (void)state;
  static struct stress s;
  static unsigned char buf[RV_POOL_BUFFER_SIZE(BLOCK, POOL_BLOCKS)];
  assert_int_equal(rv_pool_init_buffer(&s.pool, buf, sizeof buf, BLOCK), RV_OK);
  for (size_t i = 0; i < 8; i++) {
    atomic_init(&s.mailbox[i], NULL);
  }
  atomic_init(&s.stop, false);
  atomic_init(&s.errors, 0);
  atomic_init(&s.ops, 0);
  clock_gettime(CLOCK_MONOTONIC, &s.start);

  pthread_t t[THREADS];
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (struct worker){&s, i + 1, STRESS_SEED + (uint64_t)i * 7919u};
    assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
  }
  for (size_t i = 0; i < 8; i++) {
    rv_pool_put(&s.pool, atomic_load(&s.mailbox[i]));
  }
  if (atomic_load(&s.errors) != 0) {
    print_error("stress seed 0x%llx: %d ownership violations\n", (unsigned long long)STRESS_SEED,
                atomic_load(&s.errors));
  }
  assert_int_equal(atomic_load(&s.errors), 0);
  assert_true(atomic_load(&s.ops) > 0);

  /* Quiescent: the counters are exact and every block is back, once. */
  rv_pool_stats st;
  rv_pool_stats_get(&s.pool, &st);
  assert_int_equal(st.in_use, 0);
  assert_true(st.peak_in_use <= POOL_BLOCKS);
  print_message("stress: %lu ops, %llu CAS retries, %llu empty gets, %.2f s\n", atomic_load(&s.ops),
                (unsigned long long)st.contended, (unsigned long long)st.exhausted,
                elapsed(&s.start));
  void *all[POOL_BLOCKS];
  for (size_t i = 0; i < POOL_BLOCKS; i++) {
    all[i] = rv_pool_get(&s.pool);
    assert_non_null(all[i]);
    for (size_t j = 0; j < i; j++) {
      assert_ptr_not_equal(all[i], all[j]);
    }
  }
  assert_null(rv_pool_get(&s.pool));
  for (size_t i = 0; i < POOL_BLOCKS; i++) {
    rv_pool_put(&s.pool, all[i]);
  }
  rv_pool_free(&s.pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),
      cmocka_unit_test(test_init_buffer_errors),
      cmocka_unit_test(test_init_buffer_any_alignment),
      cmocka_unit_test(test_lifo_and_owns),
      cmocka_unit_test(test_init_errors),
      cmocka_unit_test(test_init_failing_alloc),
      cmocka_unit_test(test_cache),
      cmocka_unit_test(test_cache_paths),
      cmocka_unit_test(test_misuse),
      cmocka_unit_test(test_stress),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
