/* Tests for vec: every operation and error, typed macros, aliasing inputs,
 * every allocation failure (failing allocator looped over N), and a
 * randomized model test against a trivial fixed-size reference array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core/vec.h>

/* Dereference a pointer the test expects to exist (keeps -Wnull-dereference quiet). */
#define must(p) (assert_non_null(p), (p) ? (p) : (abort(), (p)))

static jmp_buf panic_jmp;
static const char *panic_msg;

static _Noreturn void catch_panic(const char *msg) {
  panic_msg = msg;
  longjmp(panic_jmp, 1);
}

/* A 12-byte element, so offsets are not powers of two. */
typedef struct item {
  uint32_t a, b, c;
} item;

static item mk(uint32_t x) {
  item it = {x, x * 3u, ~x};
  return it;
}

static void test_push_pop_at(void **state) {
  (void)state;
  rv_vec v;
  rv_vec_init(&v, sizeof(item), NULL);
  assert_null(v.data);
  assert_int_equal(rv_vec_len(&v), 0);
  assert_null(rv_vec_at(&v, 0));
  item out;
  assert_int_equal(rv_vec_pop(&v, &out), RV_EEMPTY);
  for (uint32_t i = 0; i < 1000; i++) {
    item it = mk(i);
    assert_int_equal(rv_vec_push(&v, &it), RV_OK);
  }
  assert_int_equal(rv_vec_len(&v), 1000);
  assert_true(v.cap >= 1000);
  assert_int_equal((uintptr_t)v.data % RV_ALLOC_ALIGN_MAX, 0);
  for (uint32_t i = 0; i < 1000; i++) {
    item want = mk(i);
    assert_memory_equal(rv_vec_at(&v, i), &want, sizeof want);
  }
  assert_null(rv_vec_at(&v, 1000));
  assert_int_equal(rv_vec_pop(&v, &out), RV_OK);
  assert_int_equal(out.a, 999);
  assert_int_equal(rv_vec_pop(&v, NULL), RV_OK); /* out may be NULL */
  assert_int_equal(rv_vec_len(&v), 998);
  item *slot = rv_vec_push_slot(&v);
  assert_non_null(slot);
  *slot = mk(77);
  assert_int_equal(((item *)v.data)[998].b, 231);
  rv_vec_clear(&v);
  assert_int_equal(rv_vec_len(&v), 0);
  assert_non_null(v.data); /* clear keeps the storage */
  rv_vec_free(&v);
  assert_null(v.data);
  assert_int_equal(v.cap, 0);
  assert_int_equal(v.elem_size, sizeof(item)); /* reusable as initialised */
  rv_vec_free(&v);                             /* twice is fine */
  rv_vec_free(NULL);
}

static void test_insert_remove(void **state) {
  (void)state;
  rv_vec v;
  RV_VEC_INIT(&v, int, NULL);
  int x = 5;
  assert_int_equal(rv_vec_insert(&v, 1, &x), RV_ERANGE); /* i > len */
  assert_int_equal(rv_vec_insert(&v, 0, &x), RV_OK);     /* [5] */
  x = 7;
  assert_int_equal(rv_vec_insert(&v, 1, &x), RV_OK); /* [5 7] append */
  x = 1;
  assert_int_equal(rv_vec_insert(&v, 0, &x), RV_OK); /* [1 5 7] */
  x = 6;
  assert_int_equal(rv_vec_insert(&v, 2, &x), RV_OK); /* [1 5 6 7] */
  const int want1[] = {1, 5, 6, 7};
  assert_memory_equal(v.data, want1, sizeof want1);
  int out = 0;
  assert_int_equal(rv_vec_remove(&v, 4, &out), RV_ERANGE);
  assert_int_equal(rv_vec_remove(&v, 1, &out), RV_OK); /* [1 6 7] */
  assert_int_equal(out, 5);
  assert_int_equal(rv_vec_swap_remove(&v, 3, &out), RV_ERANGE);
  assert_int_equal(rv_vec_swap_remove(&v, 0, &out), RV_OK); /* [7 6] */
  assert_int_equal(out, 1);
  const int want2[] = {7, 6};
  assert_memory_equal(v.data, want2, sizeof want2);
  assert_int_equal(rv_vec_swap_remove(&v, 1, NULL), RV_OK); /* the last one: [7] */
  assert_int_equal(rv_vec_remove(&v, 0, NULL), RV_OK);      /* [] */
  assert_int_equal(rv_vec_remove(&v, 0, NULL), RV_ERANGE);
  assert_int_equal(rv_vec_swap_remove(&v, 0, NULL), RV_ERANGE);
  rv_vec_free(&v);
}

