/* srv.h: the api-server program's parts (keys.c, serve.c), shared by main.c.
 *
 * Exit codes of the program: 0 success, 1 runtime error (cannot open the
 * keystore or the database, cannot listen, a worker failed), 2 usage
 * error (bad flag, bad config file, missing passphrase source). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/sec/jwt.h>
#include <rivet/sec/keystore.h>
#include <rivet/sec/secmem.h>

#include "config.h"

#define SRV_EXIT_OK 0
#define SRV_EXIT_RUNTIME 1
#define SRV_EXIT_USAGE 2

/** Environment variable holding the keystore passphrase. */
#define SRV_PASSPHRASE_ENV "API_SERVER_PASSPHRASE"

/** Longest passphrase accepted, in bytes. */
#define SRV_PASS_MAX 1024u

/** A passphrase held in secure memory. */
typedef struct srv_pass {
  rv_secmem *pool;
  char *buf; /* SRV_PASS_MAX bytes of secure memory */
  size_t len;
} srv_pass;

/**
 * Read the passphrase from cfg->passphrase_file (its first line) or the
 * environment variable (wiped from the environment once read).
 * \return 0; #RV_ENOTFOUND (no source configured, and only then: a
 *         usage error); #RV_EIO (cannot
 *         read the file); #RV_ELIMIT (too long); an error of secmem.
 */
int srv_pass_read(const srv_config *cfg, srv_pass *p, char *err);
/** Wipe and free (zeroed \p p allowed). */
void srv_pass_free(srv_pass *p);

/** Create an empty keystore object (no file involved). */
int srv_keystore_new(rv_keystore **ks, char *err);
/** Load cfg->keystore with the passphrase. */
int srv_keystore_load(const srv_config *cfg, const srv_pass *p, rv_keystore **ks, char *err);

/**
 * The signing key's id for tokens: "<key_name>.v<version>" into \p kid
 * (room for #RV_JWT_KID_MAX + 1 bytes), and its JWT algorithm.
 * \return 0, #RV_ENOTFOUND (no such key), #RV_EUNSUPPORTED (a key type
 *         that cannot sign tokens).
 */
int srv_key_id(const srv_config *cfg, rv_keystore *ks, char *kid, rv_jwt_alg *alg, char *err);

/**
 * A verifier with the signing key pinned under its kid: an HS256 secret
 * copied from the keystore into the verifier's secure memory, or only the
 * public half of an Ed25519 key.
 */
int srv_verifier_create(const srv_config *cfg, rv_keystore *ks, rv_jwt_verifier **out, char *err);

/**
 * Issue a token for \p sub with \p scope (space-separated) valid for
 * \p ttl_s seconds from now; \p out (malloc'd, NUL-terminated) receives it.
 */
int srv_token_issue(const srv_config *cfg, rv_keystore *ks, const char *sub, const char *scope,
                    int64_t ttl_s, char **out, char *err);

/** Run the server until SIGTERM/SIGINT. \return an exit code. */
int srv_serve(const srv_config *cfg);
