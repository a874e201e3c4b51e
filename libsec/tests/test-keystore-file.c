/* test-keystore-file: sealed persistence (keystore-file.c). Round trips
 * under a raw key and a passphrase; every error of the loader (wrong
 * passphrase, a flipped bit at every bit of a small file, every
 * truncation, crafted headers and bodies); and, through fault injection of
 * the file system calls (src/keystore-sys.h), every failing step of the
 * atomic replace, each leaving the old file in place. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "keystore-impl.h"
#include "keystore-sys.h"

/* ---- fault injection ------------------------------------------------- */

static const char *fail_name; /* which call fails */
static int fail_nth;          /* on its fail_nth call (0-based) from now */
static int fail_errno = EIO;
static int short_writes; /* write at most 7 bytes per call, with an EINTR first */

static int should_fail(const char *name) {
  if (fail_name == NULL || strcmp(fail_name, name) != 0) {
    return 0;
  }
  if (fail_nth-- == 0) {
    fail_name = NULL;
    errno = fail_errno;
    return 1;
  }
  return 0;
}

int rv_ks_fault_open(const char *path, int flags, ...) {
  if (should_fail("open")) {
    return -1;
  }
  return open(path, flags);
}
int rv_ks_fault_mkstemp(char *tmpl) { return should_fail("mkstemp") ? -1 : mkstemp(tmpl); }
ssize_t rv_ks_fault_read(int fd, void *buf, size_t len) {
  if (should_fail("read")) {
    return -1;
  }
  if (should_fail("read0")) {
    return 0;
  }
  return read(fd, buf, len);
}
ssize_t rv_ks_fault_write(int fd, const void *buf, size_t len) {
  if (should_fail("write")) {
    return -1;
  }
  if (short_writes) {
    static int tick;
    if (tick++ % 2 == 0) {
      errno = EINTR;
      return -1;
    }
    len = len < 7 ? len : 7;
  }
  return write(fd, buf, len);
}
int rv_ks_fault_fstat(int fd, struct stat *st) { return should_fail("fstat") ? -1 : fstat(fd, st); }
int rv_ks_fault_fsync(int fd) { return should_fail("fsync") ? -1 : fsync(fd); }
int rv_ks_fault_close(int fd) {
  if (should_fail("close")) {
    (void)close(fd);
    return -1;
  }
  return close(fd);
}
int rv_ks_fault_rename(const char *from, const char *to) {
  return should_fail("rename") ? -1 : rename(from, to);
}
int rv_ks_fault_unlink(const char *path) { return unlink(path); }

/* ---- helpers ------------------------------------------------------------ */

static char dir[64];
static char path[128];
static const uint8_t raw[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const rv_keystore_cred raw_cred = {.key = raw};
static const rv_keystore_cred pass_cred = {
    .passphrase = "correct horse", .passphrase_len = 13, .opslimit = 1, .memlimit = 8192};

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/rv-ksfile-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    return -1;
  }
  snprintf(path, sizeof path, "%s/store.rvks", dir);
  return 0;
}

/* Files in dir other than the store: leftover temporaries. */
static size_t stray_files(void) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *de;
  while (d != NULL && (de = readdir(d)) != NULL) {
    n += de->d_name[0] != '.' && strcmp(de->d_name, "store.rvks") != 0;
  }
  if (d != NULL) {
    (void)closedir(d);
  }
  return n;
}

static int teardown(void **state) {
  (void)state;
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d != NULL && (de = readdir(d)) != NULL) {
    if (de->d_name[0] != '.') {
      char p[sizeof dir + sizeof de->d_name + 1];
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      (void)unlink(p);
    }
  }
  if (d != NULL) {
    (void)closedir(d);
  }
  return rmdir(dir);
}

static rv_keystore *mk(size_t max) {
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.max_keys = max};
  assert_int_equal(rv_keystore_create(&ks, &cfg), RV_OK);
  return ks;
}

static uint8_t *slurp(const char *p, size_t *len) {
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  uint8_t *b = malloc(1 << 20);
  assert_non_null(b);
  *len = fread(b, 1, 1 << 20, f);
  (void)fclose(f);
  return b;
}

struct copy {
  uint8_t key[RV_KEYSTORE_SECRET_MAX];
  rv_keystore_info info;
};

static int grab(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  struct copy *c = ctx;
  memcpy(c->key, key, info->len);
  c->info = *info;
  return 0;
}