static void test_aliasing_inputs(void **state) {
  (void)state;
  rv_vec v;
  RV_VEC_INIT(&v, int, NULL);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(RV_VEC_PUSH(&v, int, i * 10), RV_OK);
  }
  assert_int_equal(rv_vec_shrink(&v), RV_OK); /* cap == len: the next push reallocates */
  assert_int_equal(v.cap, 4);
  /* push of an element of the vector itself, while it reallocates */
  assert_int_equal(rv_vec_push(&v, rv_vec_at(&v, 1)), RV_OK); /* [0 10 20 30 10] */
  assert_int_equal(rv_vec_shrink(&v), RV_OK);
  /* insert of an element that the shift moves, while it reallocates */
  assert_int_equal(rv_vec_insert(&v, 0, rv_vec_at(&v, 3)), RV_OK); /* [30 0 10 20 30 10] */
  /* and without reallocation, from before and after the insertion point */
  assert_int_equal(rv_vec_reserve(&v, 10), RV_OK);
  assert_int_equal(rv_vec_insert(&v, 2, rv_vec_at(&v, 4)), RV_OK); /* [30 0 30 10 20 30 10] */
  assert_int_equal(rv_vec_insert(&v, 5, rv_vec_at(&v, 1)), RV_OK); /* [30 0 30 10 20 0 30 10] */
  const int want[] = {30, 0, 30, 10, 20, 0, 30, 10};
  assert_int_equal(v.len, 8);
  assert_memory_equal(v.data, want, sizeof want);
  rv_vec_free(&v);
}

static void test_reserve_shrink_errors(void **state) {
  (void)state;
  rv_vec v;
  rv_vec_init(&v, 16, NULL);
  assert_int_equal(rv_vec_reserve(&v, SIZE_MAX / 16 + 1), RV_EOVERFLOW); /* bytes overflow */
  assert_int_equal(rv_vec_reserve(&v, 0), RV_OK);
  assert_int_equal(v.cap, 0); /* nothing allocated */
  unsigned char e[16] = {1};
  assert_int_equal(rv_vec_push(&v, e), RV_OK);
  assert_int_equal(rv_vec_reserve(&v, SIZE_MAX), RV_EOVERFLOW); /* len + n overflows */
  assert_int_equal(v.len, 1);
  assert_int_equal(rv_vec_reserve(&v, 100), RV_OK);
  assert_true(v.cap >= 101);
  assert_int_equal(rv_vec_shrink(&v), RV_OK);
  assert_int_equal(v.cap, 1);
  assert_int_equal(rv_vec_shrink(&v), RV_OK); /* already tight */
  rv_vec_clear(&v);
  assert_int_equal(rv_vec_shrink(&v), RV_OK); /* empty: the storage goes */
  assert_null(v.data);
  assert_int_equal(v.cap, 0);

  /* RV_ENOMEM from each growing call, the vector unchanged each time. */
  rv_alloc_failing f;
  rv_vec_init(&v, sizeof(int), rv_alloc_failing_init(&f, NULL, SIZE_MAX));
  for (int i = 0; i < 3; i++) {
    assert_int_equal(RV_VEC_PUSH(&v, int, i), RV_OK);
  }
  f.fail_at = f.calls;
  f.fail_after = 1;
  void *data = v.data;
  size_t cap = v.cap;
  assert_int_equal(rv_vec_reserve(&v, cap), RV_ENOMEM);
  while (v.len < v.cap) {
    assert_int_equal(RV_VEC_PUSH(&v, int, 9), RV_OK); /* fills without allocating */
  }
  size_t len = v.len;
  int x = 1;
  assert_int_equal(rv_vec_push(&v, &x), RV_ENOMEM);
  assert_null(rv_vec_push_slot(&v));
  assert_int_equal(rv_vec_insert(&v, 0, &x), RV_ENOMEM);
  assert_int_equal(v.len, len);
  assert_ptr_equal(v.data, data);
  assert_int_equal(((int *)v.data)[0], 0); /* nothing shifted by the failed insert */
  assert_int_equal(rv_vec_pop(&v, NULL), RV_OK);
  assert_int_equal(rv_vec_shrink(&v), RV_ENOMEM); /* the resize down fails */
  assert_int_equal(v.cap, cap);
  rv_vec_free(&v);
  assert_int_equal(f.live_blocks, 0);
}

