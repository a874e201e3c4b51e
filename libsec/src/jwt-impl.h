/* jwt internals shared by jwt.c (verifying), jwt-sign.c (issuing, the
 * base64url and HMAC helpers) and the unit tests, which compile the
 * sources in to reach them. Not installed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <rivet/sec/jwt.h>

/* HMAC-SHA-256 tag and Ed25519 signature sizes. */
#define JWT_HS256_TAG 32u
#define JWT_ED25519_SIG 64u

/* Longest issuer/audience string a policy may configure. */
#define JWT_POLICY_STR_MAX 1024u

/* Characters of unpadded base64url for n bytes (n <= SIZE_MAX / 2). */
size_t jwt_b64_len(size_t n);

/* Decode unpadded, canonical base64url (RFC 7515 §2, RFC 4648 §5): only
 * [A-Za-z0-9_-], no '=', length mod 4 != 1, zero trailing bits. Returns 0
 * or RV_EMALFORMED; RV_ENOMEM if cap is too small. */
int jwt_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Encode n bytes at in as unpadded base64url into out (room for
 * jwt_b64_len(n) + 1 bytes, NUL-terminated). Returns the length. */
size_t jwt_b64_encode(char *out, const uint8_t *in, size_t n);

/* HMAC-SHA-256 of msg under key; the state is wiped afterwards. */
void jwt_hs256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
               uint8_t tag[JWT_HS256_TAG]);

/* The header name of an algorithm ("HS256", "EdDSA"), NULL if unknown. */
const char *jwt_alg_name(rv_jwt_alg alg);

/* Parse text as a strict JSON object: no duplicate names, no NUL escape.
 * Returns 0 (*out owns a reference) or RV_EMALFORMED. */
int jwt_json_object(const uint8_t *text, size_t len, json_t **out);

/* Sign header_json.payload with alg/key without looking at either (the
 * caller has validated them): the engine under rv_jwt_sign(), reachable by
 * the tests for RFC 8037's non-JSON payload vector. */
int jwt_sign_raw(rv_jwt_alg alg, const uint8_t *key, size_t keylen, const uint8_t *header,
                 size_t hlen, const uint8_t *payload, size_t plen, char *out, size_t cap,
                 size_t *out_len);
