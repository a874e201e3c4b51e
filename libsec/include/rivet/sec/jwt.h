/**
 * \file rivet/sec/jwt.h
 * \brief JWS compact tokens (JWT) with HS256 and EdDSA: a strict verifier
 *        with pinned keys, and issuing.
 *
 * The verifier trusts nothing the token says about how to check it:
 * - **Keys are pinned, with their algorithm.** Each key is registered with
 *   rv_jwt_verifier_add_key() under a `kid` together with the one algorithm
 *   it may be used with. The token's `alg` must equal that algorithm; it
 *   never selects a key type (no HS256/public-key confusion). `alg: none`
 *   in any letter case, and every algorithm other than `HS256` and `EdDSA`,
 *   is refused.
 * - **`kid` is only a map key.** It is compared byte for byte with the
 *   registered ids; it is never used as a path, a URL or a query, and it
 *   is never echoed in diagnostics.
 * - **No key comes from the token.** Headers `jwk`, `jku`, `x5u`, `x5c`,
 *   `x5t`, `x5t#S256` are refused, as are `crit`, `cty` (nested tokens),
 *   `b64` and every header parameter this module does not know.
 * - **Claims:** `exp` is always required; `nbf` in the future, `iat` in the
 *   future and `exp` in the past are refused (each with the configured
 *   leeway); `iss` must equal the configured issuer; an `aud` (string or
 *   array of strings) must contain the configured audience, and a token
 *   with an `aud` is refused by a verifier configured without one
 *   (RFC 7519 §4.1.3). `iss`, `sub`, `jti` must be strings when present.
 * - **Strict encoding:** base64url without padding, with zero trailing
 *   bits (one encoding per byte string); JSON objects with no duplicate
 *   member names, no `\u0000`, valid UTF-8; a configured size cap checked
 *   before anything is decoded.
 * - **Constant time:** HMAC tags are compared with rv_ct_verify();
 *   Ed25519 signatures are checked by libsodium.
 *
 * Why a JSON library (jansson) rather than a hand-written scanner: the
 * claims are attacker-controlled text, and the hard parts of JSON (escapes,
 * surrogate pairs, UTF-8 validation, number syntax, nesting limits) are
 * where hand-written scanners break. jansson is a mature, widely fuzzed
 * parser that rejects duplicate keys on request (`JSON_REJECT_DUPLICATES`)
 * and NUL escapes by default, so strictness costs one flag. The header is
 * parsed before the signature is checked (it names the key); the payload
 * only after the signature is valid. jansson allocates with its own
 * (libc) allocator; the verifier's own memory comes from the configured
 * ::rv_alloc, and secrets from rivet/sec/secmem.h.
 *
 * Diagnostics (::rv_diag::msg) name the rule that failed ("exp: token
 * expired", "header: 'jku' refused: keys are never taken from a token");
 * ::rv_diag::offset is the byte offset of the token part concerned (0 for
 * the header, the first byte after the first `.` for the payload, ...).
 * No message ever contains token bytes or secrets.
 *
 * Hosted only (libsodium, jansson, secmem).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/sec/secmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup sec_jwt jwt: JWS compact tokens (HS256, EdDSA)
 *  \{ */

/** \brief Signature algorithms. Append-only. */
typedef enum rv_jwt_alg {
  RV_JWT_HS256 = 1, /**< HMAC-SHA-256 (RFC 7518 §3.2), header `"alg":"HS256"` */
  RV_JWT_EDDSA = 2, /**< Ed25519 (RFC 8037), header `"alg":"EdDSA"` */
} rv_jwt_alg;

/** \brief Smallest HS256 key accepted, in bytes (RFC 7518 §3.2: at least the hash size). */
#define RV_JWT_HS256_KEY_MIN 32u
/** \brief Largest HS256 key accepted, in bytes. */
#define RV_JWT_HS256_KEY_MAX 1024u
/** \brief Size of an Ed25519 public key (verifying). */
#define RV_JWT_ED25519_PUBLIC_BYTES 32u
/** \brief Size of an Ed25519 secret key in libsodium's layout (seed || public key). */
#define RV_JWT_ED25519_SECRET_BYTES 64u
/** \brief Longest `kid` accepted, in bytes. */
#define RV_JWT_KID_MAX 255u
/** \brief Token size cap used when ::rv_jwt_config::max_token is 0. */
#define RV_JWT_MAX_TOKEN_DEFAULT 8192u

/** \brief Claims a policy may require on top of `exp` (always required). */
enum rv_jwt_require {
  RV_JWT_REQUIRE_NBF = 1u << 0, /**< `nbf` must be present */
  RV_JWT_REQUIRE_IAT = 1u << 1, /**< `iat` must be present */
  RV_JWT_REQUIRE_SUB = 1u << 2, /**< `sub` must be present */
  RV_JWT_REQUIRE_JTI = 1u << 3, /**< `jti` must be present */
};

/**
 * \brief A clock: seconds since the Unix epoch.
 * \param[in] ctx  ::rv_jwt_config::clock_ctx
 * \return the current time.
 */
typedef int64_t (*rv_jwt_clock_fn)(void *ctx);

