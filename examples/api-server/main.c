/* api-server: the device-registry and telemetry API (see README.md).
 *
 *   api-server [serve] [OPTIONS]              run the server
 *   api-server keygen [--type hs256|ed25519] [--rotate] [OPTIONS]
 *   api-server token --sub NAME [--scope S[,S..]] [--ttl 1h] [OPTIONS]
 *
 * OPTIONS are `--config FILE` and every setting of config.c (--help lists
 * them). Exit codes: 0 ok, 1 runtime error, 2 usage error. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rivet/core/err.h>

#include "config.h"
#include "srv.h"

#define TOKEN_TTL_MAX_S ((uint64_t)366 * 86400)

static const char usage_head[] =
    "usage: api-server [serve] [OPTIONS]\n"
    "       api-server keygen [--type hs256|ed25519] [--rotate] [OPTIONS]\n"
    "       api-server token --sub NAME [--scope read|write|admin[,...]] [--ttl DURATION] "
    "[OPTIONS]\n"
    "       api-server --help | --version\n"
    "\n"
    "serve   run the HTTP API until SIGTERM or SIGINT (drains, then exits 0)\n"
    "keygen  create the keystore file (or add to it) with the token signing key;\n"
    "        --type hs256 (default: a 32-byte HMAC key) or ed25519 (the server then\n"
    "        holds only the public key); --rotate replaces an existing key (version+1:\n"
    "        tokens signed with the old version stop working)\n"
    "token   print a JWT for --sub NAME with --scope (default read; admin implies\n"
    "        write, write implies read), valid --ttl (default 1h, at most 366d),\n"
    "        signed with the keystore's key; kid = <key_name>.v<version>\n"
    "\n"
    "The keystore passphrase comes from --passphrase-file FILE or the environment\n"
    "variable API_SERVER_PASSPHRASE, never from a flag's value.\n"
    "Exit codes: 0 ok, 1 runtime error, 2 usage error (bad flag or config file).\n"
    "\n"
    "options (each is also a config file key: `listen_port = 8080`; flags win):\n"
    "  --config FILE                    read settings from FILE first [default: none]\n";

static int usage_error(const char *msg) {
  fprintf(stderr, "api-server: %s\n", msg);
  fprintf(stderr, "run 'api-server --help' for the options\n");
  return SRV_EXIT_USAGE;
}

/* A failed srv_pass_read(): no passphrase source configured (RV_ENOTFOUND)
 * is a usage error, anything else (unreadable file, ...) a runtime one. */
static int pass_error(int rc, const char *err) {
  fprintf(stderr, "api-server: %s\n", err);
  return rc == RV_ENOTFOUND ? SRV_EXIT_USAGE : SRV_EXIT_RUNTIME;
}

static int runtime_error(const char *err) {
  fprintf(stderr, "api-server: %s\n", err);
  return SRV_EXIT_RUNTIME;
}

typedef struct cmd_opts {
  const char *cmd;
  /* keygen */
  const char *type;
  bool rotate;
  /* token */
  const char *sub;
  const char *scope;
  const char *ttl;
} cmd_opts;

/* A subcommand's own flag at argv[*i]; 1 if consumed, 0 if not ours, -1 on error. */
static int cmd_flag(cmd_opts *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  const char **slot = NULL;
  if (strcmp(o->cmd, "keygen") == 0) {
    if (strcmp(a, "--rotate") == 0) {
      o->rotate = true;
      return 1;
    }
    if (strcmp(a, "--type") == 0) {
      slot = &o->type;
    }
  } else if (strcmp(o->cmd, "token") == 0) {
    if (strcmp(a, "--sub") == 0) {
      slot = &o->sub;
    } else if (strcmp(a, "--scope") == 0) {
      slot = &o->scope;
    } else if (strcmp(a, "--ttl") == 0) {
      slot = &o->ttl;
    }
  }
  if (slot == NULL) {
    return 0;
  }
  if (*i + 1 >= argc) {
    fprintf(stderr, "api-server: %s: missing value\n", a);
    return -1;
  }
  *i += 1;
  *slot = argv[*i];
  return 1;
}