static void test_typed_macros(void **state) {
  (void)state;
  rv_vec v;
  RV_VEC_INIT(&v, double, NULL);
  assert_int_equal(v.elem_size, sizeof(double));
  for (int i = 0; i < 10; i++) {
    assert_int_equal(RV_VEC_PUSH(&v, double, i * 0.5), RV_OK);
  }
  assert_true(*must(RV_VEC_AT(&v, double, 3)) == 1.5);
  assert_null(RV_VEC_AT(&v, double, 10));
  assert_true(RV_VEC_DATA(&v, double)[9] == 4.5);
  double sum = 0;
  RV_VEC_FOREACH(&v, double, p) { sum += *p; }
  assert_true(sum == 22.5);
  double d = 0;
  assert_int_equal(RV_VEC_POP(&v, double, &d), RV_OK);
  assert_true(d == 4.5);
  rv_vec_free(&v);
  int n = 0;
  RV_VEC_FOREACH(&v, double, p) { n++; } /* empty, NULL data: no iteration */
  assert_int_equal(n, 0);

  /* A type of the wrong size is misuse: it panics instead of corrupting. */
  rv_panic_fn old = rv_set_panic_handler(catch_panic);
  panic_msg = NULL;
  if (setjmp(panic_jmp) == 0) {
    (void)RV_VEC_PUSH(&v, char, 'x');
    fail_msg("RV_VEC_PUSH with the wrong type returned");
  }
  assert_non_null(panic_msg);
  panic_msg = NULL;
  if (setjmp(panic_jmp) == 0) {
    (void)RV_VEC_AT(&v, float, 0);
    fail_msg("RV_VEC_AT with the wrong type returned");
  }
  assert_non_null(panic_msg);
  panic_msg = NULL;
  if (setjmp(panic_jmp) == 0) {
    rv_vec_init(&v, 0, NULL);
    fail_msg("rv_vec_init with elem_size 0 returned");
  }
  assert_true(panic_msg && strstr(panic_msg, "elem_size"));
  rv_set_panic_handler(old);
}

/* A workload touching every allocating call; with the N-th allocation
 * failing, each call must report it and the vector must stay consistent. */
static void test_failing_allocator_loop(void **state) {
  (void)state;
  size_t n = 0;
  for (;; n++) {
    rv_alloc_failing f;
    rv_vec v;
    rv_vec_init(&v, sizeof(item), rv_alloc_failing_init(&f, NULL, n));
    size_t ok = 0;
    for (uint32_t i = 0; i < 300; i++) {
      item it = mk(i);
      int rc = (i % 3 == 0) ? rv_vec_insert(&v, v.len / 2, &it) : rv_vec_push(&v, &it);
      assert_true(rc == RV_OK || rc == RV_ENOMEM);
      ok += rc == RV_OK;
      assert_int_equal(v.len, ok);
    }
    int rc = rv_vec_reserve(&v, 5000);
    assert_true(rc == RV_OK || rc == RV_ENOMEM);
    rc = rv_vec_shrink(&v);
    assert_true(rc == RV_OK || rc == RV_ENOMEM);
    (void)rv_vec_push_slot(&v);
    rv_vec_free(&v);
    if (f.live_blocks != 0) {
      fail_msg("failing at allocation %zu leaked %zu blocks", n, f.live_blocks);
    }
    if (f.failures == 0) {
      break;
    }
  }
  assert_true(n > 5);
}

/* ---- randomized model test ------------------------------------------- */

#define MODEL_MAX 4096

static uint64_t rng_state;

