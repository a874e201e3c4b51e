/* test-bench: the benchmark harness. Times come from a fake clock that the
 * cases advance themselves, so every statistic is exact and no assertion
 * depends on how fast this machine is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/core/alloc.h>
#include <rivet/core/err.h>
#include <rivet/perf/bench.h>

#include "bench-internal.h"

/* ---- fake clock and recording cases ---- */

typedef struct world {
  uint64_t now;  /* the fake clock, in ns */
  char log[256]; /* one letter per event, in order */
  size_t log_len;
} world;

typedef struct fake_case {
  world *w;
  char id;              /* letter written to the log when fn runs */
  const uint64_t *cost; /* ns the n-th call of fn takes (cycled) */
  size_t ncost;
  size_t calls, setups, teardowns;
} fake_case;

static uint64_t fake_clock(void *ctx) { return ((world *)ctx)->now; }

static void logc(world *w, char c) {
  if (w->log_len + 1 < sizeof w->log)
    w->log[w->log_len++] = c;
  w->log[w->log_len] = '\0';
}

static void fake_fn(void *ctx) {
  fake_case *c = ctx;
  c->w->now += c->cost[c->calls % c->ncost];
  c->calls++;
  logc(c->w, c->id);
}

/* Setup and teardown take (fake) time too: it must not be counted. */
static void fake_setup(void *ctx) {
  fake_case *c = ctx;
  c->w->now += 1000000;
  c->setups++;
  logc(c->w, 's');
}

static void fake_teardown(void *ctx) {
  fake_case *c = ctx;
  c->w->now += 1000000;
  c->teardowns++;
  logc(c->w, 't');
}

/* A runner on a fake clock whose table goes to a temporary file. */
typedef struct fixture {
  world w;
  FILE *out, *err;
  rv_bench *b;
} fixture;

static int make_runner(fixture *f, const rv_alloc *a, int argc, char **argv) {
  memset(&f->w, 0, sizeof f->w);
  f->out = tmpfile();
  f->err = tmpfile();
  assert_non_null(f->out);
  assert_non_null(f->err);
  rv_bench_config cfg = {.suite = "t",
                         .alloc = a,
                         .out = f->out,
                         .err = f->err,
                         .clock = fake_clock,
                         .clock_ctx = &f->w};
  f->b = NULL;
  return rv_bench_create_ex(&f->b, &cfg, argc, argv);
}