/* "read,admin" -> "read admin" (each of read|write|admin at most once). */
static int parse_scope(const char *in, char *out, size_t cap) {
  static const char *const names[] = {"read", "write", "admin"};
  bool seen[3] = {false, false, false};
  size_t len = 0;
  const char *p = in;
  out[0] = '\0';
  for (;;) {
    size_t n = strcspn(p, ",");
    size_t k = 0;
    while (k < 3 && !(strlen(names[k]) == n && memcmp(names[k], p, n) == 0)) {
      k++;
    }
    if (k == 3 || seen[k] || len + n + 2 > cap) {
      return RV_EINVAL;
    }
    seen[k] = true;
    if (len > 0) {
      out[len++] = ' ';
    }
    memcpy(out + len, p, n);
    len += n;
    out[len] = '\0';
    if (p[n] == '\0') {
      return RV_OK;
    }
    p += n + 1;
  }
}

static bool valid_sub(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
      return false;
    }
  }
  return true;
}

static int do_keygen(const srv_config *cfg, const cmd_opts *o) {
  rv_keystore_type type = RV_KEYSTORE_SYMMETRIC;
  if (o->type == NULL || strcmp(o->type, "hs256") == 0) {
    type = RV_KEYSTORE_SYMMETRIC;
  } else if (strcmp(o->type, "ed25519") == 0) {
    type = RV_KEYSTORE_ED25519;
  } else {
    return usage_error("--type: expected hs256 or ed25519");
  }
  char err[SRV_ERR_MAX];
  srv_pass pass;
  int rc = srv_pass_read(cfg, &pass, err);
  if (rc != RV_OK) {
    return pass_error(rc, err);
  }
  rv_keystore *ks = NULL;
  struct stat st;
  bool exists = stat(cfg->keystore, &st) == 0;
  rc = exists ? srv_keystore_load(cfg, &pass, &ks, err) : srv_keystore_new(&ks, err);
  int code = SRV_EXIT_RUNTIME;
  if (rc != RV_OK) {
    fprintf(stderr, "api-server: %s\n", err);
    goto done;
  }
  rv_keystore_info info;
  bool have = rv_keystore_info_get(ks, cfg->key_name, &info) == RV_OK;
  if (have && !o->rotate) {
    fprintf(stderr, "api-server: %s already holds a key named '%s' (--rotate replaces it)\n",
            cfg->keystore, cfg->key_name);
    goto done;
  }
  if (!have && o->rotate) {
    fprintf(stderr, "api-server: --rotate: %s holds no key named '%s'\n", cfg->keystore,
            cfg->key_name);
    goto done;
  }
  if (have && info.type != type && o->type != NULL) {
    fprintf(stderr, "api-server: --rotate keeps the key's type; '%s' is not %s\n", cfg->key_name,
            o->type);
    goto done;
  }
  rc = have ? rv_keystore_rotate(ks, cfg->key_name)
            : rv_keystore_generate(ks, cfg->key_name, type, 0);
  if (rc != RV_OK) {
    fprintf(stderr, "api-server: cannot generate key '%s': %s (%s)\n", cfg->key_name,
            rv_strerror(rc), rv_err_name(rc));
    goto done;
  }
  rv_keystore_cred cred = {.passphrase = pass.buf, .passphrase_len = pass.len};
  rv_diag d = {0};
  rc = rv_keystore_save(ks, cfg->keystore, &cred, &d);
  if (rc != RV_OK) {
    fprintf(stderr, "api-server: cannot save %s: %s (%s)\n", cfg->keystore,
            d.msg != NULL ? d.msg : rv_strerror(rc), rv_err_name(rc));
    goto done;
  }
  char kid[RV_JWT_KID_MAX + 1];
  rv_jwt_alg alg = RV_JWT_HS256;
  if (srv_key_id(cfg, ks, kid, &alg, err) != RV_OK) {
    fprintf(stderr, "api-server: %s\n", err);
    goto done;
  }
  printf("%s key %s (%s) in %s\n", have ? "rotated" : "created", kid,
         alg == RV_JWT_HS256 ? "HS256" : "EdDSA", cfg->keystore);
  code = SRV_EXIT_OK;
done:
  rv_keystore_destroy(ks);
  srv_pass_free(&pass);
  return code;
}

