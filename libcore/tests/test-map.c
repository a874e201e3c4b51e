/* Tests for map: every error path, a randomized model test against a plain
 * array, adversarial keys, the fail-the-N-th-allocation loop, iteration. */
#define _GNU_SOURCE /* syscall(), for the getrandom() stand-in below */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <xxhash.h>

#include <rivet/core/err.h>
#include <rivet/core/map.h>

/* ---- getrandom() stand-in ---------------------------------------------
 * Defined here, it takes precedence over the C library's for the map's
 * call too, so the test can make the seed source fail. */
static int fail_getrandom; /* errno to fail with, 0 = pass through */
static int eintr_left;     /* fail this many calls with EINTR first */

ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
  if (eintr_left > 0) {
    eintr_left--;
    errno = EINTR;
    return -1;
  }
  if (fail_getrandom) {
    errno = fail_getrandom;
    return -1;
  }
  return syscall(SYS_getrandom, buf, len, flags);
}

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void) { /* xorshift64*: deterministic from the seed */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static rv_map *make(rv_map_keys keys, uint64_t seed, const rv_alloc *a) {
  rv_map_config c = {.alloc = a, .keys = keys, .use_seed = 1, .seed = seed};
  rv_map *m = NULL;
  assert_int_equal(rv_map_create(&m, &c), RV_OK);
  return m;
}

/* Values in these tests are small integers stored in the `void *`, as
 * the map's documentation allows; the pointers are never dereferenced. */
static void *V(uintptr_t x) {
  return (void *)x; // NOLINT(performance-no-int-to-ptr): an integer carried, never dereferenced
}

/* ---- basics and every error code ------------------------------------- */

static void test_basics(void **state) {
  (void)state;
  rv_map *m = make(RV_MAP_KEYS_COPY, 42, NULL);
  assert_int_equal(rv_map_seed(m), 42);
  assert_int_equal(rv_map_len(m), 0);
  assert_int_equal(rv_map_capacity(m), 0);
  assert_int_equal(rv_map_max_probe(m), 0);
  void *v = V(99);
  assert_int_equal(rv_map_get(m, "a", 1, &v), RV_ENOTFOUND);
  assert_ptr_equal(v, V(99)); /* untouched when not found */
  assert_null(rv_map_find(m, "a", 1));
  assert_int_equal(rv_map_remove(m, "a", 1, NULL), RV_ENOTFOUND);

  char key[8] = "alpha";
  assert_int_equal(rv_map_insert(m, key, 5, V(1)), RV_OK);
  memset(key, 'X', 5); /* copy mode: the map kept its own bytes */
  assert_int_equal(rv_map_get(m, "alpha", 5, &v), RV_OK);
  assert_ptr_equal(v, V(1));
  assert_int_equal(rv_map_insert(m, "alpha", 5, V(2)), RV_EEXIST);
  assert_int_equal(rv_map_get(m, "alpha", 5, &v), RV_OK);
  assert_ptr_equal(v, V(1)); /* unchanged by the refused insert */
  assert_int_equal(rv_map_get(m, "alph", 4, NULL), RV_ENOTFOUND);

  void *old = V(7);
  assert_int_equal(rv_map_set(m, "alpha", 5, V(3), &old), RV_OK);
  assert_ptr_equal(old, V(1));
  assert_int_equal(rv_map_set(m, "beta", 4, V(4), &old), RV_OK);
  assert_null(old); /* inserted */
  assert_int_equal(rv_map_set(m, "gamma", 5, V(5), NULL), RV_OK);

  /* The empty key is a key like any other; NULL is allowed with length 0. */
  assert_int_equal(rv_map_insert(m, NULL, 0, V(6)), RV_OK);
  assert_int_equal(rv_map_get(m, "", 0, &v), RV_OK);
  assert_ptr_equal(v, V(6));

  void **slot = rv_map_find(m, "beta", 4);
  assert_non_null(slot);
  *slot = V(40); /* update in place */
  assert_int_equal(rv_map_get(m, "beta", 4, &v), RV_OK);
  assert_ptr_equal(v, V(40));
  assert_int_equal(rv_map_len(m), 4);

  assert_int_equal(rv_map_remove(m, "alpha", 5, &v), RV_OK);
  assert_ptr_equal(v, V(3));
  assert_int_equal(rv_map_remove(m, "alpha", 5, &v), RV_ENOTFOUND);
  assert_int_equal(rv_map_remove(m, NULL, 0, NULL), RV_OK);
  assert_int_equal(rv_map_len(m), 2);

  /* Bad arguments. */
  assert_int_equal(rv_map_insert(m, NULL, 3, V(0)), RV_EINVAL);
  assert_int_equal(rv_map_set(m, NULL, 3, V(0), NULL), RV_EINVAL);
  assert_int_equal(rv_map_get(m, NULL, 3, NULL), RV_EINVAL);
  assert_int_equal(rv_map_remove(m, NULL, 3, NULL), RV_EINVAL);
  assert_null(rv_map_find(m, NULL, 3));
  /* Over-long key: refused before a byte of it is read. */
  assert_int_equal(rv_map_insert(m, "x", (size_t)UINT32_MAX + 1, V(0)), RV_ELIMIT);
  assert_int_equal(rv_map_set(m, "x", (size_t)UINT32_MAX + 1, V(0), NULL), RV_ELIMIT);
  /* u64 calls on a byte map. */
  assert_int_equal(rv_map_insert_u64(m, 1, V(0)), RV_EINVAL);
  assert_int_equal(rv_map_set_u64(m, 1, V(0), NULL), RV_EINVAL);
  assert_int_equal(rv_map_get_u64(m, 1, NULL), RV_EINVAL);
  assert_int_equal(rv_map_remove_u64(m, 1, NULL), RV_EINVAL);
  assert_null(rv_map_find_u64(m, 1));
  assert_int_equal(rv_map_reserve(m, SIZE_MAX), RV_EOVERFLOW);
  assert_int_equal(rv_map_reserve(m, SIZE_MAX / 5 - 1), RV_EOVERFLOW); /* too many slots */
  assert_int_equal(rv_map_len(m), 2);

  rv_map_clear(m);
  assert_int_equal(rv_map_len(m), 0);
  assert_int_equal(rv_map_get(m, "beta", 4, NULL), RV_ENOTFOUND);
  assert_int_equal(rv_map_insert(m, "beta", 4, V(8)), RV_OK);
  rv_map_destroy(m);
  rv_map_destroy(NULL);
}

static void test_u64_and_borrow(void **state) {
  (void)state;
  rv_map *m = make(RV_MAP_KEYS_U64, 7, NULL);
  void *v = NULL;
  void *old = V(1);
  for (uint64_t k = 0; k < 1000; k++) {
    assert_int_equal(rv_map_insert_u64(m, k << 40, V(k + 1)), RV_OK);
  }
  assert_int_equal(rv_map_insert_u64(m, 5ULL << 40, V(0)), RV_EEXIST);
  assert_int_equal(rv_map_set_u64(m, 5ULL << 40, V(50), &old), RV_OK);
  assert_ptr_equal(old, V(6));
  assert_int_equal(rv_map_set_u64(m, 12345, V(9), &old), RV_OK);
  assert_null(old);
  assert_int_equal(rv_map_get_u64(m, 12345, &v), RV_OK);
  assert_ptr_equal(v, V(9));
  assert_non_null(rv_map_find_u64(m, 999ULL << 40));
  assert_null(rv_map_find_u64(m, 1000ULL << 40));
  assert_int_equal(rv_map_get_u64(m, 1000ULL << 40, NULL), RV_ENOTFOUND);
  assert_int_equal(rv_map_remove_u64(m, 12345, &v), RV_OK);
  assert_int_equal(rv_map_remove_u64(m, 12345, &v), RV_ENOTFOUND);
  assert_int_equal(rv_map_len(m), 1000);
  /* Byte-key calls on a u64 map. */
  assert_int_equal(rv_map_insert(m, "k", 1, V(0)), RV_EINVAL);
  assert_int_equal(rv_map_get(m, "k", 1, NULL), RV_EINVAL);
  assert_null(rv_map_find(m, "k", 1));
  rv_map_destroy(m);

  /* Borrow mode stores the caller's pointer. */
  static const char keys[] = "one\0two\0three";
  m = make(RV_MAP_KEYS_BORROW, 7, NULL);
  assert_int_equal(rv_map_insert(m, keys, 3, V(1)), RV_OK);
  assert_int_equal(rv_map_insert(m, keys + 4, 3, V(2)), RV_OK);
  rv_map_iter it;
  rv_map_entry e;
  rv_map_iter_init(&it, m);
  int seen = 0;
  while (rv_map_next(&it, &e)) {
    assert_true(e.key == (const uint8_t *)keys || e.key == (const uint8_t *)keys + 4);
    seen++;
  }
  assert_int_equal(seen, 2);
  rv_map_destroy(m);
}

static void test_create_errors(void **state) {
  (void)state;
  rv_map *m = NULL;
  rv_map_config c = {.keys = (rv_map_keys)9};
  assert_int_equal(rv_map_create(&m, &c), RV_EINVAL);
  c = (rv_map_config){.use_seed = 1, .capacity = SIZE_MAX};
  assert_int_equal(rv_map_create(&m, &c), RV_EOVERFLOW);
  assert_null(m);

  /* No seed given: two maps draw different ones from getrandom(). */
  rv_map *a = NULL;
  rv_map *b = NULL;
  assert_int_equal(rv_map_create(&a, NULL), RV_OK);
  assert_int_equal(rv_map_create(&b, NULL), RV_OK);
  assert_true(rv_map_seed(a) != rv_map_seed(b));
  rv_map_destroy(a);
  rv_map_destroy(b);

  eintr_left = 3; /* retried: a signal is not a failure */
  assert_int_equal(rv_map_create(&a, NULL), RV_OK);
  assert_int_equal(eintr_left, 0);
  rv_map_destroy(a);
  fail_getrandom = ENOSYS;
  assert_int_equal(rv_map_create(&m, NULL), RV_EIO);
  assert_null(m);
  fail_getrandom = 0;

  c = (rv_map_config){.use_seed = 1, .capacity = 1000};
  assert_int_equal(rv_map_create(&m, &c), RV_OK);
  assert_int_equal(rv_map_capacity(m), 2048); /* 1000 at <= 80% load */
  rv_map_destroy(m);
}

/* ---- randomized model test ------------------------------------------ */

enum { UNIVERSE = 600, MAXLEN = 40 };

typedef struct model {
  uint8_t key[UNIVERSE][MAXLEN];
  size_t len[UNIVERSE];
  int present[UNIVERSE];
  uintptr_t value[UNIVERSE];
} model;

static void model_check(const rv_map *m, const model *md, rv_map_keys keys) {
  size_t n = 0;
  for (size_t k = 0; k < UNIVERSE; k++) {
    void *v = NULL;
    int rc = keys == RV_MAP_KEYS_U64 ? rv_map_get_u64(m, k * 0x100000000ULL, &v)
                                     : rv_map_get(m, md->key[k], md->len[k], &v);
    assert_int_equal(rc, md->present[k] ? RV_OK : RV_ENOTFOUND);
    if (md->present[k]) {
      assert_ptr_equal(v, V(md->value[k]));
      n++;
    }
  }
  assert_int_equal(rv_map_len(m), n);
  /* Iteration sees each entry exactly once. */
  size_t seen = 0;
  rv_map_iter it;
  rv_map_entry e;
  rv_map_iter_init(&it, m);
  while (rv_map_next(&it, &e)) {
    seen++;
    uintptr_t v = (uintptr_t)*e.value; /* values encode the universe index */
    size_t k = v >> 16;
    assert_true(k < UNIVERSE && md->present[k] && md->value[k] == v);
    if (keys == RV_MAP_KEYS_U64) {
      assert_int_equal(e.key_u64, k * 0x100000000ULL);
    } else {
      assert_int_equal(e.len, md->len[k]);
      assert_true(e.len == 0 || memcmp(e.key, md->key[k], e.len) == 0);
    }
  }
  assert_int_equal(seen, n);
}

static void run_model(rv_map_keys keys, uint64_t seed) {
  static model md;
  memset(&md, 0, sizeof md);
  rng_state = seed;
  for (size_t k = 0; k < UNIVERSE; k++) {
    /* Short keys from a 4-letter alphabet: many shared prefixes. Draw
     * again until the key differs from all before it. */
    for (int dup = 1; dup;) {
      md.len[k] = (size_t)(rnd() % MAXLEN);
      for (size_t i = 0; i < md.len[k]; i++) {
        md.key[k][i] = (uint8_t) "abcd"[rnd() % 4];
      }
      dup = 0;
      for (size_t j = 0; j < k && !dup; j++) {
        dup = md.len[j] == md.len[k] && memcmp(md.key[j], md.key[k], md.len[k]) == 0;
      }
    }
  }
  rv_map *m = make(keys, seed, NULL);
  for (int step = 0; step < 20000; step++) {
    size_t k = (size_t)(rnd() % UNIVERSE);
    uint64_t k64 = k * 0x100000000ULL;
    uintptr_t val = (k << 16) | (uintptr_t)(step & 0xffff);
    int u = keys == RV_MAP_KEYS_U64;
    int rc = 0;
    void *old = NULL;
    switch (rnd() % 4) {
    case 0:
      rc = u ? rv_map_insert_u64(m, k64, V(val)) : rv_map_insert(m, md.key[k], md.len[k], V(val));
      assert_int_equal(rc, md.present[k] ? RV_EEXIST : RV_OK);
      if (!md.present[k]) {
        md.present[k] = 1;
        md.value[k] = val;
      }
      break;
    case 1:
      rc = u ? rv_map_set_u64(m, k64, V(val), &old)
             : rv_map_set(m, md.key[k], md.len[k], V(val), &old);
      assert_int_equal(rc, RV_OK);
      assert_ptr_equal(old, md.present[k] ? V(md.value[k]) : NULL);
      md.present[k] = 1;
      md.value[k] = val;
      break;
    case 2:
      rc = u ? rv_map_remove_u64(m, k64, &old) : rv_map_remove(m, md.key[k], md.len[k], &old);
      assert_int_equal(rc, md.present[k] ? RV_OK : RV_ENOTFOUND);
      if (md.present[k]) {
        assert_ptr_equal(old, V(md.value[k]));
      }
      md.present[k] = 0;
      break;
    default: {
      void **p = u ? rv_map_find_u64(m, k64) : rv_map_find(m, md.key[k], md.len[k]);
      assert_int_equal(p != NULL, md.present[k]);
      break;
    }
    }
    if (step % 2000 == 1999) {
      model_check(m, &md, keys);
    }
    if (step == 10000) {
      rv_map_clear(m);
      memset(md.present, 0, sizeof md.present);
    }
  }
  model_check(m, &md, keys);
  rv_map_destroy(m);
}

static void test_model(void **state) {
  (void)state;
  static const uint64_t seeds[] = {1, 0x9E3779B97F4A7C15ULL, 12345};
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    for (int keys = RV_MAP_KEYS_COPY; keys <= RV_MAP_KEYS_U64; keys++) {
      printf("# model test: seed %llu, key mode %d\n", (unsigned long long)seeds[i], keys);
      run_model((rv_map_keys)keys, seeds[i]);
    }
  }
}