/* A small store: one key of each type, one rotated. */
static rv_keystore *sample(void) {
  rv_keystore *ks = mk(0);
  assert_int_equal(rv_keystore_generate(ks, "sym", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "ed", RV_KEYSTORE_ED25519, 0), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "api-token", RV_KEYSTORE_SECRET, 20), RV_OK);
  assert_int_equal(rv_keystore_rotate(ks, "sym"), RV_OK);
  return ks;
}

/* Two stores hold the same keys (names, types, versions, material). */
static void assert_same(rv_keystore *a, rv_keystore *b) {
  assert_int_equal(rv_keystore_count(a), rv_keystore_count(b));
  for (size_t i = 0; i < a->n; i++) {
    const char *name = (const char *)a->e[i].name;
    struct copy ca = {0};
    struct copy cb = {0};
    assert_int_equal(rv_keystore_use(a, name, grab, &ca), 0);
    assert_int_equal(rv_keystore_use(b, name, grab, &cb), 0);
    assert_int_equal(ca.info.type, cb.info.type);
    assert_int_equal(ca.info.len, cb.info.len);
    assert_int_equal(ca.info.version, cb.info.version);
    assert_memory_equal(ca.key, cb.key, ca.info.len);
  }
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static void fix_sum(uint8_t *f) { crypto_generichash(f + 112, 16, f, 112, NULL, 0); }

/* Build an authentic raw-key file around a body plaintext (what the
 * library would write; see docs/keystore-format.md). */
static uint8_t *forge(uint32_t count, const uint8_t *pl, size_t plen, size_t *flen) {
  *flen = 128 + plen + 16;
  uint8_t *f = calloc(1, *flen);
  assert_non_null(f);
  static const uint8_t magic[8] = {'R', 'V', 'K', 'S', 'T', 'O', 'R', 'E'};
  memcpy(f, magic, sizeof magic);
  put_le(f + 8, 1, 2);
  f[10] = 2;
  randombytes_buf(f + 32, 40);
  put_le(f + 72, count, 4);
  put_le(f + 76, plen + 16, 4);
  uint8_t mk_[2][32];
  const char *labels[2] = {"rivet keystore v1 header mac", "rivet keystore v1 body key"};
  for (int i = 0; i < 2; i++) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, raw, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)labels[i], strlen(labels[i]));
    crypto_generichash_update(&st, f + 32, 16);
    crypto_generichash_final(&st, mk_[i], 32);
  }
  crypto_generichash(f + 80, 32, f, 80, mk_[0], 32);
  fix_sum(f);
  crypto_aead_xchacha20poly1305_ietf_encrypt(f + 128, NULL, pl, plen, f, 128, NULL, f + 48, mk_[1]);
  return f;
}

/* ---- tests ------------------------------------------------------------ */

static void test_roundtrip(void **state) {
  (void)state;
  const rv_keystore_cred *creds[] = {&raw_cred, &pass_cred};
  for (int c = 0; c < 2; c++) {
    rv_keystore *a = sample();
    rv_diag d = {0};
    assert_int_equal(rv_keystore_save(a, path, creds[c], &d), RV_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    rv_keystore *b = mk(0);
    assert_int_equal(rv_keystore_generate(b, "replaced", RV_KEYSTORE_SECRET, 3), RV_OK);
    assert_int_equal(rv_keystore_load(b, path, creds[c], &d), RV_OK);
    assert_same(a, b);
    uint8_t pa[32];
    uint8_t pb[32];
    assert_int_equal(rv_keystore_public_key(a, "ed", pa), RV_OK);
    assert_int_equal(rv_keystore_public_key(b, "ed", pb), RV_OK);
    assert_memory_equal(pa, pb, 32);
    rv_keystore_info info;
    assert_int_equal(rv_keystore_info_get(b, "replaced", &info), RV_ENOTFOUND);
    /* The passphrase file records its Argon2id limits. */
    size_t len = 0;
    uint8_t *f = slurp(path, &len);
    assert_int_equal(f[10], c == 0 ? 2 : 1);
    assert_int_equal(f[16], c == 0 ? 0 : 1);
    assert_int_equal(f[24] | f[25] << 8, c == 0 ? 0 : 8192);
    free(f);
    rv_keystore_destroy(a);
    rv_keystore_destroy(b);
  }
  /* An empty store, and a relative path (directory "."). */
  rv_keystore *e = mk(0);
  char cwd[512];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  assert_int_equal(rv_keystore_save(e, "store.rvks", &raw_cred, NULL), RV_OK);
  assert_int_equal(rv_keystore_load(e, "store.rvks", &raw_cred, NULL), RV_OK);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rv_keystore_count(e), 0);
  assert_int_equal(stray_files(), 0);
  rv_keystore_destroy(e);
}

