/* test-api: links the shared library and uses only the public umbrella
 * header, so an exported symbol missing from the .so fails to link here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <rivet/core.h>

static void test_version(void **state) {
  (void)state;
  assert_int_equal(rv_core_version(), RV_CORE_VERSION_NUMBER);
  assert_string_equal(rv_core_version_string(), RV_CORE_VERSION_STRING);
}

static void test_public_surface(void **state) {
  (void)state;
  rv_buf b;
  rv_buf_init(&b, rv_alloc_libc());
  assert_int_equal(rv_buf_append(&b, "hello", 5), RV_OK);
  rv_slice s = rv_buf_slice(&b);
  rv_slice head;
  assert_false(rv_slice_split(&s, ' ', &head));
  assert_true(rv_slice_eq(head, rv_slice_cstr("hello")));
  rv_buf_free(&b);
  rv_diag d = {0};
  assert_int_equal(rv_diag_set(&d, RV_EMALFORMED, 1, "m"), RV_EMALFORMED);
  assert_string_equal(rv_err_name(d.code), "RV_EMALFORMED");
  assert_int_equal(rv_err_from_errno(0), RV_OK);
  rv_alloc_failing f;
  void *p = rv_alloc_array(rv_alloc_failing_init(&f, NULL, 0), 2, 2, 0);
  assert_null(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_public_surface),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
