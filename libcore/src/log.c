/* log: structured logging as JSON lines. Hosted (clock, mutex, write(2)).
 *
 * A record is rendered by one function, render(), into a small writer that
 * works in one of two modes:
 * - measuring: bytes are stored while they fit and counted after, so the
 *   first pass, into the stack buffer, either produces the line or tells
 *   the exact size a heap block must have;
 * - truncating: output stops at the first unit that does not fit, keeping
 *   TAIL_RESERVE bytes free so the line can always be closed properly.
 * A "unit" is something never split: an escape sequence, one UTF-8
 * character, a number, a literal. */
#include <rivet/core/log.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rivet/core/err.h>

/* Room kept in truncating mode for: the quote closing a cut string (1),
 * ,"truncated":true (17), }\n (2). */
#define TAIL_RESERVE 24u
static const char truncated_marker[] = ",\"truncated\":true";

/* Rendered static fields must leave this much of max_record for the time,
 * level, message and the closing. */
#define HEADER_ROOM 128u

struct rv_log {
  _Atomic int level;
  rv_log_sink_fn sink;
  void *sink_ctx;
  bool serialize; /* hold mu around sink calls */
  pthread_mutex_t mu;
  rv_log_clock_fn clock;
  void *clock_ctx;
  const rv_alloc *alloc;
  size_t max_record;
  size_t size;      /* bytes of this allocation, fixed fields included */
  size_t fixed_len; /* rendered static fields, each with its leading comma */
  char fixed[];     /* flexible array member: the rendered static fields */
};

/* ---- the writer ------------------------------------------------------------ */

struct jw {
  char *buf;
  size_t len;   /* bytes written (truncating) or needed so far (measuring) */
  size_t limit; /* bytes content may use */
  size_t cap;   /* bytes of buf (limit + reserve when truncating) */
  bool truncate;
  bool over;    /* measuring: content went past limit */
  bool stopped; /* truncating: a unit did not fit; later units are dropped */
};

static void jw_init(struct jw *w, char *buf, size_t cap, bool truncate) {
  w->buf = buf;
  w->len = 0;
  w->cap = cap;
  w->limit = truncate ? cap - TAIL_RESERVE : cap;
  w->truncate = truncate;
  w->over = false;
  w->stopped = false;
}

/* Append one unit of n bytes. Returns false if it was dropped. */
static bool jw_put(struct jw *w, const void *p, size_t n) {
  if (w->stopped) {
    return false;
  }
  if (n == 0) {
    return true;
  }
  if (w->len <= w->limit && n <= w->limit - w->len) {
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return true;
  }
  if (w->truncate) {
    w->stopped = true;
    return false;
  }
  w->over = true;
  if (__builtin_add_overflow(w->len, n, &w->len)) {
    w->len = SIZE_MAX; /* saturate: more than any max_record anyway */
  }
  return true;
}

/* Append n bytes from the reserve (closing a cut record). In measuring mode
 * this is an ordinary put. */
static void jw_force(struct jw *w, const char *p, size_t n) {
  if (!w->truncate) {
    jw_put(w, p, n);
  } else if (n <= w->cap - w->len) { /* always true: TAIL_RESERVE covers it */
    memcpy(w->buf + w->len, p, n);
    w->len += n;
  }
}

static bool jw_lit(struct jw *w, const char *s) { return jw_put(w, s, strlen(s)); }

/* ---- string escaping --------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

/* One byte that needs escaping: an ASCII control, quote or backslash, or
 * (bytes mode) any byte >= 0x7f as the Latin-1 code point of its value. */
