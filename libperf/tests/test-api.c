/* test-api: links the shared library and uses only the public umbrella
 * header, so an exported symbol missing from the .so fails to link here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include <rivet/core/err.h>
#include <rivet/perf.h>

static void test_version(void **state) {
  (void)state;
  assert_int_equal(rv_perf_version(), RV_PERF_VERSION_NUMBER);
  assert_string_equal(rv_perf_version_string(), RV_PERF_VERSION_STRING);
}

static unsigned calls;
static void work(void *ctx) {
  unsigned *n = ctx;
  *n += 1;
  rv_bench_do_not_optimize(n);
}
static void nop(void *ctx) { (void)ctx; }

static void test_public_surface(void **state) {
  (void)state;
  FILE *out = tmpfile();
  assert_non_null(out);
  char *argv[] = {"api", "--quick", "--reps", "2", "--warmup=0", "--no-json", NULL};
  rv_bench_config cfg = {.suite = "api", .out = out, .err = out};
  rv_bench *b = NULL;
  assert_int_equal(rv_bench_create_ex(&b, &cfg, 6, argv), RV_OK);
  assert_true(rv_bench_quick(b));
  assert_int_equal(rv_bench_pick(b, 100, 3), 3);
  rv_bench_case c = {.name = "work",
                     .fn = work,
                     .setup = nop,
                     .teardown = nop,
                     .ctx = &calls,
                     .ops = 1,
                     .baseline = true};
  assert_int_equal(rv_bench_add(b, &c), RV_OK);
  assert_int_equal(rv_bench_count(b), 1);
  assert_int_equal(rv_bench_run(b), RV_OK);
  assert_int_equal(calls, 2);
  rv_bench_result r;
  assert_int_equal(rv_bench_get_result(b, 0, &r), RV_OK);
  assert_true(r.ran);
  assert_int_equal(r.reps, 2);
  rv_bench_destroy(b);
  fclose(out);

  uint64_t s[3] = {3, 1, 2};
  double med, lo, hi;
  assert_int_equal(rv_bench_stats(s, 3, &med, &lo, &hi), RV_OK);
  assert_true(med == 2.0);
  assert_true(rv_bench_ratio(4.0, 2.0) == 2.0);
  uint64_t t0 = rv_bench_now_ns();
  assert_true(rv_bench_now_ns() >= t0);
  rv_bench_escape(&t0);
  b = NULL;
  char *bad[] = {"api", "--bogus", NULL};
  FILE *devnull = fopen("/dev/null", "w");
  assert_non_null(devnull);
  cfg.err = devnull;
  assert_int_equal(rv_bench_create_ex(&b, &cfg, 2, bad), RV_EINVAL);
  assert_null(b);
  char *none[] = {"api", NULL};
  assert_int_equal(rv_bench_create(&b, "api", 1, none, NULL), RV_OK);
  rv_bench_destroy(b);
  fclose(devnull);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_public_surface),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
