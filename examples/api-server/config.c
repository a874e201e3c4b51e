/* config.c: one table of settings drives the defaults, the config file,
 * the flags and --help, so the four can never disagree. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core/err.h>

/* How a setting's text is read. */
typedef enum parse_kind {
  P_STR,   /* any non-empty text */
  P_INT,   /* decimal integer in [min, max] */
  P_SIZE,  /* integer with an optional K/M/G suffix, in [min, max] */
  P_DUR,   /* duration with a unit, stored in ms, in [min, max] ms */
  P_BOOL,  /* true/false and friends */
  P_LEVEL, /* log level name */
} parse_kind;

/* Where the parsed value is stored (the field's C type). */
typedef enum store_kind { S_STR, S_U64, S_SIZE, S_U16, S_BOOL, S_LEVEL } store_kind;

typedef struct setting {
  const char *key; /* file key; the flag is "--" + key with '_' -> '-' */
  parse_kind parse;
  store_kind store;
  size_t off;   /* offset in srv_config */
  uint64_t min; /* for numbers */
  uint64_t max;
  const char *def; /* default as text; NULL: unset (strings only) */
  const char *help;
} setting;

#define OFF(f) offsetof(srv_config, f)
#define APP(f) (offsetof(srv_config, app) + offsetof(api_config, f))
#define FLAG(i) (offsetof(srv_config, app) + offsetof(api_config, flags) + (i) * sizeof(bool))
#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1024 * 1024)
#define DAY_MS ((uint64_t)86400000)

