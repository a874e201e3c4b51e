/* test-env1: data formats, and the integer compensation against a
 * double-precision reference over the whole input range (property test). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/iot/env1.h>
#include <rivet/iot/env1-model.h>

#define SEED UINT64_C(0x5EED0E171)

static uint64_t rng_state;
static uint32_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

static void test_crc8(void **state) {
  (void)state;
  const uint8_t v[2] = {0xBE, 0xEF};
  assert_int_equal(rv_env1_crc8(v, 2), 0x92); /* the usual check value of this CRC */
  assert_int_equal(rv_env1_crc8(NULL, 0), 0xFF);
}

static void test_calib_roundtrip(void **state) {
  (void)state;
  rv_env1_calib c, d;
  uint8_t raw[RV_ENV1_CALIB_LEN + 1];
  rv_env1_model_default_calib(&c);
  c.t2 = -32768;
  c.h0 = 32767;
  rv_env1_calib_encode(&c, raw);
  assert_int_equal(rv_env1_calib_decode(raw, &d), RV_OK);
  assert_memory_equal(&c, &d, sizeof c);
  for (unsigned bit = 0; bit < 8 * sizeof raw; bit++) {
    raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(rv_env1_calib_decode(raw, &d), RV_EVERIFY);
    raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
}

static void test_frame_roundtrip(void **state) {
  (void)state;
  const rv_env1_raw r = {0xABCDE, 0x12345, 0xBEEF};
  rv_env1_raw d;
  uint8_t f[RV_ENV1_FRAME_LEN];
  rv_env1_frame_encode(&r, f);
  assert_int_equal(f[0], 0x12);
  assert_int_equal(f[2], 0x50);
  assert_int_equal(rv_env1_frame_decode(f, &d), RV_OK);
  assert_int_equal(d.adc_t, r.adc_t);
  assert_int_equal(d.adc_p, r.adc_p);
  assert_int_equal(d.adc_h, r.adc_h);
  /* Every single-bit error is caught. */
  for (unsigned bit = 0; bit < 8 * sizeof f; bit++) {
    f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(rv_env1_frame_decode(f, &d), RV_EVERIFY);
    f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  /* A nonzero spare nibble with a matching CRC is still rejected. */
  f[5] |= 0x01;
  f[8] = rv_env1_crc8(f, 8);
  assert_int_equal(rv_env1_frame_decode(f, &d), RV_EVERIFY);
}

/* The datasheet's formulas (§6), in double precision. */
static void reference(const rv_env1_calib *c, const rv_env1_raw *r, double out[3]) {
  double dt = (double)r->adc_t - 16.0 * c->t0;
  double t = 25.0 + c->t1 * dt / 67108864.0 + c->t2 * dt * dt / 1125899906842624.0;
  double tau = t - 25.0;
  double dp = (double)r->adc_p - 524288.0;
  double p = 2.0 * c->p0 + c->p1 * dp / 65536.0 + c->p2 * dp * dp / 1099511627776.0 +
             c->p3 * tau / 16.0 + c->p4 * tau * dp / 16777216.0;
  double h = c->h0 / 256.0 + c->h1 * (double)r->adc_h / 4194304.0 +
             c->h2 * tau * (double)r->adc_h / 1073741824.0;
  out[0] = fmin(fmax(t * 100.0, -4000.0), 8500.0);
  out[1] = fmin(fmax(p * 10.0, 300000.0), 1100000.0);
  out[2] = fmin(fmax(h * 100.0, 0.0), 10000.0);
}

static double worst[3];
/* The bounds of datasheet §6.3: rounding (0.5) plus the truncation of
 * t_fine, which reaches pressure through P3 and P4 (0.0195 + 0.0098). */
static const double bound[3] = {0.501, 0.53, 0.501};

static void check(const rv_env1_calib *c, const rv_env1_raw *r, uint64_t seed) {
  rv_env1_value v;
  double ref[3];
  assert_int_equal(rv_env1_compensate(c, r, &v), RV_OK);
  reference(c, r, ref);
  const double got[3] = {v.temp, v.pres, v.hum};
  for (int i = 0; i < 3; i++) {
    double e = fabs(got[i] - ref[i]);
    if (e > worst[i]) {
      worst[i] = e;
    }
    if (e > bound[i]) {
      fprintf(stderr, "seed %#llx: channel %d adc_t %u adc_p %u adc_h %u: got %.0f want %.4f\n",
              (unsigned long long)seed, i, (unsigned)r->adc_t, (unsigned)r->adc_p,
              (unsigned)r->adc_h, got[i], ref[i]);
      fail();
    }
  }
}

static void random_calib(rv_env1_calib *c) {
  c->t0 = (uint16_t)rng();
  c->t1 = (uint16_t)rng();
  c->t2 = (int16_t)(rng() & 0xFFFF);
  c->p0 = (uint16_t)rng();
  c->p1 = (uint16_t)rng();
  c->p2 = (int16_t)(rng() & 0xFFFF);
  c->p3 = (int16_t)(rng() & 0xFFFF);
  c->p4 = (int16_t)(rng() & 0xFFFF);
  c->h0 = (int16_t)(rng() & 0xFFFF);
  c->h1 = (uint16_t)rng();
  c->h2 = (int16_t)(rng() & 0xFFFF);
}

/* Extreme coefficients: every term at its largest magnitude. */
static void extreme_calib(rv_env1_calib *c, int sign) {
  c->t0 = sign > 0 ? 0 : 0xFFFF;
  c->t1 = 0xFFFF;
  c->t2 = sign > 0 ? 32767 : -32768;
  c->p0 = 0xFFFF;
  c->p1 = 0xFFFF;
  c->p2 = sign > 0 ? 32767 : -32768;
  c->p3 = sign > 0 ? 32767 : -32768;
  c->p4 = sign > 0 ? -32768 : 32767;
  c->h0 = sign > 0 ? 32767 : -32768;
  c->h1 = 0xFFFF;
  c->h2 = sign > 0 ? -32768 : 32767;
}

static void test_compensation_property(void **state) {
  (void)state;
  rng_state = SEED;
  rv_env1_calib cals[6];
  rv_env1_model_default_calib(&cals[0]);
  extreme_calib(&cals[1], 1);
  extreme_calib(&cals[2], -1);
  for (int i = 3; i < 6; i++) {
    random_calib(&cals[i]);
  }
  /* Every temperature code, with the other channels at random and at their
   * ends, for each calibration. */
  for (int ci = 0; ci < 6; ci++) {
    for (uint32_t t = 0; t < (1u << 20); t++) {
      uint32_t k = rng();
      rv_env1_raw r = {t,
                       (k & 3) == 0   ? 0
                       : (k & 3) == 1 ? 0xFFFFF
                                      : (k >> 12),
                       (uint16_t)((k & 4) ? 0xFFFF : (k >> 16))};
      check(&cals[ci], &r, SEED);
    }
  }
  /* Random calibrations, random codes. */
  for (int i = 0; i < 1 << 20; i++) {
    rv_env1_calib c;
    random_calib(&c);
    rv_env1_raw r = {rng() >> 12, rng() >> 12, (uint16_t)(rng() >> 16)};
    check(&c, &r, SEED);
  }
  printf("worst error (LSB): temp %.4f pressure %.4f humidity %.4f\n", worst[0], worst[1],
         worst[2]);
  /* The default part is not clamped over a typical range. */
  rv_env1_value v;
  const rv_env1_raw mid = {512000, 524288, 0x8000};
  assert_int_equal(rv_env1_compensate(&cals[0], &mid, &v), RV_OK);
  assert_int_equal(v.temp, 2500);
  assert_true(v.pres > 990000 && v.pres < 1010000);
  assert_true(v.hum > 4000 && v.hum < 6000);
}

static void test_compensate_range(void **state) {
  (void)state;
  rv_env1_calib c;
  rv_env1_value v = {1, 2, 3};
  rv_env1_model_default_calib(&c);
  const rv_env1_raw bad_t = {0x100000, 0, 0};
  const rv_env1_raw bad_p = {0, 0x100000, 0};
  assert_int_equal(rv_env1_compensate(&c, &bad_t, &v), RV_ERANGE);
  assert_int_equal(rv_env1_compensate(&c, &bad_p, &v), RV_ERANGE);
  assert_int_equal(v.temp, 1);
}

static void test_timing_tables(void **state) {
  (void)state;
  assert_int_equal(rv_env1_meas_time_us(0, 0, 0), 3500);
  assert_int_equal(rv_env1_meas_time_us(4, 4, 4), 48500);
  assert_int_equal(rv_env1_meas_time_us(7, 1, 2), 500 + 1000 * (16 + 2 + 4));
  assert_int_equal(rv_env1_standby_us(0), 500);
  assert_int_equal(rv_env1_standby_us(7), 1000000);
  assert_int_equal(rv_env1_standby_us(8 + 3), 50000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc8),
      cmocka_unit_test(test_calib_roundtrip),
      cmocka_unit_test(test_frame_roundtrip),
      cmocka_unit_test(test_compensation_property),
      cmocka_unit_test(test_compensate_range),
      cmocka_unit_test(test_timing_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