/* ---- adversarial keys ------------------------------------------------ */

enum { ADV_N = 100000 };

static void test_adversarial_structured(void **state) {
  (void)state;
  static uint8_t keys[ADV_N][64];
  for (uint64_t seed = 1; seed <= 3; seed++) {
    /* 1: long common prefix, counter in the last 4 bytes. */
    rv_map *m = make(RV_MAP_KEYS_BORROW, seed, NULL);
    for (uint32_t i = 0; i < ADV_N; i++) {
      memset(keys[i], 'A', 60);
      memcpy(keys[i] + 60, &i, 4);
      assert_int_equal(rv_map_insert(m, keys[i], 64, V(i)), RV_OK);
    }
    printf("# seed %llu: common-prefix max probe %zu\n", (unsigned long long)seed,
           rv_map_max_probe(m));
    assert_true(rv_map_max_probe(m) < 64);
    rv_map_destroy(m);
    /* 2: u64 keys with equal low bits (multiples of 2^32, 2^20 + 1). */
    m = make(RV_MAP_KEYS_U64, seed, NULL);
    for (uint64_t i = 0; i < ADV_N; i++) {
      assert_int_equal(rv_map_insert_u64(m, i << 32, V(i)), RV_OK);
      assert_int_equal(rv_map_insert_u64(m, (i << 20) | 1, V(i)), RV_OK);
    }
    printf("# seed %llu: equal-low-bits max probe %zu\n", (unsigned long long)seed,
           rv_map_max_probe(m));
    assert_true(rv_map_max_probe(m) < 64);
    rv_map_destroy(m);
  }
}