/**
 * \brief A verifier's policy. Zero-initialise, then set what you need;
 *        fields may be appended in a minor release. Strings are copied by
 *        rv_jwt_verifier_create().
 */
typedef struct rv_jwt_config {
  const char *issuer;    /**< required `iss` value; NULL: `iss` not checked (if present it must
                              be a string) */
  const char *audience;  /**< value `aud` must contain; NULL: tokens with `aud` are refused */
  int64_t leeway;        /**< clock skew allowed, seconds, 0..86400 */
  unsigned required;     /**< a bitwise OR of ::rv_jwt_require values */
  size_t max_token;      /**< longest token accepted in bytes; 0 = #RV_JWT_MAX_TOKEN_DEFAULT */
  rv_jwt_clock_fn clock; /**< the clock; NULL = `time()` */
  void *clock_ctx;       /**< passed to \p clock */
  const rv_alloc *alloc; /**< for the verifier and claim sets (must outlive both); NULL = libc */
  rv_secmem *secmem;     /**< pool holding HS256 keys (not owned, must outlive the verifier);
                              NULL = the verifier creates its own */
  unsigned secmem_flags; /**< ::rv_secmem_flag values for the verifier's own pool (only when
                              \p secmem is NULL); 0 = fail closed */
} rv_jwt_config;

/** \brief A verifier: pinned keys plus a policy. Opaque. */
typedef struct rv_jwt_verifier rv_jwt_verifier;

/** \brief The verified claims of one token. Opaque; see rv_jwt_verify(). */
typedef struct rv_jwt_claims rv_jwt_claims;

/**
 * \brief Create a verifier with no keys.
 * \param[out] out  receives the verifier (unchanged on failure); free it
 *                  with rv_jwt_verifier_destroy()
 * \param[in]  cfg  the policy (copied; NULL is not allowed)
 * \return 0; #RV_EINVAL (NULL argument, leeway outside 0..86400, unknown
 *         ::rv_jwt_require bits, issuer or audience empty or longer than
 *         1024 bytes); #RV_ENOMEM; or an error of rv_secmem_create().
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_jwt_verifier_create(rv_jwt_verifier **out, const rv_jwt_config *cfg);

/**
 * \brief Wipe and free a verifier and its keys. Claim sets it returned stay
 *        valid.
 * \param[in] v  the verifier, or NULL (no-op)
 * \since 0.1.0
 */
RV_API void rv_jwt_verifier_destroy(rv_jwt_verifier *v);

/**
 * \brief Pin a key: tokens whose header `kid` equals \p kid are verified
 *        with \p key, and only if their `alg` is \p alg.
 *
 * HS256 keys are copied into secure memory (secmem); EdDSA keys are
 * Ed25519 public keys, copied. The caller may wipe \p key afterwards.
 * Not thread-safe: add every key before verifying from several threads.
 * \param[in] v       the verifier
 * \param[in] kid     the key id (1..#RV_JWT_KID_MAX bytes, NUL-terminated),
 *                    or NULL for the key used by tokens without a `kid`
 * \param[in] alg     the one algorithm this key verifies
 * \param[in] key     HS256: #RV_JWT_HS256_KEY_MIN..#RV_JWT_HS256_KEY_MAX
 *                    secret bytes; EdDSA: #RV_JWT_ED25519_PUBLIC_BYTES
 * \param[in] keylen  bytes at \p key
 * \return 0; #RV_EINVAL (NULL argument, empty or too long kid, wrong key
 *         length); #RV_EUNSUPPORTED (unknown \p alg); #RV_EEXIST (a key with
 *         that id is already pinned); #RV_ENOMEM; or an error of
 *         rv_secmem_alloc() (for example #RV_EPERM when memory cannot be
 *         locked).
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_jwt_verifier_add_key(rv_jwt_verifier *v, const char *kid, rv_jwt_alg alg,
                                                const uint8_t *key, size_t keylen);

/**
 * \brief Verify a JWS compact token and return its claims.
 *
 * Checks, in order: size, shape (three base64url parts), header (strict
 * JSON, `alg`, `typ`, `kid`, no other parameter), key lookup and pinned
 * algorithm, signature, then the payload (strict JSON object) and the
 * claims policy. Nothing after a failed step runs.
 * Thread-safe for concurrent calls on one verifier once its keys are added
 * (an HS256 key is opened in secmem for each check; secmem allows 255
 * nested opens, so more simultaneous checks of one HS256 key than that
 * fail with #RV_ELIMIT).
 * \param[in]  v       the verifier
 * \param[in]  token   the token bytes (need not be NUL-terminated)
 * \param[in]  len     bytes at \p token
 * \param[out] claims  receives the claim set on success (NULL on failure);
 *                     owned by the caller, free it with rv_jwt_claims_free();
 *                     independent of \p v and \p token
 * \param[out] diag    where and why it failed, or NULL
 * \return 0; #RV_EINVAL (NULL \p v, \p claims or \p token); #RV_ELIMIT
 *         (longer than the configured cap, or see above); #RV_EMALFORMED (not three
 *         parts, bad base64url, bad JSON, duplicate members, wrong claim
 *         types); #RV_EUNSUPPORTED (alg none or another algorithm, JWE,
 *         a refused header parameter); #RV_EVERIFY (unknown kid, alg not
 *         the key's, empty or wrong-length or bad signature, expired,
 *         not yet valid, issued in the future, wrong issuer or audience,
 *         required claim missing); #RV_ENOMEM.
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_jwt_verify(const rv_jwt_verifier *v, const char *token, size_t len,
                                      rv_jwt_claims **claims, rv_diag *diag);

/**
 * \brief Free a claim set; every pointer obtained from it becomes invalid.
 * \param[in] c  the claims, or NULL (no-op)
 * \since 0.1.0
 */
