/* test-bus: the bus layer's checks and register protocol, over a fake port
 * that records what it is asked to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/iot/bus.h>

typedef struct fake {
  int rc;         /* what transfer returns */
  int recover_rc; /* what recover returns */
  uint16_t addr;
  uint8_t wr[32];
  size_t wr_len, rd_len;
  uint32_t timeout;
  unsigned calls, recovers;
  uint32_t delayed;
} fake;

static int fake_transfer(void *ctx, uint16_t addr, const uint8_t *wr, size_t wr_len, uint8_t *rd,
                         size_t rd_len, uint32_t timeout_us) {
  fake *f = ctx;
  f->calls++;
  f->addr = addr;
  f->wr_len = wr_len;
  f->rd_len = rd_len;
  f->timeout = timeout_us;
  if (wr_len) {
    memcpy(f->wr, wr, wr_len);
  }
  for (size_t i = 0; i < rd_len; i++) {
    rd[i] = (uint8_t)(0xA0 + i);
  }
  return f->rc;
}

static int fake_recover(void *ctx) {
  fake *f = ctx;
  f->recovers++;
  return f->recover_rc;
}

static void fake_delay(void *ctx, uint32_t us) { ((fake *)ctx)->delayed += us; }

static const rv_bus_ops ops = {fake_transfer, fake_recover, fake_delay};
static const rv_bus_ops ops_norecover = {fake_transfer, NULL, fake_delay};

static void test_init_checks(void **state) {
  (void)state;
  rv_bus b;
  fake f = {0};
  const rv_bus_ops no_transfer = {NULL, NULL, fake_delay};
  const rv_bus_ops no_delay = {fake_transfer, NULL, NULL};
  assert_int_equal(rv_bus_init(&b, NULL, &f, RV_BUS_I2C, 100), RV_EINVAL);
  assert_int_equal(rv_bus_init(&b, &no_transfer, &f, RV_BUS_I2C, 100), RV_EINVAL);
  assert_int_equal(rv_bus_init(&b, &no_delay, &f, RV_BUS_I2C, 100), RV_EINVAL);
  assert_int_equal(rv_bus_init(&b, &ops, &f, (rv_bus_kind)7, 100), RV_EINVAL);
  assert_int_equal(rv_bus_init(&b, &ops, &f, RV_BUS_I2C, 0), RV_EINVAL);
  assert_int_equal(rv_bus_init(NULL, &ops, &f, RV_BUS_I2C, 100), RV_EINVAL);
  assert_int_equal(rv_bus_init(&b, &ops, &f, RV_BUS_SPI, 100), RV_OK);
  assert_int_equal(rv_bus_get_kind(&b), RV_BUS_SPI);
}

static void test_transfers(void **state) {
  (void)state;
  rv_bus b;
  fake f = {0};
  uint8_t out[3] = {1, 2, 3}, in[4];
  assert_int_equal(rv_bus_init(&b, &ops, &f, RV_BUS_I2C, 1234), RV_OK);
  assert_int_equal(rv_bus_write(&b, 0x42, out, 3), RV_OK);
  assert_int_equal(f.addr, 0x42);
  assert_int_equal(f.wr_len, 3);
  assert_int_equal(f.rd_len, 0);
  assert_int_equal(f.timeout, 1234);
  assert_memory_equal(f.wr, out, 3);
  assert_int_equal(rv_bus_read(&b, 0x43, in, 4), RV_OK);
  assert_int_equal(f.wr_len, 0);
  assert_int_equal(f.rd_len, 4);
  assert_int_equal(in[3], 0xA3);
  assert_int_equal(rv_bus_write_read(&b, 0x44, out, 1, in, 2), RV_OK);
  assert_int_equal(f.wr_len, 1);
  assert_int_equal(f.rd_len, 2);
  /* Bad arguments never reach the port. */
  unsigned calls = f.calls;
  assert_int_equal(rv_bus_write(&b, 1, NULL, 1), RV_EINVAL);
  assert_int_equal(rv_bus_write(&b, 1, out, 0), RV_EINVAL);
  assert_int_equal(rv_bus_read(&b, 1, NULL, 1), RV_EINVAL);
  assert_int_equal(rv_bus_read(&b, 1, in, 0), RV_EINVAL);
  assert_int_equal(rv_bus_write_read(&b, 1, NULL, 1, in, 1), RV_EINVAL);
  assert_int_equal(rv_bus_write_read(&b, 1, out, 1, NULL, 1), RV_EINVAL);
  assert_int_equal(rv_bus_write_read(&b, 1, out, 0, in, 1), RV_EINVAL);
  assert_int_equal(rv_bus_write_read(&b, 1, out, 1, in, 0), RV_EINVAL);
  assert_int_equal(rv_bus_reg_write(&b, 1, 0x10, NULL, 1), RV_EINVAL);
  assert_int_equal(f.calls, calls);
}

