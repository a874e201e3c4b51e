/* test-scan: every kernel of every available implementation against the
 * scalar one, on random and edge-case inputs, at every alignment and tail
 * length; dispatch and error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/perf/scan.h>

#include "scan-internal.h"

#define SEED 0x5ca9u
static uint64_t rng_state;
static uint64_t rng(void) {
  /* xorshift64: deterministic, seeded by SEED */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Alphabet rich in the bytes the kernels look for, so matches are dense. */
static uint8_t pick(int dense) {
  static const uint8_t hot[] = {' ', '"', '[', ']', '\n', 'a', 0, 0xff, 0x80};
  if (dense && rng() % 4 == 0)
    return hot[rng() % sizeof hot];
  return (uint8_t)rng();
}

static const rv_scan_ops *impls[3];
static size_t nimpls;

static int setup(void **state) {
  (void)state;
  nimpls = 0;
  for (int i = 0; i <= RV_SCAN_AVX2; i++)
    if (rv_scan_ops_for((rv_scan_impl)i))
      impls[nimpls++] = rv_scan_ops_for((rv_scan_impl)i);
  return 0;
}

static void check_buffer(const uint8_t *p, size_t n, const rv_scan_set *set) {
  const rv_scan_ops *s = impls[0];
  for (size_t k = 1; k < nimpls; k++) {
    const rv_scan_ops *o = impls[k];
    for (int c = 0; c < 256; c += 51) {
      if (o->byte(p, n, (uint8_t)c) != s->byte(p, n, (uint8_t)c) ||
          o->count(p, n, (uint8_t)c) != s->count(p, n, (uint8_t)c)) {
        printf("seed %#x impl %s n %zu byte %d\n", SEED, rv_scan_impl_name(o->impl), n, c);
        fail();
      }
    }
    assert_int_equal(o->byte(p, n, '\n'), s->byte(p, n, '\n'));
    assert_int_equal(o->count(p, n, '\n'), s->count(p, n, '\n'));
    assert_int_equal(o->any(p, n, set), s->any(p, n, set));
  }
}

static void test_alignments_and_tails(void **state) {
  (void)state;
  static uint8_t buf[64 + 300];
  rv_scan_set set;
  assert_int_equal(rv_scan_set_init(&set, (const uint8_t *)" \"[]\n", 5), 0);
  rng_state = SEED;
  for (int dense = 0; dense < 2; dense++) {
    for (size_t i = 0; i < sizeof buf; i++)
      buf[i] = pick(dense);
    for (size_t align = 0; align < 64; align++)
      for (size_t n = 0; n <= 200; n++)
        check_buffer(buf + align, n, &set);
  }
}

static void test_positions(void **state) {
  (void)state;
  /* A single needle at every position of an otherwise needle-free buffer,
   * and the needle as the very last byte (the tail path). */
  static uint8_t buf[600];
  for (size_t n = 1; n <= 520; n += 7) {
    for (size_t pos = 0; pos < n; pos++) {
      memset(buf, 'x', n);
      buf[pos] = '\n';
      for (size_t k = 0; k < nimpls; k++) {
        assert_int_equal(impls[k]->byte(buf, n, '\n'), pos);
        assert_int_equal(impls[k]->count(buf, n, '\n'), 1);
      }
    }
  }
}

static void test_count_long(void **state) {
  (void)state;
  /* All bytes equal: exercises the 255-round flush of the vector counters. */
  static uint8_t buf[100000];
  memset(buf, '\n', sizeof buf);
  for (size_t k = 0; k < nimpls; k++) {
    assert_int_equal(impls[k]->count(buf, sizeof buf, '\n'), sizeof buf);
    assert_int_equal(impls[k]->count(buf + 3, sizeof buf - 3, '\n'), sizeof buf - 3);
    assert_int_equal(impls[k]->byte(buf, sizeof buf, 'q'), sizeof buf);
  }
}

