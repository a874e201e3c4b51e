/* test-sensor: the RV-ENV1 driver against the model on the mock bus:
 * scripted init, readings, a fault at every transaction of init and of a
 * read, recovery, the interrupt path and the FIFO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/iot/env1-model.h>
#include <rivet/iot/sensor.h>

#define A RV_ENV1_I2C_ADDR

typedef struct fx {
  rv_mockbus mb;
  rv_env1_model m;
  rv_bus bus;
  rv_sensor s;
  uint8_t ring[256];
} fx;

static const rv_sensor_config forced = {
    .osr_t = 1, .osr_p = 2, .osr_h = 0, .mode = RV_SENSOR_FORCED};
static const rv_sensor_config forced_irq = {
    .osr_t = 0, .osr_p = 0, .osr_h = 0, .mode = RV_SENSOR_FORCED, .drdy_irq = true};
static const rv_sensor_config normal_fifo = {.standby = 1, .mode = RV_SENSOR_NORMAL, .fifo = true};

static void setup(fx *f, rv_bus_kind kind) {
  memset(f, 0, sizeof *f);
  rv_mockbus_init(&f->mb, kind);
  assert_int_equal(rv_env1_model_init(&f->m, &f->mb, A, NULL), RV_OK);
  assert_int_equal(rv_mockbus_bus(&f->mb, 5000, &f->bus), RV_OK);
  f->m.next = (rv_env1_raw){530000, 600000, 40000};
}

static void vary(rv_env1_model *m, void *user) {
  (void)user;
  m->next.adc_t = (m->next.adc_t + 977) & 0xFFFFF;
  m->next.adc_p = (m->next.adc_p + 1231) & 0xFFFFF;
  m->next.adc_h = (uint16_t)(m->next.adc_h + 311);
}

/* The sample must be exactly what the model measured. */
static void expect_current(fx *f) {
  rv_env1_value want;
  int32_t v;
  assert_int_equal(rv_env1_compensate(&f->m.cal, &f->m.next, &want), RV_OK);
  assert_int_equal(rv_sensor_channel_get(&f->s, RV_SENSOR_TEMP, &v), RV_OK);
  assert_int_equal(v, want.temp);
  assert_int_equal(rv_sensor_channel_get(&f->s, RV_SENSOR_PRESSURE, &v), RV_OK);
  assert_int_equal(v, (int32_t)want.pres);
  assert_int_equal(rv_sensor_channel_get(&f->s, RV_SENSOR_HUMIDITY, &v), RV_OK);
  assert_int_equal(v, (int32_t)want.hum);
}

static void test_init_args(void **state) {
  (void)state;
  fx f;
  setup(&f, RV_BUS_I2C);
  rv_sensor_config bad = forced;
  bad.osr_t = 5;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &bad, NULL, 0), RV_EINVAL);
  bad = forced;
  bad.mode = 2;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &bad, NULL, 0), RV_EINVAL);
  bad = forced;
  bad.standby = 8;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &bad, NULL, 0), RV_EINVAL);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 64), RV_EINVAL);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, f.ring, 16), RV_EINVAL);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, f.ring, 96), RV_EINVAL);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, NULL, NULL, 0), RV_EINVAL);
  /* A driver whose init was refused stays unusable. */
  assert_int_equal(rv_sensor_fetch(&f.s), RV_ESTATE);
  assert_int_equal(rv_sensor_recover(&f.s), RV_ESTATE);
  assert_int_equal(f.mb.txn_count, 0); /* no transaction was made */
}

static void test_not_found(void **state) {
  (void)state;
  fx f;
  setup(&f, RV_BUS_I2C);
  /* Nothing at the address: NACK. Something else there: wrong id. */
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, 0x10, &forced, NULL, 0), RV_EIO);
  rv_mockdev other;
  rv_mockdev_init(&other, 0x20);
  assert_int_equal(rv_mockbus_attach(&f.mb, &other), RV_OK);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, 0x20, &forced, NULL, 0), RV_ENOTFOUND);
}

