/* keystore-file.c: sealed persistence of a key store (format in
 * docs/keystore-format.md): a 128-byte header (checksum + keyed MAC) and an
 * XChaCha20-Poly1305 body, written atomically (temp file, fsync, rename,
 * fsync of the directory). */
#define _GNU_SOURCE
#include "keystore-impl.h"
#include "keystore-sys.h"

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HDR 128u
#define OFF_VERSION 8u
#define OFF_KDF 10u
#define OFF_FLAGS 12u
#define OFF_OPS 16u
#define OFF_MEM 24u
#define OFF_SALT 32u
#define OFF_NONCE 48u
#define OFF_COUNT 72u
#define OFF_BODYLEN 76u
#define OFF_MAC 80u
#define OFF_SUM 112u
#define FORMAT_VERSION 1u
#define KDF_ARGON2ID 1u
#define KDF_RAW 2u
#define TAG 16u
#define REC 12u /* record header: type, name_len, reserved(2), version, len */
#define BODY_MAX ((size_t)16 * 1024 * 1024)
#define OPS_MAX 64u
#define MEM_MAX (1024ull * 1024u * 1024u)

static const uint8_t magic[8] = {'R', 'V', 'K', 'S', 'T', 'O', 'R', 'E'};

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static uint64_t get_le(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) {
    v |= (uint64_t)p[i] << (8 * i);
  }
  return v;
}

/* Secure scratch for the key schedule. */
struct keys {
  uint8_t master[32];
  uint8_t mac[32];
  uint8_t enc[32];
  uint8_t shield[32];
  uint8_t chk[64]; /* Ed25519 public-key check while parsing */
};

static int cred_kind(const rv_keystore_cred *c) {
  if (c == NULL || (c->passphrase == NULL) == (c->key == NULL)) {
    return 0;
  }
  return c->passphrase != NULL ? (int)KDF_ARGON2ID : (int)KDF_RAW;
}

/* master = Argon2id(passphrase) or the raw key; mac and enc keys are
 * BLAKE2b-256 keyed with master over a label and the salt. */
