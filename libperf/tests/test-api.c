/* test-api: links the shared library and uses only the public umbrella
 * header, so an exported symbol missing from the .so fails to link here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

static int count_ok(void *ctx, const rv_log_record *r) {
  *(uint64_t *)ctx += r->bytes;
  return 0;
}

/* scan, mapfile and logparse through the shared library. */
static void test_scan_mapfile_logparse(void **state) {
  (void)state;
  assert_int_equal(rv_scan_force(rv_scan_best()), 0);
  assert_int_equal(rv_scan_active(), rv_scan_best());
  assert_non_null(rv_scan_impl_name(rv_scan_active()));
  assert_int_equal(rv_scan_byte("ab\n", 3, '\n'), 2);
  assert_int_equal(rv_scan_count("a\nb\n", 4, '\n'), 2);
  rv_scan_set set;
  assert_int_equal(rv_scan_set_init(&set, (const uint8_t *)"[]", 2), 0);
  assert_int_equal(rv_scan_any("ab]", 3, &set), 2);
  uint8_t block[64] = {0};
  block[5] = ' ';
  rv_scan_masks m;
  rv_scan_struct64(block, &m);
  assert_int_equal(m.space, 1u << 5);

  static const char log[] = "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 7 "
                            "\"-\" \"ua\"\njunk\n";
  char path[] = "/tmp/rv-perf-api-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  fputs(log, f);
  fclose(f);
  rv_mapfile *mf;
  assert_int_equal(rv_mapfile_open(&mf, path, NULL), 0);
  assert_true(rv_mapfile_is_mapped(mf));
  assert_int_equal(rv_mapfile_size(mf), sizeof log - 1);
  assert_non_null(rv_mapfile_data(mf));
  rv_logformat *fmt;
  assert_int_equal(rv_logformat_compile(&fmt, "combined", NULL, NULL), 0);
  assert_true(rv_logformat_has(fmt, RV_LOG_AGENT));
  rv_logparse *p;
  assert_int_equal(rv_logparse_create(&p, fmt, NULL), 0);
  rv_mapfile_chunk c;
  uint64_t bytes = 0;
  while (rv_mapfile_next(mf, &c) == 0) {
    assert_int_equal(rv_logparse_feed(p, c.ptr, c.len, count_ok, NULL, &bytes), 0);
    rv_mapfile_release(mf, &c);
  }
  assert_int_equal(rv_logparse_finish(p, count_ok, NULL, &bytes), 0);
  assert_int_equal(bytes, 7);
  assert_int_equal(rv_logparse_lines(p), 2);
  assert_int_equal(rv_logparse_malformed(p, RV_LOG_ETRUNCATED), 1);
  assert_int_equal(rv_mapfile_consumed(mf), sizeof log - 1);
  assert_false(rv_mapfile_shrunk(mf));
  assert_int_equal(rv_mapfile_line_end((const uint8_t *)"a\nb", 3, 0), 2);
  rv_log_record r;
  assert_int_equal(rv_log_parse_line(fmt, (const uint8_t *)"x", 1, &r), RV_LOG_ETRUNCATED);
  assert_string_equal(rv_log_error_name(RV_LOG_EBINARY), "binary");
  int64_t t;
  assert_int_equal(rv_log_parse_time((const uint8_t *)"01/Jan/1970:00:01:00 +0000", 26, &t), 0);
  assert_int_equal(t, 60);
  rv_logparse_reset(p, 5);
  rv_logparse_destroy(p);
  rv_logformat_free(fmt);
  rv_mapfile_close(mf);
  unlink(path);
  rv_mapfile *rd;
  assert_int_equal(rv_mapfile_open_reader(&rd, NULL, NULL, NULL), RV_EINVAL);
  rv_mapfile_chunk z = {0};
  rv_mapfile_chunk_free(NULL, &z);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_public_surface),
      cmocka_unit_test(test_scan_mapfile_logparse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
