/* Tests for jwt: RFC 7515 A.1 and RFC 8037 A.4 vectors, one test per
 * attack class (alg none, HS/asymmetric confusion, other algorithms, null
 * and truncated signatures, kid injection, embedded keys, crit, claims,
 * duplicate members, non-canonical base64url, oversized tokens, the
 * constant-time tag compare), and every verification error code.
 * Issuing, configuration errors, allocation failures and threads are in
 * test-jwt-issue.c; the shared fixtures in jwt-fixtures.h.
 *
 * This program compiles the jwt sources in (see meson.build) so it can
 * sign arbitrary headers with jwt_sign_raw(), and links with
 * -Wl,--wrap=rv_ct_verify so it can see which compare checks HMAC tags. */
#include "jwt-fixtures.h"

/* ---- vectors ------------------------------------------------------------ */

static int64_t a1_clock(void *ctx) {
  (void)ctx;
  return 1300819300;
}

static void test_rfc7515_a1(void **state) {
  (void)state;
  static const char token[] =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  static const char k64[] =
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
  uint8_t key[64];
  size_t kl = 0;
  assert_int_equal(jwt_b64_decode(k64, strlen(k64), key, sizeof key, &kl), RV_OK);
  assert_int_equal(kl, 64);
  rv_jwt_config cfg = {.issuer = "joe", .clock = a1_clock, .secmem_flags = 3};
  rv_jwt_verifier *v = NULL;
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_OK);
  assert_int_equal(rv_jwt_verifier_add_key(v, NULL, RV_JWT_HS256, key, kl), RV_OK);
  rv_jwt_claims *c = NULL;
  rv_diag d = {0};
  assert_int_equal(rv_jwt_verify(v, token, strlen(token), &c, &d), RV_OK);
  const char *s = NULL;
  size_t sl = 0;
  assert_int_equal(rv_jwt_claims_string(c, "iss", &s, &sl), RV_OK);
  assert_string_equal(s, "joe");
  assert_int_equal(sl, 3);
  int b = 0;
  assert_int_equal(rv_jwt_claims_bool(c, "http://example.com/is_root", &b), RV_OK);
  assert_int_equal(b, 1);
  int64_t exp = 0;
  assert_int_equal(rv_jwt_claims_int(c, "exp", &exp), RV_OK);
  assert_int_equal(exp, 1300819380);
  rv_jwt_alg alg = 0;
  assert_null(rv_jwt_claims_key(c, &alg));
  assert_int_equal(alg, RV_JWT_HS256);
  const char *json = NULL;
  size_t jl = 0;
  assert_int_equal(rv_jwt_claims_json(c, &json, &jl), RV_OK);
  assert_int_equal(strlen(json), jl);
  assert_non_null(strstr(json, "\"joe\""));
  /* accessors: every error */
  assert_int_equal(rv_jwt_claims_string(c, "nope", &s, NULL), RV_ENOTFOUND);
  assert_int_equal(rv_jwt_claims_string(c, "exp", &s, NULL), RV_EMALFORMED);
  assert_int_equal(rv_jwt_claims_string(NULL, "iss", &s, NULL), RV_EINVAL);
  assert_int_equal(rv_jwt_claims_string(c, "iss", NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_jwt_claims_int(c, "iss", &exp), RV_EMALFORMED);
  assert_int_equal(rv_jwt_claims_int(c, "nope", &exp), RV_ENOTFOUND);
  assert_int_equal(rv_jwt_claims_int(c, NULL, &exp), RV_EINVAL);
  assert_int_equal(rv_jwt_claims_bool(c, "exp", &b), RV_EMALFORMED);
  assert_int_equal(rv_jwt_claims_bool(c, "nope", &b), RV_ENOTFOUND);
  assert_int_equal(rv_jwt_claims_bool(c, "iss", NULL), RV_EINVAL);
  assert_int_equal(rv_jwt_claims_json(NULL, &json, NULL), RV_EINVAL);
  assert_null(rv_jwt_claims_key(NULL, NULL));
  rv_jwt_claims_free(c);
  rv_jwt_claims_free(NULL);

  /* Signing the same header and payload bytes reproduces the token. */
  static const char hdr[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
  static const char pl[] = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
                           "\"http://example.com/is_root\":true}";
  char out[256];
  size_t ol = 0;
  assert_int_equal(jwt_sign_raw(RV_JWT_HS256, key, kl, (const uint8_t *)hdr, strlen(hdr),
                                (const uint8_t *)pl, strlen(pl), out, sizeof out, &ol),
                   RV_OK);
  assert_string_equal(out, token);
  assert_int_equal(ol, strlen(token));

  /* One flipped bit anywhere in the signed part or the tag fails. */
  char bad[sizeof token];
  memcpy(bad, token, sizeof token);
  bad[10] ^= 1; /* header: still base64url, different bytes */
  assert_int_not_equal(verify_str(v, bad, &d), RV_OK);
  memcpy(bad, token, sizeof token);
  bad[sizeof token - 3] = bad[sizeof token - 3] == 'X' ? 'Y' : 'X';
  assert_int_equal(verify_str(v, bad, &d), RV_EVERIFY);
  rv_jwt_verifier_destroy(v);
}

static void test_rfc8037_a4(void **state) {
  rv_jwt_verifier *v = *state;
  static const char d64[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
  static const char x64[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
  static const char token[] =
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  uint8_t seed[32], x[32], pk[32], sk[64];
  size_t n = 0;
  assert_int_equal(jwt_b64_decode(d64, strlen(d64), seed, sizeof seed, &n), RV_OK);
  assert_int_equal(jwt_b64_decode(x64, strlen(x64), x, sizeof x, &n), RV_OK);
  crypto_sign_ed25519_seed_keypair(pk, sk, seed);
  assert_memory_equal(pk, x, 32);
  static const char hdr[] = "{\"alg\":\"EdDSA\"}";
  static const char pl[] = "Example of Ed25519 signing";
  char out[256];
  size_t ol = 0;
  assert_int_equal(jwt_sign_raw(RV_JWT_EDDSA, sk, sizeof sk, (const uint8_t *)hdr, strlen(hdr),
                                (const uint8_t *)pl, strlen(pl), out, sizeof out, &ol),
                   RV_OK);
  assert_string_equal(out, token);
  /* The verifier accepts the signature, then refuses the payload: the
   * vector's payload is text, not a claims object. */
  assert_int_equal(rv_jwt_verifier_add_key(v, NULL, RV_JWT_EDDSA, x, sizeof x), RV_OK);
  EXPECT(v, token, RV_EMALFORMED, "payload: not a strict JSON object");
  char bad[sizeof token];
  memcpy(bad, token, sizeof token);
  bad[60] = bad[60] == 'A' ? 'B' : 'A';
  EXPECT(v, bad, RV_EVERIFY, "Ed25519 signature does not verify");
}

/* ---- attack classes ----------------------------------------------------- */

static void test_alg_none(void **state) {
  rv_jwt_verifier *v = *state;
  static const char *const names[] = {"none", "None", "NONE", "nOnE"};
  char hdr[64], t[512];
  for (size_t i = 0; i < 4; i++) {
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"hs\"}", names[i]);
    raw(RV_JWT_HS256, hdr, good_claims);
    /* with the HMAC left on, and with the empty signature of RFC 7519 §6.1 */
    EXPECT(v, tok, RV_EUNSUPPORTED, "alg: 'none'");
    snprintf(t, sizeof t, "%.*s.", (int)(strrchr(tok, '.') - tok), tok);
    EXPECT(v, t, RV_EUNSUPPORTED, "alg: 'none'");
  }
}

static void test_alg_confusion(void **state) {
  rv_jwt_verifier *v = *state;
  /* The classic: an HS256 token MACed with the verifier's *public* key,
   * naming the asymmetric key. The key's pinned algorithm wins. */
  uint8_t tag[JWT_HS256_TAG];
  const char *t = raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"ed\"}", good_claims);
  char forged[1024];
  size_t signed_len = (size_t)(strrchr(t, '.') - t);
  jwt_hs256(ed_pk, sizeof ed_pk, (const uint8_t *)t, signed_len, tag);
  memcpy(forged, t, signed_len + 1);
  jwt_b64_encode(forged + signed_len + 1, tag, sizeof tag);
  EXPECT(v, forged, RV_EVERIFY, "alg: not the algorithm pinned for this key");
  /* And the other way: an EdDSA token presented for the HMAC key. */
  raw(RV_JWT_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"hs\"}", good_claims);
  EXPECT(v, tok, RV_EVERIFY, "alg: not the algorithm pinned");
  /* Same tokens under their own keys pass. */
  raw(RV_JWT_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", good_claims);
  EXPECT(v, tok, RV_OK, NULL);
  raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims);
  EXPECT(v, tok, RV_OK, NULL);
}

static void test_other_algs(void **state) {
  rv_jwt_verifier *v = *state;
  static const char *const algs[] = {"RS256", "ES256", "PS256",   "HS384", "HS512",
                                     "hs256", "EDDSA", "Ed25519", ""};
  char hdr[64];
  for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"hs\"}", algs[i]);
    EXPECT(v, raw(RV_JWT_HS256, hdr, good_claims), RV_EUNSUPPORTED, "alg: not supported");
  }
  EXPECT(v, raw(RV_JWT_HS256, "{\"kid\":\"hs\"}", good_claims), RV_EMALFORMED, "alg missing");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":256,\"kid\":\"hs\"}", good_claims), RV_EMALFORMED,
         "alg is not a string");
}

