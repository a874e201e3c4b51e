/* Tests for jwt, part two: rv_jwt_sign (sizes, every error, a mismatched
 * Ed25519 key pair), verifier configuration and key pinning errors, every
 * allocation failure of create/add_key/verify (no leak), and concurrent
 * verification on one verifier (suite 'concurrent', run under TSan), and
 * the secure-memory failure path of a signature check. */
#include "jwt-fixtures.h"

/* jwt.c itself is included (not linked) so test_key_open_fails can reach a
 * pinned key's secret and exhaust its secmem open count. */
#include "../src/jwt.c" /* NOLINT(bugprone-suspicious-include): white-box test */

static void test_sign(void **state) {
  rv_jwt_verifier *v = *state;
  char out[512];
  size_t n = 0;
  for (int ed = 0; ed < 2; ed++) {
    rv_jwt_alg alg = ed ? RV_JWT_EDDSA : RV_JWT_HS256;
    const uint8_t *k = ed ? ed_sk : hs_key;
    size_t kl = ed ? sizeof ed_sk : sizeof hs_key;
    /* size query, then too small, then exact */
    assert_int_equal(
        rv_jwt_sign(alg, ed ? "ed" : "hs", k, kl, good_claims, strlen(good_claims), NULL, 0, &n),
        RV_ENOMEM);
    size_t need = n;
    assert_int_equal(
        rv_jwt_sign(alg, ed ? "ed" : "hs", k, kl, good_claims, strlen(good_claims), out, need, &n),
        RV_ENOMEM);
    assert_int_equal(rv_jwt_sign(alg, ed ? "ed" : "hs", k, kl, good_claims, strlen(good_claims),
                                 out, need + 1, &n),
                     RV_OK);
    assert_int_equal(n, need);
    assert_int_equal(strlen(out), n);
    rv_jwt_claims *c = NULL;
    rv_diag d = {0};
    assert_int_equal(rv_jwt_verify(v, out, n, &c, &d), RV_OK);
    rv_jwt_alg got = 0;
    assert_string_equal(rv_jwt_claims_key(c, &got), ed ? "ed" : "hs");
    assert_int_equal(got, alg);
    rv_jwt_claims_free(c);
  }
  const char *gc = good_claims;
  size_t gl = strlen(gc);
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, "hs", hs_key, 31, gc, gl, out, sizeof out, &n),
                   RV_EINVAL);
  assert_int_equal(rv_jwt_sign(RV_JWT_EDDSA, "ed", ed_sk, 32, gc, gl, out, sizeof out, &n),
                   RV_EINVAL);
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, "", hs_key, 32, gc, gl, out, sizeof out, &n),
                   RV_EINVAL);
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, "\xff", hs_key, 32, gc, gl, out, sizeof out, &n),
                   RV_EINVAL);
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, NULL, NULL, 32, gc, gl, out, sizeof out, &n),
                   RV_EINVAL);
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, NULL, hs_key, 32, gc, gl, NULL, 5, &n), RV_EINVAL);
  assert_int_equal(
      rv_jwt_sign(RV_JWT_HS256, NULL, hs_key, 32, gc, SIZE_MAX / 2, out, sizeof out, &n),
      RV_EOVERFLOW); /* refused before a byte of claims is read */
  assert_int_equal(rv_jwt_sign((rv_jwt_alg)9, NULL, hs_key, 32, gc, gl, out, sizeof out, &n),
                   RV_EUNSUPPORTED);
  assert_int_equal(
      rv_jwt_sign(RV_JWT_HS256, NULL, hs_key, 32, "{\"a\":1,\"a\":2}", 13, out, sizeof out, &n),
      RV_EMALFORMED);
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, NULL, hs_key, 32, "[]", 2, out, sizeof out, &n),
                   RV_EMALFORMED);
  /* An Ed25519 secret key whose public half is not its seed's is refused. */
  uint8_t sk[64];
  memcpy(sk, ed_sk, 64);
  sk[40] ^= 1;
  assert_int_equal(rv_jwt_sign(RV_JWT_EDDSA, NULL, sk, 64, gc, gl, out, sizeof out, &n), RV_EINVAL);
  char kid[RV_JWT_KID_MAX + 2];
  memset(kid, 'k', sizeof kid - 1);
  kid[sizeof kid - 1] = '\0';
  assert_int_equal(rv_jwt_sign(RV_JWT_HS256, kid, hs_key, 32, gc, gl, out, sizeof out, &n),
                   RV_EINVAL);
}

