/* keystore.c: named keys shielded in memory (see rivet/sec/keystore.h).
 *
 * Every key's material is kept only as XChaCha20-Poly1305 ciphertext under
 * a shielding key derived from a 16 KiB prekey in secure memory. Using a
 * key means: allocate a secure buffer, derive the shielding key into it,
 * decrypt, run the operation, wipe (rv_secmem_free wipes), free. */
#include "keystore-impl.h"

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

#include <sodium.h>

#include <string.h>

#define KS_DEFAULT_MAX 1024u
#define KS_HARD_MAX 65536u
#define KS_KEY 32u /* shielding key bytes */
#define KS_TAG 16u /* Poly1305 tag */
#define KS_AD 73u  /* name(64) type(1) version(4) len(4) */
#define KS_NONCE 24u

static void put_le32(uint8_t *p, uint32_t v) {
  for (unsigned i = 0; i < 4; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

/* Associated data binding a ciphertext to its entry: moving a ciphertext
 * to another name, type, version or length makes it fail to open. */
static void entry_ad(const struct ks_entry *e, uint8_t ad[KS_AD]) {
  memcpy(ad, e->name, RV_KEYSTORE_NAME_MAX);
  ad[64] = e->type;
  put_le32(ad + 65, e->version);
  put_le32(ad + 69, e->len);
}

int rv_ks_check_type_len(unsigned type, size_t len) {
  switch (type) {
  case RV_KEYSTORE_SYMMETRIC:
    return len == RV_KEYSTORE_SYMMETRIC_BYTES ? RV_OK : RV_EINVAL;
  case RV_KEYSTORE_ED25519:
    return len == RV_KEYSTORE_ED25519_SECRET_BYTES ? RV_OK : RV_EINVAL;
  case RV_KEYSTORE_SECRET:
    return len >= 1 && len <= RV_KEYSTORE_SECRET_MAX ? RV_OK : RV_EINVAL;
  default:
    return RV_EINVAL;
  }
}

/* Open a secret, copy or hash from it, close it. In pools without
 * RV_SECMEM_NOACCESS open/close only count. */
int rv_ks_shield_key(rv_keystore *ks, uint8_t *key32) {
  uint8_t *src = ks->shield != NULL ? ks->shield : ks->prekey;
  int rc = rv_secmem_open(ks->pool, src);
  if (rc != RV_OK) {
    return rc;
  }
  if (ks->shield != NULL) {
    memcpy(key32, src, KS_KEY);
  } else {
    (void)crypto_generichash(key32, KS_KEY, src, RV_KEYSTORE_PREKEY_BYTES, NULL, 0);
  }
  return rv_secmem_close(ks->pool, src);
}

int rv_ks_unshield(const struct ks_entry *e, const uint8_t *key32, uint8_t *out) {
  uint8_t ad[KS_AD];
  entry_ad(e, ad);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, e->ct, (size_t)e->len + KS_TAG,
                                                 ad, KS_AD, e->nonce, key32) != 0) {
    return RV_EVERIFY;
  }
  return RV_OK;
}

int rv_ks_entry_seal(rv_keystore *ks, struct ks_entry *e, const uint8_t *key, const uint8_t *key32,
                     uint8_t *scratch64) {
  if (e->type == RV_KEYSTORE_ED25519) {
    /* The secret key is seed || public key: recompute the public key from
     * the seed and insist it matches, so sign and verify agree. */
    uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
    (void)crypto_sign_seed_keypair(pk, scratch64, key);
    uint32_t ok = rv_ct_eq(pk, key + 32, sizeof pk);
    rv_ct_wipe(scratch64, 64);
    if (!ok) {
      return RV_EINVAL;
    }
    memcpy(e->pk, pk, sizeof pk);
  } else {
    memset(e->pk, 0, sizeof e->pk);
  }
  size_t ctlen = (size_t)e->len + KS_TAG;
  uint8_t *ct = rv_alloc_get(ks->alloc, ctlen, 1);
  if (ct == NULL) {
    return RV_ENOMEM;
  }
  randombytes_buf(e->nonce, KS_NONCE);
  uint8_t ad[KS_AD];
  entry_ad(e, ad);
  (void)crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, key, e->len, ad, KS_AD, NULL, e->nonce,
                                                   key32);
  e->ct = ct;
  return RV_OK;
}