static void test_port_errors(void **state) {
  (void)state;
  rv_bus b;
  fake f = {0};
  uint8_t x = 0;
  assert_int_equal(rv_bus_init(&b, &ops, &f, RV_BUS_I2C, 10), RV_OK);
  const int pass[] = {RV_EIO, RV_ETIMEDOUT, RV_EBUSY};
  for (unsigned i = 0; i < 3; i++) {
    f.rc = pass[i];
    assert_int_equal(rv_bus_write(&b, 1, &x, 1), pass[i]);
  }
  /* Anything outside the contract becomes EIO. */
  f.rc = 5;
  assert_int_equal(rv_bus_read(&b, 1, &x, 1), RV_EIO);
  f.rc = RV_ENOMEM;
  assert_int_equal(rv_bus_reg_read(&b, 1, 0, &x, 1), RV_EIO);
}

static void test_register_protocol(void **state) {
  (void)state;
  rv_bus i2c, spi;
  fake f = {0};
  uint8_t data[RV_BUS_REG_WRITE_MAX + 1] = {9, 8, 7};
  uint8_t in[2];
  assert_int_equal(rv_bus_init(&i2c, &ops, &f, RV_BUS_I2C, 10), RV_OK);
  assert_int_equal(rv_bus_init(&spi, &ops, &f, RV_BUS_SPI, 10), RV_OK);
  assert_int_equal(rv_bus_reg_read(&i2c, 0x76, 0x40, in, 2), RV_OK);
  assert_int_equal(f.wr[0], 0x40);
  assert_int_equal(rv_bus_reg_read(&spi, 0, 0x40, in, 2), RV_OK);
  assert_int_equal(f.wr[0], 0xC0); /* SPI read flag */
  assert_int_equal(rv_bus_reg_write(&spi, 0, 0xB3, data, 3), RV_OK);
  assert_int_equal(f.wr[0], 0x33); /* SPI write: bit 7 clear */
  assert_int_equal(f.wr_len, 4);
  assert_memory_equal(f.wr + 1, data, 3);
  assert_int_equal(rv_bus_reg_write(&i2c, 0x76, 0x30, data, RV_BUS_REG_WRITE_MAX), RV_OK);
  assert_int_equal(f.wr[0], 0x30);
  assert_int_equal(f.wr_len, RV_BUS_REG_WRITE_MAX + 1);
  assert_int_equal(rv_bus_reg_write(&i2c, 0x76, 0x30, data, RV_BUS_REG_WRITE_MAX + 1), RV_ELIMIT);
}

static void test_recover_and_delay(void **state) {
  (void)state;
  rv_bus b, nb;
  fake f = {0};
  assert_int_equal(rv_bus_init(&b, &ops, &f, RV_BUS_I2C, 10), RV_OK);
  assert_int_equal(rv_bus_init(&nb, &ops_norecover, &f, RV_BUS_I2C, 10), RV_OK);
  assert_int_equal(rv_bus_recover(&b), RV_OK);
  assert_int_equal(f.recovers, 1);
  f.recover_rc = RV_EBUSY;
  assert_int_equal(rv_bus_recover(&b), RV_EIO);
  assert_int_equal(rv_bus_recover(&nb), RV_EUNSUPPORTED);
  rv_bus_delay_us(&b, 250);
  rv_bus_delay_us(&b, 5);
  assert_int_equal(f.delayed, 255);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_checks),       cmocka_unit_test(test_transfers),
      cmocka_unit_test(test_port_errors),       cmocka_unit_test(test_register_protocol),
      cmocka_unit_test(test_recover_and_delay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
