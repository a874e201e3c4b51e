/* test-keystore: the in-memory key store (keystore.c). Compiled with the
 * library's sources and private header, so a test can damage a stored
 * ciphertext and check that every use reports it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "keystore-impl.h"

#include <rivet/sec/ct.h>

#if defined(__SANITIZE_THREAD__)
#define SANITIZE_THREAD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SANITIZE_THREAD 1
#endif
#endif
#ifndef SANITIZE_THREAD
#define SANITIZE_THREAD 0
#endif

static rv_keystore *mk(unsigned flags, unsigned secflags, size_t max) {
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.flags = flags, .secmem_flags = secflags, .max_keys = max};
  assert_int_equal(rv_keystore_create(&ks, &cfg), RV_OK);
  return ks;
}

static struct ks_entry *entry(rv_keystore *ks, const char *name) {
  for (size_t i = 0; i < ks->n; i++) {
    if (strcmp((const char *)ks->e[i].name, name) == 0) {
      return &ks->e[i];
    }
  }
  fail_msg("no entry %s", name);
  abort(); /* not reached: fail_msg() leaves the test */
}

static void test_create_args(void **state) {
  (void)state;
  rv_keystore *ks = NULL;
  rv_keystore_config bad_flags = {.flags = 1u << 5};
  rv_keystore_config too_many = {.max_keys = 65537};
  assert_int_equal(rv_keystore_create(NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_keystore_create(&ks, &bad_flags), RV_EINVAL);
  assert_int_equal(rv_keystore_create(&ks, &too_many), RV_EINVAL);
  assert_null(ks);
  rv_keystore_destroy(NULL);
  assert_int_equal(rv_keystore_count(NULL), 0);
  assert_int_equal(rv_keystore_create(&ks, NULL), RV_OK);
  assert_int_equal(rv_keystore_count(ks), 0);
  rv_keystore_destroy(ks);
}

struct seen {
  uint8_t key[RV_KEYSTORE_SECRET_MAX];
  rv_keystore_info info;
  const uint8_t *where;
  int calls;
  int ret;
};

static int grab(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  struct seen *s = ctx;
  memcpy(s->key, key, info->len);
  s->info = *info;
  s->where = key;
  s->calls++;
  return s->ret;
}

static void test_add_use_roundtrip(void **state) {
  (void)state;
  unsigned modes[][2] = {{0, 0},
                         {RV_KEYSTORE_CACHE_SHIELD, 0},
                         {0, RV_SECMEM_NOACCESS},
                         {RV_KEYSTORE_CACHE_SHIELD, RV_SECMEM_NOACCESS}};
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    rv_keystore *ks = mk(modes[m][0], modes[m][1], 0);
    uint8_t sym[32];
    uint8_t sec[100];
    uint8_t pk[32];
    uint8_t sk[64];
    for (size_t i = 0; i < sizeof sym; i++) {
      sym[i] = (uint8_t)(i * 7 + 1);
    }
    memset(sec, 0x3c, sizeof sec);
    crypto_sign_keypair(pk, sk);
    assert_int_equal(rv_keystore_add(ks, "sym", RV_KEYSTORE_SYMMETRIC, sym, 32), RV_OK);
    assert_int_equal(rv_keystore_add(ks, "sec", RV_KEYSTORE_SECRET, sec, sizeof sec), RV_OK);
    assert_int_equal(rv_keystore_add(ks, "ed", RV_KEYSTORE_ED25519, sk, 64), RV_OK);
    /* Nothing of the key material is stored in clear. */
    assert_null(memmem(entry(ks, "sym")->ct, 48, sym, 32));
    struct seen s = {.ret = 42};
    assert_int_equal(rv_keystore_use(ks, "sym", grab, &s), 42);
    assert_memory_equal(s.key, sym, 32);
    assert_int_equal(s.info.type, RV_KEYSTORE_SYMMETRIC);
    assert_int_equal(s.info.len, 32);
    assert_int_equal(s.info.version, 1);
    s.ret = 0;
    assert_int_equal(rv_keystore_use(ks, "sec", grab, &s), 0);
    assert_memory_equal(s.key, sec, sizeof sec);
    assert_int_equal(rv_keystore_use(ks, "ed", grab, &s), 0);
    assert_memory_equal(s.key, sk, 64);
    uint8_t got[32];
    assert_int_equal(rv_keystore_public_key(ks, "ed", got), RV_OK);
    assert_memory_equal(got, pk, 32);
    assert_int_equal(rv_keystore_count(ks), 3);
    rv_keystore_destroy(ks);
  }
}