static void entry_clear(rv_keystore *ks, struct ks_entry *e) {
  if (e->ct != NULL) {
    size_t ctlen = (size_t)e->len + KS_TAG;
    rv_ct_wipe(e->ct, ctlen);
    rv_alloc_free(ks->alloc, e->ct, ctlen);
  }
  rv_ct_wipe(e, sizeof *e);
}

void rv_ks_entries_free(rv_keystore *ks, struct ks_entry *e, size_t n, size_t cap) {
  if (e == NULL) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    entry_clear(ks, &e[i]);
  }
  rv_alloc_free(ks->alloc, e, cap * sizeof *e);
}

int rv_keystore_create(rv_keystore **out, const rv_keystore_config *cfg) {
  rv_keystore_config c = {0};
  if (cfg != NULL) {
    c = *cfg;
  }
  if (out == NULL || (c.flags & ~(unsigned)RV_KEYSTORE_CACHE_SHIELD) != 0 ||
      c.max_keys > KS_HARD_MAX) {
    return RV_EINVAL;
  }
  if (sodium_init() < 0) {
    return RV_EUNSUPPORTED;
  }
  rv_keystore *ks = rv_alloc_get(c.alloc, sizeof *ks, _Alignof(rv_keystore));
  if (ks == NULL) {
    return RV_ENOMEM;
  }
  memset(ks, 0, sizeof *ks);
  ks->alloc = c.alloc;
  ks->flags = c.flags;
  ks->max = c.max_keys != 0 ? c.max_keys : KS_DEFAULT_MAX;
  rv_secmem_config sc = {
      .alloc = c.alloc, .flags = c.secmem_flags, .max_bytes = c.secmem_max_bytes};
  int rc = rv_secmem_create(&ks->pool, &sc);
  if (rc != RV_OK) {
    goto fail;
  }
  rc = rv_secmem_alloc(ks->pool, RV_KEYSTORE_PREKEY_BYTES, (void **)&ks->prekey);
  if (rc != RV_OK) {
    goto fail;
  }
  rc = rv_secmem_open(ks->pool, ks->prekey);
  if (rc != RV_OK) {
    goto fail;
  }
  randombytes_buf(ks->prekey, RV_KEYSTORE_PREKEY_BYTES);
  rc = rv_secmem_close(ks->pool, ks->prekey);
  if (rc != RV_OK) {
    goto fail;
  }
  if (ks->flags & RV_KEYSTORE_CACHE_SHIELD) {
    uint8_t *s = NULL;
    rc = rv_secmem_alloc(ks->pool, KS_KEY, (void **)&s);
    if (rc != RV_OK) {
      goto fail;
    }
    rc = rv_secmem_open(ks->pool, s);
    if (rc != RV_OK) {
      (void)rv_secmem_free(ks->pool, s);
      goto fail;
    }
    rc = rv_ks_shield_key(ks, s); /* ks->shield still NULL: hashes the prekey */
    int rc2 = rv_secmem_close(ks->pool, s);
    ks->shield = s;
    rc = rc != RV_OK ? rc : rc2;
    if (rc != RV_OK) {
      goto fail;
    }
  }
  *out = ks;
  return RV_OK;
fail:
  rv_secmem_destroy(ks->pool); /* wipes the prekey and shield */
  rv_alloc_free(c.alloc, ks, sizeof *ks);
  return rc;
}

void rv_keystore_destroy(rv_keystore *ks) {
  if (ks == NULL) {
    return;
  }
  rv_ks_entries_free(ks, ks->e, ks->n, ks->cap);
  rv_secmem_destroy(ks->pool);
  const rv_alloc *a = ks->alloc;
  rv_ct_wipe(ks, sizeof *ks);
  rv_alloc_free(a, ks, sizeof *ks);
}

/* Pad a name to RV_KEYSTORE_NAME_MAX bytes. RV_EINVAL if it is empty or
 * too long. Its length is the caller's, not a stored secret. */
