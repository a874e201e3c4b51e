/* keys.c: the keystore passphrase, the signing key, token issuing and the
 * verifier with the key pinned.
 *
 * The passphrase never comes from the command line (argv is visible to
 * every user through /proc): it is read from a file or from the
 * environment, kept in secure memory and wiped after use. Key material is
 * only ever seen inside rv_keystore_use() callbacks. */
#define _GNU_SOURCE
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include <rivet/core/err.h>

static void errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(char *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(err, SRV_ERR_MAX, fmt, ap);
  va_end(ap);
}

/* The first line of fd into buf (at most cap - 1 bytes), without "\n" or "\r\n". */
static int read_first_line(int fd, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      return RV_EIO;
    }
    if (r == 0 || c == '\n') {
      break;
    }
    if (n + 1 >= cap) {
      return RV_ELIMIT;
    }
    buf[n++] = c;
  }
  if (n > 0 && buf[n - 1] == '\r') {
    n--;
  }
  *len = n;
  return RV_OK;
}

int srv_pass_read(const srv_config *cfg, srv_pass *p, char *err) {
  memset(p, 0, sizeof *p);
  const char *env = getenv(SRV_PASSPHRASE_ENV);
  if (cfg->passphrase_file == NULL && env == NULL) {
    errf(err, "no keystore passphrase: set %s or give --passphrase-file FILE", SRV_PASSPHRASE_ENV);
    return RV_ENOTFOUND;
  }
  int rc = rv_secmem_create(&p->pool, &(rv_secmem_config){0});
  if (rc == RV_OK) {
    rc = rv_secmem_alloc(p->pool, SRV_PASS_MAX, (void **)&p->buf);
  }
  if (rc != RV_OK) {
    char why[200] = "";
    if (p->pool != NULL) {
      (void)rv_secmem_last_error(p->pool, why, sizeof why);
    }
    errf(err, "no secure memory for the passphrase: %s %s", rv_strerror(rc), why);
    goto fail;
  }
  if (cfg->passphrase_file != NULL) {
    int fd = open(cfg->passphrase_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      errf(err, "%s: %s", cfg->passphrase_file, strerror(errno));
      rc = RV_EIO;
      goto fail;
    }
    rc = read_first_line(fd, p->buf, SRV_PASS_MAX, &p->len);
    (void)close(fd);
    if (rc != RV_OK) {
      errf(err, "%s: %s", cfg->passphrase_file,
           rc == RV_ELIMIT ? "passphrase longer than 1023 bytes" : "read error");
      goto fail;
    }
  } else {
    size_t n = strlen(env);
    if (n >= SRV_PASS_MAX) {
      errf(err, "%s: passphrase longer than 1023 bytes", SRV_PASSPHRASE_ENV);
      rc = RV_ELIMIT;
      goto fail;
    }
    memcpy(p->buf, env, n);
    p->len = n;
    /* getenv() points into the process's environment block (what
     * /proc/PID/environ shows): wipe it there, then drop the variable so
     * child processes do not inherit it. */
    sodium_memzero((char *)env, n);
    (void)unsetenv(SRV_PASSPHRASE_ENV);
  }
  if (p->len == 0) {
    errf(err, "the keystore passphrase is empty");
    rc = RV_EINVAL;
    goto fail;
  }
  return RV_OK;
fail:
  srv_pass_free(p);
  return rc;
}

void srv_pass_free(srv_pass *p) {
  if (p->buf != NULL) {
    (void)rv_secmem_free(p->pool, p->buf); /* wipes */
  }
  rv_secmem_destroy(p->pool);
  memset(p, 0, sizeof *p);
}

int srv_keystore_new(rv_keystore **ks, char *err) {
  int rc = rv_keystore_create(ks, NULL);
  if (rc != RV_OK) {
    errf(err, "cannot create a keystore: %s (%s)%s", rv_strerror(rc), rv_err_name(rc),
         rc == RV_EPERM ? "; raise RLIMIT_MEMLOCK (ulimit -l)" : "");
  }
  return rc;
}

int srv_keystore_load(const srv_config *cfg, const srv_pass *p, rv_keystore **ks, char *err) {
  int rc = srv_keystore_new(ks, err);
  if (rc != RV_OK) {
    return rc;
  }
  rv_keystore_cred cred = {.passphrase = p->buf, .passphrase_len = p->len};
  rv_diag d = {0};
  rc = rv_keystore_load(*ks, cfg->keystore, &cred, &d);
  if (rc != RV_OK) {
    if (rc == RV_EVERIFY) {
      errf(err, "%s: wrong passphrase, or the file was altered", cfg->keystore);
    } else if (rc == RV_ENOTFOUND) {
      errf(err, "%s: no such file (create it with: api-server keygen)", cfg->keystore);
    } else {
      errf(err, "%s: %s (%s)", cfg->keystore, d.msg != NULL ? d.msg : rv_strerror(rc),
           rv_err_name(rc));
    }
    rv_keystore_destroy(*ks);
    *ks = NULL;
  }
  return rc;
}

