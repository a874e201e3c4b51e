/* test-env1-model: the RV-ENV1 model behaves as the datasheet says, driven
 * by raw bus transactions (no driver involved). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/iot/env1-model.h>

#define A RV_ENV1_I2C_ADDR

typedef struct fx {
  rv_mockbus mb;
  rv_env1_model m;
  rv_bus bus;
} fx;

static void setup(fx *f) {
  rv_mockbus_init(&f->mb, RV_BUS_I2C);
  assert_int_equal(rv_env1_model_init(&f->m, &f->mb, A, NULL), RV_OK);
  assert_int_equal(rv_mockbus_bus(&f->mb, 100000, &f->bus), RV_OK);
}

static uint8_t get(fx *f, uint8_t reg) {
  uint8_t v = 0;
  assert_int_equal(rv_bus_reg_read(&f->bus, A, reg, &v, 1), RV_OK);
  return v;
}

static void put(fx *f, uint8_t reg, uint8_t v) {
  assert_int_equal(rv_bus_reg_write(&f->bus, A, reg, &v, 1), RV_OK);
}

static void test_identity_and_calibration(void **state) {
  (void)state;
  fx f;
  setup(&f);
  assert_int_equal(get(&f, RV_ENV1_REG_CHIP_ID), RV_ENV1_CHIP_ID);
  assert_int_equal(get(&f, RV_ENV1_REG_REV_ID), 0x01);
  uint8_t raw[RV_ENV1_CALIB_LEN + 1];
  rv_env1_calib c, want;
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_CALIB, raw, sizeof raw), RV_OK);
  assert_int_equal(rv_env1_calib_decode(raw, &c), RV_OK);
  rv_env1_model_default_calib(&want);
  assert_memory_equal(&c, &want, sizeof c);
  put(&f, RV_ENV1_REG_CHIP_ID, 0x00); /* read-only */
  assert_int_equal(get(&f, RV_ENV1_REG_CHIP_ID), RV_ENV1_CHIP_ID);
  /* A second model at the same address is refused. */
  rv_env1_model m2;
  assert_int_equal(rv_env1_model_init(&m2, &f.mb, A, &want), RV_EEXIST);
}

static void test_reset(void **state) {
  (void)state;
  fx f;
  setup(&f);
  assert_int_equal(get(&f, RV_ENV1_REG_STATUS), RV_ENV1_STATUS_RSTF);
  put(&f, RV_ENV1_REG_STATUS, RV_ENV1_STATUS_RSTF); /* W1C */
  assert_int_equal(get(&f, RV_ENV1_REG_STATUS), 0);
  put(&f, RV_ENV1_REG_CONFIG, 0x1F);
  assert_int_equal(get(&f, RV_ENV1_REG_CONFIG), 0x1F);
  put(&f, RV_ENV1_REG_SOFT_RESET, 0x12); /* wrong magic: ignored */
  assert_int_equal(get(&f, RV_ENV1_REG_CONFIG), 0x1F);
  assert_int_equal(f.m.resets, 0);
  put(&f, RV_ENV1_REG_SOFT_RESET, RV_ENV1_RESET_MAGIC);
  assert_int_equal(f.m.resets, 1);
  assert_int_equal(get(&f, RV_ENV1_REG_CONFIG), 0);
  assert_int_equal(get(&f, RV_ENV1_REG_STATUS), RV_ENV1_STATUS_RSTF);
  assert_int_equal(get(&f, RV_ENV1_REG_SOFT_RESET), 0);
}

static void test_forced_conversion(void **state) {
  (void)state;
  fx f;
  setup(&f);
  f.m.next = (rv_env1_raw){0x7A120, 0x81234, 0x9ABC};
  put(&f, RV_ENV1_REG_OSR, 0x09); /* osr_t x2, osr_p x2 */
  put(&f, RV_ENV1_REG_CONFIG, RV_ENV1_CONFIG_INT_EN);
  put(&f, RV_ENV1_REG_MODE, RV_ENV1_MODE_FORCED);
  uint32_t t = rv_env1_meas_time_us(1, 1, 0);
  assert_int_equal(t, 5500);
  assert_true(get(&f, RV_ENV1_REG_STATUS) & RV_ENV1_STATUS_MEASURING);
  assert_int_equal(rv_env1_model_mode(&f.m), RV_ENV1_MODE_FORCED);
  assert_false(rv_env1_model_irq(&f.m));
  rv_mockbus_advance(&f.mb, t);
  uint8_t st = get(&f, RV_ENV1_REG_STATUS);
  assert_int_equal(st & (RV_ENV1_STATUS_MEASURING | RV_ENV1_STATUS_DRDY), RV_ENV1_STATUS_DRDY);
  assert_int_equal(rv_env1_model_mode(&f.m), RV_ENV1_MODE_SLEEP);
  assert_true(rv_env1_model_irq(&f.m));
  assert_int_equal(f.m.conversions, 1);
  assert_int_equal(f.m.active_us, t);
  uint8_t frame[RV_ENV1_FRAME_LEN];
  rv_env1_raw r;
  /* Reading part of the frame does not acknowledge it; reading the CRC does. */
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_DATA, frame, 8), RV_OK);
  assert_true(rv_env1_model_irq(&f.m));
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_DATA, frame, sizeof frame), RV_OK);
  assert_false(rv_env1_model_irq(&f.m));
  assert_int_equal(rv_env1_frame_decode(frame, &r), RV_OK);
  assert_int_equal(r.adc_t, 0x7A120);
  assert_int_equal(r.adc_p, 0x81234);
  assert_int_equal(r.adc_h, 0x9ABC);
  /* Asleep: no more conversions however long we wait. */
  rv_mockbus_advance(&f.mb, 1000000);
  assert_int_equal(f.m.conversions, 1);
  /* DRDY is also write-1-to-clear. */
  put(&f, RV_ENV1_REG_MODE, RV_ENV1_MODE_FORCED);
  rv_mockbus_advance(&f.mb, t);
  assert_true(rv_env1_model_irq(&f.m));
  put(&f, RV_ENV1_REG_STATUS, RV_ENV1_STATUS_DRDY);
  assert_false(rv_env1_model_irq(&f.m));
  /* Mode 2 is reserved and acts as forced. */
  put(&f, RV_ENV1_REG_MODE, 2);
  assert_int_equal(rv_env1_model_mode(&f.m), RV_ENV1_MODE_FORCED);
  /* Sleep abandons a running conversion. */
  put(&f, RV_ENV1_REG_MODE, RV_ENV1_MODE_SLEEP);
  assert_int_equal(get(&f, RV_ENV1_REG_STATUS) & RV_ENV1_STATUS_MEASURING, 0);
  rv_mockbus_advance(&f.mb, t);
  assert_int_equal(f.m.conversions, 2);
}