static const setting settings[] = {
    {"listen_host", P_STR, S_STR, OFF(listen_host), 0, 0, "127.0.0.1",
     "IPv4 address to listen on (0.0.0.0: every interface)"},
    {"listen_port", P_INT, S_U16, OFF(listen_port), 0, 65535, "8080",
     "TCP port (0: any free port; the \"listening\" log line gives it)"},
    {"workers", P_INT, S_U64, OFF(workers), 1, 256, "1",
     "worker threads, each with its own event loop and database connection"},
    {"max_conns", P_INT, S_U64, OFF(max_conns), 0, 1000000, "0",
     "most open connections per worker (0: no limit)"},
    {"db_path", P_STR, S_STR, OFF(db_path), 0, 0, "./api-server.db", "SQLite database file"},
    {"db_busy_timeout", P_DUR, S_U64, OFF(db_busy_ms), 1, 60000, "2s",
     "wait this long for the database write lock, then answer 503 busy"},
    {"keystore", P_STR, S_STR, OFF(keystore), 0, 0, "./api-server.keys",
     "keystore file holding the token signing key"},
    {"key_name", P_STR, S_STR, OFF(key_name), 0, 0, "api-signing",
     "name of the signing key in the keystore"},
    {"passphrase_file", P_STR, S_STR, OFF(passphrase_file), 0, 0, NULL,
     "read the keystore passphrase from this file (first line); none: from the "
     "API_SERVER_PASSPHRASE environment variable"},
    {"jwt_issuer", P_STR, S_STR, OFF(jwt_issuer), 0, 0, "rivet-api", "required token issuer (iss)"},
    {"jwt_audience", P_STR, S_STR, OFF(jwt_audience), 0, 0, "rivet-devices",
     "required token audience (aud)"},
    {"jwt_leeway", P_DUR, S_U64, OFF(jwt_leeway_ms), 0, DAY_MS, "30s",
     "clock skew allowed on exp, nbf and iat"},
    {"rate_per_addr", P_INT, S_U64, APP(rate_per_addr), 1, 100000000, "6000",
     "requests per minute per client address (burst: the same number)"},
    {"rate_per_token", P_INT, S_U64, APP(rate_per_token), 1, 100000000, "3000",
     "requests per minute per token (its jti)"},
    {"rate_max_keys", P_INT, S_SIZE, APP(rate_max_keys), 16, 16777216, "65536",
     "addresses or tokens tracked per limiter (when full: 503)"},
    {"page_default", P_INT, S_SIZE, APP(page_default), 1, 100000, "50",
     "list size when the request gives no limit"},
    {"page_max", P_INT, S_SIZE, APP(page_max), 1, 100000, "500", "largest limit a list accepts"},
    {"max_points", P_INT, S_SIZE, APP(max_points), 1, 1000, "1000",
     "most telemetry points in one ingest request"},
    {"max_body", P_SIZE, S_U64, OFF(max_body), 1, 64 * MIB, "1M",
     "largest request body (413 above)"},
    {"max_head", P_SIZE, S_U64, OFF(max_head), 256, MIB, "8K",
     "largest request head: request line and header fields (431 above)"},
    {"max_headers", P_INT, S_U64, OFF(max_headers), 1, 128, "64",
     "most header fields in a request (431 above)"},
    {"max_uri", P_SIZE, S_U64, OFF(max_uri), 16, 64 * KIB, "4K",
     "longest request target (414 above)"},
    {"idle_timeout", P_DUR, S_U64, OFF(idle_timeout_ms), 100, DAY_MS, "60s",
     "close a keep-alive connection idle this long"},
    {"body_timeout", P_DUR, S_U64, OFF(body_timeout_ms), 100, DAY_MS, "30s",
     "a request body must arrive within this time after its head (408)"},
    {"head_timeout", P_DUR, S_U64, OFF(head_timeout_ms), 100, DAY_MS, "10s",
     "a request head must arrive within this time after its first byte"},
    {"drain_delay", P_DUR, S_U64, OFF(drain_delay_ms), 0, DAY_MS, "0s",
     "after SIGTERM keep serving this long with /readyz 503 (a second signal ends it)"},
    {"drain_timeout", P_DUR, S_U64, OFF(drain_timeout_ms), 0, DAY_MS, "10s",
     "then wait at most this long for open connections to finish"},
    {"log_level", P_LEVEL, S_LEVEL, OFF(log_level), 0, 0, "info",
     "lowest log level written: trace, debug, info, warn, error, fatal, off"},
    {"log_file", P_STR, S_STR, OFF(log_file), 0, 0, NULL,
     "append JSON log lines to this file (default: stderr)"},
    {"log_flush", P_DUR, S_U64, OFF(log_flush_ms), 0, 60000, "100ms",
     "log lines are written in batches by a thread at least this often; 0s = one write per line"},
    {"trace", P_BOOL, S_BOOL, APP(mw_trace), 0, 0, "true",
     "middleware: traceparent in and out, X-Request-Id"},
    {"access_log", P_BOOL, S_BOOL, APP(mw_access_log), 0, 0, "true",
     "middleware: one JSON access log line per request"},
    {"metrics", P_BOOL, S_BOOL, APP(mw_metrics), 0, 0, "true",
     "middleware: request counters and latency histograms"},
    {"ratelimit", P_BOOL, S_BOOL, APP(mw_ratelimit), 0, 0, "true",
     "middleware: rate limits per address and per token"},
    {"auth", P_BOOL, S_BOOL, APP(mw_auth), 0, 0, "true",
     "middleware: JWT bearer authentication and scopes (off: everything is open!)"},
    {"flag_telemetry_ingest", P_BOOL, S_BOOL, FLAG(API_FLAG_TELEMETRY_INGEST), 0, 0, "true",
     "feature flag at start: accept telemetry"},
    {"flag_device_writes", P_BOOL, S_BOOL, FLAG(API_FLAG_DEVICE_WRITES), 0, 0, "true",
     "feature flag at start: allow device create, update and delete"},
    {"flag_access_log", P_BOOL, S_BOOL, FLAG(API_FLAG_ACCESS_LOG), 0, 0, "true",
     "feature flag at start: write access log lines"},
};

#define NSETTINGS (sizeof settings / sizeof settings[0])
_Static_assert(NSETTINGS <= 64, "seen_file and seen_flag are 64-bit sets");

static void errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(char *err, const char *fmt, ...) {
  if (err == NULL) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(err, SRV_ERR_MAX, fmt, ap);
  va_end(ap);
}

static const setting *find_key(const char *key, size_t len) {
  for (size_t i = 0; i < NSETTINGS; i++) {
    if (strlen(settings[i].key) == len && memcmp(settings[i].key, key, len) == 0) {
      return &settings[i];
    }
  }
  return NULL;
}

static int parse_u64(const char *s, uint64_t *out, const char **end) {
  if (!isdigit((unsigned char)*s)) {
    return RV_EINVAL;
  }
  uint64_t v = 0;
  while (isdigit((unsigned char)*s)) {
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v)) {
      return RV_EINVAL;
    }
    s++;
  }
  *out = v;
  *end = s;
  return RV_OK;
}