/* The key handed to the callback is wiped once the callback returns. */
static void test_use_wipes(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  uint8_t sec[64];
  memset(sec, 0xee, sizeof sec);
  assert_int_equal(rv_keystore_add(ks, "s", RV_KEYSTORE_SECRET, sec, sizeof sec), RV_OK);
  struct seen s = {0};
  assert_int_equal(rv_keystore_use(ks, "s", grab, &s), 0);
  assert_int_equal(s.calls, 1);
  /* The slot stays mapped in the pool (non-NOACCESS): read it back. */
  assert_true(rv_ct_is_zero(s.where, sizeof sec));
  rv_keystore_destroy(ks);
}

static void test_add_errors(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 2);
  uint8_t k[RV_KEYSTORE_SECRET_MAX + 1] = {1};
  char long_name[RV_KEYSTORE_NAME_MAX + 2];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  assert_int_equal(rv_keystore_add(NULL, "a", RV_KEYSTORE_SYMMETRIC, k, 32), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, NULL, RV_KEYSTORE_SYMMETRIC, k, 32), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, "", RV_KEYSTORE_SYMMETRIC, k, 32), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, long_name, RV_KEYSTORE_SYMMETRIC, k, 32), RV_EINVAL);
  long_name[RV_KEYSTORE_NAME_MAX] = '\0'; /* exactly the maximum: fine */
  assert_int_equal(rv_keystore_add(ks, long_name, RV_KEYSTORE_SYMMETRIC, k, 32), RV_OK);
  assert_int_equal(rv_keystore_add(ks, "a", RV_KEYSTORE_SYMMETRIC, NULL, 32), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, "a", RV_KEYSTORE_SYMMETRIC, k, 31), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, "a", RV_KEYSTORE_ED25519, k, 32), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, "a", RV_KEYSTORE_SECRET, k, 0), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, "a", RV_KEYSTORE_SECRET, k, sizeof k), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, "a", (rv_keystore_type)9, k, 32), RV_EINVAL);
  assert_int_equal(rv_keystore_generate(ks, "a", (rv_keystore_type)0, 0), RV_EINVAL);
  assert_int_equal(rv_keystore_generate(ks, "a", RV_KEYSTORE_SECRET, 0), RV_EINVAL);
  /* An Ed25519 secret key whose public half is not its seed's. */
  uint8_t pk[32];
  uint8_t sk[64];
  crypto_sign_keypair(pk, sk);
  sk[40] ^= 1;
  assert_int_equal(rv_keystore_add(ks, "a", RV_KEYSTORE_ED25519, sk, 64), RV_EINVAL);
  assert_int_equal(rv_keystore_add(ks, long_name, RV_KEYSTORE_SECRET, k, 5), RV_EEXIST);
  assert_int_equal(rv_keystore_generate(ks, "b", RV_KEYSTORE_SECRET, 5), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "c", RV_KEYSTORE_SYMMETRIC, 0), RV_EFULL);
  assert_int_equal(rv_keystore_count(ks), 2);
  rv_keystore_destroy(ks);
}

