/* test-app.c: the api-server's HTTP layer, in process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app.h"

static void test_defaults(void **state) {
  (void)state;
  api_config c;
  api_config_default(&c);
  assert_true(c.mw_auth);
  assert_int_equal(c.page_max, 500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