int srv_parse_duration_ms(const char *s, uint64_t *ms) {
  uint64_t v = 0;
  const char *end = NULL;
  if (s == NULL || parse_u64(s, &v, &end) != RV_OK) {
    return RV_EINVAL;
  }
  uint64_t mul = 0;
  if (strcmp(end, "ms") == 0) {
    mul = 1;
  } else if (strcmp(end, "s") == 0) {
    mul = 1000;
  } else if (strcmp(end, "m") == 0) {
    mul = 60000;
  } else if (strcmp(end, "h") == 0) {
    mul = 3600000;
  } else if (strcmp(end, "d") == 0) {
    mul = DAY_MS;
  } else {
    return RV_EINVAL;
  }
  return __builtin_mul_overflow(v, mul, ms) ? RV_EINVAL : RV_OK;
}

static int parse_size(const char *s, uint64_t *out) {
  uint64_t v = 0;
  const char *end = NULL;
  if (parse_u64(s, &v, &end) != RV_OK) {
    return RV_EINVAL;
  }
  uint64_t mul = 1;
  if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0) {
    mul = KIB;
  } else if (strcmp(end, "M") == 0) {
    mul = MIB;
  } else if (strcmp(end, "G") == 0) {
    mul = MIB * KIB;
  } else if (*end != '\0') {
    return RV_EINVAL;
  }
  return __builtin_mul_overflow(v, mul, out) ? RV_EINVAL : RV_OK;
}

static int parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcmp(s, yes[i]) == 0) {
      *out = true;
      return RV_OK;
    }
    if (strcmp(s, no[i]) == 0) {
      *out = false;
      return RV_OK;
    }
  }
  return RV_EINVAL;
}

