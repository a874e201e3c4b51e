/* keystore: a command-line key store over a sealed file (rivet-sec keystore).
 *
 *   keystore -f FILE [--passphrase-fd N] [--ops N --mem BYTES] COMMAND ARGS
 *
 * The passphrase comes from the terminal (/dev/tty, echo off) or from file
 * descriptor N (up to the first newline), never from the command line.
 * Every command that changes the store loads it, changes it in memory and
 * saves it atomically; a wrong passphrase or a damaged file stops before
 * anything is written. */
#define _GNU_SOURCE
#include <rivet/sec.h>

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASS_MAX ((size_t)1024)

static const char usage[] =
    "usage: keystore -f FILE [--passphrase-fd N] [--ops N] [--mem BYTES] COMMAND\n"
    "commands:\n"
    "  init                       create an empty store (FILE must not exist)\n"
    "  add NAME TYPE              store a key read as hex from stdin\n"
    "  gen NAME TYPE [LEN]        generate a key (LEN: bytes of a secret, default 32)\n"
    "  list                       name, type, length and version of every key\n"
    "  sign NAME [MSGFILE]        Ed25519 signature (hex) of MSGFILE or stdin\n"
    "  verify NAME SIGHEX [MSGFILE]  exit 0 if valid, 1 if not\n"
    "  export-public NAME         the Ed25519 public key, hex\n"
    "  rotate NAME                replace a key with a fresh one (version + 1)\n"
    "  rm NAME                    delete a key\n"
    "TYPE is sym (32-byte XChaCha20-Poly1305 key), ed25519 (64-byte secret key) or\n"
    "secret (1..4096 opaque bytes). --ops/--mem set the Argon2id cost when the\n"
    "file is created (default: libsodium's INTERACTIVE, 2 passes, 64 MiB).\n";

struct opts {
  const char *file;
  int pass_fd;
  unsigned long long ops;
  unsigned long long mem;
  rv_secmem *pool;
  char *pass; /* in secure memory */
  size_t pass_len;
};

static int fail(const char *what, int rc, const rv_diag *d) {
  if (d != NULL && d->msg != NULL && d->code == rc) {
    fprintf(stderr, "keystore: %s: %s (%s at byte %zu)\n", what, d->msg, rv_err_name(rc),
            d->offset);
  } else {
    fprintf(stderr, "keystore: %s: %s (%s)\n", what, rv_strerror(rc), rv_err_name(rc));
  }
  return 1;
}

/* Read a line into the secure buffer from fd, without the newline. */
static int read_line(int fd, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      return -1;
    }
    if (r == 0 || c == '\n') {
      break;
    }
    if (n + 1 >= cap) {
      return -1;
    }
    buf[n++] = c;
  }
  if (n > 0 && buf[n - 1] == '\r') {
    n--;
  }
  *len = n;
  return 0;
}

/* Prompt on the terminal with echo off. */
static int read_tty(const char *prompt, char *buf, size_t cap, size_t *len) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "keystore: no terminal for the passphrase; use --passphrase-fd N\n");
    return -1;
  }
  struct termios old;
  struct termios quiet;
  int have = tcgetattr(fd, &old) == 0;
  if (have) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    (void)tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!write(fd, prompt, strlen(prompt));
  int rc = read_line(fd, buf, cap, len);
  (void)!write(fd, "\n", 1);
  if (have) {
    (void)tcsetattr(fd, TCSAFLUSH, &old);
  }
  (void)close(fd);
  return rc;
}