static int do_token(const srv_config *cfg, const cmd_opts *o) {
  if (o->sub == NULL) {
    return usage_error("token: --sub NAME is required");
  }
  if (!valid_sub(o->sub)) {
    return usage_error("--sub: 1 to 128 bytes without control characters");
  }
  char scope[32];
  if (parse_scope(o->scope != NULL ? o->scope : "read", scope, sizeof scope) != RV_OK) {
    return usage_error("--scope: a comma-separated list of read, write, admin (each once)");
  }
  uint64_t ttl_ms = 3600000;
  if (o->ttl != NULL && (srv_parse_duration_ms(o->ttl, &ttl_ms) != RV_OK || ttl_ms < 1000 ||
                         ttl_ms / 1000 > TOKEN_TTL_MAX_S)) {
    return usage_error("--ttl: a duration from 1s to 366d, such as 15m, 1h or 30d");
  }
  char err[SRV_ERR_MAX];
  srv_pass pass;
  int rc = srv_pass_read(cfg, &pass, err);
  if (rc != RV_OK) {
    return pass_error(rc, err);
  }
  rv_keystore *ks = NULL;
  char *token = NULL;
  rc = srv_keystore_load(cfg, &pass, &ks, err);
  srv_pass_free(&pass);
  if (rc == RV_OK) {
    rc = srv_token_issue(cfg, ks, o->sub, scope, (int64_t)(ttl_ms / 1000), &token, err);
  }
  rv_keystore_destroy(ks);
  if (rc != RV_OK) {
    return runtime_error(err);
  }
  printf("%s\n", token);
  free(token);
  return fflush(stdout) == 0 ? SRV_EXIT_OK : SRV_EXIT_RUNTIME;
}

static bool is_config_flag(const char *a) {
  return a != NULL && (strcmp(a, "--config") == 0 || strncmp(a, "--config=", 9) == 0);
}

int main(int argc, char **argv) {
  cmd_opts o = {.cmd = "serve"};
  int first = 1;
  if (argc > 1 && argv[1][0] != '-') {
    o.cmd = argv[1];
    first = 2;
    if (strcmp(o.cmd, "serve") != 0 && strcmp(o.cmd, "keygen") != 0 &&
        strcmp(o.cmd, "token") != 0) {
      char msg[160];
      (void)snprintf(msg, sizeof msg, "unknown command '%.64s' (serve, keygen, token)", o.cmd);
      return usage_error(msg);
    }
  }
  /* Pass 1: --help, --version, --config (the file goes under the flags). */
  const char *config_path = NULL;
  for (int i = first; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_head, stdout);
      srv_config_usage(stdout);
      return SRV_EXIT_OK;
    }
    if (strcmp(argv[i], "--version") == 0) {
      puts("api-server 0.1.0");
      return SRV_EXIT_OK;
    }
    if (is_config_flag(argv[i])) {
      if (config_path != NULL) {
        return usage_error("--config: given twice");
      }
      if (argv[i][8] == '=') {
        config_path = argv[i] + 9;
      } else if (i + 1 < argc) {
        config_path = argv[++i];
      } else {
        return usage_error("--config: missing value");
      }
    }
  }
  srv_config cfg;
  if (srv_config_init(&cfg) != RV_OK) {
    fprintf(stderr, "api-server: out of memory\n");
    return SRV_EXIT_RUNTIME;
  }
  char err[SRV_ERR_MAX];
  int code = SRV_EXIT_USAGE;
  if (config_path != NULL && srv_config_load_file(&cfg, config_path, err) != RV_OK) {
    fprintf(stderr, "api-server: %s\n", err);
    goto done;
  }
  /* Pass 2: flags, over the file. */
  for (int i = first; i < argc; i++) {
    if (is_config_flag(argv[i])) {
      i += argv[i][8] == '=' ? 0 : 1;
      continue;
    }
    int r = cmd_flag(&o, argc, argv, &i);
    if (r < 0) {
      goto done;
    }
    if (r > 0) {
      continue;
    }
    if (strncmp(argv[i], "--", 2) != 0) {
      char msg[160];
      (void)snprintf(msg, sizeof msg, "unexpected argument '%.64s'", argv[i]);
      code = usage_error(msg);
      goto done;
    }
    if (srv_config_flag(&cfg, argc, argv, &i, err) != RV_OK) {
      code = usage_error(err);
      goto done;
    }
  }
  if (strcmp(o.cmd, "keygen") == 0) {
    code = do_keygen(&cfg, &o);
  } else if (strcmp(o.cmd, "token") == 0) {
    code = do_token(&cfg, &o);
  } else {
    code = srv_serve(&cfg);
  }
done:
  srv_config_free(&cfg);
  return code;
}
