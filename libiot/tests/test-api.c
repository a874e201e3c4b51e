/* test-api: links the shared rivet-iot and uses only <rivet/iot.h>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rivet/iot.h>

static void test_version(void **state) {
  (void)state;
  assert_int_equal(rv_iot_version(), RV_IOT_VERSION_NUMBER);
  assert_string_equal(rv_iot_version_string(), RV_IOT_VERSION_STRING);
}

/* The whole public path once: a model on a mock bus, the driver on top. */
static void test_fetch_through_shared_library(void **state) {
  (void)state;
  rv_mockbus mb;
  rv_env1_model m;
  rv_bus bus;
  rv_sensor s;
  rv_mockbus_init(&mb, RV_BUS_I2C);
  assert_int_equal(rv_env1_model_init(&m, &mb, RV_ENV1_I2C_ADDR, NULL), RV_OK);
  assert_int_equal(rv_mockbus_bus(&mb, 10000, &bus), RV_OK);
  const rv_sensor_config cfg = {.osr_t = 1, .osr_p = 1, .osr_h = 1, .mode = RV_SENSOR_FORCED};
  assert_int_equal(rv_sensor_init(&s, &bus, RV_ENV1_I2C_ADDR, &cfg, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_fetch(&s), RV_OK);
  rv_env1_value want;
  assert_int_equal(rv_env1_compensate(&m.cal, &m.next, &want), RV_OK);
  int32_t v;
  assert_int_equal(rv_sensor_channel_get(&s, RV_SENSOR_TEMP, &v), RV_OK);
  assert_int_equal(v, want.temp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_fetch_through_shared_library),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
