/* bench-keystore: what a key store costs per use, against what a user would
 * otherwise write with libsodium.
 *
 * use cycle (32-byte key): rv_keystore_use() (unshield into secure memory,
 * call, wipe), with the shielding key derived per use (default: BLAKE2b
 * over the 16 KiB prekey) and cached (RV_KEYSTORE_CACHE_SHIELD); the
 * baseline is libsodium's guarded-key idiom: the key in sodium_malloc
 * memory kept PROT_NONE, sodium_mprotect_readonly() around each use, then
 * sodium_mprotect_noaccess(). A plain key in ordinary memory is the floor.
 *
 * seal/open of 64 bytes: rv_keystore_seal()/open() (key never exposed)
 * against crypto_aead_xchacha20poly1305_ietf_encrypt()/decrypt() with the
 * key in plain memory (the baseline) and under the mprotect idiom.
 *
 * save/load: a 16-key store sealed to a file under a raw key (atomic
 * replace with two fsyncs) and loaded back. */
#define _DEFAULT_SOURCE
#include <rivet/perf/bench.h>
#include <rivet/sec.h>

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MSG 64

struct ctx {
  rv_keystore *ks;
  uint8_t *guarded; /* sodium_malloc, PROT_NONE between uses */
  uint8_t plain[32];
  size_t n;
  uint8_t acc;
  uint8_t msg[MSG];
  uint8_t box[MSG + RV_KEYSTORE_SEAL_OVERHEAD];
  const char *path;
};

static int touch_key(void *c, const uint8_t *key, const rv_keystore_info *info) {
  struct ctx *x = c;
  x->acc ^= key[info->len - 1]; /* the work a caller does with the key */
  return 0;
}

static void use_ks(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    if (rv_keystore_use(c->ks, "k", touch_key, c) != 0) {
      abort();
    }
  }
  rv_bench_escape(&c->acc);
}

static void use_sodium(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    if (sodium_mprotect_readonly(c->guarded) != 0) {
      abort();
    }
    c->acc ^= c->guarded[31];
    if (sodium_mprotect_noaccess(c->guarded) != 0) {
      abort();
    }
  }
  rv_bench_escape(&c->acc);
}

static void use_plain(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    uint8_t k[32];
    memcpy(k, c->plain, sizeof k);
    c->acc ^= k[31];
    sodium_memzero(k, sizeof k);
  }
  rv_bench_escape(&c->acc);
}

static void seal_ks(void *arg) {
  struct ctx *c = arg;
  size_t len;
  for (size_t i = 0; i < c->n; i++) {
    if (rv_keystore_seal(c->ks, "k", NULL, 0, c->msg, MSG, c->box, sizeof c->box, &len) != 0) {
      abort();
    }
  }
  rv_bench_escape(c->box);
}

static void seal_plain(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    randombytes_buf(c->box, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(c->box + 24, NULL, c->msg, MSG, NULL, 0, NULL,
                                               c->box, c->plain);
  }
  rv_bench_escape(c->box);
}

static void seal_sodium(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    randombytes_buf(c->box, 24);
    if (sodium_mprotect_readonly(c->guarded) != 0) {
      abort();
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt(c->box + 24, NULL, c->msg, MSG, NULL, 0, NULL,
                                               c->box, c->guarded);
    if (sodium_mprotect_noaccess(c->guarded) != 0) {
      abort();
    }
  }
  rv_bench_escape(c->box);
}

static void open_ks(void *arg) {
  struct ctx *c = arg;
  uint8_t out[MSG];
  size_t len;
  for (size_t i = 0; i < c->n; i++) {
    if (rv_keystore_open(c->ks, "k", NULL, 0, c->box, sizeof c->box, out, sizeof out, &len) != 0) {
      abort();
    }
  }
  rv_bench_escape(out);
}

static void open_plain(void *arg) {
  struct ctx *c = arg;
  uint8_t out[MSG];
  for (size_t i = 0; i < c->n; i++) {
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, c->box + 24, MSG + 16, NULL, 0,
                                                   c->box, c->plain) != 0) {
      abort();
    }
  }
  rv_bench_escape(out);
}