static char *slurp(FILE *f) {
  static char buf[16384];
  fflush(f);
  rewind(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  /* Back to the end, so later output is appended after what was read. */
  fseek(f, 0, SEEK_END);
  return buf;
}

static void close_fixture(fixture *f) {
  rv_bench_destroy(f->b);
  f->b = NULL;
  fclose(f->out);
  fclose(f->err);
}

/* ---- statistics and ratios on synthetic data ---- */

static void test_stats(void **state) {
  (void)state;
  double med = -1, lo = -1, hi = -1;
  uint64_t odd[] = {50, 10, 30, 40, 20};
  assert_int_equal(rv_bench_stats(odd, 5, &med, &lo, &hi), RV_OK);
  assert_true(med == 30.0 && lo == 10.0 && hi == 50.0);
  uint64_t even[] = {4, 1, 3, 2};
  assert_int_equal(rv_bench_stats(even, 4, &med, &lo, &hi), RV_OK);
  assert_true(med == 2.5 && lo == 1.0 && hi == 4.0);
  uint64_t one[] = {7};
  assert_int_equal(rv_bench_stats(one, 1, &med, &lo, &hi), RV_OK);
  assert_true(med == 7.0 && lo == 7.0 && hi == 7.0);
  uint64_t dup[] = {5, 5, 1, 9, 5, 5};
  assert_int_equal(rv_bench_stats(dup, 6, &med, &lo, &hi), RV_OK);
  assert_true(med == 5.0 && lo == 1.0 && hi == 9.0);
  /* The mean of the two middle values must not overflow. */
  uint64_t big[] = {UINT64_MAX, UINT64_MAX - 2};
  assert_int_equal(rv_bench_stats(big, 2, &med, &lo, &hi), RV_OK);
  assert_true(med >= (double)(UINT64_MAX - 2) && med <= (double)UINT64_MAX);
  med = lo = hi = -1;
  assert_int_equal(rv_bench_stats(odd, 0, &med, &lo, &hi), RV_EINVAL);
  assert_true(med == -1 && lo == -1 && hi == -1);
}

static void test_ratio(void **state) {
  (void)state;
  assert_true(rv_bench_ratio(10.0, 5.0) == 2.0);
  assert_true(rv_bench_ratio(5.0, 10.0) == 0.5);
  assert_true(rv_bench_ratio(3.0, 3.0) == 1.0);
  assert_true(rv_bench_ratio(0.0, 5.0) == 0.0);
  assert_true(rv_bench_ratio(5.0, 0.0) == 0.0);
  assert_true(rv_bench_ratio(-1.0, 5.0) == 0.0);
  assert_true(rv_bench_ratio(NAN, 5.0) == 0.0);
  assert_true(rv_bench_ratio(5.0, NAN) == 0.0);
}

/* ---- round order ---- */

static void test_round_order(void **state) {
  (void)state;
  size_t o[8];
  /* Two cases: AB, BA, BA, AB, then again. */
  const size_t want2[4][2] = {{0, 1}, {1, 0}, {1, 0}, {0, 1}};
  for (size_t r = 0; r < 8; r++) {
    rv_bench_round_order(2, r, o);
    assert_int_equal(o[0], want2[r % 4][0]);
    assert_int_equal(o[1], want2[r % 4][1]);
  }
  rv_bench_round_order(1, 5, o);
  assert_int_equal(o[0], 0);
  /* n cases: each round is a permutation, and over 2n rounds every case
   * sits in every position equally often (twice). */
  for (size_t n = 2; n <= 7; n++) {
    size_t count[8][8] = {{0}};
    for (size_t r = 0; r < 2 * n; r++) {
      rv_bench_round_order(n, r, o);
      unsigned seen = 0;
      for (size_t k = 0; k < n; k++) {
        assert_true(o[k] < n);
        seen |= 1u << o[k];
        count[o[k]][k]++;
      }
      assert_int_equal(seen, (1u << n) - 1);
    }
    for (size_t c = 0; c < n; c++)
      for (size_t k = 0; k < n; k++)
        assert_int_equal(count[c][k], 2);
  }
}

/* ---- a full run on the fake clock ---- */

static void test_run_stats_and_ratio(void **state) {
  (void)state;
  fixture f;
  char *argv[] = {"t", "--reps", "4", "--warmup", "0", "--no-json", NULL};
  assert_int_equal(make_runner(&f, NULL, 6, argv), RV_OK);
  /* ops = 2, so ns/op is half the repetition's time. */
  const uint64_t base_cost[] = {40, 20, 100, 30};  /* sorted 20 30 40 100: median 35 */
  const uint64_t fast_cost[] = {10, 14, 12, 1000}; /* sorted 10 12 14 1000: median 13 */
  fake_case base = {.w = &f.w, .id = 'A', .cost = base_cost, .ncost = 4};
  fake_case fast = {.w = &f.w, .id = 'B', .cost = fast_cost, .ncost = 4};
  fake_case lone = {.w = &f.w, .id = 'C', .cost = base_cost, .ncost = 4};
  rv_bench_case cb = {.name = "base",
                      .group = "g",
                      .fn = fake_fn,
                      .setup = fake_setup,
                      .teardown = fake_teardown,
                      .ctx = &base,
                      .ops = 2,
                      .baseline = true};
  rv_bench_case cf = {.name = "fast",
                      .group = "g",
                      .fn = fake_fn,
                      .setup = fake_setup,
                      .teardown = fake_teardown,
                      .ctx = &fast,
                      .ops = 2};
  rv_bench_case cl = {.name = "lone", .fn = fake_fn, .ctx = &lone, .ops = 1};
  assert_int_equal(rv_bench_add(f.b, &cf), RV_OK);
  assert_int_equal(rv_bench_add(f.b, &cb), RV_OK);
  assert_int_equal(rv_bench_add(f.b, &cl), RV_OK);
  rv_bench_result r;
  assert_int_equal(rv_bench_get_result(f.b, 0, &r), RV_ESTATE);
  assert_int_equal(rv_bench_run(f.b), RV_OK);

  assert_int_equal(rv_bench_get_result(f.b, 1, &r), RV_OK);
  assert_string_equal(r.name, "base");
  assert_string_equal(r.group, "g");
  assert_string_equal(r.baseline, "base");
  assert_true(r.median == 17.5 && r.min == 10.0 && r.max == 50.0);
  assert_true(r.ratio == 1.0);
  assert_int_equal(r.reps, 4);
  assert_int_equal(r.ops, 2);
  assert_true(r.ran);

  assert_int_equal(rv_bench_get_result(f.b, 0, &r), RV_OK);
  assert_string_equal(r.name, "fast");
  assert_true(r.median == 6.5 && r.min == 5.0 && r.max == 500.0);
  assert_string_equal(r.baseline, "base");
  assert_true(r.ratio == 17.5 / 6.5);

  /* No baseline in the default group: no ratio. */
  assert_int_equal(rv_bench_get_result(f.b, 2, &r), RV_OK);
  assert_string_equal(r.group, "");
  assert_null(r.baseline);
  assert_true(r.ratio == 0.0);
  assert_true(r.median == 35.0);
  assert_int_equal(rv_bench_get_result(f.b, 3, &r), RV_ERANGE);

  const char *table = slurp(f.out);
  assert_non_null(strstr(table, "group: g"));
  assert_non_null(strstr(table, "base (baseline)"));
  assert_non_null(strstr(table, "2.69x"));
  assert_non_null(strstr(table, "(default group)"));
  assert_null(strstr(table, "{\"suite\"")); /* --no-json */
  /* Baseline row first within its group even though registered second. */
  assert_true(strstr(table, "base (baseline)") < strstr(table, "  fast "));

  /* Runs once; no adding after. */
  assert_int_equal(rv_bench_run(f.b), RV_ESTATE);
  assert_int_equal(rv_bench_add(f.b, &cl), RV_ESTATE);
  close_fixture(&f);
}

static void test_alternation_and_setup_teardown(void **state) {
  (void)state;
  fixture f;
  char *argv[] = {"t", "--reps=4", "--warmup=2", "--no-json", NULL};
  assert_int_equal(make_runner(&f, NULL, 4, argv), RV_OK);
  const uint64_t cost[] = {7};
  fake_case a = {.w = &f.w, .id = 'A', .cost = cost, .ncost = 1};
  fake_case bb = {.w = &f.w, .id = 'B', .cost = cost, .ncost = 1};
  rv_bench_case ca = {.name = "a",
                      .fn = fake_fn,
                      .setup = fake_setup,
                      .teardown = fake_teardown,
                      .ctx = &a,
                      .ops = 1,
                      .baseline = true};
  rv_bench_case cb = {.name = "b",
                      .fn = fake_fn,
                      .setup = fake_setup,
                      .teardown = fake_teardown,
                      .ctx = &bb,
                      .ops = 1};
  assert_int_equal(rv_bench_add(f.b, &ca), RV_OK);
  assert_int_equal(rv_bench_add(f.b, &cb), RV_OK);
  assert_int_equal(rv_bench_run(f.b), RV_OK);
  /* 2 warm-up + 4 timed rounds, order AB BA BA AB AB BA, each call wrapped
   * in its own setup and teardown. */
  assert_string_equal(f.w.log, "sAtsBt"
                               "sBtsAt"
                               "sBtsAt"
                               "sAtsBt"
                               "sAtsBt"
                               "sBtsAt");
  assert_int_equal(a.calls, 6);
  assert_int_equal(a.setups, 6);
  assert_int_equal(a.teardowns, 6);
  assert_int_equal(bb.setups, 6);
  assert_int_equal(bb.teardowns, 6);
  /* Setup and teardown (1 ms each on the fake clock) are not timed. */
  rv_bench_result r;
  assert_int_equal(rv_bench_get_result(f.b, 1, &r), RV_OK);
  assert_true(r.median == 7.0 && r.max == 7.0);
  assert_true(r.ratio == 1.0);
  close_fixture(&f);
}

/* ---- arguments ---- */

static void expect_bad_args(int argc, char **argv, const char *needle) {
  fixture f;
  assert_int_equal(make_runner(&f, NULL, argc, argv), RV_EINVAL);
  assert_null(f.b);
  const char *msg = slurp(f.err);
  if (strstr(msg, needle) == NULL)
    fail_msg("error for '%s' should mention '%s', got: %s", argv[argc - 1], needle, msg);
  close_fixture(&f);
}

static void test_bad_args(void **state) {
  (void)state;
  char *a1[] = {"t", "--reps", "0"};
  expect_bad_args(3, a1, "--reps needs a whole number");
  char *a2[] = {"t", "--reps", "-3"};
  expect_bad_args(3, a2, "--reps");
  char *a3[] = {"t", "--reps", "abc"};
  expect_bad_args(3, a3, "got 'abc'");
  char *a4[] = {"t", "--reps=12x"};
  expect_bad_args(2, a4, "got '12x'");
  char *a5[] = {"t", "--reps", "99999999999999999999999"};
  expect_bad_args(3, a5, "--reps");
  char *a6[] = {"t", "--reps", "1000001"};
  expect_bad_args(3, a6, "--reps");
  char *a7[] = {"t", "--reps"};
  expect_bad_args(2, a7, "--reps needs a value");
  char *a8[] = {"t", "--warmup", " 1"};
  expect_bad_args(3, a8, "--warmup");
  char *a9[] = {"t", "--frobnicate"};
  expect_bad_args(2, a9, "unknown option '--frobnicate'");
  char *a10[] = {"t", "stray"};
  expect_bad_args(2, a10, "unknown argument 'stray'");
  char *a11[] = {"t", "--filter="};
  expect_bad_args(2, a11, "--filter needs a non-empty value");
  char *a12[] = {"t", "--json", ""};
  expect_bad_args(3, a12, "--json needs a non-empty value");
  char *a13[] = {"t", "--repsx", "3"};
  expect_bad_args(3, a13, "unknown option '--repsx'");

  /* A bad suite name, a NULL config. */
  rv_bench *b = NULL;
  FILE *err = tmpfile();
  assert_non_null(err);
  rv_bench_config cfg = {.suite = "", .err = err};
  assert_int_equal(rv_bench_create_ex(&b, &cfg, 0, NULL), RV_EINVAL);
  cfg.suite = "a\"b";
  assert_int_equal(rv_bench_create_ex(&b, &cfg, 0, NULL), RV_EINVAL);
  assert_non_null(strstr(slurp(err), "suite name"));
  cfg.suite = "ok";
  assert_int_equal(rv_bench_create_ex(&b, &cfg, 1, NULL), RV_EINVAL);
  assert_int_equal(rv_bench_create_ex(&b, NULL, 0, NULL), RV_EINVAL);
  assert_int_equal(rv_bench_create_ex(NULL, &cfg, 0, NULL), RV_EINVAL);
  assert_null(b);
  assert_non_null(strstr(slurp(err), "NULL runner, config or argv"));
  fclose(err);
}

static void test_good_args(void **state) {
  (void)state;
  fixture f;
  char *none[] = {"t"};
  assert_int_equal(make_runner(&f, NULL, 1, none), RV_OK);
  assert_false(rv_bench_quick(f.b));
  assert_int_equal(rv_bench_pick(f.b, 1000, 10), 1000);
  assert_true(f.b->reps >= 9);
  assert_int_equal(f.b->warmup, 2);
  close_fixture(&f);

  char *quick[] = {"t", "--quick"};
  assert_int_equal(make_runner(&f, NULL, 2, quick), RV_OK);
  assert_true(rv_bench_quick(f.b));
  assert_int_equal(rv_bench_pick(f.b, 1000, 10), 10);
  assert_int_equal(f.b->reps, 3);
  assert_int_equal(f.b->warmup, 1);
  close_fixture(&f);

  /* Explicit values win over --quick's defaults, in either order; a
   * repeated --filter keeps the last one. */
  char *both[] = {"t", "--reps", "5", "--quick", "--warmup=0", "--filter", "x", "--filter=y"};
  assert_int_equal(make_runner(&f, NULL, 8, both), RV_OK);
  assert_int_equal(f.b->reps, 5);
  assert_int_equal(f.b->warmup, 0);
  assert_string_equal(f.b->filter, "y");
  close_fixture(&f);
}

static void test_help(void **state) {
  (void)state;
  fixture f;
  char *argv[] = {"prog", "--help"};
  assert_int_equal(make_runner(&f, NULL, 2, argv), RV_OK);
  const uint64_t cost[] = {1};
  fake_case a = {.w = &f.w, .id = 'A', .cost = cost, .ncost = 1};
  rv_bench_case ca = {.name = "a", .fn = fake_fn, .ctx = &a, .ops = 1};
  assert_int_equal(rv_bench_add(f.b, &ca), RV_OK);
  assert_int_equal(rv_bench_run(f.b), RV_OK);
  assert_int_equal(a.calls, 0);
  const char *out = slurp(f.out);
  assert_non_null(strstr(out, "usage: prog"));
  assert_non_null(strstr(out, "--filter"));
  close_fixture(&f);
}

/* ---- registration errors ---- */

static void test_add_errors(void **state) {
  (void)state;
  fixture f;
  char *argv[] = {"t"};
  assert_int_equal(make_runner(&f, NULL, 1, argv), RV_OK);
  const uint64_t cost[] = {1};
  fake_case a = {.w = &f.w, .id = 'A', .cost = cost, .ncost = 1};
  rv_bench_case c = {
      .name = "a", .group = "g", .fn = fake_fn, .ctx = &a, .ops = 1, .baseline = true};
  assert_int_equal(rv_bench_add(f.b, NULL), RV_EINVAL);
  rv_bench_case bad = c;
  bad.name = NULL;
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  bad.name = "";
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  bad.name = "q\"uote";
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  bad.name = "new\nline";
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  bad = c;
  bad.group = "back\\slash";
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  bad = c;
  bad.fn = NULL;
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  bad = c;
  bad.ops = 0;
  assert_int_equal(rv_bench_add(f.b, &bad), RV_EINVAL);
  assert_int_equal(rv_bench_count(f.b), 0);

  assert_int_equal(rv_bench_add(f.b, &c), RV_OK);
  assert_int_equal(rv_bench_add(f.b, &c), RV_EEXIST); /* same name, same group */
  rv_bench_case c2 = c;
  c2.name = "b";
  assert_int_equal(rv_bench_add(f.b, &c2), RV_EEXIST); /* second baseline */
  c2.baseline = false;
  assert_int_equal(rv_bench_add(f.b, &c2), RV_OK);
  c2.group = "other";
  c2.name = "a";
  c2.baseline = true;
  assert_int_equal(rv_bench_add(f.b, &c2), RV_OK); /* same name, other group */
  assert_int_equal(rv_bench_count(f.b), 3);
  close_fixture(&f);
}

/* ---- filter ---- */

static void test_filter(void **state) {
  (void)state;
  const uint64_t cost[] = {4};
  struct {
    char *filter;
    const char *want; /* which of A..D ran */
  } cases[] = {
      {"--filter=fast", "AB"},  /* B and its group's baseline A */
      {"--filter=g1/sl", "AC"}, /* group/name form */
      {"--filter=g2", "D"},     /* a group name; g2 has no baseline */
      {"--filter=1/b", "A"},    /* spans the '/' */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    fixture f;
    char *argv[] = {"t", cases[k].filter, "--no-json"};
    assert_int_equal(make_runner(&f, NULL, 3, argv), RV_OK);
    fake_case fc[4];
    const char *names[4] = {"base", "fast", "slow", "other"};
    const char *groups[4] = {"g1", "g1", "g1", "g2"};
    for (int i = 0; i < 4; i++) {
      fc[i] = (fake_case){.w = &f.w, .id = (char)('A' + i), .cost = cost, .ncost = 1};
      rv_bench_case c = {.name = names[i],
                         .group = groups[i],
                         .fn = fake_fn,
                         .ctx = &fc[i],
                         .ops = 1,
                         .baseline = i == 0};
      assert_int_equal(rv_bench_add(f.b, &c), RV_OK);
    }
    assert_int_equal(rv_bench_run(f.b), RV_OK);
    for (int i = 0; i < 4; i++) {
      bool want = strchr(cases[k].want, 'A' + i) != NULL;
      rv_bench_result r;
      assert_int_equal(rv_bench_get_result(f.b, (size_t)i, &r), RV_OK);
      if (r.ran != want || (fc[i].calls > 0) != want)
        fail_msg("filter %s: case %c ran=%d calls=%zu", cases[k].filter, 'A' + i, r.ran,
                 fc[i].calls);
    }
    close_fixture(&f);
  }

  /* Nothing matches, or nothing registered: RV_ENOTFOUND with a message. */
  fixture f;
  char *argv[] = {"t", "--filter", "zzz"};
  assert_int_equal(make_runner(&f, NULL, 3, argv), RV_OK);
  fake_case a = {.w = &f.w, .id = 'A', .cost = cost, .ncost = 1};
  rv_bench_case c = {.name = "a", .fn = fake_fn, .ctx = &a, .ops = 1};
  assert_int_equal(rv_bench_add(f.b, &c), RV_OK);
  assert_int_equal(rv_bench_run(f.b), RV_ENOTFOUND);
  assert_non_null(strstr(slurp(f.err), "matches --filter 'zzz'"));
  assert_int_equal(a.calls, 0);
  close_fixture(&f);
  char *none[] = {"t"};
  assert_int_equal(make_runner(&f, NULL, 1, none), RV_OK);
  assert_int_equal(rv_bench_run(f.b), RV_ENOTFOUND);
  assert_non_null(strstr(slurp(f.err), "was registered"));
  close_fixture(&f);
}

/* ---- JSON lines ---- */

/* Parse every line of \p path with Python's json module and print, per
 * line, the fields in a fixed order; returns the text (static). */
static const char *python_parse(const char *path) {
  const char *py = getenv("PYTHON");
  if (py == NULL || py[0] == '\0')
    py = "python3";
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "'%s' -c 'import json,sys\n"
           "for line in open(sys.argv[1]):\n"
           "  d=json.loads(line)\n"
           "  print(d[\"suite\"],d[\"group\"],d[\"case\"],d[\"ns_per_op_median\"],d[\"min\"],"
           "d[\"max\"],d[\"ratio_vs\"],d[\"ratio\"],d[\"reps\"],d[\"ops\"],d[\"quick\"],"
           "type(d[\"cpu\"]).__name__,d[\"nproc\"]>=1,sep=\"|\")' '%s'",
           py, path);
  /* The command is fixed text plus our own mkstemp path: no injection. */
  FILE *p = popen(cmd, "r"); // NOLINT(cert-env33-c)
  assert_non_null(p);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  assert_int_equal(pclose(p), 0);
  return buf;
}