/* Parse \p value for \p st and store it; err gets "what" on failure. */
static int apply(srv_config *cfg, const setting *st, const char *value, char *err) {
  char *base = (char *)cfg;
  void *field = base + st->off;
  uint64_t n = 0;
  bool b = false;
  rv_log_level lv = RV_LOG_INFO;
  int rc = RV_OK;
  switch (st->parse) {
  case P_STR:
    if (value[0] == '\0') {
      errf(err, "empty value");
      return RV_EINVAL;
    }
    break;
  case P_INT: {
    const char *end = NULL;
    rc = parse_u64(value, &n, &end);
    if (rc == RV_OK && *end != '\0') {
      rc = RV_EINVAL;
    }
    if (rc != RV_OK) {
      errf(err, "'%s' is not a whole number", value);
      return RV_EINVAL;
    }
    break;
  }
  case P_SIZE:
    if (parse_size(value, &n) != RV_OK) {
      errf(err, "'%s' is not a size (bytes, or a number with K, M or G)", value);
      return RV_EINVAL;
    }
    break;
  case P_DUR:
    if (srv_parse_duration_ms(value, &n) != RV_OK) {
      errf(err, "'%s' is not a duration (a number with ms, s, m, h or d)", value);
      return RV_EINVAL;
    }
    break;
  case P_BOOL:
    if (parse_bool(value, &b) != RV_OK) {
      errf(err, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", value);
      return RV_EINVAL;
    }
    break;
  case P_LEVEL:
    if (rv_log_level_parse(value, &lv) != RV_OK) {
      errf(err, "'%s' is not a log level (trace, debug, info, warn, error, fatal, off)", value);
      return RV_EINVAL;
    }
    break;
  }
  if ((st->parse == P_INT || st->parse == P_SIZE || st->parse == P_DUR) &&
      (n < st->min || n > st->max)) {
    if (st->parse == P_DUR) {
      errf(err, "'%s' is outside %llums..%llums", value, (unsigned long long)st->min,
           (unsigned long long)st->max);
    } else {
      errf(err, "'%s' is outside %llu..%llu", value, (unsigned long long)st->min,
           (unsigned long long)st->max);
    }
    return RV_EINVAL;
  }
  /* Each cast below follows st->store, which the table sets to the
   * field's declared type. */
  switch (st->store) {
  case S_STR: {
    char *copy = strdup(value);
    if (copy == NULL) {
      errf(err, "out of memory");
      return RV_ENOMEM;
    }
    char **slot = (char **)field;
    free(*slot);
    *slot = copy;
    break;
  }
  case S_U64:
    *(uint64_t *)field = n;
    break;
  case S_SIZE:
    *(size_t *)field = (size_t)n;
    break;
  case S_U16:
    *(uint16_t *)field = (uint16_t)n;
    break;
  case S_BOOL:
    *(bool *)field = b;
    break;
  case S_LEVEL:
    *(rv_log_level *)field = lv;
    break;
  }
  return RV_OK;
}

int srv_config_set(srv_config *cfg, const char *key, const char *value, char *err) {
  const setting *st = find_key(key, strlen(key));
  if (st == NULL) {
    errf(err, "unknown setting '%s'", key);
    return RV_EINVAL;
  }
  char what[SRV_ERR_MAX];
  int rc = apply(cfg, st, value, what);
  if (rc != RV_OK) {
    errf(err, "%s: %s", key, what);
  }
  return rc;
}

int srv_config_init(srv_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  api_config_default(&cfg->app);
  for (size_t i = 0; i < NSETTINGS; i++) {
    if (settings[i].def != NULL) {
      char err[SRV_ERR_MAX];
      int rc = apply(cfg, &settings[i], settings[i].def, err);
      if (rc != RV_OK) {
        srv_config_free(cfg);
        return rc;
      }
    }
  }
  return RV_OK;
}

void srv_config_free(srv_config *cfg) {
  if (cfg == NULL) {
    return;
  }
  for (size_t i = 0; i < NSETTINGS; i++) {
    if (settings[i].store == S_STR) {
      /* The table says this field is a char *. */
      char **slot = (char **)((char *)cfg + settings[i].off);
      free(*slot);
      *slot = NULL;
    }
  }
  memset(cfg, 0, sizeof *cfg);
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* One line (NUL-terminated, no newline). */
static int file_line(srv_config *cfg, const char *path, size_t lineno, char *line, char *err) {
  char *p = line;
  while (is_blank(*p)) {
    p++;
  }
  if (*p == '\0' || *p == '#') {
    return RV_OK;
  }
  char *eq = strchr(p, '=');
  if (eq == NULL) {
    errf(err, "%s:%zu: expected 'key = value'", path, lineno);
    return RV_EINVAL;
  }
  char *kend = eq;
  while (kend > p && is_blank(kend[-1])) {
    kend--;
  }
  char *v = eq + 1;
  while (is_blank(*v)) {
    v++;
  }
  char *vend = v + strlen(v);
  while (vend > v && is_blank(vend[-1])) {
    vend--;
  }
  *vend = '\0';
  const setting *st = find_key(p, (size_t)(kend - p));
  if (st == NULL) {
    errf(err, "%s:%zu: unknown key '%.*s'", path, lineno, (int)(kend - p), p);
    return RV_EINVAL;
  }
  uint64_t bit = 1ull << (size_t)(st - settings);
  if ((cfg->seen_file & bit) != 0) {
    errf(err, "%s:%zu: duplicate key '%s'", path, lineno, st->key);
    return RV_EINVAL;
  }
  cfg->seen_file |= bit;
  char what[SRV_ERR_MAX];
  int rc = apply(cfg, st, v, what);
  if (rc != RV_OK) {
    errf(err, "%s:%zu: %s: %s", path, lineno, st->key, what);
  }
  return rc;
}

int srv_config_load_file(srv_config *cfg, const char *path, char *err) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    int e = errno;
    errf(err, "%s: %s", path, strerror(e));
    return e == ENOENT ? RV_ENOTFOUND : RV_EIO;
  }
  char *line = NULL;
  size_t cap = 0;
  size_t lineno = 0;
  int rc = RV_OK;
  for (;;) {
    errno = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0) {
      if (errno == ENOMEM) {
        errf(err, "%s: out of memory", path);
        rc = RV_ENOMEM;
      } else if (ferror(f)) {
        errf(err, "%s: read error", path);
        rc = RV_EIO;
      }
      break;
    }
    lineno++;
    size_t len = (size_t)n; /* getline returns at least 1 byte on success */
    if (line[len - 1] == '\n') {
      line[--len] = '\0';
    }
    if (strlen(line) != len) {
      errf(err, "%s:%zu: NUL byte in line", path, lineno);
      rc = RV_EINVAL;
      break;
    }
    rc = file_line(cfg, path, lineno, line, err);
    if (rc != RV_OK) {
      break;
    }
  }
  free(line);
  (void)fclose(f);
  return rc;
}