static int get_pass(struct opts *o, int confirm) {
  if (rv_secmem_alloc(o->pool, 2 * PASS_MAX, (void **)&o->pass) != RV_OK) {
    fprintf(stderr, "keystore: no secure memory for the passphrase\n");
    return -1;
  }
  if (o->pass_fd >= 0) {
    if (read_line(o->pass_fd, o->pass, PASS_MAX, &o->pass_len) != 0) {
      fprintf(stderr, "keystore: cannot read the passphrase from fd %d\n", o->pass_fd);
      return -1;
    }
    return 0;
  }
  if (read_tty("passphrase: ", o->pass, PASS_MAX, &o->pass_len) != 0) {
    return -1;
  }
  if (confirm) {
    size_t n2 = 0;
    char *again = o->pass + PASS_MAX;
    if (read_tty("again: ", again, PASS_MAX, &n2) != 0) {
      return -1;
    }
    if (n2 != o->pass_len || !rv_ct_eq(again, o->pass, n2)) {
      fprintf(stderr, "keystore: the passphrases differ\n");
      return -1;
    }
  }
  return 0;
}

/* The Argon2id cost the file was sealed with (header bytes 16..31, see
 * docs/keystore-format.md), so that rewriting keeps it. */
static void file_cost(struct opts *o) {
  FILE *f = fopen(o->file, "rb");
  uint8_t h[32];
  if (f != NULL && fread(h, 1, sizeof h, f) == sizeof h) {
    o->ops = 0;
    o->mem = 0;
    for (int i = 7; i >= 0; i--) {
      o->ops = o->ops << 8 | h[16 + i];
      o->mem = o->mem << 8 | h[24 + i];
    }
  }
  if (f != NULL) {
    (void)fclose(f);
  }
}

static rv_keystore_cred cred_of(const struct opts *o) {
  rv_keystore_cred c = {.passphrase = o->pass, .passphrase_len = o->pass_len};
  c.opslimit = o->ops;
  c.memlimit = o->mem;
  return c;
}

static int parse_type(const char *s, rv_keystore_type *t) {
  if (strcmp(s, "sym") == 0) {
    *t = RV_KEYSTORE_SYMMETRIC;
  } else if (strcmp(s, "ed25519") == 0) {
    *t = RV_KEYSTORE_ED25519;
  } else if (strcmp(s, "secret") == 0) {
    *t = RV_KEYSTORE_SECRET;
  } else {
    return -1;
  }
  return 0;
}

static const char *type_name(rv_keystore_type t) {
  return t == RV_KEYSTORE_SYMMETRIC ? "sym" : t == RV_KEYSTORE_ED25519 ? "ed25519" : "secret";
}

static int print_key(void *ctx, const char *name, const rv_keystore_info *info) {
  (void)ctx;
  printf("%-24s %-8s %5zu bytes  v%u\n", name, type_name(info->type), info->len,
         (unsigned)info->version);
  return 0;
}

/* Read a whole stream (a message to sign) into malloc'd memory. */
static uint8_t *read_stream(FILE *f, size_t *len) {
  size_t cap = 4096;
  size_t n = 0;
  uint8_t *b = malloc(cap);
  while (b != NULL) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap) {
      break;
    }
    uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
    if (nb == NULL) {
      free(b);
      return NULL;
    }
    b = nb;
    cap *= 2;
  }
  *len = n;
  return b;
}

static uint8_t *read_message(const char *path, size_t *len) {
  FILE *f = path != NULL ? fopen(path, "rb") : stdin;
  if (f == NULL) {
    fprintf(stderr, "keystore: cannot open %s: %s\n", path, strerror(errno));
    return NULL;
  }
  uint8_t *m = read_stream(f, len);
  if (path != NULL) {
    (void)fclose(f);
  }
  if (m == NULL) {
    fprintf(stderr, "keystore: out of memory reading the message\n");
  }
  return m;
}

static void print_hex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    printf("%02x", b[i]);
  }
  printf("\n");
}