static void add_json_cases(fixture *f, fake_case fc[3]) {
  static const uint64_t base_cost[] = {30};
  static const uint64_t fast_cost[] = {12};
  fc[0] = (fake_case){.w = &f->w, .id = 'A', .cost = base_cost, .ncost = 1};
  fc[1] = (fake_case){.w = &f->w, .id = 'B', .cost = fast_cost, .ncost = 1};
  fc[2] = (fake_case){.w = &f->w, .id = 'C', .cost = fast_cost, .ncost = 1};
  rv_bench_case c[3] = {
      {.name = "base", .group = "g", .fn = fake_fn, .ctx = &fc[0], .ops = 3, .baseline = true},
      {.name = "fast", .group = "g", .fn = fake_fn, .ctx = &fc[1], .ops = 3},
      {.name = "alone", .fn = fake_fn, .ctx = &fc[2], .ops = 4},
  };
  for (int i = 0; i < 3; i++)
    assert_int_equal(rv_bench_add(f->b, &c[i]), RV_OK);
}

static const char *const want_json = "t|g|base|10|10|10|base|1|2|3|False|str|True\n"
                                     "t|g|fast|4|4|4|base|2.5|2|3|False|str|True\n"
                                     "t||alone|3|3|3|None|None|2|4|False|str|True\n";

