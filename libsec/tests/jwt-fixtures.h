/* Fixtures shared by the two jwt test programs (test-jwt.c: vectors and
 * attack classes; test-jwt-issue.c: issuing, configuration, allocation
 * failures, threads). Each program compiles the jwt sources in and links
 * with -Wl,--wrap=rv_ct_verify, so the spy below sees every tag compare. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jwt-impl.h"
#include <rivet/core/alloc.h>
#include <rivet/core/err.h>
#include <rivet/sec/ct.h>
#include <rivet/sec/jwt.h>

/* ---- the compare spy ---------------------------------------------------- */

int __real_rv_ct_verify(const void *a, const void *b, size_t n);
int __wrap_rv_ct_verify(const void *a, const void *b, size_t n);
/* Atomic because the threaded test calls the spy from several threads;
 * relaxed is enough: the counts are read after pthread_join or in the
 * calling thread. */
static atomic_size_t ct_calls;
static atomic_size_t ct_last_n;

int __wrap_rv_ct_verify(const void *a, const void *b, size_t n) {
  atomic_fetch_add_explicit(&ct_calls, 1, memory_order_relaxed);
  atomic_store_explicit(&ct_last_n, n, memory_order_relaxed);
  return __real_rv_ct_verify(a, b, n);
}

/* ---- fixtures ----------------------------------------------------------- */

#define NOW 1700000000
static int64_t now_value = NOW;
static inline int64_t test_clock(void *ctx) {
  (void)ctx;
  return now_value;
}

static uint8_t hs_key[32];
static uint8_t ed_pk[32];
static uint8_t ed_sk[64];

static inline rv_jwt_config base_cfg(void) {
  rv_jwt_config c = {.issuer = "iss.example",
                     .audience = "svc",
                     .leeway = 60,
                     .clock = test_clock,
                     .secmem_flags = RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE};
  return c;
}

static inline rv_jwt_verifier *make_verifier(const rv_jwt_config *cfg) {
  rv_jwt_verifier *v = NULL;
  assert_int_equal(rv_jwt_verifier_create(&v, cfg), RV_OK);
  assert_int_equal(rv_jwt_verifier_add_key(v, "hs", RV_JWT_HS256, hs_key, sizeof hs_key), RV_OK);
  assert_int_equal(rv_jwt_verifier_add_key(v, "ed", RV_JWT_EDDSA, ed_pk, sizeof ed_pk), RV_OK);
  return v;
}

static inline int setup(void **state) {
  rv_jwt_config cfg = base_cfg();
  *state = make_verifier(&cfg);
  now_value = NOW;
  return 0;
}

static inline int teardown(void **state) {
  rv_jwt_verifier_destroy(*state);
  return 0;
}

static char tok[4096];
static size_t tok_len;

/* Sign header.payload as given (any bytes) with the test keys. */
static inline const char *raw(rv_jwt_alg alg, const char *hdr, const char *payload) {
  const uint8_t *key = alg == RV_JWT_HS256 ? hs_key : ed_sk;
  size_t kl = alg == RV_JWT_HS256 ? sizeof hs_key : sizeof ed_sk;
  assert_int_equal(jwt_sign_raw(alg, key, kl, (const uint8_t *)hdr, strlen(hdr),
                                (const uint8_t *)payload, strlen(payload), tok, sizeof tok,
                                &tok_len),
                   RV_OK);
  return tok;
}

static const char good_claims[] = "{\"iss\":\"iss.example\",\"aud\":\"svc\",\"exp\":1700000100}";

static inline int verify_str(rv_jwt_verifier *v, const char *t, rv_diag *d) {
  rv_jwt_claims *c = NULL;
  memset(d, 0, sizeof *d);
  int rc = rv_jwt_verify(v, t, strlen(t), &c, d);
  if (rc == RV_OK) {
    assert_non_null(c);
  } else {
    assert_null(c);
    assert_int_equal(d->code, rc);
    assert_non_null(d->msg);
  }
  rv_jwt_claims_free(c);
  return rc;
}

static inline void expect(rv_jwt_verifier *v, const char *t, int code, const char *needle,
                          int line) {
  rv_diag d;
  int rc = verify_str(v, t, &d);
  if (rc != code || (needle != NULL && rc != RV_OK && strstr(d.msg, needle) == NULL)) {
    fail_msg("line %d: token %s: got %s (%s), want %s (%s)", line, t, rv_err_name(rc),
             rc ? d.msg : "-", rv_err_name(code), needle ? needle : "-");
  }
}
#define EXPECT(v, t, code, needle) expect((v), (t), (code), (needle), __LINE__)

/* Fixed keys: deterministic tokens in every run. */
static inline void init_keys(void) {
  assert_true(sodium_init() >= 0);
  for (size_t i = 0; i < sizeof hs_key; i++) {
    hs_key[i] = (uint8_t)(0x40 + i);
  }
  static const uint8_t seed[32] = {1, 2, 3, 4, 5, 6, 7, 8};
  crypto_sign_ed25519_seed_keypair(ed_pk, ed_sk, seed);
}
