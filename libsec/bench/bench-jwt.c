/* bench-jwt: verifications per second of one typical token (HS256 and
 * EdDSA), rv_jwt_verify against the baseline a user would otherwise write
 * with the same libraries: split at the dots, base64url-decode with
 * libsodium, check the HMAC (crypto_auth_hmacsha256_verify) or the Ed25519
 * signature, parse the payload with jansson and read exp — without the
 * header rules, pinned keys or claims policy. The ratio is the price of
 * the strict checks. */
#include <rivet/perf/bench.h>
#include <rivet/sec.h>

#include <jansson.h>
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctx {
  rv_jwt_verifier *v;
  const char *tok;
  size_t len;
  size_t n;
  const uint8_t *key; /* HS256 secret or Ed25519 public key */
  int ed;
};

static void run_rivet(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    rv_jwt_claims *cl = NULL;
    if (rv_jwt_verify(c->v, c->tok, c->len, &cl, NULL) != RV_OK) {
      abort();
    }
    rv_bench_escape(cl);
    rv_jwt_claims_free(cl);
  }
}

static void run_baseline(void *arg) {
  struct ctx *c = arg;
  const int var = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  for (size_t i = 0; i < c->n; i++) {
    const char *d1 = memchr(c->tok, '.', c->len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', c->len - (size_t)(d1 + 1 - c->tok)) : NULL;
    if (d2 == NULL) {
      abort();
    }
    uint8_t sig[64], payload[1024];
    size_t sl = 0, pl = 0;
    const char *end = c->tok + c->len;
    if (sodium_base642bin(sig, sizeof sig, d2 + 1, (size_t)(end - d2 - 1), NULL, &sl, NULL, var) !=
        0) {
      abort();
    }
    size_t signed_len = (size_t)(d2 - c->tok);
    int bad =
        c->ed
            ? crypto_sign_ed25519_verify_detached(sig, (const uint8_t *)c->tok, signed_len, c->key)
            : crypto_auth_hmacsha256_verify(sig, (const uint8_t *)c->tok, signed_len, c->key);
    if (bad != 0 || sodium_base642bin(payload, sizeof payload, d1 + 1, (size_t)(d2 - d1 - 1), NULL,
                                      &pl, NULL, var) != 0) {
      abort();
    }
    json_t *o = json_loadb((const char *)payload, pl, 0, NULL);
    if (o == NULL || json_integer_value(json_object_get(o, "exp")) < time(NULL)) {
      abort();
    }
    json_decref(o);
  }
}

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, "jwt", argc, argv, NULL) != 0) {
    return 2;
  }
  if (sodium_init() < 0) {
    return 2;
  }
  uint8_t hk[32], pk[32], sk[64];
  randombytes_buf(hk, sizeof hk);
  crypto_sign_ed25519_keypair(pk, sk);
  char claims[256];
  snprintf(claims, sizeof claims,
           "{\"iss\":\"https://issuer.example\",\"sub\":\"user-1234\",\"aud\":\"api\","
           "\"iat\":%lld,\"exp\":%lld,\"scope\":\"read write\"}",
           (long long)time(NULL), (long long)time(NULL) + 3600);
  static char th[512], te[512];
  size_t hl = 0, el = 0;
  rv_jwt_config cfg = {.issuer = "https://issuer.example",
                       .audience = "api",
                       .leeway = 30,
                       .secmem_flags = RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE};
  rv_jwt_verifier *v = NULL;
  if (rv_jwt_sign(RV_JWT_HS256, "h1", hk, sizeof hk, claims, strlen(claims), th, sizeof th, &hl) ||
      rv_jwt_sign(RV_JWT_EDDSA, "e1", sk, sizeof sk, claims, strlen(claims), te, sizeof te, &el) ||
      rv_jwt_verifier_create(&v, &cfg) ||
      rv_jwt_verifier_add_key(v, "h1", RV_JWT_HS256, hk, sizeof hk) ||
      rv_jwt_verifier_add_key(v, "e1", RV_JWT_EDDSA, pk, sizeof pk)) {
    fprintf(stderr, "bench-jwt: setup failed\n");
    return 2;
  }
  size_t n = rv_bench_pick(b, 20000, 200);
  size_t ne = rv_bench_pick(b, 4000, 50);
  struct ctx ch = {v, th, hl, n, hk, 0};
  struct ctx ce = {v, te, el, ne, pk, 1};
  rv_bench_case cases[] = {
      {.name = "sodium+jansson, no policy",
       .group = "verify HS256",
       .fn = run_baseline,
       .ctx = &ch,
       .ops = n,
       .baseline = true},
      {.name = "rv_jwt_verify", .group = "verify HS256", .fn = run_rivet, .ctx = &ch, .ops = n},
      {.name = "sodium+jansson, no policy",
       .group = "verify EdDSA",
       .fn = run_baseline,
       .ctx = &ce,
       .ops = ne,
       .baseline = true},
      {.name = "rv_jwt_verify", .group = "verify EdDSA", .fn = run_rivet, .ctx = &ce, .ops = ne},
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && rc == 0; i++) {
    rc = rv_bench_add(b, &cases[i]);
  }
  if (rc == 0) {
    rc = rv_bench_run(b);
  }
  rv_bench_destroy(b);
  rv_jwt_verifier_destroy(v);
  sodium_memzero(hk, sizeof hk);
  sodium_memzero(sk, sizeof sk);
  return rc == 0 ? 0 : 1;
}