static bool put_escaped_byte(struct jw *w, unsigned char c) {
  char e[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
  switch (c) {
  case '"':
    return jw_put(w, "\\\"", 2);
  case '\\':
    return jw_put(w, "\\\\", 2);
  case '\b':
    return jw_put(w, "\\b", 2);
  case '\f':
    return jw_put(w, "\\f", 2);
  case '\n':
    return jw_put(w, "\\n", 2);
  case '\r':
    return jw_put(w, "\\r", 2);
  case '\t':
    return jw_put(w, "\\t", 2);
  default: /* printable ASCII never gets here: put_string copies it in runs */
    return jw_put(w, e, sizeof e);
  }
}

/* Length of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80), or
 * 0 if invalid; *bad receives how many bytes form the maximal invalid
 * subpart to replace by one U+FFFD. Ranges per Unicode table 3-7. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
  unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 3;
    lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
    hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 4;
    lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
    hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
  } else {
    *bad = 1; /* a continuation byte, C0, C1 or F5..FF: never valid */
    return 0;
  }
  size_t i = 1;
  for (; i < need && i < n; i++) {
    unsigned char b = s[i];
    if (b < lo || b > hi) {
      break;
    }
    lo = 0x80;
    hi = 0xbf;
  }
  if (i == need) {
    return need;
  }
  *bad = i; /* the lead byte and the continuation bytes that were right */
  return 0;
}

/* A JSON string from UTF-8 text (text = true) or raw bytes (text = false).
 * Returns false if it was cut (truncating mode); it is closed either way. */
static bool put_string(struct jw *w, const void *p, size_t n, bool text) {
  const unsigned char *s = p;
  if (!jw_put(w, "\"", 1)) {
    return false;
  }
  size_t i = 0;
  while (i < n) {
    /* Copy a run of plain ASCII in one go: the common case. */
    size_t run = i;
    while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\') {
      run++;
    }
    if (run > i) {
      size_t len = run - i;
      if (w->truncate && !w->stopped && w->len <= w->limit && len > w->limit - w->len) {
        len = w->limit - w->len; /* ASCII splits anywhere: keep what fits */
      }
      if (!jw_put(w, s + i, len) || len < run - i) {
        w->stopped = true;
        break;
      }
      i = run;
      continue;
    }
    if (s[i] < 0x80 || !text) {
      if (!put_escaped_byte(w, s[i])) {
        break;
      }
      i++;
      continue;
    }
    size_t bad = 0;
    size_t seq = utf8_seq(s + i, n - i, &bad);
    if (seq) {
      if (!jw_put(w, s + i, seq)) {
        break;
      }
      i += seq;
    } else {
      if (!jw_put(w, "\\ufffd", 6)) {
        break;
      }
      i += bad;
    }
  }
  bool whole = !w->stopped;
  jw_force(w, "\"", 1);
  return whole;
}

/* ---- numbers and time ----------------------------------------------------- */

static bool put_u64(struct jw *w, uint64_t v, bool neg) {
  char tmp[21];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (neg) {
    tmp[--i] = '-';
  }
  return jw_put(w, tmp + i, sizeof tmp - i);
}

static bool put_i64(struct jw *w, int64_t v) {
  /* Negate in unsigned arithmetic: -INT64_MIN does not fit in int64_t. */
  return v < 0 ? put_u64(w, 0 - (uint64_t)v, true) : put_u64(w, (uint64_t)v, false);
}

static bool put_f64(struct jw *w, double v) {
  if (isnan(v)) {
    return jw_lit(w, "\"NaN\"");
  }
  if (isinf(v)) {
    return jw_lit(w, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
  }
  char tmp[40];
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) { /* fewest digits that round-trip */
    n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (n <= 0 || (size_t)n >= sizeof tmp || strtod(tmp, NULL) == v) {
      break;
    }
  }
  if (n <= 0 || (size_t)n >= sizeof tmp) {
    return jw_lit(w, "null"); /* snprintf failed: not reachable with %g */
  }
  /* The C locale's decimal point may be "," (or several bytes): JSON wants
   * ".". Anything that is not part of a number is that decimal point. */
  char out[44]; /* tmp, plus ".0" */
  size_t o = 0;
  for (int i = 0; i < n;) {
    char c = tmp[i];
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E' || c == '.') {
      out[o++] = c;
      i++;
    } else {
      out[o++] = '.';
      while (i < n && !(tmp[i] >= '0' && tmp[i] <= '9')) {
        i++;
      }
    }
  }
  /* Keep it a float for typed readers: "3" would parse as an integer, and
   * "-0" as an integer zero without its sign. */
  if (!memchr(out, '.', o) && !memchr(out, 'e', o)) {
    out[o++] = '.';
    out[o++] = '0';
  }
  return jw_put(w, out, o);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) for ns since the epoch, UTC. */