/* The exact transactions of init (datasheet §8.1). */
static void test_init_script(void **state) {
  (void)state;
  fx f;
  setup(&f, RV_BUS_I2C);
  static const uint8_t id[] = {RV_ENV1_REG_CHIP_ID};
  static const uint8_t clr[] = {RV_ENV1_REG_STATUS, RV_ENV1_STATUS_RSTF};
  static const uint8_t rst[] = {RV_ENV1_REG_SOFT_RESET, RV_ENV1_RESET_MAGIC};
  static const uint8_t st[] = {RV_ENV1_REG_STATUS};
  static const uint8_t cal[] = {RV_ENV1_REG_CALIB};
  /* standby 0, no INT/FIFO; osr_t 1 | osr_p 2 << 3; osr_h 0; mode sleep */
  static const uint8_t cfg[] = {RV_ENV1_REG_CONFIG, 0x00, 0x11, 0x00, 0x00};
  static const uint8_t cfgr[] = {RV_ENV1_REG_CONFIG};
  const rv_mockbus_txn script[] = {
      {A, id, 1, NULL, 1},   {A, clr, 2, NULL, 0}, {A, rst, 2, NULL, 0},  {A, st, 1, NULL, 1},
      {A, cal, 1, NULL, 23}, {A, cfg, 5, NULL, 0}, {A, cfgr, 1, NULL, 5},
  };
  rv_mockbus_expect(&f.mb, script, sizeof script / sizeof script[0]);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 0), RV_OK);
  size_t where = 0;
  assert_int_equal(rv_mockbus_done(&f.mb, &where), RV_OK);
  assert_int_equal(f.m.resets, 1);
  /* The reset wait was made: the clock passed RV_ENV1_RESET_TIME_US. */
  assert_true(f.mb.now_us > RV_ENV1_RESET_TIME_US);

  /* The same script with a different configuration does not match. */
  rv_sensor_config other = forced;
  other.osr_h = 3;
  rv_mockbus_expect(&f.mb, script, sizeof script / sizeof script[0]);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &other, NULL, 0), RV_EIO);
  assert_int_equal(rv_mockbus_done(&f.mb, &where), RV_EMALFORMED);
  assert_int_equal(where, 5);
}

static void test_fetch_forced(void **state) {
  (void)state;
  fx f;
  setup(&f, RV_BUS_I2C);
  f.m.on_convert = vary;
  int32_t v;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_channel_get(&f.s, RV_SENSOR_TEMP, &v), RV_EEMPTY);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
    expect_current(&f);
    assert_int_equal(rv_env1_model_mode(&f.m), RV_ENV1_MODE_SLEEP);
  }
  assert_int_equal(rv_sensor_channel_get(&f.s, (rv_sensor_chan)3, &v), RV_EINVAL);
  /* Power: one conversion per fetch, asleep the rest of the time. */
  assert_int_equal(f.m.conversions, 20);
  assert_int_equal(f.m.active_us, 20u * rv_env1_meas_time_us(1, 2, 0));
  /* SPI works the same. */
  setup(&f, RV_BUS_SPI);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  expect_current(&f);
  /* Sleep mode has nothing to fetch. */
  rv_sensor_config sleep = forced;
  sleep.mode = RV_SENSOR_SLEEP;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &sleep, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_ESTATE);
}

static void test_fetch_normal(void **state) {
  (void)state;
  fx f;
  setup(&f, RV_BUS_I2C);
  f.m.on_convert = vary;
  rv_sensor_config cfg = normal_fifo;
  cfg.fifo = false;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &cfg, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_EAGAIN); /* first conversion running */
  rv_mockbus_advance(&f.mb, rv_env1_meas_time_us(0, 0, 0));
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  expect_current(&f);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_EAGAIN); /* already read */
  rv_mockbus_advance(&f.mb, 20000);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  expect_current(&f);
}

