/* Tests for err: every code has a name and text, diagnostics, the panic handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <rivet/core/err.h>

static void test_every_code_named(void **state) {
  (void)state;
  for (int c = 0; c >= RV_ERR_MIN; c--) {
    const char *name = rv_err_name(c);
    const char *text = rv_strerror(c);
    assert_non_null(name);
    assert_non_null(text);
    assert_int_equal(strncmp(name, "RV_", 3), 0);
    assert_string_not_equal(name, "RV_E?");
    assert_string_not_equal(text, "unknown error");
  }
  assert_string_equal(rv_err_name(RV_ENOMEM), "RV_ENOMEM");
  assert_string_equal(rv_strerror(RV_OK), "success");
}

static void test_unknown_codes(void **state) {
  (void)state;
  const int bad[] = {1, 42, RV_ERR_MIN - 1, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_string_equal(rv_strerror(bad[i]), "unknown error");
    assert_string_equal(rv_err_name(bad[i]), "RV_E?");
  }
}

static void test_diag(void **state) {
  (void)state;
  rv_diag d = {0};
  assert_int_equal(rv_diag_set(&d, RV_EMALFORMED, 17, "bad length"), RV_EMALFORMED);
  assert_int_equal(d.code, RV_EMALFORMED);
  assert_int_equal(d.offset, 17);
  assert_string_equal(d.msg, "bad length");
  /* No message: the code's text stands in. */
  assert_int_equal(rv_diag_set(&d, RV_ELIMIT, 3, NULL), RV_ELIMIT);
  assert_string_equal(d.msg, rv_strerror(RV_ELIMIT));
  /* NULL diagnostic: just the code. */
  assert_int_equal(rv_diag_set(NULL, RV_ETRUNCATED, 0, "x"), RV_ETRUNCATED);
}

static void test_errno_mapping(void **state) {
  (void)state;
  assert_int_equal(rv_err_from_errno(0), RV_OK);
  assert_int_equal(rv_err_from_errno(ENOMEM), RV_ENOMEM);
  assert_int_equal(rv_err_from_errno(EAGAIN), RV_EAGAIN);
  assert_int_equal(rv_err_from_errno(ENOENT), RV_ENOTFOUND);
  assert_int_equal(rv_err_from_errno(ECONNRESET), RV_ECLOSED);
  assert_int_equal(rv_err_from_errno(EACCES), RV_EPERM);
  assert_int_equal(rv_err_from_errno(EXDEV), RV_EIO);
}

static jmp_buf panic_jump;
static const char *panic_msg;

static void jumping_handler(const char *msg) {
  panic_msg = msg;
  longjmp(panic_jump, 1);
}

static void test_panic_handler(void **state) {
  (void)state;
  rv_panic_fn prev = rv_set_panic_handler(jumping_handler);
  assert_non_null(prev);
  if (setjmp(panic_jump) == 0) {
    rv_panic("contract X");
    fail_msg("rv_panic returned");
  }
  assert_string_equal(panic_msg, "contract X");
  /* NULL restores the default, and the previous one comes back. */
  assert_ptr_equal(rv_set_panic_handler(NULL), jumping_handler);
  assert_ptr_equal(rv_set_panic_handler(prev), prev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_code_named),
      cmocka_unit_test(test_unknown_codes),
      cmocka_unit_test(test_diag),
      cmocka_unit_test(test_errno_mapping),
      cmocka_unit_test(test_panic_handler),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