/* Keys an attacker who knows seed A chose to share home slots in a table of
 * 8192 slots (white box: the home slot is XXH3(key, seed) mod capacity).
 * Under A the probes grow long; under another seed they stay short. */
static void test_adversarial_seed(void **state) {
  (void)state;
  enum { N = 4000, CAP = 8192, SPREAD = 1024 };
  static uint8_t keys[N][16];
  const uint64_t seed_a = 0xA77AC4;
  size_t found = 0;
  for (uint64_t c = 0; found < N; c++) {
    uint8_t k[16];
    memcpy(k, "attack--", 8);
    memcpy(k + 8, &c, 8);
    if ((XXH3_64bits_withSeed(k, 16, seed_a) & (CAP - 1)) % SPREAD == 0) {
      memcpy(keys[found++], k, 16);
    }
  }
  size_t probe[2];
  const uint64_t seeds[2] = {seed_a, 0xB0B};
  for (int s = 0; s < 2; s++) {
    rv_map *m = make(RV_MAP_KEYS_BORROW, seeds[s], NULL);
    assert_int_equal(rv_map_reserve(m, N), RV_OK);
    assert_int_equal(rv_map_capacity(m), CAP);
    for (size_t i = 0; i < N; i++) {
      assert_int_equal(rv_map_insert(m, keys[i], 16, V(i)), RV_OK);
    }
    for (size_t i = 0; i < N; i++) {
      assert_int_equal(rv_map_get(m, keys[i], 16, NULL), RV_OK);
    }
    probe[s] = rv_map_max_probe(m);
    rv_map_destroy(m);
  }
  printf("# chosen keys: max probe %zu under the attacked seed, %zu under another\n", probe[0],
         probe[1]);
  assert_true(probe[0] > 256); /* the attack works when the seed is known */
  assert_true(probe[1] < 64);  /* and not when it is not */
}