static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0x5A};

/* One faulted run of \p op; a corrupted byte may go unnoticed only if it
 * did no harm, so a success must carry exactly the right sample. Then,
 * with the fault gone, the driver must work again by itself. */
typedef int (*op_fn)(fx *f);

static int op_init(fx *f) { return rv_sensor_init(&f->s, &f->bus, A, &forced, NULL, 0); }
static int op_fetch(fx *f) { return rv_sensor_fetch(&f->s); }

static void run_with_fault(int pre_init, op_fn op, uint32_t index, rv_mockbus_fault_kind kind,
                           uint16_t byte, uint8_t mask, unsigned *errors) {
  fx f;
  setup(&f, RV_BUS_I2C);
  f.m.on_convert = vary;
  if (pre_init) {
    assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 0), RV_OK);
  }
  uint32_t base = f.mb.txn_count;
  assert_int_equal(rv_mockbus_fault(&f.mb, base + index, kind, byte, mask), RV_OK);
  int rc = op(&f);
  if (rc == RV_OK) {
    if (op == op_fetch) {
      expect_current(&f);
    }
  } else {
    (*errors)++;
    int32_t v;
    if (op == op_fetch) { /* no sample was produced */
      assert_int_equal(rv_sensor_channel_get(&f.s, RV_SENSOR_TEMP, &v), RV_EEMPTY);
    }
  }
  rv_mockbus_clear_faults(&f.mb);
  /* Recovery: the next fetch works (re-initialising if it must). */
  int rc2 = rv_sensor_fetch(&f.s);
  if (rc2 != RV_OK) {
    fprintf(stderr, "fault kind %d at +%u byte %u mask %#x: op %d, then fetch %d\n", kind,
            (unsigned)index, byte, mask, rc, rc2);
  }
  assert_int_equal(rc2, RV_OK);
  expect_current(&f);
}

static void sweep(int pre_init, op_fn op, unsigned ntxn, unsigned max_bytes) {
  unsigned errors = 0, runs = 0;
  for (uint32_t i = 0; i < ntxn; i++) {
    run_with_fault(pre_init, op, i, RV_MOCKBUS_NACK, 0, 0, &errors);
    run_with_fault(pre_init, op, i, RV_MOCKBUS_TIMEOUT, 0, 0, &errors);
    run_with_fault(pre_init, op, i, RV_MOCKBUS_STUCK, 0, 0, &errors);
    runs += 3;
    for (unsigned b = 0; b < max_bytes; b++) {
      for (size_t k = 0; k < sizeof masks; k++) {
        run_with_fault(pre_init, op, i, RV_MOCKBUS_CORRUPT, (uint16_t)b, masks[k], &errors);
        runs++;
      }
    }
  }
  printf("%u faulted runs, %u reported an error, all recovered\n", runs, errors);
  /* NACK, timeout and stuck are always errors. */
  assert_true(errors >= 3 * ntxn);
}

static void test_fault_every_init_transaction(void **state) {
  (void)state;
  /* init makes 7 transactions; the longest has 1 + 23 bytes. */
  sweep(0, op_init, 7, 24);
}

static void test_fault_every_fetch_transaction(void **state) {
  (void)state;
  /* A forced fetch makes 3 transactions: MODE write, status read, data read. */
  sweep(1, op_fetch, 3, 10);
}