/* Names that share prefixes, stored in any order, are each found. */
static void test_lookup_prefixes(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  const char *names[] = {"abc", "a", "ab", "b", "abcd", "zz", "A"};
  size_t n = sizeof names / sizeof names[0];
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(rv_keystore_generate(ks, names[i], RV_KEYSTORE_SECRET, i + 1), RV_OK);
  }
  for (size_t i = 0; i < n; i++) {
    rv_keystore_info info;
    assert_int_equal(rv_keystore_info_get(ks, names[i], &info), RV_OK);
    assert_int_equal(info.len, i + 1);
    assert_int_equal(info.type, RV_KEYSTORE_SECRET);
  }
  rv_keystore_info info;
  assert_int_equal(rv_keystore_info_get(ks, "abcde", &info), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_info_get(ks, "c", &info), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_info_get(ks, "c", NULL), RV_EINVAL);
  assert_int_equal(rv_keystore_info_get(ks, NULL, &info), RV_EINVAL);
  rv_keystore_destroy(ks);
}

struct listing {
  char names[8][RV_KEYSTORE_NAME_MAX + 1];
  size_t n;
  size_t stop_at;
  rv_keystore *ks;
};

static int collect(void *ctx, const char *name, const rv_keystore_info *info) {
  struct listing *l = ctx;
  (void)info;
  /* Mutations are refused during a listing. */
  assert_int_equal(rv_keystore_remove(l->ks, name), RV_EBUSY);
  snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
  l->n++;
  return l->n == l->stop_at ? 7 : 0;
}