static void format_time(int64_t ns, char out[24]) {
  /* Floor division so times before 1970 land on the right day. */
  int64_t ms = ns / 1000000 - (ns % 1000000 < 0);
  int64_t days = ms / 86400000 - (ms % 86400000 < 0);
  int64_t msday = ms - days * 86400000;
  /* Civil date from a day count (proleptic Gregorian), using 400-year eras
   * that start on March 1st so the leap day is the last day of a year. */
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  int64_t fields[7] = {
      year, month, day, msday / 3600000, msday / 60000 % 60, msday / 1000 % 60, msday % 1000};
  /* int64 nanoseconds span the years 1677 to 2262: four digits suffice. */
  static const int pos[7] = {3, 6, 9, 12, 15, 18, 22}; /* last digit of each */
  static const int width[7] = {4, 2, 2, 2, 2, 2, 3};
  static const char sep[7] = {'-', '-', 'T', ':', ':', '.', 'Z'}; /* after each */
  for (int f = 0; f < 7; f++) {
    int64_t v = fields[f];
    for (int d = 0; d < width[f]; d++) {
      out[pos[f] - d] = (char)('0' + v % 10);
      v /= 10;
    }
    out[pos[f] + 1] = sep[f];
  }
}

static int64_t clock_realtime(void *ctx) {
  (void)ctx;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
    return 0;
  }
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- records -------------------------------------------------------------- */

static const char *const level_names[] = {NULL,   "trace", "debug", "info",
                                          "warn", "error", "fatal", "off"};

const char *rv_log_level_name(rv_log_level level) {
  if ((int)level < RV_LOG_TRACE || (int)level > RV_LOG_OFF) {
    return NULL;
  }
  return level_names[level];
}

static int check_fields(const rv_log_field *f, size_t n) {
  if (!f && n) {
    return RV_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    if (!f[i].key) {
      return RV_EINVAL;
    }
    switch (f[i].type) {
    case RV_LOG_T_STRN:
    case RV_LOG_T_BYTES:
      if (!f[i].v.mem.ptr && f[i].v.mem.len) {
        return RV_EINVAL;
      }
      break;
    case RV_LOG_T_STR:
    case RV_LOG_T_INT:
    case RV_LOG_T_UINT:
    case RV_LOG_T_F64:
    case RV_LOG_T_BOOL:
      break;
    default:
      return RV_EINVAL;
    }
  }
  return RV_OK;
}

/* ,"key":value for each field. A field whose key or (non-string) value does
 * not fit is left out whole; a string value may be cut. */
static void put_fields(struct jw *w, const rv_log_field *f, size_t n) {
  for (size_t i = 0; i < n && !w->stopped; i++) {
    size_t mark = w->len;
    bool key_ok =
        jw_put(w, ",", 1) && put_string(w, f[i].key, strlen(f[i].key), true) && jw_put(w, ":", 1);
    bool val_ok = false;
    bool is_string = false;
    if (key_ok) {
      switch (f[i].type) {
      case RV_LOG_T_STR:
        is_string = f[i].v.s != NULL;
        val_ok = f[i].v.s ? put_string(w, f[i].v.s, strlen(f[i].v.s), true) : jw_lit(w, "null");
        break;
      case RV_LOG_T_STRN:
      case RV_LOG_T_BYTES:
        is_string = true;
        val_ok = put_string(w, f[i].v.mem.ptr, f[i].v.mem.len, f[i].type == RV_LOG_T_STRN);
        break;
      case RV_LOG_T_INT:
        val_ok = put_i64(w, f[i].v.i);
        break;
      case RV_LOG_T_UINT:
        val_ok = put_u64(w, f[i].v.u, false);
        break;
      case RV_LOG_T_F64:
        val_ok = put_f64(w, f[i].v.f);
        break;
      case RV_LOG_T_BOOL:
        val_ok = jw_lit(w, f[i].v.b ? "true" : "false");
        break;
      }
    }
    /* In truncating mode: keep a cut string value, drop anything else. */
    if (w->truncate && !val_ok && (!key_ok || !is_string)) {
      w->len = mark;
    }
  }
}