static void test_null_and_truncated_signature(void **state) {
  rv_jwt_verifier *v = *state;
  char t[1024];
  for (int ed = 0; ed < 2; ed++) {
    raw(ed ? RV_JWT_EDDSA : RV_JWT_HS256,
        ed ? "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}" : "{\"alg\":\"HS256\",\"kid\":\"hs\"}",
        good_claims);
    size_t signed_len = (size_t)(strrchr(tok, '.') - tok);
    size_t slen = tok_len - signed_len - 1;
    /* empty signature */
    snprintf(t, sizeof t, "%.*s.", (int)signed_len, tok);
    EXPECT(v, t, RV_EVERIFY, "signature: empty");
    /* no signature part at all */
    snprintf(t, sizeof t, "%.*s", (int)signed_len, tok);
    EXPECT(v, t, RV_EMALFORMED, "not three");
    /* all-zero signature of the right length */
    uint8_t zero[64] = {0};
    memcpy(t, tok, signed_len + 1);
    jwt_b64_encode(t + signed_len + 1, zero, ed ? 64 : 32);
    EXPECT(v, t, RV_EVERIFY, ed ? "Ed25519 signature does not verify" : "HMAC does not match");
    /* the real signature minus its last byte, canonically encoded */
    uint8_t sig[64];
    size_t sn = 0;
    assert_int_equal(jwt_b64_decode(tok + signed_len + 1, slen, sig, sizeof sig, &sn), RV_OK);
    jwt_b64_encode(t + signed_len + 1, sig, sn - 1);
    EXPECT(v, t, RV_EVERIFY, "wrong length");
    /* truncated by 4 characters: the last one keeps bits that are not zero */
    snprintf(t, sizeof t, "%.*s", (int)(tok_len - 4), tok);
    EXPECT(v, t, RV_EMALFORMED, NULL);
    /* truncated by 1 character: not even base64url */
    snprintf(t, sizeof t, "%.*s", (int)(tok_len - 1), tok);
    rv_diag d;
    int rc = verify_str(v, t, &d);
    assert_true(rc == RV_EMALFORMED || rc == RV_EVERIFY); /* depends on the dropped bits */
    /* extended: too long */
    snprintf(t, sizeof t, "%.*sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             (int)tok_len, tok);
    EXPECT(v, t, RV_EVERIFY, "signature: too long");
  }
}

static void test_kid_injection(void **state) {
  rv_jwt_verifier *v = *state;
  static const char *const kids[] = {"../../../../etc/passwd",
                                     "/dev/null",
                                     "hs' OR '1'='1",
                                     "hs\\\"; DROP TABLE keys;--",
                                     "hs ",
                                     "HS",
                                     "h",
                                     "hs\\/",
                                     "http://attacker/key",
                                     "%68s",
                                     "hs\\u0000"};
  char hdr[256];
  for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++) {
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kids[i]);
    rv_diag d;
    int rc = verify_str(v, raw(RV_JWT_HS256, hdr, good_claims), &d);
    /* \u0000 is refused by the JSON rules; everything else is an unknown id. */
    assert_int_equal(rc, i == 10 ? RV_EMALFORMED : RV_EVERIFY);
    assert_null(strstr(d.msg, "passwd")); /* never echoed */
  }
  /* A hostile-looking id registered on purpose is just a map key. */
  assert_int_equal(rv_jwt_verifier_add_key(v, "../../etc/passwd", RV_JWT_HS256, hs_key, 32), RV_OK);
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"../../etc/passwd\"}", good_claims),
         RV_OK, NULL);
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":5}", good_claims), RV_EMALFORMED,
         "kid is not a string");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"\"}", good_claims), RV_EVERIFY,
         "kid: no key");
  /* No kid: only the kid-less key (none registered here) may verify. */
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\"}", good_claims), RV_EVERIFY, "kid: no key");
}

