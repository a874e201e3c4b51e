/* test-mockbus: register-map semantics, faults, time and scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/iot/mockbus.h>

typedef struct fixture {
  rv_mockbus mb;
  rv_mockdev dev;
  rv_bus bus;
} fixture;

static void setup_dev(fixture *f, rv_bus_kind kind) {
  rv_mockbus_init(&f->mb, kind);
  rv_mockdev_init(&f->dev, 0x50);
  for (unsigned r = 0; r < 8; r++) {
    rv_mockdev_reg(&f->dev, (uint8_t)r, (uint8_t)(0x10 + r), 0xFF, 0); /* RW */
  }
  rv_mockdev_reg(&f->dev, 0x08, 0xE1, 0x00, 0x00); /* RO */
  rv_mockdev_reg(&f->dev, 0x09, 0x8F, 0x0F, 0xF0); /* low nibble RW, high W1C */
  rv_mockdev_reg(&f->dev, 0xFF, 0x77, 0xFF, 0);
  assert_int_equal(rv_mockbus_attach(&f->mb, &f->dev), RV_OK);
  assert_int_equal(rv_mockbus_bus(&f->mb, 100000, &f->bus), RV_OK);
  rv_bus unused;
  assert_int_equal(rv_mockbus_bus(&f->mb, 0, &unused), RV_EINVAL); /* no budget */
}

static void test_registers(void **state) {
  (void)state;
  fixture f;
  uint8_t b[4];
  setup_dev(&f, RV_BUS_I2C);
  /* Auto-increment on read and write. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 3), RV_OK);
  assert_int_equal(b[0], 0x12);
  assert_int_equal(b[2], 0x14);
  const uint8_t w[3] = {0xAA, 0xBB, 0xCC};
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x06, w, 3), RV_OK);
  assert_int_equal(f.dev.regs[6], 0xAA);
  assert_int_equal(f.dev.regs[7], 0xBB);
  assert_int_equal(f.dev.regs[8], 0xE1); /* read-only: write ignored */
  /* Write-1-to-clear next to plain bits. */
  uint8_t v = 0x35;
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x09, &v, 1), RV_OK);
  assert_int_equal(f.dev.regs[9], 0x85); /* bits 4,5 cleared; low nibble = 5 */
  /* The pointer wraps at 0xFF. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0xFF, b, 2), RV_OK);
  assert_int_equal(b[0], 0x77);
  assert_int_equal(b[1], 0x10);
  /* A read without a register byte continues from the pointer. */
  assert_int_equal(rv_bus_read(&f.bus, 0x50, b, 1), RV_OK);
  assert_int_equal(b[0], 0x11);
  /* A port register keeps the pointer. */
  rv_mockdev_noinc(&f.dev, 0x03);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x03, b, 3), RV_OK);
  assert_int_equal(b[0], 0x13);
  assert_int_equal(b[2], 0x13);
  /* Nobody at 0x51: NACK. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x51, 0, b, 1), RV_EIO);
  /* Two devices at one address are refused. */
  rv_mockdev other;
  rv_mockdev_init(&other, 0x50);
  assert_int_equal(rv_mockbus_attach(&f.mb, &other), RV_EEXIST);
}

static void test_spi_register_byte(void **state) {
  (void)state;
  fixture f;
  uint8_t b[2];
  setup_dev(&f, RV_BUS_SPI);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 2), RV_OK);
  assert_int_equal(b[0], 0x14);
  uint8_t v = 0x5A;
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x01, &v, 1), RV_OK);
  assert_int_equal(f.dev.regs[1], 0x5A);
}

static unsigned ticks;
static uint64_t tick_at;
static void on_tick(rv_mockdev *d, uint64_t now) {
  (void)d;
  ticks++;
  tick_at = now;
}

static void test_time(void **state) {
  (void)state;
  fixture f;
  uint8_t b[3];
  setup_dev(&f, RV_BUS_I2C);
  f.dev.tick_hook = on_tick;
  ticks = 0;
  rv_bus_delay_us(&f.bus, 1000);
  assert_int_equal(f.mb.now_us, 1000);
  assert_int_equal(tick_at, 1000);
  /* A write-read of 1 + 3 bytes: address, 1, repeated start, 3 = 6 bytes. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0, b, 3), RV_OK);
  assert_int_equal(f.mb.now_us, 1000 + 6 * RV_MOCKBUS_US_PER_BYTE);
  assert_int_equal(ticks, 2);
  assert_int_equal(f.mb.last_timeout, 100000);
  /* A transaction longer than its budget times out (after it happened). */
  rv_bus tight;
  assert_int_equal(rv_mockbus_bus(&f.mb, 3 * RV_MOCKBUS_US_PER_BYTE, &tight), RV_OK);
  const uint8_t w[3] = {1, 2, 3};
  assert_int_equal(rv_bus_reg_write(&tight, 0x50, 0, w, 3), RV_ETIMEDOUT);
  assert_int_equal(f.dev.regs[0], 1);
}