static void test_config_errors(void **state) {
  (void)state;
  rv_jwt_verifier *v = NULL;
  rv_jwt_config cfg = base_cfg();
  assert_int_equal(rv_jwt_verifier_create(NULL, &cfg), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_create(&v, NULL), RV_EINVAL);
  cfg.leeway = -1;
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_EINVAL);
  cfg = base_cfg();
  cfg.required = 1u << 9;
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_EINVAL);
  cfg = base_cfg();
  cfg.issuer = "";
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_EINVAL);
  cfg = base_cfg();
  cfg.secmem_flags = 1u << 20; /* unknown secmem flag: rv_secmem_create refuses */
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_EINVAL);
  assert_null(v);

  /* A caller-provided pool is used and not destroyed. */
  rv_secmem *pool = NULL;
  rv_secmem_config sc = {.flags = RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE};
  assert_int_equal(rv_secmem_create(&pool, &sc), RV_OK);
  cfg = base_cfg();
  cfg.secmem = pool;
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_OK);
  assert_int_equal(rv_jwt_verifier_add_key(v, "hs", RV_JWT_HS256, hs_key, 32), RV_OK);
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 1);
  assert_int_equal(rv_jwt_verifier_add_key(v, "hs", RV_JWT_EDDSA, ed_pk, 32), RV_EEXIST);
  assert_int_equal(rv_jwt_verifier_add_key(v, NULL, RV_JWT_EDDSA, ed_pk, 32), RV_OK);
  assert_int_equal(rv_jwt_verifier_add_key(v, NULL, RV_JWT_HS256, hs_key, 32), RV_EEXIST);
  assert_int_equal(rv_jwt_verifier_add_key(v, "x", RV_JWT_HS256, hs_key, 31), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_add_key(v, "x", RV_JWT_HS256, hs_key, 1025), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_add_key(v, "x", RV_JWT_EDDSA, ed_pk, 64), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_add_key(v, "", RV_JWT_EDDSA, ed_pk, 32), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_add_key(v, "x", RV_JWT_EDDSA, NULL, 32), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_add_key(NULL, "x", RV_JWT_EDDSA, ed_pk, 32), RV_EINVAL);
  assert_int_equal(rv_jwt_verifier_add_key(v, "x", (rv_jwt_alg)0, ed_pk, 32), RV_EUNSUPPORTED);
  char kid[RV_JWT_KID_MAX + 2];
  memset(kid, 'k', sizeof kid - 1);
  kid[sizeof kid - 1] = '\0';
  assert_int_equal(rv_jwt_verifier_add_key(v, kid, RV_JWT_EDDSA, ed_pk, 32), RV_EINVAL);
  kid[RV_JWT_KID_MAX] = '\0';
  assert_int_equal(rv_jwt_verifier_add_key(v, kid, RV_JWT_EDDSA, ed_pk, 32), RV_OK);
  for (int i = 0; i < 20; i++) { /* grows the key table */
    char id[8];
    snprintf(id, sizeof id, "k%d", i);
    assert_int_equal(rv_jwt_verifier_add_key(v, id, RV_JWT_HS256, hs_key, 32), RV_OK);
  }
  rv_jwt_verifier_destroy(v);
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 0); /* every secret released, pool still alive */
  rv_secmem_destroy(pool);
}

/* Every allocation of create, add_key and verify fails once, in turn:
 * each failure is reported and nothing leaks. */
static void test_alloc_failures(void **state) {
  (void)state;
  raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims);
  int completed = 0;
  for (size_t n = 0; n < 64 && !completed; n++) {
    rv_alloc_failing f;
    rv_jwt_config cfg = base_cfg();
    cfg.alloc = rv_alloc_failing_init(&f, NULL, n);
    rv_jwt_verifier *v = NULL;
    rv_jwt_claims *c = NULL;
    int rc = rv_jwt_verifier_create(&v, &cfg);
    if (rc == RV_OK) {
      rc = rv_jwt_verifier_add_key(v, "hs", RV_JWT_HS256, hs_key, sizeof hs_key);
    }
    if (rc == RV_OK) {
      rc = rv_jwt_verifier_add_key(v, "ed", RV_JWT_EDDSA, ed_pk, sizeof ed_pk);
    }
    if (rc == RV_OK) {
      rv_diag d = {0};
      rc = rv_jwt_verify(v, tok, tok_len, &c, &d);
      if (rc != RV_OK) {
        assert_null(c);
        assert_int_equal(d.code, RV_ENOMEM);
      }
    }
    if (rc != RV_OK) {
      assert_int_equal(rc, RV_ENOMEM);
    }
    completed = rc == RV_OK;
    rv_jwt_claims_free(c);
    rv_jwt_verifier_destroy(v);
    assert_int_equal(f.live_blocks, 0);
  }
  assert_true(completed);
}

typedef struct thread_arg {
  rv_jwt_verifier *v;
  const char *hs;
  const char *ed;
  int ok;
} thread_arg;

static void *verify_thread(void *p) {
  thread_arg *a = p;
  for (int i = 0; i < 200; i++) {
    const char *t = (i & 1) ? a->ed : a->hs;
    rv_jwt_claims *c = NULL;
    a->ok += rv_jwt_verify(a->v, t, strlen(t), &c, NULL) == RV_OK;
    rv_jwt_claims_free(c);
  }
  return NULL;
}

static void test_concurrent_verify(void **state) {
  rv_jwt_verifier *v = *state;
  static char hs[sizeof tok], ed[sizeof tok];
  snprintf(hs, sizeof hs, "%s",
           raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims));
  snprintf(ed, sizeof ed, "%s",
           raw(RV_JWT_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", good_claims));
  pthread_t th[4];
  thread_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thread_arg){.v = v, .hs = hs, .ed = ed};
    assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(args[i].ok, 200);
  }
}

/* The HMAC key cannot be opened (its secmem open count is exhausted): the
 * check fails with secmem's error and a reason, and works again after. */
static void test_key_open_fails(void **state) {
  rv_jwt_verifier *v = *state;
  raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims);
  const jwt_key *k = find_key(v, "hs", 2);
  if (k == NULL || k->secret == NULL) {
    fail_msg("key 'hs' or its secret not found");
    return;
  }
  int opened = 0;
  while (rv_secmem_open(v->pool, k->secret) == RV_OK) {
    opened++;
  }
  assert_int_equal(opened, 255);
  EXPECT(v, tok, RV_ELIMIT, "secure memory holding the key cannot be opened");
  for (int i = 0; i < opened; i++) {
    assert_int_equal(rv_secmem_close(v->pool, k->secret), RV_OK);
  }
  EXPECT(v, tok, RV_OK, NULL);
}

int main(void) {
  init_keys();
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_sign),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_alloc_failures),
      T(test_concurrent_verify),
      T(test_key_open_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