static void test_specific_errors(void **state) {
  (void)state;
  fx f;
  /* Corrupted chip id: not found. */
  setup(&f, RV_BUS_I2C);
  rv_mockbus_fault(&f.mb, 0, RV_MOCKBUS_CORRUPT, 1, 0x04);
  assert_int_equal(op_init(&f), RV_ENOTFOUND);
  /* Corrupted reset command: the chip did not reset. */
  setup(&f, RV_BUS_I2C);
  rv_mockbus_fault(&f.mb, 2, RV_MOCKBUS_CORRUPT, 1, 0x01);
  assert_int_equal(op_init(&f), RV_EIO);
  assert_int_equal(f.m.resets, 0);
  /* Corrupted calibration: CRC. */
  setup(&f, RV_BUS_I2C);
  rv_mockbus_fault(&f.mb, 4, RV_MOCKBUS_CORRUPT, 7, 0x20);
  assert_int_equal(op_init(&f), RV_EVERIFY);
  /* Stuck bus: EBUSY, then the next call recovers it. */
  setup(&f, RV_BUS_I2C);
  rv_mockbus_fault(&f.mb, 3, RV_MOCKBUS_STUCK, 0, 0);
  assert_int_equal(op_init(&f), RV_EBUSY);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  assert_int_equal(f.mb.recoveries, 1);
  /* The transaction budget: a calibration read longer than the budget. */
  setup(&f, RV_BUS_I2C);
  f.mb.us_per_byte = 300; /* 26 bytes: 7.8 ms > 5 ms */
  assert_int_equal(op_init(&f), RV_ETIMEDOUT);
  f.mb.us_per_byte = RV_MOCKBUS_US_PER_BYTE;
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  /* A conversion that never reports done: bounded wait, then ETIMEDOUT. */
  setup(&f, RV_BUS_I2C);
  assert_int_equal(op_init(&f), RV_OK);
  uint32_t base = f.mb.txn_count;
  for (uint32_t i = 1; i <= 4; i++) { /* all four status reads say MEASURING */
    rv_mockbus_fault(&f.mb, base + i, RV_MOCKBUS_CORRUPT, 5, RV_ENV1_STATUS_MEASURING);
  }
  assert_int_equal(rv_sensor_fetch(&f.s), RV_ETIMEDOUT);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  expect_current(&f);
  /* Re-initialisation during a fetch can fail too; it is retried. */
  setup(&f, RV_BUS_I2C);
  assert_int_equal(op_init(&f), RV_OK);
  assert_int_equal(rv_sensor_recover(&f.s), RV_OK);
  base = f.mb.txn_count;
  rv_mockbus_fault(&f.mb, base, RV_MOCKBUS_CORRUPT, 1, 0x02); /* MODE forced -> normal */
  assert_int_equal(rv_sensor_fetch(&f.s), RV_EVERIFY);
  rv_mockbus_fault(&f.mb, base + 2, RV_MOCKBUS_NACK, 0, 0); /* the re-init's first txn */
  assert_int_equal(rv_sensor_fetch(&f.s), RV_EIO);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  expect_current(&f);
  rv_sensor_stats st;
  rv_sensor_get_stats(&f.s, &st);
  assert_int_equal(st.reinits, 2); /* the explicit recover, then the retried one */
  assert_int_equal(st.bus_errors, 1);
}

static void test_reinit_after_repeated_failures(void **state) {
  (void)state;
  fx f;
  setup(&f, RV_BUS_I2C);
  assert_int_equal(op_init(&f), RV_OK);
  uint32_t base = f.mb.txn_count;
  /* Each fetch's first transaction NACKed, three times. */
  for (uint32_t i = 0; i < RV_SENSOR_MAX_FAILS; i++) {
    rv_mockbus_fault(&f.mb, base + i, RV_MOCKBUS_NACK, 0, 0);
  }
  for (uint32_t i = 0; i < RV_SENSOR_MAX_FAILS; i++) {
    assert_int_equal(rv_sensor_fetch(&f.s), RV_EIO);
  }
  assert_int_equal(f.m.resets, 1);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  assert_int_equal(f.m.resets, 2); /* re-initialised first */
  rv_sensor_stats st;
  rv_sensor_get_stats(&f.s, &st);
  assert_int_equal(st.reinits, 1);
  assert_int_equal(st.bus_errors, RV_SENSOR_MAX_FAILS);
  /* A chip that reset behind our back is noticed and re-initialised. */
  uint8_t v = RV_ENV1_RESET_MAGIC;
  assert_int_equal(rv_bus_reg_write(&f.bus, A, RV_ENV1_REG_SOFT_RESET, &v, 1), RV_OK);
  /* (OSR resets to 0; ours is 0x11: the read-back differs.) */
  assert_int_equal(rv_sensor_fetch(&f.s), RV_EVERIFY);
  assert_int_equal(rv_sensor_fetch(&f.s), RV_OK);
  expect_current(&f);
}