static void bump(rv_env1_model *m, void *user) {
  (void)user;
  m->next.adc_t += 1;
}

static void test_normal_mode_and_fifo(void **state) {
  (void)state;
  fx f;
  setup(&f);
  f.m.on_convert = bump;
  f.m.next.adc_t = 100;
  put(&f, RV_ENV1_REG_CONFIG, 1 | RV_ENV1_CONFIG_FIFO_EN); /* standby 10 ms */
  put(&f, RV_ENV1_REG_MODE, RV_ENV1_MODE_NORMAL);
  uint32_t period = rv_env1_meas_time_us(0, 0, 0) + 10000;
  rv_mockbus_advance(&f.mb, 3 * (uint64_t)period);
  assert_int_equal(f.m.conversions, 3);
  assert_int_equal(get(&f, RV_ENV1_REG_FIFO_COUNT), 3);
  rv_mockbus_advance(&f.mb, 3 * (uint64_t)period); /* 6 conversions: 2 dropped */
  assert_int_equal(f.m.conversions, 6);
  assert_int_equal(get(&f, RV_ENV1_REG_FIFO_COUNT), RV_ENV1_FIFO_DEPTH);
  assert_true(get(&f, RV_ENV1_REG_STATUS) & RV_ENV1_STATUS_FIFO_OVF);
  uint8_t buf[2 * RV_ENV1_FRAME_LEN];
  rv_env1_raw r;
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_FIFO_DATA, buf, sizeof buf), RV_OK);
  assert_int_equal(rv_env1_frame_decode(buf, &r), RV_OK);
  assert_int_equal(r.adc_t, 103); /* the oldest kept: 3rd conversion */
  assert_int_equal(rv_env1_frame_decode(buf + RV_ENV1_FRAME_LEN, &r), RV_OK);
  assert_int_equal(r.adc_t, 104);
  assert_int_equal(get(&f, RV_ENV1_REG_FIFO_COUNT), 2);
  /* Half a frame, then the rest. */
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_FIFO_DATA, buf, 4), RV_OK);
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_FIFO_DATA, buf + 4, 5), RV_OK);
  assert_int_equal(rv_env1_frame_decode(buf, &r), RV_OK);
  assert_int_equal(r.adc_t, 105);
  assert_int_equal(rv_bus_reg_read(&f.bus, A, RV_ENV1_REG_FIFO_DATA, buf, 9), RV_OK);
  assert_int_equal(get(&f, RV_ENV1_REG_FIFO_COUNT), 0);
  assert_int_equal(get(&f, RV_ENV1_REG_FIFO_DATA), 0); /* empty FIFO reads 0 */
  /* Power: the chip was converting 3.5 ms of each 13.5 ms period. */
  assert_int_equal(f.m.active_us, 6u * rv_env1_meas_time_us(0, 0, 0));
  put(&f, RV_ENV1_REG_MODE, RV_ENV1_MODE_SLEEP);
  rv_mockbus_advance(&f.mb, 10 * (uint64_t)period);
  assert_int_equal(f.m.conversions, 6);
}

static void test_spi(void **state) {
  (void)state;
  rv_mockbus mb;
  rv_env1_model m;
  rv_bus bus;
  uint8_t id = 0;
  rv_mockbus_init(&mb, RV_BUS_SPI);
  assert_int_equal(rv_env1_model_init(&m, &mb, 0, NULL), RV_OK);
  assert_int_equal(rv_mockbus_bus(&mb, 1000, &bus), RV_OK);
  assert_int_equal(rv_bus_reg_read(&bus, 0, RV_ENV1_REG_CHIP_ID, &id, 1), RV_OK);
  assert_int_equal(id, RV_ENV1_CHIP_ID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identity_and_calibration),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_forced_conversion),
      cmocka_unit_test(test_normal_mode_and_fifo),
      cmocka_unit_test(test_spi),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