static int derive(struct keys *k, const rv_keystore_cred *c, const uint8_t *hdr) {
  if (hdr[OFF_KDF] == KDF_ARGON2ID) {
    if (crypto_pwhash(k->master, sizeof k->master, c->passphrase, c->passphrase_len, hdr + OFF_SALT,
                      get_le(hdr + OFF_OPS, 8), (size_t)get_le(hdr + OFF_MEM, 8),
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
      return RV_ENOMEM; /* limits were range-checked: only memory can fail */
    }
  } else {
    memcpy(k->master, c->key, sizeof k->master);
  }
  static const char lmac[] = "rivet keystore v1 header mac";
  static const char lenc[] = "rivet keystore v1 body key";
  crypto_generichash_state st;
  (void)crypto_generichash_init(&st, k->master, sizeof k->master, sizeof k->mac);
  (void)crypto_generichash_update(&st, (const uint8_t *)lmac, sizeof lmac - 1);
  (void)crypto_generichash_update(&st, hdr + OFF_SALT, 16);
  (void)crypto_generichash_final(&st, k->mac, sizeof k->mac);
  (void)crypto_generichash_init(&st, k->master, sizeof k->master, sizeof k->enc);
  (void)crypto_generichash_update(&st, (const uint8_t *)lenc, sizeof lenc - 1);
  (void)crypto_generichash_update(&st, hdr + OFF_SALT, 16);
  (void)crypto_generichash_final(&st, k->enc, sizeof k->enc);
  rv_ct_wipe(&st, sizeof st);
  return RV_OK;
}

static int keys_get(rv_keystore *ks, struct keys **k) {
  void *p = NULL;
  int rc = rv_secmem_alloc(ks->pool, sizeof **k, &p);
  if (rc == RV_OK) {
    rc = rv_secmem_open(ks->pool, p);
    if (rc != RV_OK) {
      (void)rv_secmem_free(ks->pool, p);
      return rc;
    }
    *k = p;
  }
  return rc;
}

static void sec_put(rv_keystore *ks, void *p) {
  if (p != NULL) {
    (void)rv_secmem_close(ks->pool, p);
    (void)rv_secmem_free(ks->pool, p); /* wipes */
  }
}

static int sec_get(rv_keystore *ks, size_t len, uint8_t **p) {
  void *q = NULL;
  int rc = rv_secmem_alloc(ks->pool, len != 0 ? len : 1, &q);
  if (rc == RV_OK) {
    rc = rv_secmem_open(ks->pool, q);
    if (rc != RV_OK) {
      (void)rv_secmem_free(ks->pool, q);
      return rc;
    }
    *p = q;
  }
  return rc;
}

/* ---- load ---------------------------------------------------------- */

/* Parse the decrypted payload into a fresh entry array (all or nothing). */
static int parse_payload(rv_keystore *ks, const uint8_t *pl, size_t len, uint32_t count,
                         const uint8_t *key32, uint8_t *scratch64, struct ks_entry **out,
                         size_t *cap_out, rv_diag *d) {
  size_t cap = count != 0 ? count : 1;
  struct ks_entry *e = rv_alloc_array(ks->alloc, cap, sizeof *e, _Alignof(struct ks_entry));
  if (e == NULL) {
    return rv_diag_set(d, RV_ENOMEM, 0, "out of memory");
  }
  size_t n = 0;
  size_t pos = 0;
  int rc = RV_OK;
  for (; n < count; n++) {
    if (len - pos < REC) {
      rc = rv_diag_set(d, RV_EMALFORMED, HDR + pos, "key record cut short");
      goto fail;
    }
    const uint8_t *r = pl + pos;
    struct ks_entry ne = {0};
    ne.type = r[0];
    ne.name_len = r[1];
    ne.version = (uint32_t)get_le(r + 4, 4);
    ne.len = (uint32_t)get_le(r + 8, 4);
    if (ne.name_len == 0 || ne.name_len > RV_KEYSTORE_NAME_MAX || r[2] != 0 || r[3] != 0 ||
        ne.version == 0 || rv_ks_check_type_len(ne.type, ne.len) != RV_OK) {
      rc = rv_diag_set(d, RV_EMALFORMED, HDR + pos, "bad key record header");
      goto fail;
    }
    pos += REC;
    if (len - pos < (size_t)ne.name_len + ne.len) {
      rc = rv_diag_set(d, RV_EMALFORMED, HDR + pos, "key record cut short");
      goto fail;
    }
    memcpy(ne.name, pl + pos, ne.name_len);
    if (memchr(ne.name, 0, ne.name_len) != NULL ||
        (n > 0 && memcmp(e[n - 1].name, ne.name, RV_KEYSTORE_NAME_MAX) >= 0)) {
      rc = rv_diag_set(d, RV_EMALFORMED, HDR + pos, "key names not unique and sorted");
      goto fail;
    }
    pos += ne.name_len;
    rc = rv_ks_entry_seal(ks, &ne, pl + pos, key32, scratch64);
    if (rc == RV_EINVAL) {
      rc = rv_diag_set(d, RV_EMALFORMED, HDR + pos, "Ed25519 public key does not match seed");
    } else if (rc != RV_OK) {
      rc = rv_diag_set(d, rc, HDR + pos, "out of memory");
    }
    if (rc != RV_OK) {
      goto fail;
    }
    pos += ne.len;
    e[n] = ne;
  }
  if (pos != len) {
    rc = rv_diag_set(d, RV_EMALFORMED, HDR + pos, "bytes after the last key record");
    goto fail;
  }
  *out = e;
  *cap_out = cap;
  return RV_OK;
fail:
  rv_ks_entries_free(ks, e, n, cap);
  return rc;
}

/* Header checks that need no key, in the order documented. */
static int check_header(const rv_keystore *ks, const uint8_t *b, size_t len, rv_diag *d) {
  if (len < HDR) {
    return rv_diag_set(d, RV_ETRUNCATED, len, "file shorter than the 128-byte header");
  }
  if (memcmp(b, magic, sizeof magic) != 0) {
    return rv_diag_set(d, RV_EMALFORMED, 0, "not a rivet key store (bad magic)");
  }
  uint8_t sum[16];
  (void)crypto_generichash(sum, sizeof sum, b, OFF_SUM, NULL, 0);
  if (memcmp(sum, b + OFF_SUM, sizeof sum) != 0) {
    return rv_diag_set(d, RV_EMALFORMED, OFF_SUM, "header checksum mismatch: header damaged");
  }
  if (get_le(b + OFF_VERSION, 2) != FORMAT_VERSION) {
    return rv_diag_set(d, RV_EUNSUPPORTED, OFF_VERSION, "unsupported format version");
  }
  unsigned kdf = b[OFF_KDF];
  if (kdf != KDF_ARGON2ID && kdf != KDF_RAW) {
    return rv_diag_set(d, RV_EUNSUPPORTED, OFF_KDF, "unknown key derivation");
  }
  if (b[OFF_KDF + 1] != 0 || get_le(b + OFF_FLAGS, 4) != 0) {
    return rv_diag_set(d, RV_EUNSUPPORTED, OFF_FLAGS, "unknown flags");
  }
  uint64_t ops = get_le(b + OFF_OPS, 8);
  uint64_t mem = get_le(b + OFF_MEM, 8);
  if (kdf == KDF_RAW && (ops != 0 || mem != 0)) {
    return rv_diag_set(d, RV_EMALFORMED, OFF_OPS, "Argon2id limits set for a raw-key file");
  }
  if (kdf == KDF_ARGON2ID) {
    if (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN) {
      return rv_diag_set(d, RV_EMALFORMED, OFF_OPS, "Argon2id limits below the minimum");
    }
    if (ops > OPS_MAX || mem > MEM_MAX) {
      return rv_diag_set(d, RV_ELIMIT, OFF_OPS, "Argon2id limits over 64 passes or 1 GiB");
    }
  }
  uint64_t count = get_le(b + OFF_COUNT, 4);
  uint64_t body = get_le(b + OFF_BODYLEN, 4);
  if (count > ks->max) {
    return rv_diag_set(d, RV_ELIMIT, OFF_COUNT, "more keys than the store's max_keys");
  }
  if (body > BODY_MAX) {
    return rv_diag_set(d, RV_ELIMIT, OFF_BODYLEN, "body larger than 16 MiB");
  }
  if (body < TAG + count * REC) {
    return rv_diag_set(d, RV_EMALFORMED, OFF_BODYLEN, "body too short for its key count");
  }
  if (len - HDR < body) {
    return rv_diag_set(d, RV_ETRUNCATED, len, "file shorter than its header says");
  }
  if (len - HDR > body) {
    return rv_diag_set(d, RV_EMALFORMED, HDR + body, "bytes after the body");
  }
  return RV_OK;
}

int rv_keystore_load_buffer(rv_keystore *ks, const uint8_t *data, size_t len,
                            const rv_keystore_cred *cred, rv_diag *d) {
  int kind = cred_kind(cred);
  if (ks == NULL || data == NULL || kind == 0 ||
      (kind == (int)KDF_ARGON2ID && cred->passphrase_len > crypto_pwhash_PASSWD_MAX)) {
    return rv_diag_set(d, RV_EINVAL, 0, "bad arguments or credentials");
  }
  if (ks->busy) {
    return rv_diag_set(d, RV_EBUSY, 0, "called from a key store callback");
  }
  int rc = check_header(ks, data, len, d);
  if (rc != RV_OK) {
    return rc;
  }
  if (data[OFF_KDF] != (uint8_t)kind) {
    return rv_diag_set(d, RV_EVERIFY, OFF_KDF,
                       kind == (int)KDF_RAW ? "file is sealed with a passphrase, not a raw key"
                                            : "file is sealed with a raw key, not a passphrase");
  }
  uint32_t count = (uint32_t)get_le(data + OFF_COUNT, 4);
  size_t plen = (size_t)get_le(data + OFF_BODYLEN, 4) - TAG;
  struct keys *k = NULL;
  uint8_t *pl = NULL;
  struct ks_entry *e = NULL;
  size_t cap = 0;
  rc = keys_get(ks, &k);
  if (rc != RV_OK) {
    return rv_diag_set(d, rc, 0, "secure memory");
  }
  rc = derive(k, cred, data);
  if (rc != RV_OK) {
    rv_diag_set(d, rc, OFF_MEM, "Argon2id could not get its memory");
    goto done;
  }
  uint8_t mac[32];
  (void)crypto_generichash(mac, sizeof mac, data, OFF_MAC, k->mac, sizeof k->mac);
  if (rv_ct_verify(mac, data + OFF_MAC, sizeof mac) != RV_OK) {
    rc = rv_diag_set(d, RV_EVERIFY, OFF_MAC, "wrong passphrase or key");
    goto done;
  }
  rc = sec_get(ks, plen, &pl);
  if (rc != RV_OK) {
    rv_diag_set(d, rc, 0, "secure memory");
    goto done;
  }
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(pl, NULL, NULL, data + HDR, plen + TAG, data, HDR,
                                                 data + OFF_NONCE, k->enc) != 0) {
    rc = rv_diag_set(d, RV_EMALFORMED, HDR, "body failed authentication: file damaged");
    goto done;
  }
  rc = rv_ks_shield_key(ks, k->shield);
  if (rc != RV_OK) {
    rv_diag_set(d, rc, 0, "secure memory");
    goto done;
  }
  rc = parse_payload(ks, pl, plen, count, k->shield, k->chk, &e, &cap, d);
  if (rc == RV_OK) {
    rv_ks_entries_free(ks, ks->e, ks->n, ks->cap);
    ks->e = e;
    ks->n = count;
    ks->cap = cap;
  }
done:
  sec_put(ks, pl);
  sec_put(ks, k);
  return rc;
}