/* ---- allocation failures ----------------------------------------------- */

/* One scripted workload; every failing call must leave the map as it was. */
static void workload(const rv_alloc *a, rv_map_keys keys) {
  rv_map_config c = {.alloc = a, .keys = keys, .use_seed = 1, .seed = 5};
  rv_map *m = NULL;
  int rc = rv_map_create(&m, &c);
  if (rc != RV_OK) {
    assert_int_equal(rc, RV_ENOMEM);
    assert_null(m);
    return;
  }
  char key[48];
  size_t present = 0;
  for (uint64_t i = 0; i < 300; i++) {
    int n = snprintf(key, sizeof key, "key-%llu-and-some-padding", (unsigned long long)i);
    rc = keys == RV_MAP_KEYS_U64 ? rv_map_set_u64(m, i, V(i), NULL)
                                 : rv_map_set(m, key, (size_t)n, V(i), NULL);
    if (rc == RV_OK) {
      present++;
    } else { /* refused, and the map is as it was: the key is not in it */
      assert_int_equal(rc, RV_ENOMEM);
      rc = keys == RV_MAP_KEYS_U64 ? rv_map_get_u64(m, i, NULL)
                                   : rv_map_get(m, key, (size_t)n, NULL);
      assert_int_equal(rc, RV_ENOTFOUND);
      rc = RV_ENOMEM;
    }
    assert_int_equal(rv_map_len(m), present);
    if (i % 3 == 0 && rc == RV_OK) {
      rc = keys == RV_MAP_KEYS_U64 ? rv_map_remove_u64(m, i, NULL)
                                   : rv_map_remove(m, key, (size_t)n, NULL);
      assert_int_equal(rc, RV_OK);
      present--;
    }
  }
  rc = rv_map_reserve(m, 5000);
  assert_true(rc == RV_OK || rc == RV_ENOMEM);
  assert_int_equal(rv_map_len(m), present);
  /* Remove a third more: removed key bytes now outweigh live ones, which
   * compacts the key chunks (or skips it when that allocation fails). */
  for (uint64_t i = 1; i < 300; i += 3) {
    int n = snprintf(key, sizeof key, "key-%llu-and-some-padding", (unsigned long long)i);
    rc = keys == RV_MAP_KEYS_U64 ? rv_map_remove_u64(m, i, NULL)
                                 : rv_map_remove(m, key, (size_t)n, NULL);
    assert_true(rc == RV_OK || rc == RV_ENOTFOUND);
    present -= rc == RV_OK;
  }
  assert_int_equal(rv_map_len(m), present);
  rv_map_iter it;
  rv_map_entry e;
  size_t seen = 0;
  rv_map_iter_init(&it, m);
  while (rv_map_next(&it, &e)) {
    uint64_t i = (uint64_t)(uintptr_t)*e.value;
    if (keys == RV_MAP_KEYS_U64) {
      assert_int_equal(e.key_u64, i);
    } else {
      int n = snprintf(key, sizeof key, "key-%llu-and-some-padding", (unsigned long long)i);
      assert_int_equal(e.len, (size_t)n);
      assert_memory_equal(e.key, key, e.len);
    }
    seen++;
  }
  assert_int_equal(seen, present);
  rv_map_destroy(m);
}