/* Match "--name[=value]" against \p st (with '-' for '_'); *neg is set for
 * "--no-name" of a boolean. Returns a pointer to the value after '=', to
 * "" when there is no '=', or NULL when it does not match. */
static const char *match_flag(const setting *st, const char *arg, bool *neg) {
  if (strncmp(arg, "--", 2) != 0) {
    return NULL;
  }
  const char *a = arg + 2;
  *neg = false;
  if (st->parse == P_BOOL && strncmp(a, "no-", 3) == 0) {
    *neg = true;
    a += 3;
  }
  const char *k = st->key;
  while (*k != '\0') {
    char want = *k;
    if (want == '_') {
      want = '-';
    }
    if (*a != want) {
      return NULL;
    }
    a++;
    k++;
  }
  if (*a == '=') {
    return a + 1;
  }
  return *a == '\0' ? a : NULL;
}

static const setting *find_flag(const char *arg, bool *neg, const char **eqval) {
  for (size_t i = 0; i < NSETTINGS; i++) {
    const char *v = match_flag(&settings[i], arg, neg);
    if (v != NULL) {
      *eqval = strchr(arg, '=') != NULL ? v : NULL;
      return &settings[i];
    }
  }
  return NULL;
}

bool srv_config_is_flag(const char *arg) {
  bool neg = false;
  const char *v = NULL;
  return find_flag(arg, &neg, &v) != NULL;
}

int srv_config_flag(srv_config *cfg, int argc, char **argv, int *i, char *err) {
  const char *arg = argv[*i];
  bool neg = false;
  const char *value = NULL;
  const setting *st = find_flag(arg, &neg, &value);
  if (st == NULL) {
    errf(err, "%s: unknown option (see --help)", arg);
    return RV_EINVAL;
  }
  if (neg && value != NULL) {
    errf(err, "%s: --no-... takes no value", arg);
    return RV_EINVAL;
  }
  if (value == NULL && st->parse == P_BOOL) {
    value = neg ? "false" : "true";
  } else if (value == NULL) {
    if (*i + 1 >= argc) {
      errf(err, "%s: missing value", arg);
      return RV_EINVAL;
    }
    *i += 1;
    value = argv[*i];
  }
  uint64_t bit = 1ull << (size_t)(st - settings);
  if ((cfg->seen_flag & bit) != 0) {
    errf(err, "%s: given twice", arg);
    return RV_EINVAL;
  }
  cfg->seen_flag |= bit;
  char what[SRV_ERR_MAX];
  int rc = apply(cfg, st, value, what);
  if (rc != RV_OK) {
    size_t n = strcspn(arg, "=");
    errf(err, "%.*s: %s", (int)n, arg, what);
  }
  return rc;
}

void srv_config_usage(FILE *f) {
  for (size_t i = 0; i < NSETTINGS; i++) {
    const setting *st = &settings[i];
    char name[64];
    size_t k = 0;
    for (const char *c = st->key; *c != '\0' && k + 1 < sizeof name; c++) {
      name[k] = *c;
      if (name[k] == '_') {
        name[k] = '-';
      }
      k++;
    }
    name[k] = '\0';
    static const char *const meta[] = {"TEXT", "N", "SIZE", "DURATION", "", "LEVEL"};
    char flag[96];
    if (st->parse == P_BOOL) {
      (void)snprintf(flag, sizeof flag, "--[no-]%s", name);
    } else {
      (void)snprintf(flag, sizeof flag, "--%s %s", name, meta[st->parse]);
    }
    char text[400];
    (void)snprintf(text, sizeof text, "%s [default: %s]", st->help,
                   st->def != NULL ? st->def : "none");
    /* The description wrapped at 96 columns, under a 35-column flag. */
    (void)fprintf(f, "  %-32s", flag);
    if (strlen(flag) > 32) {
      (void)fprintf(f, "\n%34s", "");
    }
    const char *p = text;
    while (*p != '\0') {
      size_t n = strlen(p);
      if (n > 62) {
        n = 62;
        while (n > 0 && p[n] != ' ') {
          n--;
        }
        if (n == 0) {
          n = 62;
        }
      }
      (void)fprintf(f, " %.*s\n", (int)n, p);
      p += n;
      while (*p == ' ') {
        p++;
      }
      if (*p != '\0') {
        (void)fprintf(f, "%34s", "");
      }
    }
  }
}