static int read_all(int fd, const rv_alloc *a, uint8_t **out, size_t *len, rv_diag *d) {
  struct stat st;
  if (RV_KS_SYS(fstat)(fd, &st) != 0) {
    return rv_diag_set(d, RV_EIO, 0, "fstat failed");
  }
  if (!S_ISREG(st.st_mode)) {
    return rv_diag_set(d, RV_EIO, 0, "not a regular file");
  }
  if ((uint64_t)st.st_size > (uint64_t)HDR + BODY_MAX) {
    return rv_diag_set(d, RV_ELIMIT, 0, "file larger than 16 MiB plus header");
  }
  size_t n = (size_t)st.st_size;
  uint8_t *b = rv_alloc_get(a, n != 0 ? n : 1, 1);
  if (b == NULL) {
    return rv_diag_set(d, RV_ENOMEM, 0, "out of memory");
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = RV_KS_SYS(read)(fd, b + got, n - got);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      rv_alloc_free(a, b, n != 0 ? n : 1);
      return rv_diag_set(d, r < 0 ? RV_EIO : RV_ETRUNCATED, got,
                         r < 0 ? "read failed" : "file shrank while being read");
    }
    got += (size_t)r;
  }
  *out = b;
  *len = n;
  return RV_OK;
}

int rv_keystore_load(rv_keystore *ks, const char *path, const rv_keystore_cred *cred, rv_diag *d) {
  if (ks == NULL || path == NULL || cred_kind(cred) == 0) {
    return rv_diag_set(d, RV_EINVAL, 0, "bad arguments or credentials");
  }
  int fd = RV_KS_SYS(open)(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? rv_diag_set(d, RV_ENOTFOUND, 0, "no such file")
                           : rv_diag_set(d, RV_EIO, 0, "cannot open the file");
  }
  uint8_t *b = NULL;
  size_t n = 0;
  int rc = read_all(fd, ks->alloc, &b, &n, d);
  (void)RV_KS_SYS(close)(fd);
  if (rc != RV_OK) {
    return rc;
  }
  rc = rv_keystore_load_buffer(ks, b, n, cred, d);
  rv_alloc_free(ks->alloc, b, n != 0 ? n : 1);
  return rc;
}