int srv_key_id(const srv_config *cfg, rv_keystore *ks, char *kid, rv_jwt_alg *alg, char *err) {
  rv_keystore_info info;
  int rc = rv_keystore_info_get(ks, cfg->key_name, &info);
  if (rc != RV_OK) {
    errf(err, "%s: no key named '%s' (create it with: api-server keygen)", cfg->keystore,
         cfg->key_name);
    return rc;
  }
  if (info.type == RV_KEYSTORE_SYMMETRIC) {
    *alg = RV_JWT_HS256;
  } else if (info.type == RV_KEYSTORE_ED25519) {
    *alg = RV_JWT_EDDSA;
  } else {
    errf(err, "key '%s' is an opaque secret: tokens need a symmetric (hs256) or ed25519 key",
         cfg->key_name);
    return RV_EUNSUPPORTED;
  }
  int n = snprintf(kid, RV_JWT_KID_MAX + 1, "%s.v%u", cfg->key_name, (unsigned)info.version);
  if (n < 0 || (size_t)n > RV_JWT_KID_MAX) {
    errf(err, "key name too long for a kid");
    return RV_EINVAL;
  }
  return RV_OK;
}

typedef struct pin_ctx {
  rv_jwt_verifier *v;
  const char *kid;
} pin_ctx;

/* rv_keystore_use() callback: copy the HS256 secret into the verifier
 * (which keeps it in its own secure memory). */
static int pin_hs256(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  const pin_ctx *c = ctx;
  return rv_jwt_verifier_add_key(c->v, c->kid, RV_JWT_HS256, key, info->len);
}

int srv_verifier_create(const srv_config *cfg, rv_keystore *ks, rv_jwt_verifier **out, char *err) {
  char kid[RV_JWT_KID_MAX + 1];
  rv_jwt_alg alg = RV_JWT_HS256;
  int rc = srv_key_id(cfg, ks, kid, &alg, err);
  if (rc != RV_OK) {
    return rc;
  }
  rv_jwt_config jc = {
      .issuer = cfg->jwt_issuer,
      .audience = cfg->jwt_audience,
      .leeway = (int64_t)(cfg->jwt_leeway_ms / 1000u),
      .required = RV_JWT_REQUIRE_IAT | RV_JWT_REQUIRE_SUB | RV_JWT_REQUIRE_JTI,
  };
  rv_jwt_verifier *v = NULL;
  rc = rv_jwt_verifier_create(&v, &jc);
  if (rc != RV_OK) {
    errf(err, "cannot create the token verifier: %s (%s)", rv_strerror(rc), rv_err_name(rc));
    return rc;
  }
  if (alg == RV_JWT_HS256) {
    pin_ctx pc = {v, kid};
    rc = rv_keystore_use(ks, cfg->key_name, pin_hs256, &pc);
  } else {
    uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
    rc = rv_keystore_public_key(ks, cfg->key_name, pk);
    if (rc == RV_OK) {
      rc = rv_jwt_verifier_add_key(v, kid, RV_JWT_EDDSA, pk, sizeof pk);
    }
  }
  if (rc != RV_OK) {
    errf(err, "cannot pin key '%s': %s (%s)", kid, rv_strerror(rc), rv_err_name(rc));
    rv_jwt_verifier_destroy(v);
    return rc;
  }
  *out = v;
  return RV_OK;
}

typedef struct sign_ctx {
  rv_jwt_alg alg;
  const char *kid;
  const char *claims;
  size_t claims_len;
  char *out;
  size_t cap;
  size_t len;
} sign_ctx;

static int sign_cb(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  sign_ctx *c = ctx;
  return rv_jwt_sign(c->alg, c->kid, key, info->len, c->claims, c->claims_len, c->out, c->cap,
                     &c->len);
}

int srv_token_issue(const srv_config *cfg, rv_keystore *ks, const char *sub, const char *scope,
                    int64_t ttl_s, char **out, char *err) {
  char kid[RV_JWT_KID_MAX + 1];
  sign_ctx sc = {.kid = kid};
  int rc = srv_key_id(cfg, ks, kid, &sc.alg, err);
  if (rc != RV_OK) {
    return rc;
  }
  uint8_t rnd[16];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    errf(err, "getrandom: %s", strerror(errno));
    return RV_EIO;
  }
  char jti[2 * sizeof rnd + 1];
  for (size_t i = 0; i < sizeof rnd; i++) {
    (void)snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
  }
  int64_t now = (int64_t)time(NULL);
  json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", cfg->jwt_issuer, "aud",
                             cfg->jwt_audience, "sub", sub, "jti", jti, "iat", (json_int_t)now,
                             "exp", (json_int_t)now + (json_int_t)ttl_s, "scope", scope);
  char *text = claims != NULL ? json_dumps(claims, JSON_COMPACT) : NULL;
  json_decref(claims);
  if (text == NULL) {
    errf(err, "cannot build the claims (is the subject valid UTF-8?)");
    return RV_EINVAL;
  }
  sc.claims = text;
  sc.claims_len = strlen(text);
  /* First measure (cap 0), then sign into a buffer of the right size. */
  rc = rv_keystore_use(ks, cfg->key_name, sign_cb, &sc);
  if (rc == RV_ENOMEM && sc.len > 0) {
    sc.cap = sc.len + 1;
    sc.out = malloc(sc.cap);
    rc = sc.out == NULL ? RV_ENOMEM : rv_keystore_use(ks, cfg->key_name, sign_cb, &sc);
  }
  free(text);
  if (rc != RV_OK) {
    free(sc.out);
    errf(err, "cannot sign the token: %s (%s)", rv_strerror(rc), rv_err_name(rc));
    return rc;
  }
  *out = sc.out;
  return RV_OK;
}
