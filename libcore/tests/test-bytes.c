/* Tests for bytes: slices, the growable buffer, every allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <rivet/core/bytes.h>
#include <rivet/core/err.h>

static void test_slice_basics(void **state) {
  (void)state;
  rv_slice s = rv_slice_cstr("key=value");
  assert_int_equal(s.len, 9);
  assert_int_equal(rv_slice_find(s, '='), 3);
  assert_int_equal(rv_slice_find(s, '#'), -1);
  assert_true(rv_slice_starts_with(s, rv_slice_cstr("key")));
  assert_false(rv_slice_starts_with(s, rv_slice_cstr("key=value!")));
  assert_true(rv_slice_eq(rv_slice_cstr(""), rv_slice_make(NULL, 0)));
  assert_false(rv_slice_eq(rv_slice_cstr("ab"), rv_slice_cstr("ac")));
  assert_int_equal(rv_slice_cstr(NULL).len, 0);
  assert_int_equal(rv_slice_find(rv_slice_make(NULL, 0), 'x'), -1);
}

static void test_slice_sub(void **state) {
  (void)state;
  rv_slice s = rv_slice_cstr("0123456789");
  rv_slice out = rv_slice_cstr("untouched");
  assert_int_equal(rv_slice_sub(s, 2, 3, &out), RV_OK);
  assert_true(rv_slice_eq(out, rv_slice_cstr("234")));
  assert_int_equal(rv_slice_sub(s, 10, 0, &out), RV_OK); /* empty at the end */
  assert_int_equal(out.len, 0);
  rv_slice keep = out;
  assert_int_equal(rv_slice_sub(s, 11, 0, &out), RV_ERANGE);
  assert_int_equal(rv_slice_sub(s, 5, 6, &out), RV_ERANGE);
  assert_int_equal(rv_slice_sub(s, 1, SIZE_MAX, &out), RV_ERANGE); /* would overflow */
  assert_int_equal(rv_slice_sub(s, SIZE_MAX, 2, &out), RV_ERANGE);
  assert_ptr_equal(out.ptr, keep.ptr); /* untouched on error */
}

static void test_slice_split(void **state) {
  (void)state;
  rv_slice s = rv_slice_cstr("a,bc,,d");
  rv_slice head;
  const char *want[] = {"a", "bc", "", "d"};
  for (int i = 0; i < 4; i++) {
    bool found = rv_slice_split(&s, ',', &head);
    assert_int_equal(found, i < 3);
    assert_true(rv_slice_eq(head, rv_slice_cstr(want[i])));
  }
  assert_int_equal(s.len, 0);
}

static void test_buf_grow(void **state) {
  (void)state;
  rv_buf b;
  rv_buf_init(&b, NULL);
  assert_null(b.data);
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(rv_buf_push(&b, (uint8_t)i), RV_OK);
  }
  assert_int_equal(b.len, 1000);
  assert_true(b.cap >= 1000);
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(b.data[i], (uint8_t)i);
  }
  assert_int_equal(rv_buf_append(&b, "xyz", 3), RV_OK);
  assert_int_equal(rv_buf_append(&b, NULL, 0), RV_OK);
  assert_int_equal(b.len, 1003);
  rv_buf_consume(&b, 1000);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.data, "xyz", 3);
  assert_int_equal(rv_buf_resize(&b, 6), RV_OK);
  assert_memory_equal(b.data, "xyz\0\0\0", 6);
  assert_int_equal(rv_buf_resize(&b, 1), RV_OK);
  rv_buf_consume(&b, 99);
  assert_int_equal(b.len, 0);
  rv_buf_clear(&b);
  rv_buf_free(&b);
  assert_null(b.data);
  assert_int_equal(b.cap, 0);
}

static void test_buf_overflow(void **state) {
  (void)state;
  rv_buf b;
  rv_buf_init(&b, NULL);
  assert_int_equal(rv_buf_push(&b, 1), RV_OK);
  assert_int_equal(rv_buf_reserve(&b, SIZE_MAX), RV_EOVERFLOW);
  assert_int_equal(rv_buf_append(&b, "x", SIZE_MAX), RV_EOVERFLOW);
  assert_int_equal(b.len, 1);
  rv_buf_free(&b);
  /* A size that fits but cannot be had: the allocator says no. */
  rv_alloc_failing f;
  rv_buf_init(&b, rv_alloc_failing_init(&f, NULL, 0));
  assert_int_equal(rv_buf_resize(&b, 1u << 20), RV_ENOMEM);
  assert_int_equal(b.len, 0);
  assert_null(b.data);
}

/* Build a buffer through many appends, failing the n-th allocation, for every
 * n until a run needs no failure: each failure leaves the buffer unchanged
 * and, once freed, nothing is leaked. */
static void test_buf_every_alloc_failure(void **state) {
  (void)state;
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    rv_buf b;
    rv_buf_init(&b, a);
    int failed = 0;
    for (int i = 0; i < 300; i++) {
      size_t before = b.len;
      int rc = rv_buf_append(&b, "0123456789", 10);
      if (rc != RV_OK) {
        assert_int_equal(rc, RV_ENOMEM);
        assert_int_equal(b.len, before);
        failed = 1;
      }
    }
    assert_int_equal(f.live_blocks, b.data ? 1 : 0);
    rv_buf_free(&b);
    assert_int_equal(f.live_blocks, 0);
    assert_int_equal(f.live_bytes, 0);
    if (!failed) {
      assert_true(n > 3); /* the loop really did provoke failures */
      break;
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slice_basics), cmocka_unit_test(test_slice_sub),
      cmocka_unit_test(test_slice_split),  cmocka_unit_test(test_buf_grow),
      cmocka_unit_test(test_buf_overflow), cmocka_unit_test(test_buf_every_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