/* `add`: key material as hex on stdin, decoded into secure memory. */
static int cmd_add(struct opts *o, rv_keystore *ks, const char *name, rv_keystore_type t) {
  char *hex = NULL;
  uint8_t *key = NULL;
  int ret = 1;
  size_t hlen = 0;
  size_t klen = 0;
  if (rv_secmem_alloc(o->pool, (size_t)2 * RV_KEYSTORE_SECRET_MAX + 2, (void **)&hex) != RV_OK ||
      rv_secmem_alloc(o->pool, RV_KEYSTORE_SECRET_MAX, (void **)&key) != RV_OK) {
    fprintf(stderr, "keystore: no secure memory for the key\n");
    goto out;
  }
  if (read_line(0, hex, (size_t)2 * RV_KEYSTORE_SECRET_MAX + 2, &hlen) != 0 ||
      sodium_hex2bin(key, RV_KEYSTORE_SECRET_MAX, hex, hlen, " :", &klen, NULL) != 0 || klen == 0) {
    fprintf(stderr, "keystore: add: expected the key as hex on one line of stdin\n");
    goto out;
  }
  int rc = rv_keystore_add(ks, name, t, key, klen);
  if (rc != RV_OK) {
    (void)fail("add", rc, NULL);
    if (rc == RV_EINVAL) {
      fprintf(stderr, "keystore: (sym keys are 32 bytes, ed25519 secret keys 64)\n");
    }
    goto out;
  }
  ret = 0;
out:
  (void)rv_secmem_free(o->pool, hex); /* wipes */
  (void)rv_secmem_free(o->pool, key);
  return ret;
}

static int run(struct opts *o, int argc, char **argv) {
  const char *cmd = argv[0];
  int init = strcmp(cmd, "init") == 0;
  int writes = init || strcmp(cmd, "add") == 0 || strcmp(cmd, "gen") == 0 ||
               strcmp(cmd, "rotate") == 0 || strcmp(cmd, "rm") == 0;
  struct {
    const char *name;
    int min;
    int max;
  } arity[] = {{"init", 1, 1},          {"add", 3, 3},    {"gen", 3, 4},
               {"list", 1, 1},          {"sign", 2, 3},   {"verify", 3, 4},
               {"export-public", 2, 2}, {"rotate", 2, 2}, {"rm", 2, 2}};
  int known = 0;
  for (size_t i = 0; i < sizeof arity / sizeof arity[0]; i++) {
    if (strcmp(cmd, arity[i].name) == 0) {
      known = 1;
      if (argc < arity[i].min || argc > arity[i].max) {
        fprintf(stderr, "keystore: %s: wrong number of arguments\n%s", cmd, usage);
        return 2;
      }
    }
  }
  if (!known) {
    fprintf(stderr, "keystore: unknown command '%s'\n%s", cmd, usage);
    return 2;
  }
  rv_keystore_type t = RV_KEYSTORE_SECRET;
  if ((strcmp(cmd, "add") == 0 || strcmp(cmd, "gen") == 0) && parse_type(argv[2], &t) != 0) {
    fprintf(stderr, "keystore: unknown key type '%s' (sym, ed25519, secret)\n%s", argv[2], usage);
    return 2;
  }
  if (init && access(o->file, F_OK) == 0) {
    fprintf(stderr, "keystore: init: %s exists; not overwriting it\n", o->file);
    return 1;
  }
  if (get_pass(o, init) != 0) {
    return 1;
  }
  rv_keystore *ks = NULL;
  int rc = rv_keystore_create(&ks, NULL);
  if (rc != RV_OK) {
    return fail("cannot create a key store", rc, NULL);
  }
  int ret = 1;
  rv_diag d = {0};
  rv_keystore_cred cred = cred_of(o);
  if (!init) {
    rc = rv_keystore_load(ks, o->file, &cred, &d);
    if (rc != RV_OK) {
      char what[600];
      snprintf(what, sizeof what, "load %s", o->file);
      ret = fail(what, rc, &d);
      goto out;
    }
    file_cost(o);
    cred = cred_of(o);
  }
  const char *name = argc > 1 ? argv[1] : NULL;
  rc = RV_OK;
  if (strcmp(cmd, "add") == 0) {
    if (cmd_add(o, ks, name, t) != 0) {
      goto out;
    }
  } else if (strcmp(cmd, "gen") == 0) {
    char *end = NULL;
    unsigned long len = argc > 3 ? strtoul(argv[3], &end, 10) : 32;
    if (argc > 3 && (*end != '\0' || len == 0 || len > RV_KEYSTORE_SECRET_MAX)) {
      fprintf(stderr, "keystore: gen: LEN must be 1..%u\n", RV_KEYSTORE_SECRET_MAX);
      goto out;
    }
    rc = rv_keystore_generate(ks, name, t, len);
  } else if (strcmp(cmd, "list") == 0) {
    rc = rv_keystore_list(ks, print_key, NULL);
  } else if (strcmp(cmd, "rotate") == 0) {
    rc = rv_keystore_rotate(ks, name);
  } else if (strcmp(cmd, "rm") == 0) {
    rc = rv_keystore_remove(ks, name);
  } else if (strcmp(cmd, "export-public") == 0) {
    uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
    rc = rv_keystore_public_key(ks, name, pk);
    if (rc == RV_OK) {
      print_hex(pk, sizeof pk);
    }
  } else if (strcmp(cmd, "sign") == 0 || strcmp(cmd, "verify") == 0) {
    int sign = cmd[0] == 's';
    size_t mlen = 0;
    uint8_t sig[RV_KEYSTORE_SIGNATURE_BYTES];
    size_t slen = 0;
    if (!sign &&
        (sodium_hex2bin(sig, sizeof sig, argv[2], strlen(argv[2]), NULL, &slen, NULL) != 0 ||
         slen != sizeof sig)) {
      fprintf(stderr, "keystore: verify: SIGHEX must be 128 hex digits\n");
      goto out;
    }
    uint8_t *msg = read_message(argc > (sign ? 2 : 3) ? argv[sign ? 2 : 3] : NULL, &mlen);
    if (msg == NULL) {
      goto out;
    }
    if (sign) {
      rc = rv_keystore_sign(ks, name, msg, mlen, sig);
      if (rc == RV_OK) {
        print_hex(sig, sizeof sig);
      }
    } else {
      rc = rv_keystore_verify(ks, name, msg, mlen, sig);
      if (rc == RV_EVERIFY) {
        printf("signature INVALID\n");
        free(msg);
        goto out;
      }
      if (rc == RV_OK) {
        printf("signature valid\n");
      }
    }
    free(msg);
  }
  if (rc != RV_OK) {
    ret = fail(cmd, rc, NULL);
    goto out;
  }
  if (writes) {
    rc = rv_keystore_save(ks, o->file, &cred, &d);
    if (rc != RV_OK) {
      char what[600];
      snprintf(what, sizeof what, "save %s", o->file);
      ret = fail(what, rc, &d);
      goto out;
    }
  }
  ret = 0;
out:
  rv_keystore_destroy(ks);
  return ret;
}