/* Deliver DRDY: run the clock until the line rises, then call the ISR. */
static int wait_irq_and_isr(fx *f) {
  for (int i = 0; i < 1000 && !rv_env1_model_irq(&f->m); i++) {
    rv_mockbus_advance(&f->mb, 100);
  }
  assert_true(rv_env1_model_irq(&f->m));
  return rv_sensor_isr(&f->s);
}

static void test_interrupt_path(void **state) {
  (void)state;
  fx f;
  rv_sensor_sample smp;
  setup(&f, RV_BUS_I2C);
  f.m.on_convert = vary;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced_irq, f.ring, sizeof f.ring), RV_OK);
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_EEMPTY);
  for (uint32_t i = 0; i < 5; i++) {
    assert_int_equal(rv_sensor_trigger(&f.s), RV_OK);
    assert_int_equal(wait_irq_and_isr(&f), RV_OK);
    assert_false(rv_env1_model_irq(&f.m)); /* reading the frame acknowledged it */
    assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_OK);
    rv_env1_value want;
    rv_env1_compensate(&f.m.cal, &f.m.next, &want);
    assert_int_equal(smp.temp, want.temp);
    assert_int_equal(smp.pres, want.pres);
    assert_int_equal(smp.hum, want.hum);
    assert_int_equal(smp.seq, i);
  }
  /* A NACKed ISR read is reported in order by poll; a corrupted one is
   * rejected; a stuck bus is recovered by the next trigger. */
  assert_int_equal(rv_sensor_trigger(&f.s), RV_OK);
  rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_NACK, 0, 0);
  assert_int_equal(wait_irq_and_isr(&f), RV_EIO);
  assert_true(rv_env1_model_irq(&f.m)); /* not acknowledged: still pending */
  rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_CORRUPT, 4, 0x08);
  assert_int_equal(wait_irq_and_isr(&f), RV_OK);
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_EIO);
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_EVERIFY);
  assert_int_equal(rv_sensor_trigger(&f.s), RV_OK);
  rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_STUCK, 0, 0);
  assert_int_equal(wait_irq_and_isr(&f), RV_EBUSY);
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_EBUSY);
  assert_int_equal(rv_sensor_trigger(&f.s), RV_OK); /* recovered, then triggered */
  assert_int_equal(f.mb.recoveries, 1);
  assert_int_equal(wait_irq_and_isr(&f), RV_OK);
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_OK);
  /* A full ring drops and counts. */
  unsigned pushed = 0;
  int rc;
  do {
    assert_int_equal(rv_sensor_trigger(&f.s), RV_OK);
    rc = wait_irq_and_isr(&f);
    pushed += rc == RV_OK;
  } while (rc == RV_OK);
  assert_int_equal(rc, RV_EFULL);
  assert_int_equal(pushed, sizeof f.ring / RV_SENSOR_RING_BYTES_PER_SAMPLE);
  rv_sensor_stats st;
  rv_sensor_get_stats(&f.s, &st);
  assert_int_equal(st.isr_dropped, 1);
  assert_int_equal(st.isr_errors, 2);
  assert_int_equal(st.isr_runs, 5 + 4 + pushed + 1);
  for (unsigned i = 0; i < pushed; i++) {
    assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_OK);
  }
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_EEMPTY);
  /* A failed trigger, and a failed explicit recovery, are reported; the
   * next call recovers. */
  rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_NACK, 0, 0);
  assert_int_equal(rv_sensor_trigger(&f.s), RV_EIO);
  rv_mockbus_fault(&f.mb, f.mb.txn_count + 2, RV_MOCKBUS_TIMEOUT, 0, 0);
  assert_int_equal(rv_sensor_recover(&f.s), RV_ETIMEDOUT);
  assert_int_equal(rv_sensor_trigger(&f.s), RV_OK);
  assert_int_equal(wait_irq_and_isr(&f), RV_OK);
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_OK);
  /* Wrong modes. */
  setup(&f, RV_BUS_I2C);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_trigger(&f.s), RV_ESTATE); /* no drdy_irq */
  assert_int_equal(rv_sensor_isr(&f.s), RV_ESTATE);     /* no ring */
  assert_int_equal(rv_sensor_poll(&f.s, &smp), RV_ESTATE);
}

