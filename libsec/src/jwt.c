/* jwt: the strict verifier. See rivet/sec/jwt.h for the rules; this file
 * applies them in the order the header lists, and stops at the first rule
 * a token breaks. */
#include "jwt-impl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

typedef struct jwt_key {
  char *kid;      /* NUL-terminated copy, or NULL: the key for tokens without kid */
  size_t kid_len; /* strlen(kid) */
  rv_jwt_alg alg; /* the only algorithm this key verifies */
  uint8_t *secret;
  size_t secret_len;                        /* HS256: the key, in secmem */
  uint8_t pub[RV_JWT_ED25519_PUBLIC_BYTES]; /* EdDSA: the public key */
} jwt_key;

struct rv_jwt_verifier {
  const rv_alloc *alloc;
  char *issuer;
  char *audience;
  int64_t leeway;
  unsigned required;
  size_t max_token;
  rv_jwt_clock_fn clock;
  void *clock_ctx;
  rv_secmem *pool;
  int own_pool;
  jwt_key *keys;
  size_t nkeys;
  size_t cap;
};

struct rv_jwt_claims {
  const rv_alloc *alloc;
  json_t *obj;
  char *json; /* the decoded payload, NUL-terminated */
  size_t json_len;
  size_t json_cap; /* its allocated size */
  char *kid;       /* the verifying key's id, or NULL */
  rv_jwt_alg alg;
};

#define ALL_REQUIRED                                                                               \
  (RV_JWT_REQUIRE_NBF | RV_JWT_REQUIRE_IAT | RV_JWT_REQUIRE_SUB | RV_JWT_REQUIRE_JTI)

