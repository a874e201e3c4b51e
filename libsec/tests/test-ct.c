/* Tests for ct: results against the obvious (leaky) definitions, over
 * exhaustive small cases and seeded random buffers. Constant-time behaviour
 * itself is checked by ct-poison.c (valgrind) and test-timing.c (dudect). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

static uint64_t rng_state = 0x5eedu;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(rng_state >> 33);
}

static int sign(int x) { return (x > 0) - (x < 0); }

static void test_eq_verify_cmp(void **state) {
  (void)state;
  unsigned char a[64] = {0};
  unsigned char b[64] = {0};
  for (int round = 0; round < 2000; round++) {
    size_t n = rnd() % sizeof a;
    for (size_t i = 0; i < n; i++) {
      a[i] = (unsigned char)rnd();
    }
    memcpy(b, a, n);
    if (n > 0 && (round & 1)) {
      size_t at = rnd() % n;
      b[at] = (unsigned char)(b[at] + 1 + rnd() % 255); /* always differs */
    }
    int want = memcmp(a, b, n);
    if (rv_ct_eq(a, b, n) != (want == 0) || rv_ct_cmp(a, b, n) != sign(want) ||
        rv_ct_cmp(b, a, n) != -sign(want) ||
        rv_ct_verify(a, b, n) != (want == 0 ? RV_OK : RV_EVERIFY)) {
      fail_msg("mismatch at round %d (seed 0x5eed), n=%zu", round, n);
    }
  }
  /* Every byte value pair, in the first and last position. */
  for (unsigned x = 0; x < 256; x++) {
    for (unsigned y = 0; y < 256; y++) {
      unsigned char p[3] = {(unsigned char)x, 7, (unsigned char)y};
      unsigned char q[3] = {(unsigned char)y, 7, (unsigned char)x};
      assert_int_equal(rv_ct_cmp(p, q, 3), sign(memcmp(p, q, 3)));
      assert_int_equal(rv_ct_eq(p, q, 3), x == y);
    }
  }
  assert_int_equal(rv_ct_eq(NULL, NULL, 0), 1);
  assert_int_equal(rv_ct_cmp(NULL, NULL, 0), 0);
  assert_int_equal(rv_ct_verify(NULL, NULL, 0), RV_OK);
  /* The first difference decides, not the largest one. */
  const unsigned char lo[3] = {1, 0, 0};
  const unsigned char hi[3] = {2, 0, 0};
  const unsigned char later[3] = {1, 255, 255};
  assert_int_equal(rv_ct_cmp(lo, hi, 3), -1);
  assert_int_equal(rv_ct_cmp(later, hi, 3), -1);
  assert_int_equal(rv_ct_cmp(later, lo, 3), 1);
}

static void test_is_zero(void **state) {
  (void)state;
  unsigned char z[40] = {0};
  assert_int_equal(rv_ct_is_zero(z, sizeof z), 1);
  assert_int_equal(rv_ct_is_zero(NULL, 0), 1);
  for (size_t i = 0; i < sizeof z; i++) {
    for (unsigned v = 1; v < 256; v <<= 1) {
      z[i] = (unsigned char)v;
      assert_int_equal(rv_ct_is_zero(z, sizeof z), 0);
    }
    z[i] = 0;
  }
}

static void test_select_copy_swap(void **state) {
  (void)state;
  unsigned char a[33];
  unsigned char b[33];
  unsigned char o[33];
  for (size_t i = 0; i < sizeof a; i++) {
    a[i] = (unsigned char)rnd();
    b[i] = (unsigned char)rnd();
  }
  const uint32_t conds[] = {1, 2, 0x80000000u, 0xffffffffu, 12345};
  for (size_t k = 0; k < sizeof conds / sizeof conds[0]; k++) {
    rv_ct_select(o, a, b, sizeof o, conds[k]);
    assert_memory_equal(o, a, sizeof o);
    assert_int_equal(rv_ct_select_u32(conds[k], 11, 22), 11);
  }
  rv_ct_select(o, a, b, sizeof o, 0);
  assert_memory_equal(o, b, sizeof o);
  assert_int_equal(rv_ct_select_u32(0, 11, 22), 22);
  /* Exact aliasing of the output with an input is allowed. */
  unsigned char a2[33];
  memcpy(a2, a, sizeof a);
  rv_ct_select(a2, a2, b, sizeof a2, 0);
  assert_memory_equal(a2, b, sizeof a2);

  memcpy(o, a, sizeof o);
  rv_ct_copy(o, b, sizeof o, 0);
  assert_memory_equal(o, a, sizeof o);
  rv_ct_copy(o, b, sizeof o, 7);
  assert_memory_equal(o, b, sizeof o);

  unsigned char x[33];
  unsigned char y[33];
  memcpy(x, a, sizeof x);
  memcpy(y, b, sizeof y);
  rv_ct_swap(x, y, sizeof x, 0);
  assert_memory_equal(x, a, sizeof x);
  assert_memory_equal(y, b, sizeof y);
  rv_ct_swap(x, y, sizeof x, 1);
  assert_memory_equal(x, b, sizeof x);
  assert_memory_equal(y, a, sizeof y);
  rv_ct_select(NULL, NULL, NULL, 0, 1); /* empty is fine */
  rv_ct_copy(NULL, NULL, 0, 1);
  rv_ct_swap(NULL, NULL, 0, 1);
}

static void test_word_masks(void **state) {
  (void)state;
  const uint32_t edge[] = {0,           1,           2,           0x7fffffffu,
                           0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu};
  size_t ne = sizeof edge / sizeof edge[0];
  for (size_t i = 0; i < ne; i++) {
    for (size_t j = 0; j < ne; j++) {
      uint32_t x = edge[i];
      uint32_t y = edge[j];
      assert_int_equal(rv_ct_eq_mask_u32(x, y), x == y ? 0xffffffffu : 0);
      assert_int_equal(rv_ct_lt_mask_u32(x, y), x < y ? 0xffffffffu : 0);
    }
  }
  for (int k = 0; k < 100000; k++) {
    uint32_t x = rnd() ^ (rnd() << 16);
    uint32_t y = (k & 3) == 0 ? x : rnd() ^ (rnd() << 16);
    if (rv_ct_lt_mask_u32(x, y) != (x < y ? 0xffffffffu : 0) ||
        rv_ct_eq_mask_u32(x, y) != (x == y ? 0xffffffffu : 0)) {
      fail_msg("mask mismatch for %u, %u (seed 0x5eed, k=%d)", x, y, k);
    }
  }
}

/* The wipe must survive optimisation: wipe a buffer through a function the
 * compiler can see, then read it back through a volatile pointer. */
static void test_wipe(void **state) {
  (void)state;
  unsigned char buf[100];
  memset(buf, 0xa5, sizeof buf);
  rv_ct_wipe(buf, sizeof buf);
  volatile unsigned char *v = buf;
  for (size_t i = 0; i < sizeof buf; i++) {
    assert_int_equal(v[i], 0);
  }
  rv_ct_wipe(NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eq_verify_cmp),
      cmocka_unit_test(test_is_zero),
      cmocka_unit_test(test_select_copy_swap),
      cmocka_unit_test(test_word_masks),
      cmocka_unit_test(test_wipe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