static int pad_name(const char *name, uint8_t out[RV_KEYSTORE_NAME_MAX], size_t *len) {
  if (name == NULL) {
    return RV_EINVAL;
  }
  size_t n = strnlen(name, RV_KEYSTORE_NAME_MAX + 1);
  if (n == 0 || n > RV_KEYSTORE_NAME_MAX) {
    return RV_EINVAL;
  }
  memset(out, 0, RV_KEYSTORE_NAME_MAX);
  memcpy(out, name, n);
  if (len != NULL) {
    *len = n;
  }
  return RV_OK;
}

/* Constant-time lookup: every stored name is compared in full, and the
 * matching entry is copied out with a constant-time conditional copy from
 * every entry, so neither the scan nor the read of the result touches
 * memory that depends on which entry matched (its position would tell how
 * many stored names sort before the query). Time depends on ks->n only.
 * Returns 1 if found; *copy is then the entry (bytes of the struct,
 * padding included: a plain struct copy) and *index its position. */
static uint32_t find(const rv_keystore *ks, const uint8_t q[RV_KEYSTORE_NAME_MAX],
                     struct ks_entry *copy, size_t *index) {
  uint32_t idx = 0;
  uint32_t hit = 0;
  memset(copy, 0, sizeof *copy);
  for (size_t i = 0; i < ks->n; i++) {
    uint32_t eq = rv_ct_eq(ks->e[i].name, q, RV_KEYSTORE_NAME_MAX);
    rv_ct_copy(copy, &ks->e[i], sizeof *copy, eq);
    idx = rv_ct_select_u32(eq, (uint32_t)i, idx);
    hit |= eq;
  }
  if (index != NULL) {
    *index = idx;
  }
  return hit;
}

static int lookup(rv_keystore *ks, const char *name, struct ks_entry *copy, size_t *index) {
  uint8_t q[RV_KEYSTORE_NAME_MAX];
  if (ks == NULL || pad_name(name, q, NULL) != RV_OK) {
    return RV_EINVAL;
  }
  return find(ks, q, copy, index) ? RV_OK : RV_ENOTFOUND;
}

/* Secure scratch: [0, 32) shielding key, [32, 96) Ed25519 check,
 * [96, 96 + len) key material. Allocated and opened together. */
#define SCR_KEY 0u
#define SCR_CHK 32u
#define SCR_MAT 96u

static int scratch_get(rv_keystore *ks, size_t len, uint8_t **s) {
  void *p = NULL;
  int rc = rv_secmem_alloc(ks->pool, SCR_MAT + len, &p);
  if (rc != RV_OK) {
    return rc;
  }
  rc = rv_secmem_open(ks->pool, p);
  if (rc != RV_OK) {
    (void)rv_secmem_free(ks->pool, p);
    return rc;
  }
  *s = p;
  return RV_OK;
}

/* Close and free (which wipes). A canary failure here is a memory bug; the
 * result of the operation stands, so it is reported only if nothing else
 * failed. */
static int scratch_put(rv_keystore *ks, uint8_t *s, int rc) {
  int c = rv_secmem_close(ks->pool, s);
  int f = rv_secmem_free(ks->pool, s);
  if (rc == RV_OK) {
    rc = c != RV_OK ? c : f;
  }
  return rc;
}

/* Insert at the sorted position; the entry's name is set. */
static int insert(rv_keystore *ks, const struct ks_entry *ne) {
  if (ks->n == ks->cap) {
    size_t cap = ks->cap == 0 ? 8 : ks->cap * 2;
    cap = cap > ks->max ? ks->max : cap;
    size_t old_bytes = ks->cap * sizeof *ks->e;
    size_t bytes = 0;
    if (__builtin_mul_overflow(cap, sizeof *ks->e, &bytes)) {
      return RV_EOVERFLOW;
    }
    struct ks_entry *e =
        rv_alloc_resize(ks->alloc, ks->e, old_bytes, bytes, _Alignof(struct ks_entry));
    if (e == NULL) {
      return RV_ENOMEM;
    }
    ks->e = e;
    ks->cap = cap;
  }
  size_t at = 0;
  while (at < ks->n && memcmp(ks->e[at].name, ne->name, RV_KEYSTORE_NAME_MAX) < 0) {
    at++;
  }
  memmove(&ks->e[at + 1], &ks->e[at], (ks->n - at) * sizeof *ks->e);
  ks->e[at] = *ne;
  ks->n++;
  return RV_OK;
}