static char *dup_str(const rv_alloc *a, const char *s, size_t n) {
  char *p = rv_alloc_get(a, n + 1u, 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static void free_str(const rv_alloc *a, char *s) {
  if (s != NULL) {
    rv_alloc_free(a, s, strlen(s) + 1u);
  }
}

static int policy_str(const char *s) {
  if (s == NULL) {
    return 1;
  }
  size_t n = strnlen(s, JWT_POLICY_STR_MAX + 1u);
  return n > 0 && n <= JWT_POLICY_STR_MAX;
}

int rv_jwt_verifier_create(rv_jwt_verifier **out, const rv_jwt_config *cfg) {
  if (out == NULL || cfg == NULL || cfg->leeway < 0 || cfg->leeway > 86400 ||
      (cfg->required & ~(unsigned)ALL_REQUIRED) != 0 || !policy_str(cfg->issuer) ||
      !policy_str(cfg->audience)) {
    return RV_EINVAL;
  }
  rv_jwt_verifier *v = rv_alloc_get(cfg->alloc, sizeof *v, RV_ALIGNOF(rv_jwt_verifier));
  if (v == NULL) {
    return RV_ENOMEM;
  }
  memset(v, 0, sizeof *v);
  v->alloc = cfg->alloc;
  v->leeway = cfg->leeway;
  v->required = cfg->required;
  v->max_token = cfg->max_token ? cfg->max_token : RV_JWT_MAX_TOKEN_DEFAULT;
  v->clock = cfg->clock;
  v->clock_ctx = cfg->clock_ctx;
  v->pool = cfg->secmem;
  int rc = RV_ENOMEM;
  if (cfg->issuer != NULL &&
      (v->issuer = dup_str(v->alloc, cfg->issuer, strlen(cfg->issuer))) == NULL) {
    goto fail;
  }
  if (cfg->audience != NULL &&
      (v->audience = dup_str(v->alloc, cfg->audience, strlen(cfg->audience))) == NULL) {
    goto fail;
  }
  if (v->pool == NULL) {
    rv_secmem_config sc = {.alloc = cfg->alloc, .flags = cfg->secmem_flags};
    rc = rv_secmem_create(&v->pool, &sc);
    if (rc != RV_OK) {
      goto fail;
    }
    v->own_pool = 1;
  }
  *out = v;
  return RV_OK;
fail:
  free_str(v->alloc, v->issuer);
  free_str(v->alloc, v->audience);
  rv_alloc_free(v->alloc, v, sizeof *v);
  return rc;
}

void rv_jwt_verifier_destroy(rv_jwt_verifier *v) {
  if (v == NULL) {
    return;
  }
  for (size_t i = 0; i < v->nkeys; i++) {
    free_str(v->alloc, v->keys[i].kid);
    if (v->keys[i].secret != NULL) {
      /* secmem wipes on free; a canary failure here would be our bug and
       * has nowhere to be reported from a destructor. */
      (void)rv_secmem_free(v->pool, v->keys[i].secret);
    }
  }
  rv_alloc_free(v->alloc, v->keys, v->cap * sizeof *v->keys);
  if (v->own_pool) {
    rv_secmem_destroy(v->pool);
  }
  free_str(v->alloc, v->issuer);
  free_str(v->alloc, v->audience);
  rv_alloc_free(v->alloc, v, sizeof *v);
}

/* The key pinned under this id (kid == NULL: the key for tokens without
 * one). The id is compared as bytes and used for nothing else. */
static const jwt_key *find_key(const rv_jwt_verifier *v, const char *kid, size_t kid_len) {
  for (size_t i = 0; i < v->nkeys; i++) {
    const jwt_key *k = &v->keys[i];
    if (kid == NULL
            ? k->kid == NULL
            : (k->kid != NULL && k->kid_len == kid_len && memcmp(k->kid, kid, kid_len) == 0)) {
      return k;
    }
  }
  return NULL;
}

int rv_jwt_verifier_add_key(rv_jwt_verifier *v, const char *kid, rv_jwt_alg alg, const uint8_t *key,
                            size_t keylen) {
  if (v == NULL || key == NULL) {
    return RV_EINVAL;
  }
  if (jwt_alg_name(alg) == NULL) {
    return RV_EUNSUPPORTED;
  }
  size_t kid_len = kid ? strnlen(kid, RV_JWT_KID_MAX + 1u) : 0;
  if (kid != NULL && (kid_len == 0 || kid_len > RV_JWT_KID_MAX)) {
    return RV_EINVAL;
  }
  if (alg == RV_JWT_HS256 ? (keylen < RV_JWT_HS256_KEY_MIN || keylen > RV_JWT_HS256_KEY_MAX)
                          : keylen != RV_JWT_ED25519_PUBLIC_BYTES) {
    return RV_EINVAL;
  }
  if (find_key(v, kid, kid_len) != NULL) {
    return RV_EEXIST;
  }
  if (v->nkeys == v->cap) {
    size_t ncap = v->cap ? v->cap * 2u : 4u;
    size_t old_bytes = v->cap * sizeof *v->keys;
    size_t new_bytes = 0;
    if (__builtin_mul_overflow(ncap, sizeof *v->keys, &new_bytes)) {
      return RV_ENOMEM; /* a table that large could not be allocated anyway */
    }
    jwt_key *nk = v->keys == NULL ? rv_alloc_get(v->alloc, new_bytes, RV_ALIGNOF(jwt_key))
                                  : rv_alloc_resize(v->alloc, v->keys, old_bytes, new_bytes,
                                                    RV_ALIGNOF(jwt_key));
    if (nk == NULL) {
      return RV_ENOMEM;
    }
    v->keys = nk;
    v->cap = ncap;
  }
  jwt_key k = {.alg = alg, .kid_len = kid_len};
  if (kid != NULL && (k.kid = dup_str(v->alloc, kid, kid_len)) == NULL) {
    return RV_ENOMEM;
  }
  if (alg == RV_JWT_HS256) {
    void *s = NULL;
    int rc = rv_secmem_alloc(v->pool, keylen, &s);
    if (rc == RV_OK && (rc = rv_secmem_open(v->pool, s)) != RV_OK) {
      (void)rv_secmem_free(v->pool, s);
    }
    if (rc != RV_OK) {
      free_str(v->alloc, k.kid);
      return rc;
    }
    memcpy(s, key, keylen);
    /* Closing a secret of a pool without NOACCESS only drops the count;
     * with NOACCESS a failed mprotect leaves the page open, which is the
     * pool's documented degraded state, not a reason to drop the key. */
    (void)rv_secmem_close(v->pool, s);
    k.secret = s;
    k.secret_len = keylen;
  } else {
    memcpy(k.pub, key, keylen);
  }
  v->keys[v->nkeys++] = k;
  return RV_OK;
}

/* ---- verification ---------------------------------------------------- */

/* Header parameters refused outright, with the reason given for each. */
static const struct {
  const char *name;
  const char *msg;
} refused[] = {
    {"jwk", "header: 'jwk' refused: keys are never taken from a token"},
    {"jku", "header: 'jku' refused: keys are never fetched from a token's URL"},
    {"x5u", "header: 'x5u' refused: keys are never fetched from a token's URL"},
    {"x5c", "header: 'x5c' refused: keys are never taken from a token"},
    {"x5t", "header: 'x5t' refused: keys are selected by kid only"},
    {"x5t#S256", "header: 'x5t#S256' refused: keys are selected by kid only"},
    {"crit", "header: 'crit' refused: no extension is understood"},
    {"cty", "header: 'cty' refused: nested tokens are not supported"},
    {"b64", "header: 'b64' refused: unencoded payloads are not supported"},
    {"enc", "header: 'enc' refused: encrypted tokens (JWE) are not supported"},
    {"zip", "header: 'zip' refused: compressed payloads are not supported"},
};

typedef struct hdr_info {
  rv_jwt_alg alg;
  const char *kid; /* points into the header JSON, or NULL */
  size_t kid_len;
} hdr_info;

static int check_header(json_t *h, hdr_info *hi, rv_diag *d) {
  const char *name;
  json_t *val;
  json_object_foreach(h, name, val) {
    if (strcmp(name, "alg") == 0 || strcmp(name, "kid") == 0) {
      continue;
    }
    if (strcmp(name, "typ") == 0) {
      /* RFC 7519 §5.1: "JWT", compared case-insensitively. */
      if (!json_is_string(val) || strcasecmp(json_string_value(val), "JWT") != 0) {
        return rv_diag_set(d, RV_EUNSUPPORTED, 0, "header: typ is not JWT");
      }
      continue;
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
      if (strcmp(name, refused[i].name) == 0) {
        return rv_diag_set(d, RV_EUNSUPPORTED, 0, refused[i].msg);
      }
    }
    return rv_diag_set(d, RV_EUNSUPPORTED, 0, "header: unknown parameter refused");
  }
  json_t *alg = json_object_get(h, "alg");
  if (alg == NULL) {
    return rv_diag_set(d, RV_EMALFORMED, 0, "header: alg missing");
  }
  if (!json_is_string(alg)) {
    return rv_diag_set(d, RV_EMALFORMED, 0, "header: alg is not a string");
  }
  const char *a = json_string_value(alg);
  if (strcasecmp(a, "none") == 0) {
    return rv_diag_set(d, RV_EUNSUPPORTED, 0, "alg: 'none' (unsecured token) refused");
  }
  if (strcmp(a, "HS256") == 0) {
    hi->alg = RV_JWT_HS256;
  } else if (strcmp(a, "EdDSA") == 0) {
    hi->alg = RV_JWT_EDDSA;
  } else {
    return rv_diag_set(d, RV_EUNSUPPORTED, 0, "alg: not supported (only HS256 and EdDSA)");
  }
  json_t *kid = json_object_get(h, "kid");
  hi->kid = NULL;
  hi->kid_len = 0;
  if (kid != NULL) {
    if (!json_is_string(kid)) {
      return rv_diag_set(d, RV_EMALFORMED, 0, "header: kid is not a string");
    }
    hi->kid = json_string_value(kid);
    hi->kid_len = json_string_length(kid);
    if (hi->kid_len == 0 || hi->kid_len > RV_JWT_KID_MAX) {
      return rv_diag_set(d, RV_EVERIFY, 0, "kid: no key with this id");
    }
  }
  return RV_OK;
}

static int check_signature(const jwt_key *k, const rv_jwt_verifier *v, const char *token,
                           size_t signed_len, const uint8_t *sig, size_t siglen, size_t off,
                           rv_diag *d) {
  if (k->alg == RV_JWT_HS256) {
    if (siglen != JWT_HS256_TAG) {
      return rv_diag_set(d, RV_EVERIFY, off, "signature: wrong length for HS256");
    }
    uint8_t tag[JWT_HS256_TAG];
    int rc = rv_secmem_open(v->pool, k->secret);
    if (rc != RV_OK) {
      return rv_diag_set(d, rc, off, "signature: secure memory holding the key cannot be opened");
    }
    jwt_hs256(k->secret, k->secret_len, (const uint8_t *)token, signed_len, tag);
    (void)rv_secmem_close(v->pool, k->secret);
    /* The tag comparison must not stop at the first differing byte. */
    rc = rv_ct_verify(tag, sig, JWT_HS256_TAG);
    rv_ct_wipe(tag, sizeof tag);
    if (rc != RV_OK) {
      return rv_diag_set(d, RV_EVERIFY, off, "signature: HMAC does not match");
    }
    return RV_OK;
  }
  if (siglen != JWT_ED25519_SIG) {
    return rv_diag_set(d, RV_EVERIFY, off, "signature: wrong length for EdDSA");
  }
  if (crypto_sign_ed25519_verify_detached(sig, (const uint8_t *)token, signed_len, k->pub) != 0) {
    return rv_diag_set(d, RV_EVERIFY, off, "signature: Ed25519 signature does not verify");
  }
  return RV_OK;
}

/* A NumericDate claim: absent (0, *present = 0) or an integer. */
static int get_time(json_t *c, const char *name, int64_t *t, int *present, size_t off, rv_diag *d,
                    const char *bad) {
  json_t *x = json_object_get(c, name);
  *present = x != NULL;
  if (x == NULL) {
    return RV_OK;
  }
  if (!json_is_integer(x)) {
    return rv_diag_set(d, RV_EMALFORMED, off, bad);
  }
  *t = (int64_t)json_integer_value(x);
  return RV_OK;
}

static int check_string_claim(json_t *c, const char *name, int required, size_t off, rv_diag *d,
                              const char *missing, const char *bad) {
  json_t *x = json_object_get(c, name);
  if (x == NULL) {
    return required ? rv_diag_set(d, RV_EVERIFY, off, missing) : RV_OK;
  }
  return json_is_string(x) ? RV_OK : rv_diag_set(d, RV_EMALFORMED, off, bad);
}

static int check_claims(const rv_jwt_verifier *v, json_t *c, size_t off, rv_diag *d) {
  int64_t now = v->clock ? v->clock(v->clock_ctx) : (int64_t)time(NULL);
  int64_t exp = 0, nbf = 0, iat = 0, lo = 0, hi = 0;
  int has = 0;
  int rc = get_time(c, "exp", &exp, &has, off, d, "exp: not an integer NumericDate");
  if (rc != RV_OK) {
    return rc;
  }
  if (!has) {
    return rv_diag_set(d, RV_EVERIFY, off, "exp: missing (required)");
  }
  /* Valid while now < exp + leeway; saturate instead of overflowing. */
  if (__builtin_add_overflow(exp, v->leeway, &hi)) {
    hi = INT64_MAX;
  }
  if (now >= hi) {
    return rv_diag_set(d, RV_EVERIFY, off, "exp: token expired");
  }
  if (__builtin_add_overflow(now, v->leeway, &lo)) {
    lo = INT64_MAX;
  }
  rc = get_time(c, "nbf", &nbf, &has, off, d, "nbf: not an integer NumericDate");
  if (rc != RV_OK) {
    return rc;
  }
  if (!has && (v->required & RV_JWT_REQUIRE_NBF)) {
    return rv_diag_set(d, RV_EVERIFY, off, "nbf: missing (required)");
  }
  if (has && nbf > lo) {
    return rv_diag_set(d, RV_EVERIFY, off, "nbf: token not valid yet");
  }
  rc = get_time(c, "iat", &iat, &has, off, d, "iat: not an integer NumericDate");
  if (rc != RV_OK) {
    return rc;
  }
  if (!has && (v->required & RV_JWT_REQUIRE_IAT)) {
    return rv_diag_set(d, RV_EVERIFY, off, "iat: missing (required)");
  }
  if (has && iat > lo) {
    return rv_diag_set(d, RV_EVERIFY, off, "iat: issued in the future");
  }
  rc = check_string_claim(c, "iss", v->issuer != NULL, off, d, "iss: missing (required)",
                          "iss: not a string");
  if (rc != RV_OK) {
    return rc;
  }
  json_t *iss = json_object_get(c, "iss");
  if (v->issuer != NULL && strcmp(json_string_value(iss), v->issuer) != 0) {
    return rv_diag_set(d, RV_EVERIFY, off, "iss: wrong issuer");
  }
  if ((rc = check_string_claim(c, "sub", (v->required & RV_JWT_REQUIRE_SUB) != 0, off, d,
                               "sub: missing (required)", "sub: not a string")) != RV_OK ||
      (rc = check_string_claim(c, "jti", (v->required & RV_JWT_REQUIRE_JTI) != 0, off, d,
                               "jti: missing (required)", "jti: not a string")) != RV_OK) {
    return rc;
  }
  json_t *aud = json_object_get(c, "aud");
  if (aud == NULL) {
    return v->audience ? rv_diag_set(d, RV_EVERIFY, off, "aud: missing (required)") : RV_OK;
  }
  int match = 0;
  if (json_is_string(aud)) {
    match = v->audience != NULL && strcmp(json_string_value(aud), v->audience) == 0;
  } else if (json_is_array(aud)) {
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e) {
      if (!json_is_string(e)) {
        return rv_diag_set(d, RV_EMALFORMED, off, "aud: array holds a non-string");
      }
      match |= v->audience != NULL && strcmp(json_string_value(e), v->audience) == 0;
    }
  } else {
    return rv_diag_set(d, RV_EMALFORMED, off, "aud: neither a string nor an array of strings");
  }
  if (v->audience == NULL) {
    return rv_diag_set(d, RV_EVERIFY, off, "aud: present but no audience is configured");
  }
  return match ? RV_OK : rv_diag_set(d, RV_EVERIFY, off, "aud: wrong audience");
}

/* Decode one base64url part into a fresh buffer of len*3/4+1 bytes. */
static int decode_part(const rv_alloc *a, const char *p, size_t len, uint8_t **out, size_t *cap,
                       size_t *n) {
  *cap = len / 4u * 3u + 3u;
  *out = rv_alloc_get(a, *cap, 1);
  if (*out == NULL) {
    return RV_ENOMEM;
  }
  return jwt_b64_decode(p, len, *out, *cap - 1u, n);
}

int rv_jwt_verify(const rv_jwt_verifier *v, const char *token, size_t len, rv_jwt_claims **claims,
                  rv_diag *d) {
  if (v == NULL || token == NULL || claims == NULL) {
    return rv_diag_set(d, RV_EINVAL, 0, "jwt: NULL argument");
  }
  *claims = NULL;
  if (len > v->max_token) {
    return rv_diag_set(d, RV_ELIMIT, v->max_token, "token: longer than the configured limit");
  }
  size_t dots[4];
  size_t ndots = 0;
  for (size_t i = 0; i < len; i++) {
    if (token[i] == '.') {
      if (ndots == 4) {
        return rv_diag_set(d, RV_EMALFORMED, i, "token: too many '.' separators");
      }
      dots[ndots++] = i;
    }
  }
  if (ndots == 4) {
    return rv_diag_set(d, RV_EUNSUPPORTED, 0, "token: encrypted tokens (JWE) are not supported");
  }
  if (ndots != 2) {
    return rv_diag_set(d, RV_EMALFORMED, 0, "token: not three '.'-separated parts");
  }
  size_t poff = dots[0] + 1u, soff = dots[1] + 1u;
  size_t plen = dots[1] - poff, slen = len - soff;
  if (dots[0] == 0) {
    return rv_diag_set(d, RV_EMALFORMED, 0, "header: empty");
  }
  uint8_t *hbuf = NULL, *pbuf = NULL;
  size_t hcap = 0, pcap = 0, hn = 0, pn = 0, sn = 0;
  json_t *hdr = NULL, *obj = NULL;
  rv_jwt_claims *c = NULL;
  uint8_t sig[JWT_ED25519_SIG + 3u];
  int rc = decode_part(v->alloc, token, dots[0], &hbuf, &hcap, &hn);
  if (rc != RV_OK) {
    rv_diag_set(d, rc, 0, rc == RV_ENOMEM ? "jwt: out of memory" : "header: bad base64url");
    goto fail;
  }
  if ((rc = jwt_json_object(hbuf, hn, &hdr)) != RV_OK) {
    rv_diag_set(d, rc, 0, "header: not a strict JSON object (syntax, duplicate or NUL)");
    goto fail;
  }
  hdr_info hi = {0};
  if ((rc = check_header(hdr, &hi, d)) != RV_OK) {
    goto fail;
  }
  const jwt_key *k = find_key(v, hi.kid, hi.kid_len);
  if (k == NULL) {
    rc = rv_diag_set(d, RV_EVERIFY, 0, "kid: no key with this id");
    goto fail;
  }
  if (k->alg != hi.alg) {
    rc = rv_diag_set(d, RV_EVERIFY, 0, "alg: not the algorithm pinned for this key");
    goto fail;
  }
  if (slen == 0) {
    rc = rv_diag_set(d, RV_EVERIFY, soff, "signature: empty");
    goto fail;
  }
  /* Longer than any signature we accept: refuse before decoding. */
  if (slen > jwt_b64_len(JWT_ED25519_SIG)) {
    rc = rv_diag_set(d, RV_EVERIFY, soff, "signature: too long");
    goto fail;
  }
  if ((rc = jwt_b64_decode(token + soff, slen, sig, sizeof sig, &sn)) != RV_OK) {
    rv_diag_set(d, rc, soff, "signature: bad base64url");
    goto fail;
  }
  if ((rc = check_signature(k, v, token, dots[1], sig, sn, soff, d)) != RV_OK) {
    goto fail;
  }
  /* Authentic from here on: now parse the payload. */
  if ((rc = decode_part(v->alloc, token + poff, plen, &pbuf, &pcap, &pn)) != RV_OK) {
    rv_diag_set(d, rc, poff, rc == RV_ENOMEM ? "jwt: out of memory" : "payload: bad base64url");
    goto fail;
  }
  if ((rc = jwt_json_object(pbuf, pn, &obj)) != RV_OK) {
    rv_diag_set(d, rc, poff, "payload: not a strict JSON object (syntax, duplicate or NUL)");
    goto fail;
  }
  if ((rc = check_claims(v, obj, poff, d)) != RV_OK) {
    goto fail;
  }
  rc = RV_ENOMEM;
  c = rv_alloc_get(v->alloc, sizeof *c, RV_ALIGNOF(rv_jwt_claims));
  if (c == NULL) {
    rv_diag_set(d, rc, 0, "jwt: out of memory");
    goto fail;
  }
  memset(c, 0, sizeof *c);
  c->alloc = v->alloc;
  c->alg = k->alg;
  if (k->kid != NULL && (c->kid = dup_str(v->alloc, k->kid, k->kid_len)) == NULL) {
    rv_diag_set(d, rc, 0, "jwt: out of memory");
    goto fail;
  }
  pbuf[pn] = '\0';
  c->json = (char *)pbuf;
  c->json_len = pn;
  c->json_cap = pcap;
  c->obj = obj;
  pbuf = NULL;
  obj = NULL;
  *claims = c;
  c = NULL;
  rc = RV_OK;
fail:
  rv_jwt_claims_free(c);
  json_decref(obj);
  json_decref(hdr);
  rv_alloc_free(v->alloc, pbuf, pcap);
  rv_alloc_free(v->alloc, hbuf, hcap);
  return rc;
}

/* ---- claims ---------------------------------------------------------- */

void rv_jwt_claims_free(rv_jwt_claims *c) {
  if (c == NULL) {
    return;
  }
  json_decref(c->obj);
  if (c->json != NULL) {
    rv_alloc_free(c->alloc, c->json, c->json_cap);
  }
  free_str(c->alloc, c->kid);
  rv_alloc_free(c->alloc, c, sizeof *c);
}

static int claim(const rv_jwt_claims *c, const char *name, json_t **x) {
  if (c == NULL || name == NULL) {
    return RV_EINVAL;
  }
  *x = json_object_get(c->obj, name);
  return *x ? RV_OK : RV_ENOTFOUND;
}

int rv_jwt_claims_string(const rv_jwt_claims *c, const char *name, const char **out, size_t *len) {
  json_t *x = NULL;
  int rc = out ? claim(c, name, &x) : RV_EINVAL;
  if (rc != RV_OK) {
    return rc;
  }
  if (!json_is_string(x)) {
    return RV_EMALFORMED;
  }
  *out = json_string_value(x);
  if (len != NULL) {
    *len = json_string_length(x);
  }
  return RV_OK;
}

int rv_jwt_claims_int(const rv_jwt_claims *c, const char *name, int64_t *out) {
  json_t *x = NULL;
  int rc = out ? claim(c, name, &x) : RV_EINVAL;
  if (rc != RV_OK) {
    return rc;
  }
  if (!json_is_integer(x)) {
    return RV_EMALFORMED;
  }
  *out = (int64_t)json_integer_value(x);
  return RV_OK;
}

int rv_jwt_claims_bool(const rv_jwt_claims *c, const char *name, int *out) {
  json_t *x = NULL;
  int rc = out ? claim(c, name, &x) : RV_EINVAL;
  if (rc != RV_OK) {
    return rc;
  }
  if (!json_is_boolean(x)) {
    return RV_EMALFORMED;
  }
  *out = json_is_true(x) ? 1 : 0;
  return RV_OK;
}

int rv_jwt_claims_json(const rv_jwt_claims *c, const char **out, size_t *len) {
  if (c == NULL || out == NULL) {
    return RV_EINVAL;
  }
  *out = c->json;
  if (len != NULL) {
    *len = c->json_len;
  }
  return RV_OK;
}

const char *rv_jwt_claims_key(const rv_jwt_claims *c, rv_jwt_alg *alg) {
  if (c == NULL) {
    return NULL;
  }
  if (alg != NULL) {
    *alg = c->alg;
  }
  return c->kid;
}