static uint64_t rng(void) { /* xorshift64*: deterministic from the seed */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static void test_model(void **state) {
  (void)state;
  const uint64_t seed = 0x5eed0fa11ull;
  static item ref[MODEL_MAX];
  size_t rlen = 0;
  rng_state = seed;
  rv_vec v;
  rv_vec_init(&v, sizeof(item), NULL);
  for (uint32_t step = 0; step < 200000; step++) {
    unsigned op = (unsigned)(rng() % 10);
    uint32_t val = (uint32_t)rng();
    item it = mk(val);
    item out;
    int rc;
    int want = RV_OK;
    size_t i = rlen ? (size_t)(rng() % (rlen + 1)) : 0;
    switch (op) {
    case 0:
    case 1:
    case 2: /* push, more often than removals so the vector grows */
      if (rlen == MODEL_MAX) {
        continue;
      }
      rc = rv_vec_push(&v, &it);
      ref[rlen++] = it;
      break;
    case 3: /* insert anywhere, the end included */
      if (rlen == MODEL_MAX) {
        continue;
      }
      rc = rv_vec_insert(&v, i, &it);
      memmove(&ref[i + 1], &ref[i], (rlen - i) * sizeof(item));
      ref[i] = it;
      rlen++;
      break;
    case 4: /* pop */
      rc = rv_vec_pop(&v, &out);
      if (rlen == 0) {
        want = RV_EEMPTY;
      } else if (rc == RV_OK && memcmp(&out, &ref[--rlen], sizeof out) != 0) {
        fail_msg("seed %#llx step %u: pop returned the wrong element", (unsigned long long)seed,
                 step);
      }
      break;
    case 5: /* ordered remove; i == rlen is out of range */
      rc = rv_vec_remove(&v, i, &out);
      if (i >= rlen) {
        want = RV_ERANGE;
      } else {
        if (memcmp(&out, &ref[i], sizeof out) != 0) {
          fail_msg("seed %#llx step %u: remove returned the wrong element",
                   (unsigned long long)seed, step);
        }
        memmove(&ref[i], &ref[i + 1], (rlen - i - 1) * sizeof(item));
        rlen--;
      }
      break;
    case 6: /* swap remove */
      rc = rv_vec_swap_remove(&v, i, NULL);
      if (i >= rlen) {
        want = RV_ERANGE;
      } else {
        ref[i] = ref[rlen - 1];
        rlen--;
      }
      break;
    case 7:
      rc = (val % 8 == 0) ? rv_vec_shrink(&v) : rv_vec_reserve(&v, val % 64);
      break;
    case 8:
      if (val % 64 == 0) {
        rv_vec_clear(&v);
        rlen = 0;
      }
      rc = RV_OK;
      break;
    default: /* push a copy of an element of the vector itself */
      if (rlen == 0 || rlen == MODEL_MAX) {
        continue;
      }
      i = (size_t)(val % rlen);
      rc = rv_vec_push(&v, rv_vec_at(&v, i));
      ref[rlen] = ref[i];
      rlen++;
      break;
    }
    if (rc != want || v.len != rlen || v.cap < v.len ||
        (rlen && memcmp(v.data, ref, rlen * sizeof(item)) != 0)) {
      fail_msg("seed %#llx step %u op %u: rc %d (want %d), len %zu (want %zu) or contents differ",
               (unsigned long long)seed, step, op, rc, want, v.len, rlen);
    }
  }
  rv_vec_free(&v);
}

static void test_exported_push(void **state) {
  (void)state;
  int (*push)(rv_vec *, const void *) = rv_vec_push; /* the exported symbol */
  rv_vec v;
  RV_VEC_INIT(&v, uint64_t, NULL);
  for (uint64_t i = 0; i < 100; i++) {
    assert_int_equal(push(&v, &i), RV_OK);
  }
  assert_int_equal(rv_vec_push_slow(&v, &(uint64_t){100}), RV_OK);
  assert_int_equal(*must(RV_VEC_AT(&v, uint64_t, 100)), 100);
  assert_int_equal(*must(RV_VEC_AT(&v, uint64_t, 42)), 42);
  rv_vec_free(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_push_pop_at),     cmocka_unit_test(test_insert_remove),
      cmocka_unit_test(test_aliasing_inputs), cmocka_unit_test(test_reserve_shrink_errors),
      cmocka_unit_test(test_typed_macros),    cmocka_unit_test(test_failing_allocator_loop),
      cmocka_unit_test(test_model),           cmocka_unit_test(test_exported_push),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