static void save_ks(void *arg) {
  struct ctx *c = arg;
  static const uint8_t raw[32] = {1};
  rv_keystore_cred cred = {.key = raw};
  for (size_t i = 0; i < c->n; i++) {
    if (rv_keystore_save(c->ks, c->path, &cred, NULL) != 0) {
      abort();
    }
  }
}

static void load_ks(void *arg) {
  struct ctx *c = arg;
  static const uint8_t raw[32] = {1};
  rv_keystore_cred cred = {.key = raw};
  for (size_t i = 0; i < c->n; i++) {
    if (rv_keystore_load(c->ks, c->path, &cred, NULL) != 0) {
      abort();
    }
  }
}

/* Lookup timing: does the time of a lookup depend on where the name is
 * stored? Class 0 looks up the first of 64 stored names, class 1 a random
 * one of them; rv_keystore_info_get() against a naive first-match scan
 * with strcmp (what a simple table would do). */
#define NAMES 64
struct lookup {
  rv_keystore *ks;
  char names[NAMES][16];
  int naive;
  int sink;
};

static void lookup_prepare(void *ctx, int cls, uint8_t *input, size_t len, const uint8_t *random) {
  (void)ctx;
  (void)len;
  input[0] = cls == 0 ? 0 : (uint8_t)(random[0] % NAMES);
}

static void lookup_run(void *ctx, const uint8_t *input, size_t len) {
  struct lookup *l = ctx;
  (void)len;
  const char *q = l->names[input[0]];
  if (l->naive) {
    int i = 0;
    while (i < NAMES && strcmp(l->names[i], q) != 0) {
      i++;
    }
    l->sink += i;
  } else {
    rv_keystore_info info;
    l->sink += rv_keystore_info_get(l->ks, q, &info);
  }
  rv_bench_escape(&l->sink);
}

static void lookup_report(rv_keystore *ks, size_t n) {
  struct lookup l = {.ks = ks};
  for (int i = 0; i < NAMES; i++) {
    snprintf(l.names[i], sizeof l.names[i], "lookup-key-%02d", i);
    if (rv_keystore_generate(ks, l.names[i], RV_KEYSTORE_SYMMETRIC, 0) != 0) {
      exit(2);
    }
  }
  for (l.naive = 1; l.naive >= 0; l.naive--) {
    rv_timing_config tc = {.run = lookup_run,
                           .prepare = lookup_prepare,
                           .ctx = &l,
                           .input_len = 1,
                           .seed = 1,
                           .max_measurements = n,
                           .max_seconds = 30};
    rv_timing_result r;
    if (rv_timing_check(&tc, &r) != 0) {
      exit(2);
    }
    printf("lookup timing, first vs random of %d names: %-28s max |t| %7.2f over %zu "
           "measurements: %s\n",
           NAMES, l.naive ? "naive strcmp scan" : "rv_keystore (constant time)", r.max_t,
           r.measurements, rv_timing_verdict_name(r.verdict));
  }
  for (int i = 0; i < NAMES; i++) {
    (void)rv_keystore_remove(ks, l.names[i]);
  }
}