static void test_json_file(void **state) {
  (void)state;
  char path[] = "/tmp/rv-bench-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  /* Two runs append to the same file. */
  for (int run = 0; run < 2; run++) {
    fixture f;
    char *argv[] = {"t", "--reps", "2", "--warmup", "1", "--json", path};
    assert_int_equal(make_runner(&f, NULL, 7, argv), RV_OK);
    fake_case fc[3];
    add_json_cases(&f, fc);
    assert_int_equal(rv_bench_run(f.b), RV_OK);
    /* With --json FILE the table still goes out, the JSON does not. */
    const char *table = slurp(f.out);
    assert_non_null(strstr(table, "2.50x"));
    assert_null(strstr(table, "{\""));
    close_fixture(&f);
  }
  const char *got = python_parse(path);
  char want2[1024];
  snprintf(want2, sizeof want2, "%s%s", want_json, want_json);
  assert_string_equal(got, want2);
  unlink(path);
}

static void test_json_stdout(void **state) {
  (void)state;
  fixture f;
  char *argv[] = {"t", "--reps", "2", "--warmup", "1"};
  assert_int_equal(make_runner(&f, NULL, 5, argv), RV_OK);
  fake_case fc[3];
  add_json_cases(&f, fc);
  assert_int_equal(rv_bench_run(f.b), RV_OK);
  /* Default: JSON lines on the output after the table. Check by string,
   * then hand just the JSON lines to Python. */
  const char *out = slurp(f.out);
  const char *json = strstr(out, "{\"suite\"");
  assert_non_null(json);
  assert_non_null(strstr(out, "group: g"));
  assert_true(strstr(out, "group: g") < json);
  assert_non_null(strstr(json, "{\"suite\":\"t\",\"group\":\"g\",\"case\":\"fast\","
                               "\"ns_per_op_median\":4,\"min\":4,\"max\":4,"
                               "\"ratio_vs\":\"base\",\"ratio\":2.5,\"reps\":2,\"ops\":3,"));
  assert_non_null(strstr(json, "\"ratio_vs\":null,\"ratio\":null,"));
  char path[] = "/tmp/rv-bench-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t len = strlen(json);
  assert_int_equal(write(fd, json, len), (ssize_t)len);
  close(fd);
  assert_string_equal(python_parse(path), want_json);
  unlink(path);
  close_fixture(&f);
}

