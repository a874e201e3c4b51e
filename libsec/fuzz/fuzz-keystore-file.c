/* fuzz-keystore-file: the sealed key store parser, rv_keystore_load_buffer().
 *
 * The first input byte picks what is fuzzed:
 *  - even: the rest is a whole file, parsed as is with a fixed raw key (the
 *    header checks, limits, MAC and body authentication);
 *  - odd: the rest is a 4-byte key count and a body *plaintext*; the harness
 *    seals it with the fixed key into a valid header and body (as
 *    docs/keystore-format.md describes), so the key-record parser behind
 *    the authentication is reached too.
 * Passphrase files are refused before Argon2id runs (wrong credential
 * kind), so no input can make the harness spend seconds in the KDF. */
#include <rivet/sec/keystore.h>

#include <sodium.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fixed_key[RV_KEYSTORE_RAW_KEY_BYTES] = {
    0x52, 0x56, 0x4b, 0x53, 0x54, 0x4f, 0x52, 0x45, 1,  2,  3,  4,  5,  6,  7,  8,
    9,    10,   11,   12,   13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24};

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static void subkey(uint8_t out[32], const char *label, const uint8_t *salt) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, fixed_key, sizeof fixed_key, 32);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
  crypto_generichash_update(&st, salt, 16);
  crypto_generichash_final(&st, out, 32);
}

/* Seal count + plaintext into a file with a valid header (fixed salt and
 * nonce: determinism matters more than secrecy here). */
static uint8_t *wrap(const uint8_t *data, size_t size, size_t *flen) {
  if (size < 4 || size - 4 > 1u << 20) {
    return NULL;
  }
  size_t plen = size - 4;
  *flen = 128 + plen + 16;
  uint8_t *f = calloc(1, *flen);
  if (f == NULL) {
    return NULL;
  }
  memcpy(f, "RVKSTORE", 8);
  put_le(f + 8, 1, 2);
  f[10] = 2; /* raw key */
  memset(f + 32, 0x5a, 16);
  memset(f + 48, 0xa5, 24);
  memcpy(f + 72, data, 4);
  put_le(f + 76, plen + 16, 4);
  uint8_t mac[32];
  uint8_t enc[32];
  subkey(mac, "rivet keystore v1 header mac", f + 32);
  subkey(enc, "rivet keystore v1 body key", f + 32);
  crypto_generichash(f + 80, 32, f, 80, mac, 32);
  crypto_generichash(f + 112, 16, f, 112, NULL, 0);
  crypto_aead_xchacha20poly1305_ietf_encrypt(f + 128, NULL, data + 4, plen, f, 128, NULL, f + 48,
                                             enc);
  return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static rv_keystore *ks;
  if (ks == NULL) {
    rv_keystore_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED, .max_keys = 256};
    if (rv_keystore_create(&ks, &cfg) != RV_OK) {
      abort();
    }
  }
  if (size == 0) {
    return 0;
  }
  rv_keystore_cred cred = {.key = fixed_key};
  rv_diag d = {0};
  int rc;
  if ((data[0] & 1) == 0) {
    rc = rv_keystore_load_buffer(ks, data + 1, size - 1, &cred, &d);
  } else {
    size_t flen = 0;
    uint8_t *f = wrap(data + 1, size - 1, &flen);
    if (f == NULL) {
      return 0;
    }
    rc = rv_keystore_load_buffer(ks, f, flen, &cred, &d);
    free(f);
  }
  /* Every failure names itself; a success loaded something usable. */
  if (rc != RV_OK && (d.code != rc || d.msg == NULL)) {
    abort();
  }
  if (rc == RV_OK && rv_keystore_count(ks) > 256) {
    abort();
  }
  return 0;
}