/* Common part of add and generate: key == NULL means generate. */
static int add_key(rv_keystore *ks, const char *name, rv_keystore_type type, const uint8_t *key,
                   size_t len) {
  struct ks_entry ne = {0};
  size_t nlen = 0;
  if (ks == NULL || pad_name(name, ne.name, &nlen) != RV_OK ||
      rv_ks_check_type_len((unsigned)type, len) != RV_OK) {
    return RV_EINVAL;
  }
  if (ks->busy) {
    return RV_EBUSY;
  }
  struct ks_entry dup;
  if (find(ks, ne.name, &dup, NULL)) {
    return RV_EEXIST;
  }
  if (ks->n >= ks->max) {
    return RV_EFULL;
  }
  ne.name_len = (uint8_t)nlen;
  ne.type = (uint8_t)type;
  ne.version = 1;
  ne.len = (uint32_t)len;
  uint8_t *s = NULL;
  int rc = scratch_get(ks, len, &s);
  if (rc != RV_OK) {
    return rc;
  }
  if (key != NULL) {
    memcpy(s + SCR_MAT, key, len);
  } else if (type == RV_KEYSTORE_ED25519) {
    uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
    (void)crypto_sign_keypair(pk, s + SCR_MAT);
  } else {
    randombytes_buf(s + SCR_MAT, len);
  }
  rc = rv_ks_shield_key(ks, s + SCR_KEY);
  if (rc == RV_OK) {
    rc = rv_ks_entry_seal(ks, &ne, s + SCR_MAT, s + SCR_KEY, s + SCR_CHK);
  }
  if (rc == RV_OK) {
    rc = insert(ks, &ne);
    if (rc != RV_OK) {
      entry_clear(ks, &ne);
    }
  }
  return scratch_put(ks, s, rc);
}

int rv_keystore_add(rv_keystore *ks, const char *name, rv_keystore_type type, const uint8_t *key,
                    size_t len) {
  if (key == NULL) {
    return RV_EINVAL;
  }
  return add_key(ks, name, type, key, len);
}

int rv_keystore_generate(rv_keystore *ks, const char *name, rv_keystore_type type, size_t len) {
  if (type == RV_KEYSTORE_SYMMETRIC) {
    len = RV_KEYSTORE_SYMMETRIC_BYTES;
  } else if (type == RV_KEYSTORE_ED25519) {
    len = RV_KEYSTORE_ED25519_SECRET_BYTES;
  }
  return add_key(ks, name, type, NULL, len);
}

int rv_keystore_rotate(rv_keystore *ks, const char *name) {
  struct ks_entry ce;
  size_t at = 0;
  int rc = lookup(ks, name, &ce, &at);
  if (rc != RV_OK) {
    return rc;
  }
  struct ks_entry *e = &ks->e[at]; /* a mutation: works in place */
  if (ks->busy) {
    return RV_EBUSY;
  }
  if (e->version == UINT32_MAX) {
    return RV_ELIMIT;
  }
  uint8_t *s = NULL;
  rc = scratch_get(ks, e->len, &s);
  if (rc != RV_OK) {
    return rc;
  }
  rc = rv_ks_shield_key(ks, s + SCR_KEY);
  if (rc == RV_OK) {
    /* Authenticate the old ciphertext first: rotating a damaged entry
     * would hide the damage. */
    rc = rv_ks_unshield(e, s + SCR_KEY, s + SCR_MAT);
  }
  if (rc == RV_OK) {
    struct ks_entry ne = *e;
    ne.ct = NULL;
    ne.version++;
    if (e->type == RV_KEYSTORE_ED25519) {
      uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
      (void)crypto_sign_keypair(pk, s + SCR_MAT);
    } else {
      randombytes_buf(s + SCR_MAT, e->len);
    }
    rc = rv_ks_entry_seal(ks, &ne, s + SCR_MAT, s + SCR_KEY, s + SCR_CHK);
    if (rc == RV_OK) {
      entry_clear(ks, e);
      *e = ne;
    }
  }
  return scratch_put(ks, s, rc);
}