static void test_struct64(void **state) {
  (void)state;
  uint8_t buf[64 + 64];
  rng_state = SEED + 1;
  for (int round = 0; round < 2000; round++) {
    for (size_t i = 0; i < sizeof buf; i++)
      buf[i] = pick(1);
    size_t align = (size_t)round % 64;
    rv_scan_masks want, got;
    impls[0]->struct64(buf + align, &want);
    for (size_t k = 1; k < nimpls; k++) {
      impls[k]->struct64(buf + align, &got);
      assert_int_equal(got.space, want.space);
      assert_int_equal(got.quote, want.quote);
      assert_int_equal(got.bracket, want.bracket);
      assert_int_equal(got.newline, want.newline);
    }
  }
  /* Known block: check the scalar reference itself. */
  memset(buf, 'x', 64);
  buf[0] = ' ';
  buf[1] = '"';
  buf[2] = '[';
  buf[62] = ']';
  buf[63] = '\n';
  rv_scan_masks m;
  rv_scan_struct64(buf, &m);
  assert_int_equal(m.space, 1);
  assert_int_equal(m.quote, 2);
  assert_int_equal(m.bracket, 4 | (1ull << 62));
  assert_int_equal(m.newline, 1ull << 63);
}

static void test_any_sets(void **state) {
  (void)state;
  uint8_t buf[300];
  rng_state = SEED + 2;
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)(rng() % 200 + 20);
  for (size_t nset = 1; nset <= RV_SCAN_SET_MAX; nset++) {
    uint8_t bytes[RV_SCAN_SET_MAX];
    for (size_t i = 0; i < nset; i++)
      bytes[i] = (uint8_t)(rng() % 256);
    rv_scan_set set;
    assert_int_equal(rv_scan_set_init(&set, bytes, nset), 0);
    for (size_t n = 0; n <= sizeof buf; n += 3)
      check_buffer(buf, n, &set);
  }
}

static void test_dispatch_and_errors(void **state) {
  (void)state;
  rv_scan_set set;
  uint8_t b = 'a';
  assert_int_equal(rv_scan_set_init(&set, &b, 0), RV_EINVAL);
  assert_int_equal(rv_scan_set_init(&set, &b, RV_SCAN_SET_MAX + 1), RV_EINVAL);
  assert_int_equal(rv_scan_set_init(&set, NULL, 1), RV_EINVAL);
  assert_int_equal(rv_scan_force((rv_scan_impl)7), RV_EINVAL);
  rv_scan_impl best = rv_scan_best();
  assert_int_equal(rv_scan_active(), best);
  assert_string_equal(rv_scan_impl_name(RV_SCAN_AVX2), "avx2");
  assert_string_equal(rv_scan_impl_name((rv_scan_impl)9), "unknown");
  for (int i = 0; i <= RV_SCAN_AVX2; i++) {
    int rc = rv_scan_force((rv_scan_impl)i);
    if (rv_scan_ops_for((rv_scan_impl)i)) {
      assert_int_equal(rc, 0);
      assert_int_equal(rv_scan_active(), i);
      assert_int_equal(rv_scan_byte("abc\n", 4, '\n'), 3);
      assert_int_equal(rv_scan_count("a\nb\n", 4, '\n'), 2);
      assert_int_equal(rv_scan_byte(NULL, 0, '\n'), 0);
      assert_int_equal(rv_scan_set_init(&set, (const uint8_t *)"bc", 2), 0);
      assert_int_equal(rv_scan_any("aaac", 4, &set), 3);
      assert_int_equal(rv_scan_any(NULL, 0, &set), 0);
      assert_int_equal(rv_scan_count(NULL, 0, 'a'), 0);
    } else {
      assert_int_equal(rc, RV_EUNSUPPORTED);
    }
  }
  assert_int_equal(rv_scan_force(best), 0);
  printf("# scan: best implementation on this CPU: %s\n", rv_scan_impl_name(best));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alignments_and_tails),
      cmocka_unit_test(test_positions),
      cmocka_unit_test(test_count_long),
      cmocka_unit_test(test_struct64),
      cmocka_unit_test(test_any_sets),
      cmocka_unit_test(test_dispatch_and_errors),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