static void test_faults(void **state) {
  (void)state;
  fixture f;
  uint8_t b[3];
  setup_dev(&f, RV_BUS_I2C);
  uint32_t base = f.mb.txn_count;
  assert_int_equal(rv_mockbus_fault(&f.mb, base + 0, RV_MOCKBUS_NACK, 0, 0), RV_OK);
  assert_int_equal(rv_mockbus_fault(&f.mb, base + 1, RV_MOCKBUS_TIMEOUT, 0, 0), RV_OK);
  assert_int_equal(rv_mockbus_fault(&f.mb, base + 2, RV_MOCKBUS_CORRUPT, 1, 0x0F), RV_OK);
  assert_int_equal(rv_mockbus_fault(&f.mb, base + 3, RV_MOCKBUS_CORRUPT, 2, 0x80), RV_OK);
  assert_int_equal(rv_mockbus_fault(&f.mb, base + 5, RV_MOCKBUS_STUCK, 0, 0), RV_OK);
  uint8_t v = 0x99;
  /* 0: NACK, device untouched. */
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x00, &v, 1), RV_EIO);
  assert_int_equal(f.dev.regs[0], 0x10);
  /* 1: timeout: the write happened, the master gave up. */
  uint64_t t0 = f.mb.now_us;
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x00, &v, 1), RV_ETIMEDOUT);
  assert_int_equal(f.dev.regs[0], 0x99);
  assert_int_equal(f.mb.now_us - t0, 100000);
  /* 2: the written data byte is corrupted on the wire. */
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x01, &v, 1), RV_OK);
  assert_int_equal(f.dev.regs[1], 0x99 ^ 0x0F);
  /* 3: read byte 1 (byte 2 of the transaction) is corrupted. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 2), RV_OK);
  assert_int_equal(b[0], 0x14);
  assert_int_equal(b[1], 0x15 ^ 0x80);
  /* 4: clean. 5 onwards: stuck until recovered. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 1), RV_OK);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 1), RV_EBUSY);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 1), RV_EBUSY);
  assert_true(f.mb.stuck);
  assert_int_equal(rv_bus_recover(&f.bus), RV_OK);
  assert_int_equal(f.mb.recoveries, 1);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 1), RV_OK);
  /* A timed-out read hands back 0xFF, never the device's bytes. */
  assert_int_equal(rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_TIMEOUT, 0, 0), RV_OK);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 2), RV_ETIMEDOUT);
  assert_int_equal(b[0], 0xFF);
  /* Arming errors. */
  assert_int_equal(rv_mockbus_fault(&f.mb, 0, (rv_mockbus_fault_kind)9, 0, 0), RV_EINVAL);
  assert_int_equal(rv_mockbus_fault(&f.mb, 0, RV_MOCKBUS_CORRUPT, 0, 0), RV_EINVAL);
  rv_mockbus_clear_faults(&f.mb);
  for (unsigned i = 0; i < RV_MOCKBUS_MAX_FAULTS; i++) {
    assert_int_equal(rv_mockbus_fault(&f.mb, 1000 + i, RV_MOCKBUS_NACK, 0, 0), RV_OK);
  }
  assert_int_equal(rv_mockbus_fault(&f.mb, 2000, RV_MOCKBUS_NACK, 0, 0), RV_EFULL);
  rv_mockbus_fault(&f.mb, 0, RV_MOCKBUS_STUCK, 0, 0); /* harmless: past index */
  rv_mockbus_clear_faults(&f.mb);
  assert_false(f.mb.stuck);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x04, b, 1), RV_OK);
}

static void test_script(void **state) {
  (void)state;
  fixture f;
  uint8_t b[2];
  setup_dev(&f, RV_BUS_I2C);
  const uint8_t w0[] = {0x02};
  const uint8_t w1[] = {0x05, 0x42};
  const uint8_t r2[] = {0xDE, 0xAD};
  const rv_mockbus_txn script[] = {
      {0x50, w0, 1, NULL, 2}, /* answered by the device */
      {0x50, w1, 2, NULL, 0},
      {0x50, w0, 1, r2, 2}, /* answered by the script */
  };
  size_t where = 99;
  rv_mockbus_expect(&f.mb, script, 3);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_OK);
  assert_int_equal(b[0], 0x12);
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x05, &w1[1], 1), RV_OK);
  assert_int_equal(f.dev.regs[5], 0x42);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_OK);
  assert_int_equal(b[1], 0xAD);
  assert_int_equal(rv_mockbus_done(&f.mb, &where), RV_OK);
  assert_int_equal(where, 99);

  /* Unconsumed steps. */
  rv_mockbus_expect(&f.mb, script, 3);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_OK);
  assert_int_equal(rv_mockbus_done(&f.mb, &where), RV_ETRUNCATED);
  assert_int_equal(where, 1);

  /* A differing transaction fails, and so does everything after it. */
  rv_mockbus_expect(&f.mb, script, 3);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_OK);
  uint8_t v = 0x43;
  assert_int_equal(rv_bus_reg_write(&f.bus, 0x50, 0x05, &v, 1), RV_EIO);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_EIO);
  assert_int_equal(rv_mockbus_done(&f.mb, &where), RV_EMALFORMED);
  assert_int_equal(where, 1);

  /* Wrong address, wrong read length, one transaction too many. */
  rv_mockbus_expect(&f.mb, script, 1);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x51, 0x02, b, 2), RV_EIO);
  assert_int_equal(rv_mockbus_done(&f.mb, NULL), RV_EMALFORMED);
  rv_mockbus_expect(&f.mb, script, 1);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 1), RV_EIO);
  assert_int_equal(rv_mockbus_done(&f.mb, NULL), RV_EMALFORMED);
  rv_mockbus_expect(&f.mb, script, 1);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_OK);
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_EIO);
  assert_int_equal(rv_mockbus_done(&f.mb, &where), RV_EMALFORMED);
  assert_int_equal(where, 1);
  /* After done(), no script: transactions go straight to the device. */
  assert_int_equal(rv_bus_reg_read(&f.bus, 0x50, 0x02, b, 2), RV_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registers), cmocka_unit_test(test_spi_register_byte),
      cmocka_unit_test(test_time),      cmocka_unit_test(test_faults),
      cmocka_unit_test(test_script),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