static void test_refused_headers(void **state) {
  rv_jwt_verifier *v = *state;
  static const char *const params[] = {"jwk",  "jku", "x5u", "x5c", "x5t", "x5t#S256",
                                       "crit", "cty", "b64", "enc", "zip"};
  char hdr[256], want[32];
  for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"%s\":\"x\"}", params[i]);
    snprintf(want, sizeof want, "'%s' refused", params[i]);
    EXPECT(v, raw(RV_JWT_HS256, hdr, good_claims), RV_EUNSUPPORTED, want);
  }
  EXPECT(v,
         raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"crit\":[\"exp\"],\"exp\":1}",
             good_claims),
         RV_EUNSUPPORTED, "'crit' refused");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"foo\":1}", good_claims),
         RV_EUNSUPPORTED, "unknown parameter");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"typ\":\"at+jwt\"}", good_claims),
         RV_EUNSUPPORTED, "typ is not JWT");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"typ\":\"jwt\"}", good_claims),
         RV_OK, NULL);
}

static void test_time_claims(void **state) {
  rv_jwt_verifier *v = *state;
  const char *h = "{\"alg\":\"HS256\",\"kid\":\"hs\"}";
  char p[256];
  /* Times are relative to NOW; leeway is 60 s. "%d" slots take them. */
  static const struct {
    const char *extra;
    int t1, t2, code;
    const char *why;
  } cases[] = {
      {"", 0, 0, RV_EVERIFY, "exp: missing"},
      {",\"exp\":\"soon\"", 0, 0, RV_EMALFORMED, "exp: not an integer"},
      {",\"exp\":1700000100.5", 0, 0, RV_EMALFORMED, "exp: not an integer"},
      {",\"exp\":%d", -60, 0, RV_EVERIFY, "exp: token expired"}, /* first instant refused */
      {",\"exp\":%d", -59, 0, RV_OK, NULL},
      {",\"exp\":-9223372036854775807", 0, 0, RV_EVERIFY, "exp: token expired"},
      {",\"exp\":9223372036854775807", 0, 0, RV_OK, NULL}, /* exp + leeway saturates */
      {",\"exp\":%d,\"nbf\":%d", 500, 61, RV_EVERIFY, "nbf: token not valid yet"},
      {",\"exp\":%d,\"nbf\":%d", 500, 60, RV_OK, NULL},
      {",\"exp\":%d,\"iat\":%d", 500, 61, RV_EVERIFY, "iat: issued in the future"},
      {",\"exp\":%d,\"iat\":%d", 500, -1000, RV_OK, NULL},
      {",\"exp\":%d,\"nbf\":\"x\"", 500, 0, RV_EMALFORMED, "nbf: not an integer"},
      {",\"exp\":%d,\"iat\":null", 500, 0, RV_EMALFORMED, "iat: not an integer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char fmt[128];
    snprintf(fmt, sizeof fmt, "{\"iss\":\"iss.example\",\"aud\":\"svc\"%s}", cases[i].extra);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the formats are the table's */
    snprintf(p, sizeof p, fmt, NOW + cases[i].t1, NOW + cases[i].t2);
#pragma GCC diagnostic pop
    EXPECT(v, raw(RV_JWT_HS256, h, p), cases[i].code, cases[i].why);
  }
  /* the clock moves: the same token expires */
  snprintf(p, sizeof p, "{\"iss\":\"iss.example\",\"aud\":\"svc\",\"exp\":%d}", NOW + 10);
  raw(RV_JWT_HS256, h, p);
  EXPECT(v, tok, RV_OK, NULL);
  now_value = NOW + 70;
  EXPECT(v, tok, RV_EVERIFY, "expired");
  now_value = NOW;
}

static void test_iss_aud(void **state) {
  rv_jwt_verifier *v = *state;
  const char *h = "{\"alg\":\"HS256\",\"kid\":\"hs\"}";
  static const struct {
    const char *claims; /* exp is added */
    int code;
    const char *why;
  } cases[] = {
      {"\"iss\":\"evil\",\"aud\":\"svc\"", RV_EVERIFY, "iss: wrong issuer"},
      {"\"iss\":\"iss.example.evil\",\"aud\":\"svc\"", RV_EVERIFY, "iss: wrong issuer"},
      {"\"aud\":\"svc\"", RV_EVERIFY, "iss: missing"},
      {"\"iss\":[\"iss.example\"],\"aud\":\"svc\"", RV_EMALFORMED, "iss: not a string"},
      {"\"iss\":\"iss.example\",\"aud\":\"other\"", RV_EVERIFY, "aud: wrong audience"},
      {"\"iss\":\"iss.example\"", RV_EVERIFY, "aud: missing"},
      {"\"iss\":\"iss.example\",\"aud\":[\"a\",\"svc\",\"b\"]", RV_OK, NULL},
      {"\"iss\":\"iss.example\",\"aud\":[\"a\",\"b\"]", RV_EVERIFY, "aud: wrong audience"},
      {"\"iss\":\"iss.example\",\"aud\":[]", RV_EVERIFY, "aud: wrong audience"},
      {"\"iss\":\"iss.example\",\"aud\":[\"svc\",7]", RV_EMALFORMED, "aud: array holds"},
      {"\"iss\":\"iss.example\",\"aud\":{}", RV_EMALFORMED, "aud: neither"},
      {"\"iss\":\"iss.example\",\"aud\":\"svc\",\"sub\":1", RV_EMALFORMED, "sub: not a string"},
      {"\"iss\":\"iss.example\",\"aud\":\"svc\",\"jti\":1", RV_EMALFORMED, "jti: not a string"},
  };
  char p[256];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(p, sizeof p, "{%s,\"exp\":1700000100}", cases[i].claims);
    EXPECT(v, raw(RV_JWT_HS256, h, p), cases[i].code, cases[i].why);
  }

  /* A verifier without an audience refuses tokens that carry one; without
   * an issuer it does not require iss. Required claims are enforced. */
  rv_jwt_config cfg = base_cfg();
  cfg.issuer = NULL;
  cfg.audience = NULL;
  cfg.required = RV_JWT_REQUIRE_NBF | RV_JWT_REQUIRE_IAT | RV_JWT_REQUIRE_SUB | RV_JWT_REQUIRE_JTI;
  rv_jwt_verifier *w = make_verifier(&cfg);
  EXPECT(
      w,
      raw(RV_JWT_HS256, h,
          "{\"aud\":\"svc\",\"exp\":1700000100,\"nbf\":1,\"iat\":1,\"sub\":\"s\",\"jti\":\"j\"}"),
      RV_EVERIFY, "aud: present but no audience");
  EXPECT(w, raw(RV_JWT_HS256, h, "{\"exp\":1700000100,\"iat\":1,\"sub\":\"s\",\"jti\":\"j\"}"),
         RV_EVERIFY, "nbf: missing");
  EXPECT(w, raw(RV_JWT_HS256, h, "{\"exp\":1700000100,\"nbf\":1,\"sub\":\"s\",\"jti\":\"j\"}"),
         RV_EVERIFY, "iat: missing");
  EXPECT(w, raw(RV_JWT_HS256, h, "{\"exp\":1700000100,\"nbf\":1,\"iat\":1,\"jti\":\"j\"}"),
         RV_EVERIFY, "sub: missing");
  EXPECT(w, raw(RV_JWT_HS256, h, "{\"exp\":1700000100,\"nbf\":1,\"iat\":1,\"sub\":\"s\"}"),
         RV_EVERIFY, "jti: missing");
  EXPECT(
      w,
      raw(RV_JWT_HS256, h,
          "{\"exp\":1700000100,\"nbf\":1,\"iat\":1,\"sub\":\"s\",\"jti\":\"j\",\"iss\":\"any\"}"),
      RV_OK, NULL);
  rv_jwt_verifier_destroy(w);
}