static void test_json_io_error(void **state) {
  (void)state;
  fixture f;
  char *argv[] = {"t", "--reps=1", "--json", "/nonexistent-dir/rv/x.json"};
  assert_int_equal(make_runner(&f, NULL, 4, argv), RV_OK);
  fake_case fc[3];
  add_json_cases(&f, fc);
  assert_int_equal(rv_bench_run(f.b), RV_EIO);
  assert_non_null(strstr(slurp(f.err), "cannot open --json file '/nonexistent-dir/rv/x.json'"));
  rv_bench_result r;
  assert_int_equal(rv_bench_get_result(f.b, 0, &r), RV_ESTATE);
  close_fixture(&f);
}

static void test_write_errors(void **state) {
  (void)state;
  /* The table cannot be written (a stream opened for reading). */
  world w = {0};
  FILE *ro = fopen("/dev/null", "r");
  FILE *err = tmpfile();
  assert_non_null(ro);
  assert_non_null(err);
  rv_bench_config cfg = {.suite = "t", .out = ro, .err = err, .clock = fake_clock, .clock_ctx = &w};
  char *argv[] = {"t", "--reps=1", "--no-json"};
  rv_bench *b = NULL;
  assert_int_equal(rv_bench_create_ex(&b, &cfg, 3, argv), RV_OK);
  const uint64_t cost[] = {1};
  fake_case a = {.w = &w, .id = 'A', .cost = cost, .ncost = 1};
  rv_bench_case c = {.name = "a", .fn = fake_fn, .ctx = &a, .ops = 1};
  assert_int_equal(rv_bench_add(b, &c), RV_OK);
  assert_int_equal(rv_bench_run(b), RV_EIO);
  assert_non_null(strstr(slurp(err), "cannot write the report"));
  rv_bench_destroy(b);
  fclose(ro);
  fclose(err);

  /* The JSON file fills up (/dev/full: every write fails with ENOSPC). */
  if (access("/dev/full", W_OK) != 0) {
    print_message("skipping the /dev/full case: no /dev/full\n");
    return;
  }
  fixture f;
  char *argv2[] = {"t", "--reps=1", "--json", "/dev/full"};
  assert_int_equal(make_runner(&f, NULL, 4, argv2), RV_OK);
  fake_case fc[3];
  add_json_cases(&f, fc);
  assert_int_equal(rv_bench_run(f.b), RV_EIO);
  assert_non_null(strstr(slurp(f.err), "cannot write the JSON lines"));
  close_fixture(&f);
}