int rv_keystore_remove(rv_keystore *ks, const char *name) {
  struct ks_entry ce;
  size_t at = 0;
  int rc = lookup(ks, name, &ce, &at);
  if (rc != RV_OK) {
    return rc;
  }
  if (ks->busy) {
    return RV_EBUSY;
  }
  entry_clear(ks, &ks->e[at]);
  memmove(&ks->e[at], &ks->e[at + 1], (ks->n - at - 1) * sizeof *ks->e);
  ks->n--;
  rv_ct_wipe(&ks->e[ks->n], sizeof *ks->e);
  return RV_OK;
}

static void info_of(const struct ks_entry *e, rv_keystore_info *info) {
  info->type = (rv_keystore_type)e->type;
  info->len = e->len;
  info->version = e->version;
}

int rv_keystore_info_get(rv_keystore *ks, const char *name, rv_keystore_info *info) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (info == NULL) {
    return RV_EINVAL;
  }
  int rc = lookup(ks, name, e, NULL);
  if (rc == RV_OK) {
    info_of(e, info);
  }
  return rc;
}

size_t rv_keystore_count(const rv_keystore *ks) { return ks != NULL ? ks->n : 0; }

int rv_keystore_list(rv_keystore *ks, rv_keystore_list_fn fn, void *ctx) {
  if (ks == NULL || fn == NULL) {
    return RV_EINVAL;
  }
  for (size_t i = 0; i < ks->n; i++) {
    char name[RV_KEYSTORE_NAME_MAX + 1];
    memcpy(name, ks->e[i].name, RV_KEYSTORE_NAME_MAX);
    name[RV_KEYSTORE_NAME_MAX] = '\0';
    rv_keystore_info info;
    info_of(&ks->e[i], &info);
    ks->busy++;
    int rc = fn(ctx, name, &info);
    ks->busy--;
    if (rc != 0) {
      return rc;
    }
  }
  return RV_OK;
}

/* Unshield e into a fresh scratch; on success the caller owns *s and
 * must scratch_put() it. */
static int unshield_to_scratch(rv_keystore *ks, const struct ks_entry *e, uint8_t **s) {
  int rc = scratch_get(ks, e->len, s);
  if (rc != RV_OK) {
    return rc;
  }
  rc = rv_ks_shield_key(ks, *s + SCR_KEY);
  if (rc == RV_OK) {
    rc = rv_ks_unshield(e, *s + SCR_KEY, *s + SCR_MAT);
  }
  rv_ct_wipe(*s + SCR_KEY, KS_KEY);
  if (rc != RV_OK) {
    (void)scratch_put(ks, *s, rc);
    *s = NULL;
  }
  return rc;
}

int rv_keystore_use(rv_keystore *ks, const char *name, rv_keystore_use_fn fn, void *ctx) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (fn == NULL) {
    return RV_EINVAL;
  }
  int rc = lookup(ks, name, e, NULL);
  if (rc != RV_OK) {
    return rc;
  }
  uint8_t *s = NULL;
  rc = unshield_to_scratch(ks, e, &s);
  if (rc != RV_OK) {
    return rc;
  }
  rv_keystore_info info;
  info_of(e, &info);
  ks->busy++;
  rc = fn(ctx, s + SCR_MAT, &info);
  ks->busy--;
  return scratch_put(ks, s, rc);
}

/* Look up a key of the given type. */
static int lookup_typed(rv_keystore *ks, const char *name, unsigned type, struct ks_entry *e) {
  int rc = lookup(ks, name, e, NULL);
  if (rc == RV_OK && e->type != type) {
    rc = RV_EINVAL;
  }
  return rc;
}