static void test_duplicate_members(void **state) {
  rv_jwt_verifier *v = *state;
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"alg\":\"none\"}", good_claims),
         RV_EMALFORMED, "header: not a strict JSON object");
  EXPECT(v,
         raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}",
             "{\"iss\":\"evil\",\"iss\":\"iss.example\",\"aud\":\"svc\",\"exp\":1700000100}"),
         RV_EMALFORMED, "payload: not a strict JSON object");
  /* other strict-JSON refusals: trailing data, arrays, NUL, bad UTF-8 */
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"} x", good_claims), RV_EMALFORMED,
         "header: not a strict JSON");
  EXPECT(v, raw(RV_JWT_HS256, "[\"HS256\"]", good_claims), RV_EMALFORMED, "header: not a strict");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", "[1]"), RV_EMALFORMED,
         "payload: not a strict");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", "{\"exp\":1,\"x\":\"\xff\"}"),
         RV_EMALFORMED, "payload: not a strict");
  EXPECT(v, raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", ""), RV_EMALFORMED,
         "payload: not a strict");
}

static void test_base64url_strict(void **state) {
  rv_jwt_verifier *v = *state;
  raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims);
  char good[1024], t[1100];
  memcpy(good, tok, tok_len + 1);
  size_t d1 = (size_t)(strchr(good, '.') - good);
  size_t d2 = (size_t)(strrchr(good, '.') - good);
  /* '=' padding on each part */
  snprintf(t, sizeof t, "%.*s=%s", (int)d1, good, good + d1);
  EXPECT(v, t, RV_EMALFORMED, "header: bad base64url");
  snprintf(t, sizeof t, "%.*s=%s", (int)d2, good, good + d2);
  EXPECT(v, t, RV_EVERIFY, NULL); /* the signature covers the padded part */
  snprintf(t, sizeof t, "%s=", good);
  EXPECT(v, t, RV_EMALFORMED, "signature: bad base64url");
  /* the standard alphabet's '+' and '/' instead of '-' and '_', whitespace */
  static const char subst[] = "+/ \n%";
  for (size_t i = 0; i < sizeof subst - 1; i++) {
    memcpy(t, good, tok_len + 1);
    t[3] = subst[i];
    EXPECT(v, t, RV_EMALFORMED, "header: bad base64url");
    memcpy(t, good, tok_len + 1);
    t[d2 + 3] = subst[i];
    EXPECT(v, t, RV_EMALFORMED, "signature: bad base64url");
  }
  /* non-zero trailing bits: the 43-char tag's last char carries 2 unused
   * bits; setting one gives another string for the same bytes */
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  memcpy(t, good, tok_len + 1);
  size_t last = (size_t)(strchr(alphabet, t[tok_len - 1]) - alphabet);
  t[tok_len - 1] = alphabet[last | 1u];
  EXPECT(v, t, RV_EMALFORMED, "signature: bad base64url");
  uint8_t buf[8];
  size_t n = 0;
  assert_int_equal(jwt_b64_decode("QQ", 2, buf, sizeof buf, &n), RV_OK);
  assert_int_equal(n, 1);
  assert_int_equal(jwt_b64_decode("QR", 2, buf, sizeof buf, &n), RV_EMALFORMED);
  assert_int_equal(jwt_b64_decode("QUI", 3, buf, sizeof buf, &n), RV_OK);
  assert_int_equal(jwt_b64_decode("QUJ", 3, buf, sizeof buf, &n), RV_EMALFORMED);
  assert_int_equal(jwt_b64_decode("QUJD", 4, buf, 2, &n), RV_ENOMEM);
  assert_int_equal(jwt_b64_decode("Q", 1, buf, sizeof buf, &n), RV_EMALFORMED);
  /* shape */
  EXPECT(v, "", RV_EMALFORMED, "not three");
  EXPECT(v, "..", RV_EMALFORMED, "header: empty");
  EXPECT(v, "a.b.c.d.e", RV_EUNSUPPORTED, "JWE");
  EXPECT(v, "a.b.c.d.e.f", RV_EMALFORMED, "too many");
  EXPECT(v, "a.b.c.d", RV_EMALFORMED, "not three");
}

