/**
 * \file rivet/sec/keystore.h
 * \brief Named keys kept encrypted ("shielded") in memory, used through
 *        callbacks and helpers that never hand the key out, sealed to disk
 *        atomically under a passphrase or a raw key.
 *
 * \section ks_shield Shielding
 * A key store holds a 16 KiB random *prekey* in secure memory
 * (rivet/sec/secmem.h). Every stored key is encrypted with
 * XChaCha20-Poly1305 under a 32-byte *shielding key* derived from the whole
 * prekey (BLAKE2b-256 of its 16 KiB), with the key's name, type and
 * version as associated data, so a ciphertext cannot be moved to another
 * entry. An attacker who reads memory must recover all 16 KiB of the
 * prekey without a single bit error to decrypt anything (the defence
 * against partial disclosure: cold boot, Rowhammer-style bit reads,
 * speculative leaks), the design of OpenSSH's key shielding.
 *
 * By default the shielding key is derived again for every use and wiped
 * right after (a use then costs one BLAKE2b pass over 16 KiB).
 * #RV_KEYSTORE_CACHE_SHIELD keeps it, derived once, in secure memory
 * instead (`PROT_NONE` while unused if the store's pool has
 * #RV_SECMEM_NOACCESS): uses get several times cheaper, at the price that
 * 32 bytes of secure memory (not the 16 KiB prekey) then guard every key.
 *
 * A key is *unshielded* only into secure memory, only for the duration of
 * one rv_keystore_use() callback or one helper call (sign, seal, open),
 * and wiped before the call returns.
 *
 * \section ks_ct What is and is not constant time
 * - Lookup by name: the query is padded to #RV_KEYSTORE_NAME_MAX bytes and
 *   compared with every stored name, in constant time (rv_ct_eq()), and
 *   the matching index is picked with constant-time selects. Its time
 *   depends on the number of stored keys only: not on which names exist,
 *   on where the match is, or on how long a prefix of a name matched.
 * - Not hidden: whether the name was found (the return value says so, and
 *   a miss skips the decryption), the type and length of the key found
 *   (decryption time grows with the length), the number of keys, and the
 *   names themselves (rv_keystore_list() returns them; names are
 *   identifiers, not secrets).
 * - Key material is handled by libsodium (XChaCha20-Poly1305, Ed25519,
 *   BLAKE2b), which is constant time in the key and the data.
 *
 * Thread-safety: a key store is not thread-safe; synchronise calls on one
 * store. Different stores are independent.
 * Hosted (Linux) only.
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

/** \defgroup sec_keystore keystore: shielded named keys, sealed persistence
 *  \{ */

/** \brief A key store. Opaque; not thread-safe. */
typedef struct rv_keystore rv_keystore;

/** \brief Longest key name in bytes (names are 1 to this many bytes, no NUL
 *         byte inside). */
#define RV_KEYSTORE_NAME_MAX 64u
/** \brief Bytes of a symmetric key (an XChaCha20-Poly1305 key). */
#define RV_KEYSTORE_SYMMETRIC_BYTES 32u
/** \brief Bytes of an Ed25519 secret key (seed followed by public key). */
#define RV_KEYSTORE_ED25519_SECRET_BYTES 64u
/** \brief Bytes of an Ed25519 public key. */
#define RV_KEYSTORE_ED25519_PUBLIC_BYTES 32u
/** \brief Bytes of an Ed25519 signature. */
#define RV_KEYSTORE_SIGNATURE_BYTES 64u
/** \brief Largest opaque secret. */
#define RV_KEYSTORE_SECRET_MAX 4096u
/** \brief Bytes rv_keystore_seal() adds to a message (nonce + tag). */
#define RV_KEYSTORE_SEAL_OVERHEAD 40u
/** \brief Bytes of the prekey the shielding key is derived from. */
#define RV_KEYSTORE_PREKEY_BYTES 16384u
/** \brief Bytes of a raw sealing key for rv_keystore_save()/load(). */
#define RV_KEYSTORE_RAW_KEY_BYTES 32u

