/* jwt issuing, and the helpers the verifier shares: strict base64url,
 * HMAC-SHA-256, strict JSON objects. All cryptography is libsodium's. */
#include "jwt-impl.h"

#include <string.h>

#include <sodium.h>

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

size_t jwt_b64_len(size_t n) {
  /* 4 characters per 3 bytes, and 2 or 3 for a final 1 or 2 bytes. */
  return (n / 3u) * 4u + ((n % 3u) ? (n % 3u) + 1u : 0u);
}

static int b64_char_ok(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

int jwt_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  /* Check the alphabet ourselves first, so '=', '+', '/', whitespace and
   * every other byte are refused whatever libsodium's decoder tolerates. */
  for (size_t i = 0; i < len; i++) {
    if (!b64_char_ok((unsigned char)in[i])) {
      return RV_EMALFORMED;
    }
  }
  if (len % 4u == 1u) {
    return RV_EMALFORMED;
  }
  size_t need = (len / 4u) * 3u + ((len % 4u) ? (len % 4u) - 1u : 0u);
  if (need > cap) {
    return RV_ENOMEM;
  }
  size_t got = 0;
  const char *end = NULL;
  if (len > 0 && sodium_base642bin(out, cap, in, len, NULL, &got, &end,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return RV_EMALFORMED;
  }
  if (len > 0 && (end != in + len || got != need)) {
    return RV_EMALFORMED;
  }
  /* Canonical form: the unused low bits of the last character must be
   * zero, or two strings would decode to the same bytes. libsodium checks
   * this too; re-encoding makes the rule independent of its version. */
  if (len % 4u != 0u) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned last = (unsigned)(strchr(alphabet, in[len - 1]) - alphabet);
    unsigned unused = (len % 4u == 2u) ? 0x0fu : 0x03u;
    if ((last & unused) != 0u) {
      return RV_EMALFORMED;
    }
  }
  *out_len = got;
  return RV_OK;
}

size_t jwt_b64_encode(char *out, const uint8_t *in, size_t n) {
  size_t len = jwt_b64_len(n);
  if (n == 0) {
    out[0] = '\0';
    return 0;
  }
  sodium_bin2base64(out, len + 1u, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return len;
}

void jwt_hs256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
               uint8_t tag[JWT_HS256_TAG]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, keylen);
  crypto_auth_hmacsha256_update(&st, msg, len);
  crypto_auth_hmacsha256_final(&st, tag);
  /* The state holds the key XORed with the pads: as secret as the key. */
  sodium_memzero(&st, sizeof st);
}

const char *jwt_alg_name(rv_jwt_alg alg) {
  switch (alg) {
  case RV_JWT_HS256:
    return "HS256";
  case RV_JWT_EDDSA:
    return "EdDSA";
  default:
    return NULL;
  }
}

int jwt_json_object(const uint8_t *text, size_t len, json_t **out) {
  json_error_t err;
  /* JSON_REJECT_DUPLICATES: {"iss":"a","iss":"b"} must not mean whichever
   * the parser kept. NUL escapes are refused because JSON_ALLOW_NUL is not
   * given; jansson also refuses invalid UTF-8 and trailing data. */
  json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &err);
  if (root == NULL) {
    return RV_EMALFORMED;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    return RV_EMALFORMED;
  }
  *out = root;
  return RV_OK;
}

static int key_len_ok(rv_jwt_alg alg, size_t keylen) {
  if (alg == RV_JWT_HS256) {
    return keylen >= RV_JWT_HS256_KEY_MIN && keylen <= RV_JWT_HS256_KEY_MAX;
  }
  return keylen == RV_JWT_ED25519_SECRET_BYTES;
}

