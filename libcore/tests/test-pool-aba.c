/* ABA regression test for the pool's free list, made deterministic.
 *
 * This program compiles src/pool.c itself with RV_POOL_TEST_HOOKS, which
 * calls rv_pool_test_hook inside a pop, after the head and the link below
 * it were read and before the CAS. The hook performs the classic ABA
 * sequence right there: take A, take B, give A back. The head's index is A
 * again, but the link read (A -> B) is stale since B is now handed out. A
 * list without the tag would install B as the new head and hand B out a
 * second time; with the tag the CAS fails and the pop retries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/core/pool.h>

extern void (*rv_pool_test_hook)(void);

static rv_pool pool;
static void *hook_a, *hook_b;
static int hook_runs;

static void aba_hook(void) {
  rv_pool_test_hook = NULL; /* once, and not inside the nested calls */
  hook_runs++;
  hook_a = rv_pool_get(&pool);
  hook_b = rv_pool_get(&pool);
  rv_pool_put(&pool, hook_a);
}

static void run_aba(int through_cache) {
  static unsigned char buf[RV_POOL_BUFFER_SIZE(32, 3)];
  assert_int_equal(rv_pool_init_buffer(&pool, buf, sizeof buf, 32), RV_OK);
  rv_pool_stats st;
  rv_pool_stats_get(&pool, &st);
  assert_int_equal(st.nblocks, 3);
  hook_runs = 0;
  rv_pool_test_hook = aba_hook;

  rv_pool_cache c;
  rv_pool_cache_init(&c, &pool);
  void *first = through_cache ? rv_pool_cache_get(&c) : rv_pool_get(&pool);
  assert_int_equal(hook_runs, 1);
  assert_non_null(first);
  rv_pool_stats_get(&pool, &st);
  assert_true(st.contended >= 1); /* the stale CAS failed and was retried */

  /* Three blocks in all: `first`, hook_b, and one more; never a repeat. */
  void *got[4] = {first, hook_b, NULL, NULL};
  got[2] = through_cache ? rv_pool_cache_get(&c) : rv_pool_get(&pool);
  got[3] = through_cache ? rv_pool_cache_get(&c) : rv_pool_get(&pool);
  assert_non_null(got[2]);
  assert_null(got[3]); /* exhausted after exactly three */
  assert_ptr_not_equal(got[0], got[1]);
  assert_ptr_not_equal(got[0], got[2]);
  assert_ptr_not_equal(got[1], got[2]);
  for (int i = 0; i < 3; i++) {
    rv_pool_put(&pool, got[i]);
  }
  rv_pool_cache_flush(&c);
  rv_pool_stats_get(&pool, &st);
  assert_int_equal(st.in_use, 0);
  rv_pool_free(&pool);
}

static void test_aba_get(void **state) {
  (void)state;
  run_aba(0);
}

static void test_aba_cache_refill(void **state) {
  (void)state;
  run_aba(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aba_get),
      cmocka_unit_test(test_aba_cache_refill),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