int main(int argc, char **argv) {
  struct opts o = {.pass_fd = -1};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "keystore: %s needs a value\n%s", a, usage);
      return 2;
    }
    char *end = NULL;
    if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
      o.file = argv[++i];
      continue;
    }
    unsigned long long v = strtoull(argv[i + 1], &end, 10);
    if (*end != '\0' || argv[i + 1][0] == '\0') {
      fprintf(stderr, "keystore: %s: not a number: %s\n%s", a, argv[i + 1], usage);
      return 2;
    }
    i++;
    if (strcmp(a, "--passphrase-fd") == 0 && v <= 1024) {
      o.pass_fd = (int)v;
    } else if (strcmp(a, "--ops") == 0) {
      o.ops = v;
    } else if (strcmp(a, "--mem") == 0) {
      o.mem = v;
    } else {
      fprintf(stderr, "keystore: unknown option %s\n%s", a, usage);
      return 2;
    }
  }
  if (o.file == NULL || i >= argc) {
    fprintf(stderr, "%s", usage);
    return 2;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "keystore: libsodium failed to initialise\n");
    return 1;
  }
  int rc = rv_secmem_create(&o.pool, NULL);
  if (rc != RV_OK) {
    return fail("secure memory", rc, NULL);
  }
  int ret = run(&o, argc - i, argv + i);
  rv_secmem_destroy(o.pool); /* wipes the passphrase */
  return ret;
}