/** \brief What a stored key is. Append-only. */
typedef enum rv_keystore_type {
  RV_KEYSTORE_SYMMETRIC = 1, /**< 32-byte XChaCha20-Poly1305 key: seal/open */
  RV_KEYSTORE_ED25519 = 2,   /**< Ed25519 key pair: sign/verify/public key */
  RV_KEYSTORE_SECRET = 3,    /**< opaque bytes (1 to #RV_KEYSTORE_SECRET_MAX): use only */
} rv_keystore_type;

/** \brief Key store flags for ::rv_keystore_config::flags. */
enum rv_keystore_flag {
  /** Derive the shielding key once and keep it in secure memory (see
   *  \ref ks_shield) instead of deriving it for every use. */
  RV_KEYSTORE_CACHE_SHIELD = 1u << 0,
};

/** \brief How to build a key store. Zero-initialise, then set what you
 *         need; fields may be appended in a minor release. */
typedef struct rv_keystore_config {
  const rv_alloc *alloc;   /**< for entries and ciphertexts (never plaintext); NULL = libc */
  unsigned flags;          /**< a bitwise OR of ::rv_keystore_flag values */
  unsigned secmem_flags;   /**< ::rv_secmem_flag values for the store's own secure pool */
  size_t max_keys;         /**< most keys the store holds; 0 = 1024, at most 65536 */
  size_t secmem_max_bytes; /**< cap on the store's secure memory (::rv_secmem_config::max_bytes); 0
                              = none */
} rv_keystore_config;

/** \brief What is known about a stored key without unshielding it. */
typedef struct rv_keystore_info {
  rv_keystore_type type; /**< its type */
  size_t len;            /**< bytes of key material (64 for Ed25519) */
  uint32_t version;      /**< 1 when added, +1 at every rv_keystore_rotate() */
} rv_keystore_info;

/**
 * \brief Callback of rv_keystore_use(): sees the key in secure memory.
 *
 * \p key is valid only during the call and wiped right after; do not keep
 * it or copy it to ordinary memory. The callback must not add, generate,
 * rotate, remove or load keys of the same store (those calls return
 * #RV_EBUSY during a callback); using other keys is allowed.
 * \param[in] ctx   the caller's context
 * \param[in] key   the key material, \p info->len bytes
 * \param[in] info  type, length and version of the key
 * \return a value that rv_keystore_use() returns as is.
 */
typedef int (*rv_keystore_use_fn)(void *ctx, const uint8_t *key, const rv_keystore_info *info);

/**
 * \brief Callback of rv_keystore_list(): one stored key.
 *
 * Like ::rv_keystore_use_fn, it must not add, generate, rotate, remove or
 * load keys of the store being listed (#RV_EBUSY).
 * \param[in] ctx   the caller's context
 * \param[in] name  the key's name, NUL-terminated, valid during the call
 * \param[in] info  type, length and version
 * \return 0 to go on; anything else stops the listing and is returned.
 */
typedef int (*rv_keystore_list_fn)(void *ctx, const char *name, const rv_keystore_info *info);

/**
 * \brief Credentials sealing a key store file: a passphrase (Argon2id) or a
 *        raw 32-byte key. Set exactly one of \p passphrase and \p key.
 */
typedef struct rv_keystore_cred {
  const char *passphrase; /**< passphrase bytes, or NULL */
  size_t passphrase_len;  /**< its length (may be 0) */
  const uint8_t *key;     /**< #RV_KEYSTORE_RAW_KEY_BYTES bytes, or NULL */
  uint64_t opslimit;      /**< save: Argon2id passes; 0 = crypto_pwhash_OPSLIMIT_INTERACTIVE */
  uint64_t memlimit;      /**< save: Argon2id bytes; 0 = crypto_pwhash_MEMLIMIT_INTERACTIVE */
} rv_keystore_cred;

/**
 * \brief Create an empty key store with a fresh random prekey.
 * \param[out] out  receives the store (unchanged on failure)
 * \param[in]  cfg  settings, or NULL for the defaults
 * \return 0; #RV_EINVAL (NULL \p out, unknown flags, max_keys > 65536);
 *         #RV_ENOMEM; #RV_EUNSUPPORTED (libsodium failed to initialise);
 *         or an error of rv_secmem_create()/rv_secmem_alloc() (#RV_EPERM
 *         when memory cannot be locked: see #RV_SECMEM_ALLOW_UNLOCKED;
 *         #RV_ELIMIT when ::rv_keystore_config::secmem_max_bytes is too
 *         small for the prekey).
 * \since 0.1.0
 */