/* ---- save ---------------------------------------------------------- */

/* Serialize every entry, unshielded, into pl (secure memory, plen bytes). */
static int serialize(rv_keystore *ks, uint8_t *pl, const uint8_t *key32) {
  size_t pos = 0;
  for (size_t i = 0; i < ks->n; i++) {
    const struct ks_entry *e = &ks->e[i];
    pl[pos] = e->type;
    pl[pos + 1] = e->name_len;
    pl[pos + 2] = 0;
    pl[pos + 3] = 0;
    put_le(pl + pos + 4, e->version, 4);
    put_le(pl + pos + 8, e->len, 4);
    pos += REC;
    memcpy(pl + pos, e->name, e->name_len);
    pos += e->name_len;
    int rc = rv_ks_unshield(e, key32, pl + pos);
    if (rc != RV_OK) {
      return rc;
    }
    pos += e->len;
  }
  return RV_OK;
}

static int write_all(int fd, const uint8_t *b, size_t n) {
  while (n > 0) {
    ssize_t w = RV_KS_SYS(write)(fd, b, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Write file bytes atomically next to path. */
static int replace_file(const rv_alloc *a, const char *path, const uint8_t *b, size_t n,
                        rv_diag *d) {
  size_t plen = strlen(path);
  size_t tlen = 0;
  if (__builtin_add_overflow(plen, sizeof ".tmp.XXXXXX", &tlen)) {
    return rv_diag_set(d, RV_EOVERFLOW, 0, "path too long");
  }
  char *tmp = rv_alloc_get(a, tlen, 1);
  if (tmp == NULL) {
    return rv_diag_set(d, RV_ENOMEM, 0, "out of memory");
  }
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
  int rc = RV_OK;
  int fd = RV_KS_SYS(mkstemp)(tmp); /* mode 0600 */
  if (fd < 0) {
    rc = rv_diag_set(d, RV_EIO, 0, "cannot create the temporary file");
    goto out;
  }
  if (write_all(fd, b, n) != 0) {
    rc = rv_diag_set(d, RV_EIO, 0, "write of the temporary file failed");
  } else if (RV_KS_SYS(fsync)(fd) != 0) {
    rc = rv_diag_set(d, RV_EIO, 0, "fsync of the temporary file failed");
  }
  if (RV_KS_SYS(close)(fd) != 0 && rc == RV_OK) {
    rc = rv_diag_set(d, RV_EIO, 0, "close of the temporary file failed");
  }
  if (rc == RV_OK && RV_KS_SYS(rename)(tmp, path) != 0) {
    rc = rv_diag_set(d, RV_EIO, 0, "rename over the key store file failed");
  }
  if (rc != RV_OK) {
    (void)RV_KS_SYS(unlink)(tmp);
    goto out;
  }
  /* The rename is durable only once the directory entry is: fsync the
   * directory (reuse tmp for its name). */
  char *slash = strrchr(tmp, '/');
  if (slash == NULL) {
    memcpy(tmp, ".", 2);
  } else if (slash == tmp) {
    tmp[1] = '\0';
  } else {
    *slash = '\0';
  }
  int dfd = RV_KS_SYS(open)(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    rc = rv_diag_set(d, RV_EIO, 0, "cannot open the directory to fsync it (file replaced)");
    goto out;
  }
  if (RV_KS_SYS(fsync)(dfd) != 0) {
    rc = rv_diag_set(d, RV_EIO, 0, "fsync of the directory failed (file replaced)");
  }
  (void)RV_KS_SYS(close)(dfd);
out:
  rv_alloc_free(a, tmp, tlen);
  return rc;
}

int rv_keystore_save(rv_keystore *ks, const char *path, const rv_keystore_cred *cred, rv_diag *d) {
  int kind = cred_kind(cred);
  if (ks == NULL || path == NULL || path[0] == '\0' || kind == 0) {
    return rv_diag_set(d, RV_EINVAL, 0, "bad arguments or credentials");
  }
  uint64_t ops = cred->opslimit != 0 ? cred->opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  uint64_t mem = cred->memlimit != 0 ? cred->memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (kind == (int)KDF_ARGON2ID &&
      (ops < crypto_pwhash_OPSLIMIT_MIN || ops > OPS_MAX || mem < crypto_pwhash_MEMLIMIT_MIN ||
       mem > MEM_MAX || cred->passphrase_len > crypto_pwhash_PASSWD_MAX)) {
    return rv_diag_set(d, RV_EINVAL, 0, "Argon2id limits or passphrase length out of range");
  }
  if (ks->busy) {
    return rv_diag_set(d, RV_EBUSY, 0, "called from a key store callback");
  }
  size_t plen = 0;
  for (size_t i = 0; i < ks->n; i++) {
    plen += REC + ks->e[i].name_len + (size_t)ks->e[i].len; /* <= 65536 * 4172: no overflow */
  }
  if (plen + TAG > BODY_MAX) {
    return rv_diag_set(d, RV_ELIMIT, 0, "store larger than the 16 MiB body limit");
  }
  size_t flen = HDR + plen + TAG;
  uint8_t *file = rv_alloc_get(ks->alloc, flen, 1);
  struct keys *k = NULL;
  uint8_t *pl = NULL;
  int rc = file == NULL ? RV_ENOMEM : keys_get(ks, &k);
  if (rc == RV_OK) {
    rc = sec_get(ks, plen, &pl);
  }
  if (rc != RV_OK) {
    rv_diag_set(d, rc, 0, "out of memory");
    goto done;
  }
  memset(file, 0, HDR);
  memcpy(file, magic, sizeof magic);
  put_le(file + OFF_VERSION, FORMAT_VERSION, 2);
  file[OFF_KDF] = (uint8_t)kind;
  if (kind == (int)KDF_ARGON2ID) {
    put_le(file + OFF_OPS, ops, 8);
    put_le(file + OFF_MEM, mem, 8);
  }
  randombytes_buf(file + OFF_SALT, 16);
  randombytes_buf(file + OFF_NONCE, 24);
  put_le(file + OFF_COUNT, ks->n, 4);
  put_le(file + OFF_BODYLEN, plen + TAG, 4);
  rc = derive(k, cred, file);
  if (rc != RV_OK) {
    rv_diag_set(d, rc, 0, "Argon2id could not get its memory");
    goto done;
  }
  (void)crypto_generichash(file + OFF_MAC, 32, file, OFF_MAC, k->mac, sizeof k->mac);
  (void)crypto_generichash(file + OFF_SUM, 16, file, OFF_SUM, NULL, 0);
  rc = rv_ks_shield_key(ks, k->shield);
  if (rc == RV_OK) {
    rc = serialize(ks, pl, k->shield);
  }
  if (rc != RV_OK) {
    rv_diag_set(d, rc, 0,
                rc == RV_EVERIFY ? "a shielded key failed authentication" : "secure memory");
    goto done;
  }
  (void)crypto_aead_xchacha20poly1305_ietf_encrypt(file + HDR, NULL, pl, plen, file, HDR, NULL,
                                                   file + OFF_NONCE, k->enc);
  rc = replace_file(ks->alloc, path, file, flen, d);
done:
  sec_put(ks, pl);
  sec_put(ks, k);
  if (file != NULL) {
    rv_alloc_free(ks->alloc, file, flen);
  }
  return rc;
}
