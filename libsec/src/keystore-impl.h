/* keystore-impl.h: what keystore.c (entries, shielding, use) shares with
 * keystore-file.c (sealed persistence). Private to libsec. */
#pragma once

#include <rivet/sec/keystore.h>
#include <rivet/sec/secmem.h>

#include <stddef.h>
#include <stdint.h>

/* One stored key. Only the ciphertext of the key material is kept; the
 * public key of an Ed25519 pair is public and kept in clear. */
struct ks_entry {
  uint8_t name[RV_KEYSTORE_NAME_MAX]; /* zero-padded; names hold no NUL */
  uint8_t name_len;
  uint8_t type;
  uint32_t version;
  uint32_t len; /* bytes of key material */
  uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
  uint8_t nonce[24];
  uint8_t *ct; /* len + 16 bytes (tag), from ks->alloc */
};

struct rv_keystore {
  const rv_alloc *alloc;
  rv_secmem *pool;
  uint8_t *prekey; /* RV_KEYSTORE_PREKEY_BYTES, in pool */
  uint8_t *shield; /* 32 bytes in pool with RV_KEYSTORE_CACHE_SHIELD, else NULL */
  unsigned flags;
  struct ks_entry *e; /* sorted by name (bytewise on the padded names) */
  size_t n;
  size_t cap;
  size_t max;
  unsigned busy; /* callbacks running: mutations refused meanwhile */
};

/* Derive (or copy the cached) shielding key into key32 (secure memory). */
int rv_ks_shield_key(rv_keystore *ks, uint8_t *key32);

/* Decrypt e's key material into out (secure memory, e->len bytes) under
 * key32. RV_EVERIFY if the ciphertext does not authenticate. */
int rv_ks_unshield(const struct ks_entry *e, const uint8_t *key32, uint8_t *out);

/* Fill *e (name, type, version set by the caller) with a fresh ciphertext
 * of key (e->len bytes) under key32. For Ed25519 also checks the public
 * half against the seed (RV_EINVAL) and sets e->pk; scratch64 is 64 bytes
 * of secure memory for that check. */
int rv_ks_entry_seal(rv_keystore *ks, struct ks_entry *e, const uint8_t *key, const uint8_t *key32,
                     uint8_t *scratch64);

/* Wipe and free an array of n entries (and the array, of cap slots). */
void rv_ks_entries_free(rv_keystore *ks, struct ks_entry *e, size_t n, size_t cap);

/* Check a key's type and length: RV_OK or RV_EINVAL. */
int rv_ks_check_type_len(unsigned type, size_t len);