RV_API int rv_keystore_create(rv_keystore **out, const rv_keystore_config *cfg);

/**
 * \brief Wipe every key and the prekey and free the store.
 * \param[in] ks  the store, or NULL (no-op); not during a callback
 * \since 0.1.0
 */
RV_API void rv_keystore_destroy(rv_keystore *ks);

/**
 * \brief Store a copy of caller-provided key material under \p name.
 *
 * The caller keeps \p key and should wipe it. An Ed25519 key is the
 * 64-byte libsodium secret key (seed, then public key); its public half is
 * checked against the seed.
 * \param[in] ks    the store
 * \param[in] name  NUL-terminated, 1 to #RV_KEYSTORE_NAME_MAX bytes
 * \param[in] type  the key's type
 * \param[in] key   the key material
 * \param[in] len   32 (symmetric), 64 (Ed25519), 1..#RV_KEYSTORE_SECRET_MAX (secret)
 * \return 0; #RV_EINVAL (bad name, type or length, NULL argument, or an
 *         Ed25519 key whose public half does not match its seed);
 *         #RV_EEXIST (the name is taken); #RV_EFULL (max_keys reached);
 *         #RV_EBUSY (called from a callback); #RV_ENOMEM; #RV_ELIMIT
 *         (secure memory over ::rv_keystore_config::secmem_max_bytes).
 * \since 0.1.0
 */
RV_API int rv_keystore_add(rv_keystore *ks, const char *name, rv_keystore_type type,
                           const uint8_t *key, size_t len);

/**
 * \brief Generate a random key of \p type and store it under \p name.
 *
 * Symmetric keys and secrets are random bytes; Ed25519 key pairs come
 * from crypto_sign_keypair(). The key never leaves secure memory.
 * \param[in] ks    the store
 * \param[in] name  as for rv_keystore_add()
 * \param[in] type  the key's type
 * \param[in] len   bytes of a secret (1..#RV_KEYSTORE_SECRET_MAX); ignored
 *                  (may be 0) for the other types
 * \return as rv_keystore_add().
 * \since 0.1.0
 */
RV_API int rv_keystore_generate(rv_keystore *ks, const char *name, rv_keystore_type type,
                                size_t len);

/**
 * \brief Replace a key with fresh random material of the same type and
 *        length, and add 1 to its version. The old key is wiped.
 * \param[in] ks    the store
 * \param[in] name  an existing key
 * \return 0; #RV_EINVAL; #RV_ENOTFOUND; #RV_EBUSY; #RV_ENOMEM;
 *         #RV_ELIMIT (the version would wrap, or secure memory is over
 *         its cap); #RV_EVERIFY (the stored ciphertext failed
 *         authentication: memory corruption).
 * \since 0.1.0
 */
RV_API int rv_keystore_rotate(rv_keystore *ks, const char *name);

/**
 * \brief Delete a key: its ciphertext is wiped and its slot freed.
 * \param[in] ks    the store
 * \param[in] name  an existing key
 * \return 0; #RV_EINVAL; #RV_ENOTFOUND; #RV_EBUSY.
 * \since 0.1.0
 */
RV_API int rv_keystore_remove(rv_keystore *ks, const char *name);

/**
 * \brief Type, length and version of a key.
 * \param[in]  ks    the store
 * \param[in]  name  a key name
 * \param[out] info  receives the description
 * \return 0; #RV_EINVAL; #RV_ENOTFOUND.
 * \since 0.1.0
 */
RV_API int rv_keystore_info_get(rv_keystore *ks, const char *name, rv_keystore_info *info);

/**
 * \brief Number of stored keys.
 * \param[in] ks  the store
 * \return the count.
 * \since 0.1.0
 */
RV_API size_t rv_keystore_count(const rv_keystore *ks);

/**
 * \brief Call \p fn for every stored key, in name order (bytewise).
 * \param[in] ks   the store
 * \param[in] fn   the callback
 * \param[in] ctx  passed to \p fn
 * \return 0, #RV_EINVAL (NULL argument), or the first nonzero value \p fn
 *         returned.
 * \since 0.1.0
 */