static void test_limits_and_args(void **state) {
  rv_jwt_verifier *v = *state;
  rv_jwt_claims *c = NULL;
  rv_diag d = {0};
  /* oversized: refused before any decoding */
  size_t big = RV_JWT_MAX_TOKEN_DEFAULT + 1;
  char *t = malloc(big);
  assert_non_null(t);
  memset(t, 'A', big);
  assert_int_equal(rv_jwt_verify(v, t, big, &c, &d), RV_ELIMIT);
  assert_non_null(strstr(d.msg, "limit"));
  assert_int_equal(rv_jwt_verify(v, t, big - 1, &c, &d), RV_EMALFORMED);
  free(t);
  rv_jwt_config cfg = base_cfg();
  cfg.max_token = 64;
  rv_jwt_verifier *w = make_verifier(&cfg);
  raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims);
  assert_int_equal(rv_jwt_verify(w, tok, tok_len, &c, &d), RV_ELIMIT);
  rv_jwt_verifier_destroy(w);
  /* arguments */
  assert_int_equal(rv_jwt_verify(NULL, tok, tok_len, &c, &d), RV_EINVAL);
  assert_int_equal(rv_jwt_verify(v, NULL, 0, &c, &d), RV_EINVAL);
  assert_int_equal(rv_jwt_verify(v, tok, tok_len, NULL, NULL), RV_EINVAL);
  rv_jwt_verifier_destroy(NULL);
}