static void test_alloc_failures(void **state) {
  (void)state;
  for (int keys = RV_MAP_KEYS_COPY; keys <= RV_MAP_KEYS_U64; keys++) {
    size_t n = 0;
    for (;; n++) {
      rv_alloc_failing f;
      const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
      workload(a, (rv_map_keys)keys);
      assert_int_equal(f.live_blocks, 0);
      assert_int_equal(f.live_bytes, 0);
      size_t failures = f.failures;
      /* Also fail everything from n on: a dry allocator never leaks either. */
      a = rv_alloc_failing_init(&f, NULL, n);
      f.fail_after = 1;
      workload(a, (rv_map_keys)keys);
      assert_int_equal(f.live_blocks, 0);
      if (failures == 0) {
        break;
      }
    }
    /* The loop really went through the allocations. */
    assert_true(n > 5);
  }
}

/* ---- iterator invalidation -------------------------------------------- */

static jmp_buf panic_jmp;
static const char *panic_msg;

static void on_panic(const char *msg) {
  panic_msg = msg;
  longjmp(panic_jmp, 1);
}

static void test_iter_invalidation(void **state) {
  (void)state;
  rv_map *m = make(RV_MAP_KEYS_U64, 3, NULL);
  for (uint64_t i = 0; i < 10; i++) {
    assert_int_equal(rv_map_insert_u64(m, i, V(i)), RV_OK);
  }
  rv_map_iter it;
  rv_map_entry e;
  rv_map_iter_init(&it, m);
  assert_true(rv_map_next(&it, &e));
  /* Replacing a value and writing through the entry do not invalidate. */
  assert_int_equal(rv_map_set_u64(m, e.key_u64, V(100), NULL), RV_OK);
  *e.value = V(101);
  assert_true(rv_map_next(&it, &e));
  assert_int_equal(rv_map_remove_u64(m, e.key_u64, NULL), RV_OK);
  rv_panic_fn prev = rv_set_panic_handler(on_panic);
  panic_msg = NULL;
  if (setjmp(panic_jmp) == 0) {
    (void)rv_map_next(&it, &e);
    fail_msg("rv_map_next on a stale iterator returned");
  }
  rv_set_panic_handler(prev);
  assert_non_null(panic_msg);
  assert_non_null(strstr(panic_msg, "rv_map_next"));
  rv_map_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basics),
      cmocka_unit_test(test_u64_and_borrow),
      cmocka_unit_test(test_create_errors),
      cmocka_unit_test(test_model),
      cmocka_unit_test(test_adversarial_structured),
      cmocka_unit_test(test_adversarial_seed),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_iter_invalidation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