RV_API int rv_keystore_list(rv_keystore *ks, rv_keystore_list_fn fn, void *ctx);

/**
 * \brief Unshield a key into secure memory, call \p fn on it, wipe it.
 * \param[in] ks    the store
 * \param[in] name  the key's name
 * \param[in] fn    the callback; see ::rv_keystore_use_fn
 * \param[in] ctx   passed to \p fn
 * \return what \p fn returned; or, without calling \p fn: #RV_EINVAL;
 *         #RV_ENOTFOUND; #RV_ENOMEM or #RV_ELIMIT (secure memory, see
 *         ::rv_keystore_config::secmem_max_bytes); #RV_EVERIFY (the
 *         ciphertext failed authentication: memory corruption).
 * \since 0.1.0
 */
RV_API int rv_keystore_use(rv_keystore *ks, const char *name, rv_keystore_use_fn fn, void *ctx);

/**
 * \brief Sign a message with a stored Ed25519 key (detached signature).
 * \param[in]  ks    the store
 * \param[in]  name  an Ed25519 key
 * \param[in]  msg   the message (NULL only if \p len is 0)
 * \param[in]  len   its length
 * \param[out] sig   receives #RV_KEYSTORE_SIGNATURE_BYTES bytes
 * \return 0; #RV_EINVAL (also: not an Ed25519 key); #RV_ENOTFOUND;
 *         #RV_ENOMEM; #RV_EVERIFY (memory corruption).
 * \since 0.1.0
 */
RV_API int rv_keystore_sign(rv_keystore *ks, const char *name, const void *msg, size_t len,
                            uint8_t sig[RV_KEYSTORE_SIGNATURE_BYTES]);

/**
 * \brief Verify a detached Ed25519 signature against a stored key pair
 *        (uses only the public key).
 * \param[in] ks    the store
 * \param[in] name  an Ed25519 key
 * \param[in] msg   the message (NULL only if \p len is 0)
 * \param[in] len   its length
 * \param[in] sig   #RV_KEYSTORE_SIGNATURE_BYTES bytes
 * \return 0 if the signature is valid; #RV_EVERIFY if not; #RV_EINVAL;
 *         #RV_ENOTFOUND.
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_keystore_verify(rv_keystore *ks, const char *name, const void *msg,
                                           size_t len,
                                           const uint8_t sig[RV_KEYSTORE_SIGNATURE_BYTES]);

/**
 * \brief Copy the public key of a stored Ed25519 key pair.
 * \param[in]  ks    the store
 * \param[in]  name  an Ed25519 key
 * \param[out] pk    receives #RV_KEYSTORE_ED25519_PUBLIC_BYTES bytes
 * \return 0; #RV_EINVAL (also: not an Ed25519 key); #RV_ENOTFOUND.
 * \since 0.1.0
 */
RV_API int rv_keystore_public_key(rv_keystore *ks, const char *name,
                                  uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES]);

/**
 * \brief Encrypt and authenticate a message with a stored symmetric key
 *        (XChaCha20-Poly1305, random nonce).
 *
 * Output: 24-byte nonce, ciphertext, 16-byte tag: \p len +
 * #RV_KEYSTORE_SEAL_OVERHEAD bytes.
 * \param[in]  ks      the store
 * \param[in]  name    a symmetric key
 * \param[in]  ad      associated data, authenticated not encrypted (NULL only if \p adlen is 0)
 * \param[in]  adlen   its length
 * \param[in]  msg     the plaintext (NULL only if \p len is 0); must not overlap \p out
 * \param[in]  len     its length
 * \param[out] out     receives the sealed message
 * \param[in]  cap     room in \p out
 * \param[out] outlen  receives the sealed length
 * \return 0; #RV_EINVAL (also: not a symmetric key); #RV_ENOTFOUND;
 *         #RV_EOVERFLOW (\p len too large); #RV_EFULL (\p cap too small);
 *         #RV_ENOMEM; #RV_EVERIFY (memory corruption).
 * \since 0.1.0
 */