static void render(struct jw *w, const rv_log *log, const char ts[24], rv_log_level level,
                   const char *msg, const rv_log_field *fields, size_t nfields) {
  jw_lit(w, "{\"time\":\"");
  jw_put(w, ts, 24);
  jw_lit(w, "\",\"level\":\"");
  jw_lit(w, level_names[level]);
  jw_put(w, "\"", 1);
  if (log->fixed_len) {
    jw_put(w, log->fixed, log->fixed_len);
  }
  if (jw_lit(w, ",\"msg\":")) {
    put_string(w, msg, strlen(msg), true);
  }
  put_fields(w, fields, nfields);
  if (w->stopped) {
    jw_force(w, truncated_marker, sizeof truncated_marker - 1);
  }
  jw_force(w, "}\n", 2);
}

static int deliver(rv_log *log, rv_log_level level, const char *line, size_t len) {
  if (!log->serialize) {
    return log->sink(log->sink_ctx, level, line, len);
  }
  /* Lock errors cannot happen with a default mutex used correctly; if one
   * did, writing unserialised beats losing the record. */
  int locked = pthread_mutex_lock(&log->mu) == 0;
  int rc = log->sink(log->sink_ctx, level, line, len);
  if (locked) {
    pthread_mutex_unlock(&log->mu);
  }
  return rc;
}

int rv_log_write(rv_log *log, rv_log_level level, const char *msg, const rv_log_field *fields,
                 size_t nfields) {
  if (!log) {
    return RV_EINVAL;
  }
  if (!rv_log_enabled(log, level)) {
    return (int)level >= RV_LOG_TRACE && (int)level <= RV_LOG_FATAL ? RV_OK : RV_EINVAL;
  }
  if ((int)level > RV_LOG_FATAL || !msg || check_fields(fields, nfields) != RV_OK) {
    return RV_EINVAL;
  }
  char ts[24];
  format_time(log->clock(log->clock_ctx), ts);

  char stack[RV_LOG_STACK_RECORD];
  size_t first_cap = log->max_record < sizeof stack ? log->max_record : sizeof stack;
  struct jw w;
  jw_init(&w, stack, first_cap, false);
  render(&w, log, ts, level, msg, fields, nfields);
  if (!w.over) {
    return deliver(log, level, stack, w.len);
  }
  /* Too long for the stack. Exactly what it needs if that is allowed, else
   * max_record; if the allocation fails, truncate into the stack buffer. */
  size_t size = w.len;
  if (size > log->max_record || __builtin_add_overflow(size, TAIL_RESERVE, &size)) {
    size = log->max_record;
  }
  char *heap = rv_alloc_get(log->alloc, size, 1);
  /* Truncating mode even for the exact size: a caller that changed its
   * strings between the two passes gets a cut line, not an overflow. */
  jw_init(&w, heap ? heap : stack, heap ? size : first_cap, true);
  render(&w, log, ts, level, msg, fields, nfields);
  int rc = deliver(log, level, w.buf, w.len);
  rv_alloc_free(log->alloc, heap, size);
  return rc;
}

/* ---- the log object ---------------------------------------------------------- */

int rv_log_sink_fd(void *ctx, rv_log_level level, const char *line, size_t len) {
  (void)level;
  int fd = ctx ? *(const int *)ctx : STDERR_FILENO;
  while (len > 0) {
    ssize_t n = write(fd, line, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return rv_err_from_errno(errno);
    }
    line += n;
    len -= (size_t)n;
  }
  return RV_OK;
}