int rv_keystore_sign(rv_keystore *ks, const char *name, const void *msg, size_t len,
                     uint8_t sig[RV_KEYSTORE_SIGNATURE_BYTES]) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (sig == NULL || (msg == NULL && len != 0)) {
    return RV_EINVAL;
  }
  int rc = lookup_typed(ks, name, RV_KEYSTORE_ED25519, e);
  uint8_t *s = NULL;
  if (rc == RV_OK) {
    rc = unshield_to_scratch(ks, e, &s);
  }
  if (rc != RV_OK) {
    return rc;
  }
  (void)crypto_sign_detached(sig, NULL, msg, len, s + SCR_MAT);
  return scratch_put(ks, s, RV_OK);
}

int rv_keystore_verify(rv_keystore *ks, const char *name, const void *msg, size_t len,
                       const uint8_t sig[RV_KEYSTORE_SIGNATURE_BYTES]) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (sig == NULL || (msg == NULL && len != 0)) {
    return RV_EINVAL;
  }
  int rc = lookup_typed(ks, name, RV_KEYSTORE_ED25519, e);
  if (rc != RV_OK) {
    return rc;
  }
  return crypto_sign_verify_detached(sig, msg, len, e->pk) == 0 ? RV_OK : RV_EVERIFY;
}

int rv_keystore_public_key(rv_keystore *ks, const char *name,
                           uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES]) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (pk == NULL) {
    return RV_EINVAL;
  }
  int rc = lookup_typed(ks, name, RV_KEYSTORE_ED25519, e);
  if (rc == RV_OK) {
    memcpy(pk, e->pk, RV_KEYSTORE_ED25519_PUBLIC_BYTES);
  }
  return rc;
}

int rv_keystore_seal(rv_keystore *ks, const char *name, const void *ad, size_t adlen,
                     const void *msg, size_t len, uint8_t *out, size_t cap, size_t *outlen) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (out == NULL || outlen == NULL || (ad == NULL && adlen != 0) || (msg == NULL && len != 0)) {
    return RV_EINVAL;
  }
  int rc = lookup_typed(ks, name, RV_KEYSTORE_SYMMETRIC, e);
  if (rc != RV_OK) {
    return rc;
  }
  size_t need = 0;
  if (__builtin_add_overflow(len, (size_t)RV_KEYSTORE_SEAL_OVERHEAD, &need) ||
      len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX) {
    return RV_EOVERFLOW;
  }
  if (cap < need) {
    return RV_EFULL;
  }
  uint8_t *s = NULL;
  rc = unshield_to_scratch(ks, e, &s);
  if (rc != RV_OK) {
    return rc;
  }
  randombytes_buf(out, KS_NONCE);
  (void)crypto_aead_xchacha20poly1305_ietf_encrypt(out + KS_NONCE, NULL, msg, len, ad, adlen, NULL,
                                                   out, s + SCR_MAT);
  *outlen = need;
  return scratch_put(ks, s, RV_OK);
}

int rv_keystore_open(rv_keystore *ks, const char *name, const void *ad, size_t adlen,
                     const uint8_t *sealed, size_t len, uint8_t *out, size_t cap, size_t *outlen) {
  struct ks_entry ce;
  struct ks_entry *e = &ce;
  if (sealed == NULL || outlen == NULL || (ad == NULL && adlen != 0) || (out == NULL && cap != 0)) {
    return RV_EINVAL;
  }
  int rc = lookup_typed(ks, name, RV_KEYSTORE_SYMMETRIC, e);
  if (rc != RV_OK) {
    return rc;
  }
  if (len < RV_KEYSTORE_SEAL_OVERHEAD) {
    return RV_ETRUNCATED;
  }
  size_t plen = len - RV_KEYSTORE_SEAL_OVERHEAD;
  if (cap < plen) {
    return RV_EFULL;
  }
  uint8_t *s = NULL;
  rc = unshield_to_scratch(ks, e, &s);
  if (rc != RV_OK) {
    return rc;
  }
  /* out may be NULL here only when plen is 0; libsodium then writes nothing. */
  uint8_t empty[1] = {0};
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out != NULL ? out : empty, NULL, NULL,
                                                 sealed + KS_NONCE, len - KS_NONCE, ad, adlen,
                                                 sealed, s + SCR_MAT) != 0) {
    rc = RV_EVERIFY;
  } else {
    *outlen = plen;
  }
  return scratch_put(ks, s, rc);
}
