/* config.h: api-server's settings, from defaults, a config file and flags.
 *
 * Every setting has one name, used as the key in the config file
 * (`listen_port = 8080`) and, with `_` written `-`, as a flag
 * (`--listen-port 8080` or `--listen-port=8080`). Booleans also take
 * `--NAME` / `--no-NAME` without a value. Precedence: defaults, then the
 * file given by `--config FILE`, then flags (flags win).
 *
 * File syntax: one `key = value` per line; blank lines and lines whose
 * first non-blank character is `#` are ignored; the value runs to the end
 * of the line (surrounding blanks trimmed, no quoting, no trailing
 * comments). An unknown key, a bad value or a key given twice is an error
 * naming FILE:LINE.
 *
 * Value syntax by type: integers in decimal; sizes with an optional K, M or
 * G suffix (powers of 1024); durations with a unit (`500ms`, `30s`, `5m`,
 * `1h`, `7d`); booleans `true|false|yes|no|on|off|1|0`; log levels as
 * rv_log_level_parse().
 *
 * Not thread-safe; filled once at start-up, read-only afterwards.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rivet/core/log.h>

#include "app.h"

/** Room for an error message ("FILE:LINE: ..."). */
#define SRV_ERR_MAX 512u

/** Every setting of the program. Strings are owned (srv_config_free()). */
typedef struct srv_config {
  /* listening */
  char *listen_host;    /**< IPv4 address to bind */
  uint16_t listen_port; /**< 0 = any free port (the "listening" log line says which) */
  uint64_t workers;     /**< worker threads, each with its own loop and store */
  uint64_t max_conns;   /**< per worker; 0 = no limit */
  /* storage */
  char *db_path;       /**< SQLite database file */
  uint64_t db_busy_ms; /**< wait for the write lock this long before 503 busy */
  /* keys and tokens */
  char *keystore;         /**< the keystore file (libsec sealed format) */
  char *key_name;         /**< the signing key's name in the keystore */
  char *passphrase_file;  /**< file holding the keystore passphrase (first line); NULL = env */
  char *jwt_issuer;       /**< required `iss` */
  char *jwt_audience;     /**< required `aud` */
  uint64_t jwt_leeway_ms; /**< clock skew allowed (whole seconds are used) */
  /* HTTP limits and timeouts */
  uint64_t max_body;         /**< bytes of a request body (413 above) */
  uint64_t max_head;         /**< bytes of a request head (431 above) */
  uint64_t max_headers;      /**< header fields per request (431 above) */
  uint64_t max_uri;          /**< bytes of the request target (414 above) */
  uint64_t idle_timeout_ms;  /**< close idle keep-alive connections */
  uint64_t body_timeout_ms;  /**< a body must be complete this long after its head (408) */
  uint64_t head_timeout_ms;  /**< a partial head must complete this long after its first byte */
  uint64_t drain_delay_ms;   /**< after SIGTERM, keep serving this long with /readyz 503 */
  uint64_t drain_timeout_ms; /**< then the longest wait for connections to finish */
  /* logging */
  rv_log_level log_level; /**< lowest level written */
  char *log_file;         /**< append JSON lines here; NULL = stderr */
  uint64_t log_flush_ms;  /**< batch lines through a writer thread (rv_logbuf); 0 = direct */
  /* the app's policy: middleware switches, rate limits, pages, feature flags */
  api_config app;
  /* private: which settings the file and the flags have set (duplicates) */
  uint64_t seen_file;
  uint64_t seen_flag;
} srv_config;

/** Fill \p cfg with the defaults (allocates the default strings).
 *  \return 0 or #RV_ENOMEM. */
int srv_config_init(srv_config *cfg);

/** Free the strings of \p cfg (NULL allowed) and zero it. */
void srv_config_free(srv_config *cfg);

/**
 * Read a config file into \p cfg.
 * \param[out] err  on failure "PATH:LINE: what" (or "PATH: why" when it
 *                  cannot be read), at most #SRV_ERR_MAX bytes
 * \return 0, #RV_ENOTFOUND or #RV_EIO (cannot read), #RV_EINVAL (unknown
 *         key, bad value, duplicate key, a line without `=`), #RV_ENOMEM.
 */
int srv_config_load_file(srv_config *cfg, const char *path, char *err);

/**
 * Whether \p arg (such as "--listen-port" or "--listen-port=1") is a flag
 * of a setting, including `--no-NAME` of booleans.
 */
bool srv_config_is_flag(const char *arg);

/**
 * Apply the setting flag at argv[*i], consuming its value (the next
 * argument, or the text after `=`); on return *i is the last argument used.
 * \param[out] err  "--flag: what" on failure
 * \return 0, #RV_EINVAL (unknown flag, missing or bad value, a flag given
 *         twice), #RV_ENOMEM.
 */
int srv_config_flag(srv_config *cfg, int argc, char **argv, int *i, char *err);

/** Print every setting flag with its description and default to \p f. */
void srv_config_usage(FILE *f);

/** Set one setting by its file key from text (what a file line or a flag
 *  does). \p err receives "what" (no location). \return as srv_config_flag(). */
int srv_config_set(srv_config *cfg, const char *key, const char *value, char *err);

/**
 * Parse a duration with a unit: `ms`, `s`, `m`, `h`, `d`.
 * \return 0, or #RV_EINVAL (no digits, no or unknown unit, overflow).
 */
int srv_parse_duration_ms(const char *s, uint64_t *ms);
