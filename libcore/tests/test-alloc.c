/* Tests for alloc: the libc allocator, argument checks, the failing allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <rivet/core/alloc.h>

static void test_libc_roundtrip(void **state) {
  (void)state;
  const rv_alloc *a = rv_alloc_libc();
  unsigned char *p = rv_alloc_get(a, 100, 0);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % RV_ALLOC_ALIGN_MAX, 0);
  memset(p, 0xab, 100);
  p = rv_alloc_resize(a, p, 100, 5000, 0);
  assert_non_null(p);
  assert_int_equal(p[99], 0xab);
  rv_alloc_free(a, p, 5000);
  /* NULL allocator means the default one. */
  p = rv_alloc_get(NULL, 8, 0);
  assert_non_null(p);
  rv_alloc_free(NULL, p, 8);
  rv_alloc_free(NULL, NULL, 0); /* no-op */
}

static void test_over_alignment(void **state) {
  (void)state;
  static const unsigned char digits[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const size_t aligns[] = {64, 4096};
  for (size_t i = 0; i < 2; i++) {
    unsigned char *p = rv_alloc_get(NULL, 10, aligns[i]);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % aligns[i], 0);
    memcpy(p, digits, sizeof digits);
    p = rv_alloc_resize(NULL, p, 10, 9000, aligns[i]);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % aligns[i], 0);
    assert_memory_equal(p, digits, sizeof digits);
    rv_alloc_free(NULL, p, 9000);
  }
}

static void test_bad_arguments(void **state) {
  (void)state;
  assert_null(rv_alloc_get(NULL, 0, 0));                 /* zero size */
  assert_null(rv_alloc_get(NULL, 16, 3));                /* alignment not a power of two */
  assert_null(rv_alloc_array(NULL, SIZE_MAX / 2, 3, 0)); /* overflow */
  assert_null(rv_alloc_array(NULL, 0, 8, 0));
  void *p = rv_alloc_array(NULL, 4, 8, 0);
  assert_non_null(p);
  assert_null(rv_alloc_resize(NULL, p, 32, 0, 0)); /* resize to zero is refused */
  rv_alloc_free(NULL, p, 32);                      /* and p is still ours */
  p = rv_alloc_resize(NULL, NULL, 0, 16, 0);       /* NULL ptr allocates */
  assert_non_null(p);
  rv_alloc_free(NULL, p, 16);
}

static void test_failing_nth(void **state) {
  (void)state;
  rv_alloc_failing f;
  const rv_alloc *a = rv_alloc_failing_init(&f, NULL, 2);
  void *p0 = rv_alloc_get(a, 10, 0);
  void *p1 = rv_alloc_get(a, 20, 0);
  assert_non_null(p0);
  assert_non_null(p1);
  assert_null(rv_alloc_get(a, 30, 0)); /* call #2 fails */
  void *p3 = rv_alloc_get(a, 40, 0);   /* and only that one */
  assert_non_null(p3);
  assert_int_equal(f.calls, 4);
  assert_int_equal(f.failures, 1);
  assert_int_equal(f.live_blocks, 3);
  assert_int_equal(f.live_bytes, 70);
  p3 = rv_alloc_resize(a, p3, 40, 400, 0);
  assert_non_null(p3);
  assert_int_equal(f.live_bytes, 430);
  rv_alloc_free(a, p0, 10);
  rv_alloc_free(a, p1, 20);
  rv_alloc_free(a, p3, 400);
  assert_int_equal(f.live_blocks, 0);
  assert_int_equal(f.live_bytes, 0);
}

static void test_failing_after(void **state) {
  (void)state;
  rv_alloc_failing f;
  const rv_alloc *a = rv_alloc_failing_init(&f, NULL, 1);
  f.fail_after = 1;
  void *p = rv_alloc_get(a, 8, 0);
  assert_non_null(p);
  assert_null(rv_alloc_resize(a, p, 8, 16, 0)); /* resize counts too */
  assert_null(rv_alloc_get(a, 8, 0));
  assert_int_equal(f.failures, 2);
  rv_alloc_free(a, p, 8);
  assert_int_equal(f.live_blocks, 0);
  /* SIZE_MAX never fails. */
  a = rv_alloc_failing_init(&f, NULL, SIZE_MAX);
  for (int i = 0; i < 100; i++) {
    p = rv_alloc_get(a, 1, 0);
    assert_non_null(p);
    rv_alloc_free(a, p, 1);
  }
  assert_int_equal(f.failures, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_libc_roundtrip), cmocka_unit_test(test_over_alignment),
      cmocka_unit_test(test_bad_arguments),  cmocka_unit_test(test_failing_nth),
      cmocka_unit_test(test_failing_after),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
