/* Tests for timing: the Welch statistic against hand-computed values, every
 * error path, and the checker on real code: it must flag a byte-by-byte
 * early-exit compare (|t| >= 10 within 20,000 measurements) and must not
 * flag rv_ct_eq (|t| < 10, dudect's threshold, over up to 1,000,000
 * measurements). Both runs are capped in time; the verdicts use dudect's
 * thresholds, never timings. Seeds are fixed and printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rivet/core/alloc.h>
#include <rivet/core/err.h>
#include <rivet/sec/ct.h>
#include <rivet/sec/timing.h>

#define LEN 512
#define SEED 0x7131u

static uint8_t secret[LEN];
static volatile uint32_t sink;

static void test_welch(void **state) {
  (void)state;
  rv_timing_welch w = {{0}, {0}, {0}};
  assert_true(rv_timing_welch_t(&w) == 0.0);
  const double c0[] = {1, 2, 3, 4};
  const double c1[] = {2, 3, 4, 5, 6};
  for (int i = 0; i < 4; i++) {
    rv_timing_welch_push(&w, 0, c0[i]);
  }
  assert_true(rv_timing_welch_t(&w) == 0.0); /* class 1 still empty */
  for (int i = 0; i < 5; i++) {
    rv_timing_welch_push(&w, 7, c1[i]); /* any nonzero class is class 1 */
  }
  /* means 2.5 and 4, variances 5/3 and 2.5: t = -1.5 / sqrt(5/12 + 0.5) */
  double want = -1.5 / sqrt(5.0 / 12.0 + 0.5);
  assert_true(fabs(rv_timing_welch_t(&w) - want) < 1e-12);
  assert_true(fabs(w.mean[0] - 2.5) < 1e-12);
  assert_true(fabs(w.mean[1] - 4.0) < 1e-12);
  /* No variance at all: t is 0, not a division by zero. */
  rv_timing_welch z = {{0}, {0}, {0}};
  for (int i = 0; i < 3; i++) {
    rv_timing_welch_push(&z, 0, 5.0);
    rv_timing_welch_push(&z, 1, 5.0);
  }
  assert_true(rv_timing_welch_t(&z) == 0.0);
  assert_string_equal(rv_timing_verdict_name(RV_TIMING_LEAK), "leak: timing depends on the input");
  assert_string_equal(rv_timing_verdict_name(RV_TIMING_NO_LEAK), "no leak found");
  assert_string_equal(rv_timing_verdict_name(RV_TIMING_MAYBE), "possible leak: measure more");
  assert_string_equal(rv_timing_verdict_name((rv_timing_verdict)42), "unknown verdict");
}

static void run_ct(void *ctx, const uint8_t *in, size_t len) {
  (void)ctx;
  sink = rv_ct_eq(in, secret, len);
}

/* The deliberate leak: return at the first differing byte. Volatile reads
 * keep the compiler from replacing the loop with a library memcmp. */
static void run_leaky(void *ctx, const uint8_t *in, size_t len) {
  (void)ctx;
  const volatile uint8_t *a = in;
  const volatile uint8_t *b = secret;
  uint32_t r = 1;
  for (size_t i = 0; i < len; i++) {
    if (a[i] != b[i]) {
      r = 0;
      break;
    }
  }
  sink = r;
}

static void prepare_pair(void *ctx, int cls, uint8_t *input, size_t len, const uint8_t *random) {
  (void)ctx;
  memcpy(input, cls == 0 ? secret : random, len);
}

static void test_errors(void **state) {
  (void)state;
  rv_timing_result r;
  rv_timing_config c = {.run = run_ct, .input_len = LEN};
  assert_int_equal(rv_timing_check(NULL, &r), RV_EINVAL);
  assert_int_equal(rv_timing_check(&c, NULL), RV_EINVAL);
  rv_timing_config bad = c;
  bad.run = NULL;
  assert_int_equal(rv_timing_check(&bad, &r), RV_EINVAL);
  bad = c;
  bad.input_len = 0;
  assert_int_equal(rv_timing_check(&bad, &r), RV_EINVAL);
  uint64_t samples[4];
  bad = c;
  bad.samples = samples;
  bad.samples_cap = 4;
  assert_int_equal(rv_timing_check(&bad, &r), RV_EINVAL);
  bad = c;
  bad.batch = SIZE_MAX / 2;
  bad.input_len = 4;
  assert_int_equal(rv_timing_check(&bad, &r), RV_EOVERFLOW);
  bad = c;
  bad.batch = SIZE_MAX / 4;
  bad.input_len = 1;
  assert_int_equal(rv_timing_check(&bad, &r), RV_EOVERFLOW); /* cycle array overflows */
  /* Every allocation failure is reported and leaks nothing. */
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    rv_timing_config fc = c;
    fc.alloc = rv_alloc_failing_init(&f, NULL, n);
    fc.max_measurements = 200;
    fc.batch = 100;
    int rc = rv_timing_check(&fc, &r);
    assert_int_equal(f.live_blocks, 0);
    if (rc == RV_OK) {
      assert_true(n >= 5);
      break;
    }
    assert_int_equal(rc, RV_ENOMEM);
  }
}