/* ---- every allocation failure is handled, without a leak ---- */

static void test_alloc_failures(void **state) {
  (void)state;
  bool completed = false;
  for (size_t n = 0; n < 200 && !completed; n++) {
    rv_alloc_failing fa;
    const rv_alloc *a = rv_alloc_failing_init(&fa, NULL, n);
    fixture f;
    char *argv[] = {"t", "--reps=2", "--warmup=0", "--filter", "c", "--json", "-"};
    int rc = make_runner(&f, a, 7, argv);
    const uint64_t cost[] = {5};
    fake_case fc = {.w = &f.w, .id = 'A', .cost = cost, .ncost = 1};
    static const char *const names[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
    /* Ten cases: the registry grows past its first size. */
    for (size_t i = 0; rc == RV_OK && i < 10; i++) {
      rv_bench_case c = {.name = names[i], .fn = fake_fn, .ctx = &fc, .ops = 1};
      rc = rv_bench_add(f.b, &c);
    }
    if (rc == RV_OK)
      rc = rv_bench_run(f.b);
    if (rc == RV_OK) {
      completed = true;
      assert_int_equal(fc.calls, 20);
    } else {
      if (rc != RV_ENOMEM)
        fail_msg("allocation %zu failed: got %s, want RV_ENOMEM", n, rv_err_name(rc));
    }
    if (rc != RV_OK && f.b == NULL)
      assert_int_equal(fa.live_blocks, 0);
    close_fixture(&f);
    if (fa.live_blocks != 0)
      fail_msg("allocation %zu failed: %zu blocks leaked", n, fa.live_blocks);
  }
  assert_true(completed);
}

static void test_misc(void **state) {
  (void)state;
  rv_bench_destroy(NULL);
  int x = 3;
  rv_bench_do_not_optimize(&x);
  rv_bench_escape(&x);
  assert_int_equal(x, 3);
  uint64_t t0 = rv_bench_now_ns();
  uint64_t t1 = rv_bench_now_ns();
  assert_true(t1 >= t0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stats),
      cmocka_unit_test(test_ratio),
      cmocka_unit_test(test_round_order),
      cmocka_unit_test(test_run_stats_and_ratio),
      cmocka_unit_test(test_alternation_and_setup_teardown),
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_good_args),
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_add_errors),
      cmocka_unit_test(test_filter),
      cmocka_unit_test(test_json_file),
      cmocka_unit_test(test_json_stdout),
      cmocka_unit_test(test_json_io_error),
      cmocka_unit_test(test_write_errors),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_misc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