static void test_list(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  const char *names[] = {"m", "b", "z", "a"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(rv_keystore_generate(ks, names[i], RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  }
  struct listing l = {.stop_at = 99, .ks = ks};
  assert_int_equal(rv_keystore_list(ks, collect, &l), RV_OK);
  assert_int_equal(l.n, 4);
  assert_string_equal(l.names[0], "a");
  assert_string_equal(l.names[1], "b");
  assert_string_equal(l.names[2], "m");
  assert_string_equal(l.names[3], "z");
  struct listing l2 = {.stop_at = 2, .ks = ks};
  assert_int_equal(rv_keystore_list(ks, collect, &l2), 7);
  assert_int_equal(l2.n, 2);
  assert_int_equal(rv_keystore_list(ks, NULL, &l), RV_EINVAL);
  assert_int_equal(rv_keystore_list(NULL, collect, &l), RV_EINVAL);
  rv_keystore_destroy(ks);
}

struct nested {
  rv_keystore *ks;
  int inner;
};

static int inner_use(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  (void)key;
  (void)info;
  struct nested *n = ctx;
  n->inner++;
  return 0;
}

/* From a callback: mutations give RV_EBUSY, using another key works. */
static int busy_cb(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  (void)key;
  (void)info;
  struct nested *n = ctx;
  uint8_t k[32] = {0};
  rv_keystore_cred cred = {.key = k};
  assert_int_equal(rv_keystore_add(n->ks, "new", RV_KEYSTORE_SYMMETRIC, k, 32), RV_EBUSY);
  assert_int_equal(rv_keystore_generate(n->ks, "new", RV_KEYSTORE_SYMMETRIC, 0), RV_EBUSY);
  assert_int_equal(rv_keystore_rotate(n->ks, "k"), RV_EBUSY);
  assert_int_equal(rv_keystore_remove(n->ks, "k"), RV_EBUSY);
  assert_int_equal(rv_keystore_save(n->ks, "/nonexistent/x", &cred, NULL), RV_EBUSY);
  assert_int_equal(rv_keystore_load(n->ks, "/nonexistent/x", &cred, NULL), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_load_buffer(n->ks, k, 1, &cred, NULL), RV_EBUSY);
  assert_int_equal(rv_keystore_use(n->ks, "other", inner_use, n), 0);
  return 0;
}

static void test_use_errors(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  assert_int_equal(rv_keystore_generate(ks, "k", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "other", RV_KEYSTORE_SECRET, 17), RV_OK);
  struct seen s = {0};
  assert_int_equal(rv_keystore_use(ks, "nope", grab, &s), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_use(ks, "k", NULL, &s), RV_EINVAL);
  assert_int_equal(rv_keystore_use(NULL, "k", grab, &s), RV_EINVAL);
  assert_int_equal(s.calls, 0);
  struct nested n = {.ks = ks};
  assert_int_equal(rv_keystore_use(ks, "k", busy_cb, &n), 0);
  assert_int_equal(n.inner, 1);
  /* Not busy any more. */
  assert_int_equal(rv_keystore_remove(ks, "other"), RV_OK);
  rv_keystore_destroy(ks);
}

static void test_sign_verify(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  assert_int_equal(rv_keystore_generate(ks, "ed", RV_KEYSTORE_ED25519, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "sym", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  const char msg[] = "firmware image 1.2.3";
  uint8_t sig[64];
  uint8_t pk[32];
  assert_int_equal(rv_keystore_sign(ks, "ed", msg, sizeof msg, sig), RV_OK);
  assert_int_equal(rv_keystore_verify(ks, "ed", msg, sizeof msg, sig), RV_OK);
  assert_int_equal(rv_keystore_public_key(ks, "ed", pk), RV_OK);
  assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)msg, sizeof msg, pk), 0);
  assert_int_equal(rv_keystore_verify(ks, "ed", msg, sizeof msg - 1, sig), RV_EVERIFY);
  sig[3] ^= 0x10;
  assert_int_equal(rv_keystore_verify(ks, "ed", msg, sizeof msg, sig), RV_EVERIFY);
  assert_int_equal(rv_keystore_sign(ks, "ed", NULL, 0, sig), RV_OK);
  assert_int_equal(rv_keystore_verify(ks, "ed", NULL, 0, sig), RV_OK);
  assert_int_equal(rv_keystore_sign(ks, "sym", msg, sizeof msg, sig), RV_EINVAL);
  assert_int_equal(rv_keystore_verify(ks, "sym", msg, sizeof msg, sig), RV_EINVAL);
  assert_int_equal(rv_keystore_public_key(ks, "sym", pk), RV_EINVAL);
  assert_int_equal(rv_keystore_sign(ks, "x", msg, sizeof msg, sig), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_verify(ks, "x", msg, sizeof msg, sig), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_public_key(ks, "x", pk), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_sign(ks, "ed", msg, sizeof msg, NULL), RV_EINVAL);
  assert_int_equal(rv_keystore_sign(ks, "ed", NULL, 3, sig), RV_EINVAL);
  assert_int_equal(rv_keystore_verify(ks, "ed", msg, sizeof msg, NULL), RV_EINVAL);
  assert_int_equal(rv_keystore_verify(ks, "ed", NULL, 3, sig), RV_EINVAL);
  assert_int_equal(rv_keystore_public_key(ks, "ed", NULL), RV_EINVAL);
  rv_keystore_destroy(ks);
}

static void test_seal_open(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  assert_int_equal(rv_keystore_generate(ks, "k", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "k2", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "ed", RV_KEYSTORE_ED25519, 0), RV_OK);
  const char msg[] = "meter reading 4711";
  uint8_t box[sizeof msg + RV_KEYSTORE_SEAL_OVERHEAD];
  uint8_t out[sizeof msg];
  size_t blen = 0;
  size_t olen = 0;
  assert_int_equal(rv_keystore_seal(ks, "k", "ad", 2, msg, sizeof msg, box, sizeof box, &blen),
                   RV_OK);
  assert_int_equal(blen, sizeof box);
  assert_int_equal(rv_keystore_open(ks, "k", "ad", 2, box, blen, out, sizeof out, &olen), RV_OK);
  assert_int_equal(olen, sizeof msg);
  assert_memory_equal(out, msg, sizeof msg);
  /* Other associated data, other key, damaged box: RV_EVERIFY. */
  assert_int_equal(rv_keystore_open(ks, "k", "ae", 2, box, blen, out, sizeof out, &olen),
                   RV_EVERIFY);
  assert_int_equal(rv_keystore_open(ks, "k2", "ad", 2, box, blen, out, sizeof out, &olen),
                   RV_EVERIFY);
  box[30] ^= 1;
  assert_int_equal(rv_keystore_open(ks, "k", "ad", 2, box, blen, out, sizeof out, &olen),
                   RV_EVERIFY);
  assert_int_equal(rv_keystore_open(ks, "k", "ad", 2, box, 39, out, sizeof out, &olen),
                   RV_ETRUNCATED);
  assert_int_equal(rv_keystore_open(ks, "k", "ad", 2, box, blen, out, sizeof out - 1, &olen),
                   RV_EFULL);
  assert_int_equal(rv_keystore_seal(ks, "k", "ad", 2, msg, sizeof msg, box, sizeof box - 1, &blen),
                   RV_EFULL);
  assert_int_equal(rv_keystore_seal(ks, "k", NULL, 0, msg, SIZE_MAX, box, sizeof box, &blen),
                   RV_EOVERFLOW);
  assert_int_equal(rv_keystore_seal(ks, "ed", NULL, 0, msg, 1, box, sizeof box, &blen), RV_EINVAL);
  assert_int_equal(rv_keystore_open(ks, "ed", NULL, 0, box, 40, out, 0, &olen), RV_EINVAL);
  assert_int_equal(rv_keystore_seal(ks, "no", NULL, 0, msg, 1, box, sizeof box, &blen),
                   RV_ENOTFOUND);
  assert_int_equal(rv_keystore_open(ks, "no", NULL, 0, box, 40, out, 0, &olen), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_seal(ks, "k", NULL, 1, msg, 1, box, sizeof box, &blen), RV_EINVAL);
  assert_int_equal(rv_keystore_seal(ks, "k", NULL, 0, NULL, 1, box, sizeof box, &blen), RV_EINVAL);
  assert_int_equal(rv_keystore_seal(ks, "k", NULL, 0, msg, 1, NULL, 0, &blen), RV_EINVAL);
  assert_int_equal(rv_keystore_open(ks, "k", NULL, 0, NULL, 40, out, 0, &olen), RV_EINVAL);
  assert_int_equal(rv_keystore_open(ks, "k", NULL, 0, box, 40, NULL, 1, &olen), RV_EINVAL);
  assert_int_equal(rv_keystore_open(ks, "k", NULL, 0, box, 40, out, 0, NULL), RV_EINVAL);
  /* An empty message. */
  assert_int_equal(rv_keystore_seal(ks, "k", NULL, 0, NULL, 0, box, sizeof box, &blen), RV_OK);
  assert_int_equal(blen, 40);
  assert_int_equal(rv_keystore_open(ks, "k", NULL, 0, box, blen, NULL, 0, &olen), RV_OK);
  assert_int_equal(olen, 0);
  rv_keystore_destroy(ks);
}

static void test_rotate_remove(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  assert_int_equal(rv_keystore_generate(ks, "sym", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "ed", RV_KEYSTORE_ED25519, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "sec", RV_KEYSTORE_SECRET, 77), RV_OK);
  struct seen a = {0};
  struct seen b = {0};
  assert_int_equal(rv_keystore_use(ks, "sym", grab, &a), 0);
  assert_int_equal(rv_keystore_rotate(ks, "sym"), RV_OK);
  assert_int_equal(rv_keystore_use(ks, "sym", grab, &b), 0);
  assert_int_equal(b.info.version, 2);
  assert_false(rv_ct_eq(a.key, b.key, 32));
  uint8_t pk1[32];
  uint8_t pk2[32];
  uint8_t sig[64];
  assert_int_equal(rv_keystore_public_key(ks, "ed", pk1), RV_OK);
  assert_int_equal(rv_keystore_sign(ks, "ed", "m", 1, sig), RV_OK);
  assert_int_equal(rv_keystore_rotate(ks, "ed"), RV_OK);
  assert_int_equal(rv_keystore_public_key(ks, "ed", pk2), RV_OK);
  assert_memory_not_equal(pk1, pk2, 32);
  assert_int_equal(rv_keystore_verify(ks, "ed", "m", 1, sig), RV_EVERIFY);
  assert_int_equal(rv_keystore_sign(ks, "ed", "m", 1, sig), RV_OK);
  assert_int_equal(rv_keystore_verify(ks, "ed", "m", 1, sig), RV_OK);
  assert_int_equal(rv_keystore_rotate(ks, "sec"), RV_OK);
  rv_keystore_info info;
  assert_int_equal(rv_keystore_info_get(ks, "sec", &info), RV_OK);
  assert_int_equal(info.len, 77);
  assert_int_equal(info.version, 2);
  assert_int_equal(rv_keystore_rotate(ks, "none"), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_rotate(ks, ""), RV_EINVAL);
  /* The version cannot wrap. */
  entry(ks, "sec")->version = UINT32_MAX;
  assert_int_equal(rv_keystore_rotate(ks, "sec"), RV_ELIMIT);
  /* Remove: gone, others intact, name reusable. */
  assert_int_equal(rv_keystore_remove(ks, "sec"), RV_OK);
  assert_int_equal(rv_keystore_remove(ks, "sec"), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_remove(ks, NULL), RV_EINVAL);
  assert_int_equal(rv_keystore_count(ks), 2);
  assert_int_equal(rv_keystore_use(ks, "sym", grab, &a), 0);
  assert_memory_equal(a.key, b.key, 32);
  assert_int_equal(rv_keystore_generate(ks, "sec", RV_KEYSTORE_SECRET, 3), RV_OK);
  rv_keystore_destroy(ks);
}

/* A damaged ciphertext, nonce or associated data is reported, never used. */
static void test_corruption(void **state) {
  (void)state;
  rv_keystore *ks = mk(0, 0, 0);
  assert_int_equal(rv_keystore_generate(ks, "ed", RV_KEYSTORE_ED25519, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "sym", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  struct ks_entry *e = entry(ks, "ed");
  struct seen s = {0};
  uint8_t sig[64];
  for (size_t i = 0; i < e->len + 16 + sizeof e->nonce; i++) {
    uint8_t *p = i < e->len + 16 ? &e->ct[i] : &e->nonce[i - e->len - 16];
    *p ^= 0x80;
    assert_int_equal(rv_keystore_use(ks, "ed", grab, &s), RV_EVERIFY);
    assert_int_equal(rv_keystore_sign(ks, "ed", "m", 1, sig), RV_EVERIFY);
    assert_int_equal(rv_keystore_rotate(ks, "ed"), RV_EVERIFY);
    *p ^= 0x80;
  }
  assert_int_equal(s.calls, 0);
  e->version++; /* the version is bound as associated data */
  assert_int_equal(rv_keystore_use(ks, "ed", grab, &s), RV_EVERIFY);
  e->version--;
  e = entry(ks, "sym");
  e->ct[0] ^= 1;
  uint8_t box[64];
  size_t blen;
  assert_int_equal(rv_keystore_seal(ks, "sym", NULL, 0, "x", 1, box, sizeof box, &blen),
                   RV_EVERIFY);
  assert_int_equal(rv_keystore_open(ks, "sym", NULL, 0, box, 41, box, sizeof box, &blen),
                   RV_EVERIFY);
  e->ct[0] ^= 1;
  assert_int_equal(rv_keystore_use(ks, "ed", grab, &s), 0);
  rv_keystore_destroy(ks);
}

/* Every allocation failure is reported as RV_ENOMEM and leaks nothing. */
static void test_failing_allocator(void **state) {
  (void)state;
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    rv_keystore_config cfg = {.alloc = rv_alloc_failing_init(&f, NULL, n)};
    rv_keystore *ks = NULL;
    int rc = rv_keystore_create(&ks, &cfg);
    const char *names[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"};
    for (size_t i = 0; rc == RV_OK && i < 10; i++) {
      rc = rv_keystore_generate(ks, names[i], RV_KEYSTORE_SECRET, 10 + i);
    }
    if (rc == RV_OK) {
      rc = rv_keystore_rotate(ks, "k5");
    }
    if (rc == RV_OK) {
      rc = rv_keystore_remove(ks, "k0");
    }
    if (rc != RV_OK) {
      assert_int_equal(rc, RV_ENOMEM);
      /* What was added before the failure is still intact. */
      if (ks != NULL && rv_keystore_count(ks) > 1) {
        struct seen s = {0};
        assert_int_equal(rv_keystore_use(ks, "k1", grab, &s), 0);
      }
    }
    rv_keystore_destroy(ks);
    assert_int_equal(f.live_blocks, 0);
    if (rc == RV_OK) {
      assert_true(n > 5);
      break;
    }
  }
}

/* Secure memory running out (a capped pool): create and use fail cleanly. */
static void test_secmem_limit(void **state) {
  (void)state;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  int saw_create_limit = 0;
  int saw_use_limit = 0;
  for (size_t cap = page; cap <= 64 * page; cap += page) {
    rv_keystore *ks = NULL;
    rv_keystore_config cfg = {.secmem_max_bytes = cap};
    int rc = rv_keystore_create(&ks, &cfg);
    if (rc != RV_OK) {
      assert_int_equal(rc, RV_ELIMIT);
      saw_create_limit = 1;
      continue;
    }
    rc = rv_keystore_generate(ks, "k", RV_KEYSTORE_SYMMETRIC, 0);
    rv_keystore_destroy(ks);
    if (rc == RV_ELIMIT) {
      saw_use_limit = 1;
      break;
    }
  }
  assert_true(saw_create_limit);
  assert_true(saw_use_limit);
}

/* Fail closed: without CAP_IPC_LOCK and with RLIMIT_MEMLOCK at 0 the prekey
 * cannot be locked, so create fails with RV_EPERM, unless unlocked memory
 * was allowed explicitly. */
static void test_memlock_denied(void **state) {
  (void)state;
#if RV_HAVE_ASAN || SANITIZE_THREAD
  skip(); /* the sanitizers make mlock a no-op that succeeds */
#endif
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) == 0) {
      d[0].effective &= ~(1u << CAP_IPC_LOCK);
      d[0].permitted &= ~(1u << CAP_IPC_LOCK);
      (void)syscall(SYS_capset, &h, d);
    }
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
      _exit(2);
    }
    rv_keystore *ks = NULL;
    if (rv_keystore_create(&ks, NULL) != RV_EPERM) {
      _exit(3);
    }
    rv_keystore_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED};
    if (rv_keystore_create(&ks, &cfg) != RV_OK) {
      _exit(4);
    }
    rv_keystore_destroy(ks);
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_args),     cmocka_unit_test(test_add_use_roundtrip),
      cmocka_unit_test(test_use_wipes),       cmocka_unit_test(test_add_errors),
      cmocka_unit_test(test_lookup_prefixes), cmocka_unit_test(test_list),
      cmocka_unit_test(test_use_errors),      cmocka_unit_test(test_sign_verify),
      cmocka_unit_test(test_seal_open),       cmocka_unit_test(test_rotate_remove),
      cmocka_unit_test(test_corruption),      cmocka_unit_test(test_failing_allocator),
      cmocka_unit_test(test_secmem_limit),    cmocka_unit_test(test_memlock_denied),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