static void test_ct_compare_used(void **state) {
  rv_jwt_verifier *v = *state;
  raw(RV_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", good_claims);
  rv_diag d;
  ct_calls = 0;
  EXPECT(v, tok, RV_OK, NULL);
  assert_int_equal(ct_calls, 1);
  assert_int_equal(ct_last_n, JWT_HS256_TAG);
  /* A tag wrong in its first byte and one wrong in its last byte take the
   * same path: one full-length constant-time compare each. */
  char t[1024];
  for (int pos = 0; pos < 2; pos++) {
    memcpy(t, tok, tok_len + 1);
    size_t i = pos ? tok_len - 2 : (size_t)(strrchr(t, '.') - t) + 1;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    ct_calls = 0;
    assert_int_equal(verify_str(v, t, &d), RV_EVERIFY);
    assert_int_equal(ct_calls, 1);
    assert_int_equal(ct_last_n, JWT_HS256_TAG);
  }
}

int main(void) {
  init_keys();
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc7515_a1),
      T(test_rfc8037_a4),
      T(test_alg_none),
      T(test_alg_confusion),
      T(test_other_algs),
      T(test_null_and_truncated_signature),
      T(test_kid_injection),
      T(test_refused_headers),
      T(test_time_claims),
      T(test_iss_aud),
      T(test_duplicate_members),
      T(test_base64url_strict),
      T(test_limits_and_args),
      T(test_ct_compare_used),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