static void test_wrong_credentials(void **state) {
  (void)state;
  rv_keystore *a = sample();
  rv_keystore *b = mk(0);
  assert_int_equal(rv_keystore_generate(b, "keep", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  rv_diag d = {0};
  assert_int_equal(rv_keystore_save(a, path, &pass_cred, &d), RV_OK);
  rv_keystore_cred wrong = pass_cred;
  wrong.passphrase = "correct horsf";
  assert_int_equal(rv_keystore_load(b, path, &wrong, &d), RV_EVERIFY);
  assert_int_equal(d.offset, 80);
  assert_non_null(strstr(d.msg, "wrong passphrase"));
  assert_int_equal(rv_keystore_load(b, path, &raw_cred, &d), RV_EVERIFY);
  assert_non_null(strstr(d.msg, "sealed with a passphrase"));
  assert_int_equal(rv_keystore_save(a, path, &raw_cred, &d), RV_OK);
  assert_int_equal(rv_keystore_load(b, path, &pass_cred, &d), RV_EVERIFY);
  assert_non_null(strstr(d.msg, "sealed with a raw key"));
  uint8_t other[32] = {0};
  rv_keystore_cred oc = {.key = other};
  assert_int_equal(rv_keystore_load(b, path, &oc, &d), RV_EVERIFY);
  /* Nothing of it reached the store. */
  assert_int_equal(rv_keystore_count(b), 1);
  rv_keystore_info info;
  assert_int_equal(rv_keystore_info_get(b, "keep", &info), RV_OK);
  rv_keystore_destroy(a);
  rv_keystore_destroy(b);
}

/* Flip every bit of a small store, one at a time: every damaged file is
 * refused as damaged (never taken for a wrong passphrase) and leaves the
 * loading store as it was. Then every truncation, and a trailing byte. */
static void test_bit_flips_and_truncation(void **state) {
  (void)state;
  const rv_keystore_cred *creds[] = {&raw_cred, &pass_cred};
  for (int c = 0; c < 2; c++) {
    rv_keystore *a = mk(0);
    assert_int_equal(rv_keystore_generate(a, "k", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
    assert_int_equal(rv_keystore_generate(a, "e", RV_KEYSTORE_ED25519, 0), RV_OK);
    assert_int_equal(rv_keystore_save(a, path, creds[c], NULL), RV_OK);
    size_t len = 0;
    uint8_t *f = slurp(path, &len);
    rv_keystore *b = mk(0);
    assert_int_equal(rv_keystore_generate(b, "mine", RV_KEYSTORE_SECRET, 9), RV_OK);
    /* The passphrase file: every bit of the header, one bit per body byte
     * (each body flip costs an Argon2id run). */
    for (size_t i = 0; i < len; i++) {
      for (unsigned bit = 0; bit < 8; bit++) {
        if (c == 1 && i >= 128 && bit != i % 8) {
          continue;
        }
        f[i] ^= (uint8_t)(1u << bit);
        rv_diag d = {0};
        int rc = rv_keystore_load_buffer(b, f, len, creds[c], &d);
        if (rc != RV_EMALFORMED) {
          fail_msg("flip of bit %u of byte %zu: %s (%s)", bit, i, rv_err_name(rc), d.msg);
        }
        f[i] ^= (uint8_t)(1u << bit);
      }
    }
    for (size_t n = 0; n < len; n++) {
      rv_diag d = {0};
      assert_int_equal(rv_keystore_load_buffer(b, f, n, creds[c], &d), RV_ETRUNCATED);
    }
    uint8_t *g = malloc(len + 1);
    assert_non_null(g);
    memcpy(g, f, len);
    g[len] = 0;
    rv_diag d = {0};
    assert_int_equal(rv_keystore_load_buffer(b, g, len + 1, creds[c], &d), RV_EMALFORMED);
    assert_int_equal(d.offset, len);
    free(g);
    assert_int_equal(rv_keystore_count(b), 1);
    assert_int_equal(rv_keystore_load_buffer(b, f, len, creds[c], &d), RV_OK);
    assert_same(a, b);
    free(f);
    rv_keystore_destroy(a);
    rv_keystore_destroy(b);
  }
}

/* Headers with a valid checksum but values this version refuses. */
static void test_crafted_headers(void **state) {
  (void)state;
  rv_keystore *a = sample();
  assert_int_equal(rv_keystore_save(a, path, &pass_cred, NULL), RV_OK);
  size_t len = 0;
  uint8_t *f = slurp(path, &len);
  uint8_t *g = malloc(len);
  assert_non_null(g);
  struct {
    size_t off;
    uint64_t v;
    unsigned n;
    int rc;
  } cases[] = {
      {8, 2, 2, RV_EUNSUPPORTED},              /* format version */
      {10, 7, 1, RV_EUNSUPPORTED},             /* KDF */
      {11, 1, 1, RV_EUNSUPPORTED},             /* reserved */
      {12, 1, 4, RV_EUNSUPPORTED},             /* flags */
      {16, 0, 8, RV_EMALFORMED},               /* opslimit below minimum */
      {16, 65, 8, RV_ELIMIT},                  /* opslimit over 64 */
      {24, 100, 8, RV_EMALFORMED},             /* memlimit below minimum */
      {24, 2ull << 30, 8, RV_ELIMIT},          /* memlimit 2 GiB */
      {72, 2000, 4, RV_ELIMIT},                /* more keys than max_keys */
      {76, (16u << 20) + 1, 4, RV_ELIMIT},     /* body over 16 MiB */
      {76, 15, 4, RV_EMALFORMED},              /* body under a tag */
      {76, 16 + 3 * 12 - 1, 4, RV_EMALFORMED}, /* body under count records */
      {76, len - 128 + 1, 4, RV_ETRUNCATED},   /* body past the end */
      {76, len - 128 - 1, 4, RV_EMALFORMED},   /* bytes after the body */
      {0, 'X', 1, RV_EMALFORMED},              /* magic */
  };
  rv_keystore *b = mk(0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(g, f, len);
    put_le(g + cases[i].off, cases[i].v, cases[i].n);
    fix_sum(g);
    rv_diag d = {0};
    int rc = rv_keystore_load_buffer(b, g, len, &pass_cred, &d);
    if (rc != cases[i].rc || d.code != rc || d.msg == NULL) {
      fail_msg("case %zu: %s (%s)", i, rv_err_name(rc), d.msg);
    }
  }
  /* A raw-key file with Argon2id limits set. */
  assert_int_equal(rv_keystore_save(a, path, &raw_cred, NULL), RV_OK);
  free(f);
  f = slurp(path, &len);
  put_le(f + 16, 1, 8);
  fix_sum(f);
  rv_diag d = {0};
  assert_int_equal(rv_keystore_load_buffer(b, f, len, &raw_cred, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 16);
  assert_int_equal(rv_keystore_count(b), 0);
  free(f);
  free(g);
  rv_keystore_destroy(a);
  rv_keystore_destroy(b);
}

/* Authentic bodies (forged with the key) that the record parser refuses. */
static void test_crafted_bodies(void **state) {
  (void)state;
  uint8_t pk[32];
  uint8_t sk[64];
  crypto_sign_keypair(pk, sk);
  struct {
    uint32_t count;
    uint8_t pl[120];
    size_t len;
    const char *msg;
  } cases[] = {
      {1, {3, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 7}, 13, "cut short"},
      {1, {9, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 7, 7}, 15, "bad key record"},
      {1, {3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 7, 7}, 14, "bad key record"},
      {1, {3, 65, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 7, 7}, 14, "bad key record"},
      {1, {3, 1, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 7, 7}, 15, "bad key record"},
      {1, {3, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'a', 7, 7}, 15, "bad key record"},
      {1, {1, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 7, 7}, 15, "bad key record"},
      {1, {3, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 7}, 15, "unique and sorted"},
      {2,
       {3, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'b', 7, 3, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 7},
       28,
       "unique and sorted"},
      {2,
       {3, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 7, 3, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 7},
       28,
       "unique and sorted"},
      {1, {3, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 7, 0}, 15, "after the last"},
      {1, {2, 1, 0, 0, 1, 0, 0, 0, 64, 0, 0, 0, 'e'}, 77, "does not match"},
  };
  /* The last case: an Ed25519 record whose public half is not the seed's. */
  memcpy(cases[11].pl + 13, sk, 64);
  cases[11].pl[13 + 40] ^= 1;
  rv_keystore *b = mk(0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t flen = 0;
    uint8_t *f = forge(cases[i].count, cases[i].pl, cases[i].len, &flen);
    rv_diag d = {0};
    int rc = rv_keystore_load_buffer(b, f, flen, &raw_cred, &d);
    if (rc != RV_EMALFORMED || strstr(d.msg, cases[i].msg) == NULL || d.offset < 128) {
      fail_msg("case %zu: %s (%s)", i, rv_err_name(rc), d.msg);
    }
    free(f);
  }
  /* The same shapes, made valid, load. */
  cases[11].pl[13 + 40] ^= 1;
  size_t flen = 0;
  uint8_t *f = forge(1, cases[11].pl, 77, &flen);
  assert_int_equal(rv_keystore_load_buffer(b, f, flen, &raw_cred, NULL), RV_OK);
  uint8_t got[32];
  assert_int_equal(rv_keystore_public_key(b, "e", got), RV_OK);
  assert_memory_equal(got, pk, 32);
  free(f);
  rv_keystore_destroy(b);
}

static void test_args(void **state) {
  (void)state;
  rv_keystore *a = sample();
  rv_keystore_cred both = {.passphrase = "x", .passphrase_len = 1, .key = raw};
  rv_keystore_cred none = {0};
  rv_keystore_cred ops = pass_cred;
  ops.opslimit = 65;
  rv_keystore_cred mem = pass_cred;
  mem.memlimit = 100;
  rv_diag d = {0};
  assert_int_equal(rv_keystore_save(NULL, path, &raw_cred, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, NULL, &raw_cred, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, "", &raw_cred, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, path, NULL, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, path, &both, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, path, &none, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, path, &ops, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_save(a, path, &mem, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_load(NULL, path, &raw_cred, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_load(a, NULL, &raw_cred, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_load(a, path, &both, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_load_buffer(a, NULL, 3, &raw_cred, &d), RV_EINVAL);
  assert_int_equal(rv_keystore_load_buffer(a, NULL, 0, &raw_cred, &d), RV_EINVAL);
  assert_int_equal(access(path, F_OK), -1);
  rv_keystore_destroy(a);
}

/* A store over the 16 MiB body limit cannot be saved. */
static void test_save_limit(void **state) {
  (void)state;
  rv_keystore *a = mk(8192);
  char name[16];
  size_t i = 0;
  for (; i < 4100; i++) {
    snprintf(name, sizeof name, "s%zu", i);
    assert_int_equal(rv_keystore_generate(a, name, RV_KEYSTORE_SECRET, 4096), RV_OK);
  }
  rv_diag d = {0};
  assert_int_equal(rv_keystore_save(a, path, &raw_cred, &d), RV_ELIMIT);
  assert_int_equal(access(path, F_OK), -1);
  rv_keystore_destroy(a);
}

static void test_load_file_errors(void **state) {
  (void)state;
  rv_keystore *a = sample();
  rv_diag d = {0};
  assert_int_equal(rv_keystore_load(a, path, &raw_cred, &d), RV_ENOTFOUND);
  assert_int_equal(rv_keystore_load(a, dir, &raw_cred, &d), RV_EIO);
  assert_non_null(strstr(d.msg, "regular"));
  assert_int_equal(rv_keystore_save(a, path, &raw_cred, &d), RV_OK);
  const char *calls[] = {"open", "fstat", "read", "read0"};
  int want[] = {RV_EIO, RV_EIO, RV_EIO, RV_ETRUNCATED};
  for (size_t i = 0; i < 4; i++) {
    fail_name = calls[i];
    fail_nth = 0;
    assert_int_equal(rv_keystore_load(a, path, &raw_cred, &d), want[i]);
    assert_null(fail_name);
  }
  /* Larger than any key store can be. */
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, 17 << 20), 0);
  assert_int_equal(close(fd), 0);
  assert_int_equal(rv_keystore_load(a, path, &raw_cred, &d), RV_ELIMIT);
  assert_int_equal(rv_keystore_count(a), 3);
  rv_keystore_destroy(a);
}

/* Each step of the atomic replace fails in turn: before the rename the old
 * file stays and no temporary is left; after it (directory fsync) the new
 * file is in place and the error still says so. */
static void test_save_faults(void **state) {
  (void)state;
  rv_keystore *old = sample();
  rv_keystore *neu = mk(0);
  assert_int_equal(rv_keystore_generate(neu, "new", RV_KEYSTORE_SYMMETRIC, 0), RV_OK);
  struct {
    const char *call;
    int nth;
    int replaced;
  } cases[] = {
      {"mkstemp", 0, 0}, {"write", 0, 0}, {"fsync", 0, 0}, {"close", 0, 0},
      {"rename", 0, 0},  {"open", 0, 1},  {"fsync", 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(rv_keystore_save(old, path, &raw_cred, NULL), RV_OK);
    fail_name = cases[i].call;
    fail_nth = cases[i].nth;
    rv_diag d = {0};
    assert_int_equal(rv_keystore_save(neu, path, &raw_cred, &d), RV_EIO);
    assert_null(fail_name);
    assert_int_equal(stray_files(), 0);
    rv_keystore *chk = mk(0);
    assert_int_equal(rv_keystore_load(chk, path, &raw_cred, NULL), RV_OK);
    assert_same(cases[i].replaced ? neu : old, chk);
    rv_keystore_destroy(chk);
  }
  /* Short writes and EINTR are retried. */
  short_writes = 1;
  assert_int_equal(rv_keystore_save(neu, path, &raw_cred, NULL), RV_OK);
  short_writes = 0;
  rv_keystore *chk = mk(0);
  assert_int_equal(rv_keystore_load(chk, path, &raw_cred, NULL), RV_OK);
  assert_same(neu, chk);
  rv_keystore_destroy(chk);
  /* A directory that does not exist. */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/such/dir", dir);
  assert_int_equal(rv_keystore_save(neu, bad, &raw_cred, NULL), RV_EIO);
  rv_keystore_destroy(old);
  rv_keystore_destroy(neu);
}

/* Every allocation failure during save and load is RV_ENOMEM, leaks
 * nothing, and leaves file and store as they were. */
static void test_failing_allocator(void **state) {
  (void)state;
  rv_keystore *a = sample();
  assert_int_equal(rv_keystore_save(a, path, &raw_cred, NULL), RV_OK);
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    rv_keystore_config cfg = {.alloc = rv_alloc_failing_init(&f, NULL, SIZE_MAX)};
    rv_keystore *b = NULL;
    assert_int_equal(rv_keystore_create(&b, &cfg), RV_OK);
    assert_int_equal(rv_keystore_generate(b, "x", RV_KEYSTORE_SECRET, 5), RV_OK);
    f.fail_at = f.calls + n;
    int rc = rv_keystore_load(b, path, &raw_cred, NULL);
    if (rc == RV_OK) {
      rc = rv_keystore_save(b, path, &raw_cred, NULL);
    }
    if (rc != RV_OK) {
      assert_int_equal(rc, RV_ENOMEM);
      assert_int_equal(stray_files(), 0);
    }
    rv_keystore_destroy(b);
    assert_int_equal(f.live_blocks, 0);
    rv_keystore *chk = mk(0);
    assert_int_equal(rv_keystore_load(chk, path, &raw_cred, NULL), RV_OK);
    assert_same(a, chk);
    rv_keystore_destroy(chk);
    if (rc == RV_OK) {
      assert_true(n > 3);
      break;
    }
  }
  rv_keystore_destroy(a);
}

/* Argon2id cannot get its memory (RLIMIT_AS in a child): save and load
 * both report RV_ENOMEM, and save leaves no file. Not under sanitizers,
 * which reserve terabytes of address space. */
static void test_argon2_nomem(void **state) {
  (void)state;
#if RV_HAVE_ASAN || defined(__SANITIZE_THREAD__)
  skip();
#endif
  rv_keystore *a = sample();
  assert_int_equal(rv_keystore_save(a, path, &pass_cred, NULL), RV_OK);
  size_t len = 0;
  uint8_t *f = slurp(path, &len);
  put_le(f + 24, 1ull << 30, 8); /* 1 GiB: allowed, but not under the limit */
  fix_sum(f);
  assert_int_equal(unlink(path), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit rl = {(rlim_t)512 << 20, (rlim_t)512 << 20};
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
      _exit(2);
    }
    rv_keystore_cred big = pass_cred;
    big.memlimit = 1ull << 30;
    rv_diag d = {0};
    if (rv_keystore_save(a, path, &big, &d) != RV_ENOMEM || access(path, F_OK) == 0) {
      _exit(3);
    }
    if (rv_keystore_load_buffer(a, f, len, &pass_cred, &d) != RV_ENOMEM ||
        strstr(d.msg, "Argon2id") == NULL) {
      _exit(4);
    }
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  free(f);
  rv_keystore_destroy(a);
}

int main(void) {
  if (sodium_init() < 0) {
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_credentials, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bit_flips_and_truncation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crafted_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crafted_bodies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_file_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_faults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_allocator, setup, teardown),
      cmocka_unit_test_setup_teardown(test_argon2_nomem, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
