/* libFuzzer harness for the JWT verifier.
 *
 * Random bytes almost never carry a valid signature, so most of the
 * verifier (payload parsing, claims policy) would stay unreached. The
 * first input byte picks a mode:
 *   0: the rest is a token, verified as is (shape, base64url, header);
 *   1: the rest is "HEADER\0PAYLOAD": both are base64url-encoded and the
 *      token is signed with the verifier's HS256 key, so arbitrary header
 *      and payload JSON reach every check after the signature;
 *   2: the rest is a claims JSON text, issued with rv_jwt_sign (EdDSA) and
 *      verified: anything rv_jwt_sign accepts must parse on verification.
 * Invariants: on failure no claims and a diagnostic naming the rule; on
 * success claims with an integer exp not in the past. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <rivet/sec/jwt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000

static const uint8_t hs_key[32] = "fuzzing-key-0123456789abcdef-xyz";
static uint8_t ed_pk[32];
static uint8_t ed_sk[64];
static rv_jwt_verifier *verifier;

static void check(int cond) {
  if (!cond) {
    abort(); /* an invariant broke: libFuzzer saves the input */
  }
}

static int64_t fixed_clock(void *ctx) {
  (void)ctx;
  return NOW;
}

static void setup(void) {
  if (verifier != NULL) {
    return;
  }
  check(sodium_init() >= 0);
  static const uint8_t seed[32] = {7};
  crypto_sign_ed25519_seed_keypair(ed_pk, ed_sk, seed);
  rv_jwt_config cfg = {.issuer = "fuzz",
                       .audience = "svc",
                       .leeway = 30,
                       .clock = fixed_clock,
                       .secmem_flags = RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE};
  check(rv_jwt_verifier_create(&verifier, &cfg) == RV_OK);
  check(rv_jwt_verifier_add_key(verifier, "h", RV_JWT_HS256, hs_key, sizeof hs_key) == RV_OK);
  check(rv_jwt_verifier_add_key(verifier, NULL, RV_JWT_HS256, hs_key, sizeof hs_key) == RV_OK);
  check(rv_jwt_verifier_add_key(verifier, "e", RV_JWT_EDDSA, ed_pk, sizeof ed_pk) == RV_OK);
}

static void verify(const char *tok, size_t len) {
  rv_jwt_claims *c = (rv_jwt_claims *)&c; /* must be overwritten */
  rv_diag d = {0};
  int rc = rv_jwt_verify(verifier, tok, len, &c, &d);
  if (rc != RV_OK) {
    check(c == NULL && d.code == rc && d.msg != NULL);
    return;
  }
  check(c != NULL);
  int64_t exp = 0;
  check(rv_jwt_claims_int(c, "exp", &exp) == RV_OK && exp + 30 > NOW);
  const char *json = NULL;
  size_t jl = 0;
  check(rv_jwt_claims_json(c, &json, &jl) == RV_OK && strlen(json) == jl);
  rv_jwt_claims_free(c);
}

/* b64url(h) "." b64url(p) "." b64url(HMAC) into a fresh buffer. */
static char *hs_token(const uint8_t *h, size_t hl, const uint8_t *p, size_t pl, size_t *len) {
  size_t hb = sodium_base64_ENCODED_LEN(hl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  size_t pb = sodium_base64_ENCODED_LEN(pl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  size_t cap = hb + pb + 64;
  char *t = malloc(cap);
  check(t != NULL);
  sodium_bin2base64(t, hb, h, hl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  size_t n = strlen(t);
  t[n++] = '.';
  sodium_bin2base64(t + n, pb, p, pl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  n += strlen(t + n);
  uint8_t tag[32];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, hs_key, sizeof hs_key);
  crypto_auth_hmacsha256_update(&st, (const uint8_t *)t, n);
  crypto_auth_hmacsha256_final(&st, tag);
  t[n++] = '.';
  sodium_bin2base64(t + n, cap - n, tag, sizeof tag, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  *len = n + strlen(t + n);
  return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  if (size == 0 || size > 16384) {
    return 0;
  }
  const uint8_t *in = data + 1;
  size_t n = size - 1;
  switch (data[0] % 3u) {
  case 0:
    verify((const char *)in, n);
    break;
  case 1: {
    const uint8_t *sep = memchr(in, 0, n);
    size_t hl = sep ? (size_t)(sep - in) : n;
    const uint8_t *p = sep ? sep + 1 : in + n;
    size_t pl = sep ? n - hl - 1 : 0;
    size_t tl = 0;
    char *t = hs_token(in, hl, p, pl, &tl);
    verify(t, tl);
    free(t);
    break;
  }
  default: {
    size_t need = 0;
    int rc =
        rv_jwt_sign(RV_JWT_EDDSA, "e", ed_sk, sizeof ed_sk, (const char *)in, n, NULL, 0, &need);
    if (rc != RV_ENOMEM) {
      check(rc == RV_EMALFORMED); /* only a bad claims text is refused */
      break;
    }
    char *t = malloc(need + 1);
    check(t != NULL);
    check(rv_jwt_sign(RV_JWT_EDDSA, "e", ed_sk, sizeof ed_sk, (const char *)in, n, t, need + 1,
                      &need) == RV_OK);
    check(strlen(t) == need);
    rv_jwt_claims *c = NULL;
    rc = rv_jwt_verify(verifier, t, need, &c, NULL);
    /* The JSON and signature are valid by construction: only the claims
     * policy or the size limit may refuse it. */
    check(rc == RV_OK || rc == RV_EVERIFY || rc == RV_ELIMIT || rc == RV_EMALFORMED);
    rv_jwt_claims_free(c);
    free(t);
    break;
  }
  }
  return 0;
}