static void test_fifo(void **state) {
  (void)state;
  fx f;
  rv_sensor_sample out[8];
  size_t n = 99;
  setup(&f, RV_BUS_I2C);
  f.m.on_convert = vary;
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &forced, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_ESTATE);
  assert_int_equal(rv_sensor_init(&f.s, &f.bus, A, &normal_fifo, NULL, 0), RV_OK);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 0, &n), RV_EINVAL);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_OK);
  assert_int_equal(n, 0);
  /* Record what each conversion measured, to check every FIFO sample. */
  rv_env1_raw hist[16];
  uint32_t period = rv_env1_meas_time_us(0, 0, 0) + rv_env1_standby_us(1);
  for (int i = 0; i < 6; i++) {
    rv_mockbus_advance(&f.mb, period);
    hist[i] = f.m.next;
  }
  assert_int_equal(f.m.conversions, 6);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 3, &n), RV_OK);
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) { /* conversions 3..5 (oldest two dropped) */
    rv_env1_value want;
    rv_env1_compensate(&f.m.cal, &hist[2 + i], &want);
    assert_int_equal(out[i].temp, want.temp);
    assert_int_equal(out[i].pres, want.pres);
  }
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_OK);
  assert_int_equal(n, 1);
  /* Corrupted count (4 -> 12) and corrupted frame. */
  rv_mockbus_advance(&f.mb, 4 * (uint64_t)period);
  rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_CORRUPT, 1, 0x08);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_EVERIFY);
  rv_mockbus_fault(&f.mb, f.mb.txn_count + 1, RV_MOCKBUS_CORRUPT, 12, 0x40);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_EVERIFY);
  assert_int_equal(n, 0);
  /* Third failure in a row: the next read re-initialises first; that
   * re-initialisation times out (its 2nd transaction), the one after works. */
  rv_mockbus_fault(&f.mb, f.mb.txn_count, RV_MOCKBUS_NACK, 0, 0);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_EIO);
  rv_mockbus_fault(&f.mb, f.mb.txn_count + 1, RV_MOCKBUS_TIMEOUT, 0, 0);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_ETIMEDOUT);
  assert_int_equal(rv_sensor_fifo_read(&f.s, out, 8, &n), RV_OK);
  assert_int_equal(n, 0); /* the reset emptied the FIFO */
  rv_sensor_stats st;
  rv_sensor_get_stats(&f.s, &st);
  assert_int_equal(st.reinits, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_args),
      cmocka_unit_test(test_not_found),
      cmocka_unit_test(test_init_script),
      cmocka_unit_test(test_fetch_forced),
      cmocka_unit_test(test_fetch_normal),
      cmocka_unit_test(test_fault_every_init_transaction),
      cmocka_unit_test(test_fault_every_fetch_transaction),
      cmocka_unit_test(test_specific_errors),
      cmocka_unit_test(test_reinit_after_repeated_failures),
      cmocka_unit_test(test_interrupt_path),
      cmocka_unit_test(test_fifo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