int jwt_sign_raw(rv_jwt_alg alg, const uint8_t *key, size_t keylen, const uint8_t *header,
                 size_t hlen, const uint8_t *payload, size_t plen, char *out, size_t cap,
                 size_t *out_len) {
  if (jwt_alg_name(alg) == NULL) {
    return RV_EUNSUPPORTED;
  }
  if (!key_len_ok(alg, keylen)) {
    return RV_EINVAL;
  }
  if (hlen > SIZE_MAX / 2u || plen > SIZE_MAX / 2u) {
    return RV_EOVERFLOW;
  }
  size_t hb = jwt_b64_len(hlen);
  size_t pb = jwt_b64_len(plen);
  size_t sb = jwt_b64_len(alg == RV_JWT_HS256 ? JWT_HS256_TAG : JWT_ED25519_SIG);
  size_t total = 0;
  if (__builtin_add_overflow(hb, pb, &total) || __builtin_add_overflow(total, sb + 2u, &total) ||
      total == SIZE_MAX) {
    return RV_EOVERFLOW;
  }
  *out_len = total;
  if (out == NULL || cap < total + 1u) {
    return RV_ENOMEM;
  }
  uint8_t sig[JWT_ED25519_SIG];
  size_t siglen = JWT_HS256_TAG;
  size_t pos = jwt_b64_encode(out, header, hlen);
  out[pos++] = '.';
  pos += jwt_b64_encode(out + pos, payload, plen);
  if (alg == RV_JWT_HS256) {
    jwt_hs256(key, keylen, (const uint8_t *)out, pos, sig);
  } else {
    /* A secret key whose public half is not its seed's lets a signer be
     * tricked into signing under a wrong public key, which leaks the
     * scalar (the "double public key" oracle); check it. */
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_ed25519_SECRETKEYBYTES];
    crypto_sign_ed25519_seed_keypair(pk, sk, key);
    sodium_memzero(sk, sizeof sk);
    if (!rv_ct_eq(pk, key + crypto_sign_ed25519_SEEDBYTES, sizeof pk)) {
      rv_ct_wipe(out, cap);
      return RV_EINVAL;
    }
    crypto_sign_ed25519_detached(sig, NULL, (const uint8_t *)out, pos, key);
    siglen = JWT_ED25519_SIG;
  }
  out[pos++] = '.';
  pos += jwt_b64_encode(out + pos, sig, siglen);
  sodium_memzero(sig, sizeof sig);
  *out_len = pos;
  return RV_OK;
}

int rv_jwt_sign(rv_jwt_alg alg, const char *kid, const uint8_t *key, size_t keylen,
                const char *claims, size_t claims_len, char *out, size_t cap, size_t *out_len) {
  if (key == NULL || claims == NULL || out_len == NULL || (out == NULL && cap != 0)) {
    return RV_EINVAL;
  }
  const char *name = jwt_alg_name(alg);
  if (name == NULL) {
    return RV_EUNSUPPORTED;
  }
  if (!key_len_ok(alg, keylen)) {
    return RV_EINVAL;
  }
  if (claims_len > SIZE_MAX / 4u) {
    return RV_EOVERFLOW; /* its base64url form would not fit in size_t */
  }
  size_t kid_len = kid ? strlen(kid) : 0;
  if (kid != NULL && (kid_len == 0 || kid_len > RV_JWT_KID_MAX)) {
    return RV_EINVAL;
  }
  json_t *payload = NULL;
  int rc = jwt_json_object((const uint8_t *)claims, claims_len, &payload);
  if (rc != RV_OK) {
    return rc;
  }
  json_decref(payload);

  char *hdr = NULL;
  json_t *h = json_object();
  if (h == NULL) {
    return RV_ENOMEM;
  }
  rc = RV_ENOMEM;
  if (json_object_set_new(h, "alg", json_string(name)) != 0 ||
      json_object_set_new(h, "typ", json_string("JWT")) != 0) {
    goto fail;
  }
  if (kid != NULL) {
    json_t *k = json_stringn(kid, kid_len);
    if (k == NULL) {
      rc = RV_EINVAL; /* not valid UTF-8 */
      goto fail;
    }
    if (json_object_set_new(h, "kid", k) != 0) {
      goto fail;
    }
  }
  hdr = json_dumps(h, JSON_COMPACT);
  if (hdr == NULL) {
    goto fail;
  }
  rc = jwt_sign_raw(alg, key, keylen, (const uint8_t *)hdr, strlen(hdr), (const uint8_t *)claims,
                    claims_len, out, cap, out_len);
fail:
  free(hdr);
  json_decref(h);
  return rc;
}