RV_API int rv_keystore_seal(rv_keystore *ks, const char *name, const void *ad, size_t adlen,
                            const void *msg, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/**
 * \brief Check and decrypt a message made by rv_keystore_seal().
 * \param[in]  ks      the store
 * \param[in]  name    a symmetric key
 * \param[in]  ad      the same associated data (NULL only if \p adlen is 0)
 * \param[in]  adlen   its length
 * \param[in]  sealed  the sealed message; must not overlap \p out
 * \param[in]  len     its length
 * \param[out] out     receives the plaintext (\p len - 40 bytes)
 * \param[in]  cap     room in \p out
 * \param[out] outlen  receives the plaintext length
 * \return 0; #RV_EVERIFY (forged, damaged, other key or other \p ad:
 *         nothing is written); #RV_ETRUNCATED (shorter than 40 bytes);
 *         #RV_EFULL; #RV_EINVAL; #RV_ENOTFOUND; #RV_ENOMEM.
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_keystore_open(rv_keystore *ks, const char *name, const void *ad,
                                         size_t adlen, const uint8_t *sealed, size_t len,
                                         uint8_t *out, size_t cap, size_t *outlen);

/**
 * \brief Seal the whole store to \p path, atomically.
 *
 * Writes a temporary file next to \p path (`PATH.tmp.XXXXXX`), fsyncs it,
 * renames it over \p path and fsyncs the directory: after a crash at any
 * point the file is either the old store or the new one. On failure the
 * temporary file is removed and \p path is untouched. Format:
 * docs/keystore-format.md. The file is created with mode 0600.
 * \param[in]  ks    the store (not during a callback)
 * \param[in]  path  the file
 * \param[in]  cred  passphrase (with Argon2id limits) or raw key
 * \param[out] diag  receives what failed and where; may be NULL
 * \return 0; #RV_EINVAL (bad arguments or credentials, Argon2id limits out
 *         of libsodium's range); #RV_ENOMEM (memory, or Argon2id could not
 *         get \p memlimit); #RV_EBUSY; #RV_EVERIFY (memory corruption);
 *         #RV_EIO (a file operation failed; the diag names it).
 * \since 0.1.0
 */
RV_API int rv_keystore_save(rv_keystore *ks, const char *path, const rv_keystore_cred *cred,
                            rv_diag *diag);

/**
 * \brief Replace the store's keys with those sealed in \p path.
 *
 * All or nothing: on any error the store is unchanged. Files demanding
 * more than 1 GiB or 64 passes of Argon2id are refused (#RV_ELIMIT)
 * before any work.
 * \param[in]  ks    the store (not during a callback)
 * \param[in]  path  the file
 * \param[in]  cred  passphrase or raw key (the limits fields are ignored:
 *                   the file's header gives them)
 * \param[out] diag  receives code, byte offset and message; may be NULL
 * \return 0; #RV_ENOTFOUND (no such file); #RV_EIO (cannot read it);
 *         #RV_ETRUNCATED (shorter than its header says);
 *         #RV_EMALFORMED (not a key store file, header or body damaged,
 *         trailing bytes); #RV_EUNSUPPORTED (format version or KDF
 *         unknown); #RV_ELIMIT (Argon2id limits, body size or key count
 *         over the limits, or more keys than max_keys); #RV_EVERIFY (wrong
 *         passphrase or key, or the other kind of credential);
 *         #RV_EINVAL; #RV_ENOMEM; #RV_EBUSY.
 * \since 0.1.0
 */
RV_API int rv_keystore_load(rv_keystore *ks, const char *path, const rv_keystore_cred *cred,
                            rv_diag *diag);

/**
 * \brief Parse a sealed key store held in memory (what rv_keystore_load()
 *        does after reading the file; the fuzzing entry point).
 * \param[in]  ks    the store
 * \param[in]  data  the file's bytes (not NULL)
 * \param[in]  len   their number
 * \param[in]  cred  passphrase or raw key
 * \param[out] diag  may be NULL
 * \return as rv_keystore_load(), without the file errors.
 * \since 0.1.0
 */
RV_API int rv_keystore_load_buffer(rv_keystore *ks, const uint8_t *data, size_t len,
                                   const rv_keystore_cred *cred, rv_diag *diag);

/** \} */

#ifdef __cplusplus
}
#endif