RV_API void rv_jwt_claims_free(rv_jwt_claims *c);

/**
 * \brief A string claim.
 * \param[in]  c     the claims
 * \param[in]  name  the claim name (NUL-terminated)
 * \param[out] out   receives a NUL-terminated string owned by \p c, valid
 *                   until rv_jwt_claims_free() (it holds no NUL inside)
 * \param[out] len   receives its length in bytes, or NULL
 * \return 0; #RV_EINVAL (NULL argument); #RV_ENOTFOUND (no such claim);
 *         #RV_EMALFORMED (the claim is not a string).
 * \since 0.1.0
 */
RV_API int rv_jwt_claims_string(const rv_jwt_claims *c, const char *name, const char **out,
                                size_t *len);

/**
 * \brief An integer claim (for example `exp`, `iat`).
 * \param[in]  c     the claims
 * \param[in]  name  the claim name
 * \param[out] out   receives the value
 * \return 0; #RV_EINVAL; #RV_ENOTFOUND; #RV_EMALFORMED (not an integer).
 * \since 0.1.0
 */
RV_API int rv_jwt_claims_int(const rv_jwt_claims *c, const char *name, int64_t *out);

/**
 * \brief A boolean claim.
 * \param[in]  c     the claims
 * \param[in]  name  the claim name
 * \param[out] out   receives 1 (true) or 0 (false)
 * \return 0; #RV_EINVAL; #RV_ENOTFOUND; #RV_EMALFORMED (not a boolean).
 * \since 0.1.0
 */
RV_API int rv_jwt_claims_bool(const rv_jwt_claims *c, const char *name, int *out);

/**
 * \brief The verified payload as its decoded JSON text (every claim,
 *        including nested values this API has no getter for).
 * \param[in]  c    the claims
 * \param[out] out  receives the text, owned by \p c, NUL-terminated
 * \param[out] len  receives its length, or NULL
 * \return 0 or #RV_EINVAL.
 * \since 0.1.0
 */
RV_API int rv_jwt_claims_json(const rv_jwt_claims *c, const char **out, size_t *len);

/**
 * \brief Which pinned key verified the token.
 * \param[in]  c    the claims
 * \param[out] alg  receives the key's algorithm, or NULL
 * \return the key's id (owned by \p c), or NULL for the key without an id.
 * \since 0.1.0
 */
RV_API const char *rv_jwt_claims_key(const rv_jwt_claims *c, rv_jwt_alg *alg);

/**
 * \brief Issue a JWS compact token: header `{"alg":..,"typ":"JWT"[,"kid":..]}`
 *        and the given claims as payload, signed with \p key.
 *
 * \p claims must be a JSON object that rv_jwt_verify() would accept as
 * JSON (no duplicate members); its bytes are signed as given. Nothing is
 * added to it: put `exp` (required by verifiers) there yourself.
 * Thread-safe; \p key is only read.
 * \param[in]  alg        the algorithm
 * \param[in]  kid        key id for the header (1..#RV_JWT_KID_MAX bytes),
 *                        or NULL for none
 * \param[in]  key        HS256: the secret (#RV_JWT_HS256_KEY_MIN..
 *                        #RV_JWT_HS256_KEY_MAX bytes); EdDSA: the secret
 *                        key (#RV_JWT_ED25519_SECRET_BYTES, libsodium layout)
 * \param[in]  keylen     bytes at \p key
 * \param[in]  claims     the claims JSON text
 * \param[in]  claims_len its length
 * \param[out] out        the token buffer, NUL-terminated (NULL only when
 *                        \p cap is 0: then only the size is computed)
 * \param[in]  cap        bytes at \p out
 * \param[out] out_len    receives the token length without the NUL, also
 *                        when \p cap is too small
 * \return 0; #RV_EINVAL (NULL argument, bad kid or key length);
 *         #RV_EUNSUPPORTED (unknown \p alg); #RV_EMALFORMED (\p claims is
 *         not a strict JSON object); #RV_EOVERFLOW (\p claims_len so
 *         large the token size does not fit in size_t); #RV_ENOMEM (\p cap is too small: the
 *         size needed, NUL included, is `*out_len + 1`; or out of memory).
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_jwt_sign(rv_jwt_alg alg, const char *kid, const uint8_t *key,
                                    size_t keylen, const char *claims, size_t claims_len, char *out,
                                    size_t cap, size_t *out_len);

/** \} */

#ifdef __cplusplus
}
#endif