static void test_samples_and_limits(void **state) {
  (void)state;
  uint64_t samples[300] = {0};
  uint8_t cls[300] = {0};
  uint8_t fixed[16] = {1, 2, 3};
  rv_timing_config c = {.run = run_ct,
                        .input_len = sizeof fixed,
                        .fixed = fixed,
                        .seed = SEED,
                        .max_measurements = 1000,
                        .batch = 250,
                        .samples = samples,
                        .sample_class = cls,
                        .samples_cap = 300};
  rv_timing_result r;
  assert_int_equal(rv_timing_check(&c, &r), RV_OK);
  assert_int_equal(r.measurements, 1000);
  assert_int_equal(r.samples_stored, 300);
  assert_int_equal(r.verdict, RV_TIMING_TOO_FEW); /* 1000 < RV_TIMING_ENOUGH */
  size_t ones = 0;
  for (size_t i = 0; i < 300; i++) {
    assert_true(cls[i] <= 1);
    ones += cls[i];
  }
  assert_true(ones > 100 && ones < 200); /* a fair coin, seeded */
  assert_non_null(r.timer);
  /* A time limit stops the run early. */
  c.max_measurements = 100000000;
  c.max_seconds = 0.05;
  c.samples = NULL;
  c.sample_class = NULL;
  assert_int_equal(rv_timing_check(&c, &r), RV_OK);
  assert_true(r.measurements < 100000000);
}

static void test_flags_leaky_memcmp(void **state) {
  (void)state;
  rv_timing_config c = {.run = run_leaky,
                        .prepare = prepare_pair,
                        .input_len = LEN,
                        .seed = SEED,
                        .max_measurements = 20000,
                        .batch = 5000,
                        .max_seconds = 10,
                        .stop_t = 20};
  rv_timing_result r;
  assert_int_equal(rv_timing_check(&c, &r), RV_OK);
  printf("leaky memcmp: max |t| = %.1f (test %d, %zu measurements, %.2f s, %s, seed 0x%x)\n",
         r.max_t, r.max_test, r.measurements, r.seconds, r.timer, SEED);
  assert_true(r.measurements <= 20000);
  assert_int_equal(r.verdict, RV_TIMING_LEAK);
  assert_true(r.max_t >= RV_TIMING_T_LEAK);
}

static void test_passes_ct_eq(void **state) {
  (void)state;
  rv_timing_config c = {.run = run_ct,
                        .prepare = prepare_pair,
                        .input_len = LEN,
                        .seed = SEED,
                        .max_measurements = 1000000,
                        .batch = 10000,
                        .max_seconds = 8};
  rv_timing_result r;
  assert_int_equal(rv_timing_check(&c, &r), RV_OK);
  printf("rv_ct_eq: max |t| = %.2f (test %d, %zu measurements, %.2f s, %s, seed 0x%x): %s\n",
         r.max_t, r.max_test, r.measurements, r.seconds, r.timer, SEED,
         rv_timing_verdict_name(r.verdict));
  assert_true(r.measurements >= RV_TIMING_ENOUGH);
  assert_true(r.max_t < RV_TIMING_T_LEAK);
  assert_int_not_equal(r.verdict, RV_TIMING_LEAK);
}

int main(void) {
  for (size_t i = 0; i < LEN; i++) {
    secret[i] = (uint8_t)(i * 131 + 17);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_welch),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_samples_and_limits),
      cmocka_unit_test(test_flags_leaky_memcmp),
      cmocka_unit_test(test_passes_ct_eq),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