static rv_keystore *store(unsigned flags, const uint8_t key[32]) {
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.flags = flags};
  if (rv_keystore_create(&ks, &cfg) != 0 ||
      rv_keystore_add(ks, "k", RV_KEYSTORE_SYMMETRIC, key, 32) != 0) {
    fprintf(stderr, "bench-keystore: cannot create a key store\n");
    exit(2);
  }
  return ks;
}

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, "keystore", argc, argv, NULL) != 0) {
    return 2;
  }
  if (sodium_init() < 0) {
    return 2;
  }
  uint8_t key[32];
  randombytes_buf(key, sizeof key);
  rv_keystore *lk = store(RV_KEYSTORE_CACHE_SHIELD, key);
  lookup_report(lk, rv_bench_pick(b, 1000000, 20000));
  rv_keystore_destroy(lk);
  size_t n = rv_bench_pick(b, 2000, 50);
  struct ctx derive = {.ks = store(0, key), .n = n};
  struct ctx cached = {.ks = store(RV_KEYSTORE_CACHE_SHIELD, key), .n = n};
  struct ctx sod = {.n = n};
  struct ctx plain = {.n = n};
  memcpy(plain.plain, key, 32);
  sod.guarded = sodium_malloc(32);
  if (sod.guarded == NULL) {
    return 2;
  }
  memcpy(sod.guarded, key, 32);
  memcpy(sod.plain, key, 32);
  (void)sodium_mprotect_noaccess(sod.guarded);
  size_t len;
  if (rv_keystore_seal(cached.ks, "k", NULL, 0, cached.msg, MSG, cached.box, sizeof cached.box,
                       &len) != 0) {
    return 2;
  }
  memcpy(derive.box, cached.box, sizeof derive.box);
  memcpy(plain.box, cached.box, sizeof plain.box);

  /* A 16-key store for save/load. */
  char dir[] = "/tmp/rv-ksbench-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "%s/bench.rvks", dir);
  struct ctx file = {
      .ks = store(RV_KEYSTORE_CACHE_SHIELD, key), .n = rv_bench_pick(b, 20, 2), .path = path};
  for (int i = 0; i < 15; i++) {
    char name[16];
    snprintf(name, sizeof name, "key%02d", i);
    if (rv_keystore_generate(file.ks, name, i % 2 ? RV_KEYSTORE_ED25519 : RV_KEYSTORE_SYMMETRIC,
                             0) != 0) {
      return 2;
    }
  }
  save_ks(&file);
  struct ctx fileload = file;
  rv_keystore_config lc = {0};
  if (rv_keystore_create(&fileload.ks, &lc) != 0) {
    return 2;
  }

  const char *gu = "use cycle, 32-byte key";
  const char *gs = "seal 64 B";
  const char *go = "open 64 B";
  const char *gf = "file, 16 keys";
  rv_bench_case cases[] = {
      {.name = "sodium_malloc key + mprotect RO/NOACCESS",
       .group = gu,
       .fn = use_sodium,
       .ctx = &sod,
       .ops = n,
       .baseline = true},
      {.name = "plain key in memory (floor)",
       .group = gu,
       .fn = use_plain,
       .ctx = &plain,
       .ops = n},
      {.name = "rv_keystore_use (derive per use)",
       .group = gu,
       .fn = use_ks,
       .ctx = &derive,
       .ops = n},
      {.name = "rv_keystore_use (CACHE_SHIELD)",
       .group = gu,
       .fn = use_ks,
       .ctx = &cached,
       .ops = n},
      {.name = "xchacha20poly1305 plain key",
       .group = gs,
       .fn = seal_plain,
       .ctx = &plain,
       .ops = n,
       .baseline = true},
      {.name = "xchacha20poly1305 + mprotect RO/NOACCESS",
       .group = gs,
       .fn = seal_sodium,
       .ctx = &sod,
       .ops = n},
      {.name = "rv_keystore_seal (derive per use)",
       .group = gs,
       .fn = seal_ks,
       .ctx = &derive,
       .ops = n},
      {.name = "rv_keystore_seal (CACHE_SHIELD)",
       .group = gs,
       .fn = seal_ks,
       .ctx = &cached,
       .ops = n},
      {.name = "xchacha20poly1305 plain key",
       .group = go,
       .fn = open_plain,
       .ctx = &plain,
       .ops = n,
       .baseline = true},
      {.name = "rv_keystore_open (derive per use)",
       .group = go,
       .fn = open_ks,
       .ctx = &derive,
       .ops = n},
      {.name = "rv_keystore_open (CACHE_SHIELD)",
       .group = go,
       .fn = open_ks,
       .ctx = &cached,
       .ops = n},
      {.name = "rv_keystore_save (raw key, 2 fsyncs)",
       .group = gf,
       .fn = save_ks,
       .ctx = &file,
       .ops = file.n,
       .baseline = true},
      {.name = "rv_keystore_load (raw key)",
       .group = gf,
       .fn = load_ks,
       .ctx = &fileload,
       .ops = file.n},
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && rc == 0; i++) {
    rc = rv_bench_add(b, &cases[i]);
  }
  if (rc == 0) {
    rc = rv_bench_run(b);
  }
  rv_bench_destroy(b);
  rv_keystore_destroy(derive.ks);
  rv_keystore_destroy(cached.ks);
  rv_keystore_destroy(file.ks);
  rv_keystore_destroy(fileload.ks);
  sodium_free(sod.guarded);
  (void)unlink(path);
  (void)rmdir(dir);
  return rc == 0 ? 0 : 1;
}