int rv_log_create(rv_log **out, const rv_log_options *opts) {
  static const rv_log_options defaults = {0};
  if (!out) {
    return RV_EINVAL;
  }
  if (!opts) {
    opts = &defaults;
  }
  rv_log_level level = opts->level ? opts->level : RV_LOG_INFO;
  size_t max_record = opts->max_record ? opts->max_record : RV_LOG_MAX_RECORD_DEFAULT;
  if ((int)level < RV_LOG_TRACE || (int)level > RV_LOG_OFF || max_record < RV_LOG_MIN_RECORD ||
      check_fields(opts->fields, opts->nfields) != RV_OK) {
    return RV_EINVAL;
  }
  /* Measure the static fields (a writer with no room counts only). */
  struct jw w;
  jw_init(&w, NULL, 0, false);
  put_fields(&w, opts->fields, opts->nfields);
  size_t fixed_len = w.len;
  if (fixed_len > max_record - HEADER_ROOM) {
    return RV_ELIMIT;
  }
  size_t size = sizeof(rv_log) + fixed_len; /* cannot overflow: fixed_len < max_record */
  rv_log *log = rv_alloc_get(opts->alloc, size, _Alignof(rv_log));
  if (!log) {
    return RV_ENOMEM;
  }
  jw_init(&w, log->fixed, fixed_len, false);
  put_fields(&w, opts->fields, opts->nfields);
  atomic_init(&log->level, (int)level);
  log->sink = opts->sink ? opts->sink : rv_log_sink_fd;
  log->sink_ctx = opts->sink ? opts->sink_ctx : NULL;
  log->serialize = opts->sink && !opts->sink_threadsafe;
  log->clock = opts->clock ? opts->clock : clock_realtime;
  log->clock_ctx = opts->clock_ctx;
  log->alloc = opts->alloc;
  log->max_record = max_record;
  log->size = size;
  log->fixed_len = fixed_len;
  if (log->serialize) {
    int rc = pthread_mutex_init(&log->mu, NULL);
    if (rc != 0) {
      rv_alloc_free(opts->alloc, log, size);
      return rv_err_from_errno(rc);
    }
  }
  *out = log;
  return RV_OK;
}

void rv_log_destroy(rv_log *log) {
  if (!log) {
    return;
  }
  if (log->serialize) {
    pthread_mutex_destroy(&log->mu);
  }
  rv_alloc_free(log->alloc, log, log->size);
}

int rv_log_set_level(rv_log *log, rv_log_level level) {
  if ((int)level < RV_LOG_TRACE || (int)level > RV_LOG_OFF) {
    return RV_EINVAL;
  }
  /* Relaxed: the level is a lone flag guarding no other data; a thread
   * that sees the old value a moment longer logs one record more or less. */
  atomic_store_explicit(&log->level, (int)level, memory_order_relaxed);
  return RV_OK;
}

rv_log_level rv_log_get_level(const rv_log *log) {
  /* Relaxed: see rv_log_set_level(). */
  return (rv_log_level)atomic_load_explicit(&log->level, memory_order_relaxed);
}

bool rv_log_enabled(const rv_log *log, rv_log_level level) {
  int min = atomic_load_explicit(&log->level, memory_order_relaxed); /* see rv_log_set_level() */
  return (int)level >= min && (int)level >= RV_LOG_TRACE && (int)level <= RV_LOG_FATAL;
}

int rv_log_level_parse(const char *name, rv_log_level *level) {
  if (!name) {
    return RV_EINVAL;
  }
  char low[8];
  size_t n = 0;
  for (; name[n] != '\0'; n++) {
    if (n == sizeof low - 1) {
      return RV_EINVAL;
    }
    char c = name[n];
    if (c >= 'A' && c <= 'Z') {
      c = (char)(c - 'A' + 'a');
    }
    low[n] = c;
  }
  low[n] = '\0';
  if (strcmp(low, "warning") == 0) {
    *level = RV_LOG_WARN;
    return RV_OK;
  }
  for (int l = RV_LOG_TRACE; l <= RV_LOG_OFF; l++) {
    if (strcmp(low, level_names[l]) == 0) {
      *level = (rv_log_level)l;
      return RV_OK;
    }
  }
  return RV_EINVAL;
}
