/* logformat: compiling log formats and parsing one line into field slices
 * (zero copy). The streaming part is in logparse.c. */
#include <rivet/perf/logparse.h>

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "logparse-internal.h"

/* ---- formats ----------------------------------------------------------- */

static const char combined_fmt[] = "$remote_addr - $remote_user [$time_local] \"$request\" $status "
                                   "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
static const char common_fmt[] =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent";

static const struct {
  const char *name;
  int var;
} var_names[] = {
    {"remote_addr", V_ADDR},
    {"remote_user", V_USER},
    {"time_local", V_TIME_LOCAL},
    {"time_iso8601", V_TIME_ISO},
    {"msec", V_MSEC},
    {"request", V_REQUEST},
    {"request_method", V_METHOD},
    {"request_uri", V_REQUEST_URI},
    {"uri", V_URI},
    {"args", V_ARGS},
    {"query_string", V_ARGS},
    {"server_protocol", V_PROTOCOL},
    {"status", V_STATUS},
    {"body_bytes_sent", V_BYTES},
    {"bytes_sent", V_BYTES},
    {"http_referer", V_REFERER},
    {"http_user_agent", V_AGENT},
    {"request_time", V_REQTIME},
};

static int lookup_var(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof var_names / sizeof var_names[0]; i++)
    if (strlen(var_names[i].name) == n && memcmp(var_names[i].name, s, n) == 0)
      return var_names[i].var;
  return V_OTHER;
}

static bool is_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static uint32_t var_fields(int v) {
  switch (v) {
  case V_ADDR:
    return 1u << RV_LOG_ADDR;
  case V_USER:
    return 1u << RV_LOG_USER;
  case V_TIME_LOCAL:
  case V_TIME_ISO:
  case V_MSEC:
    return 1u << RV_LOG_TIME;
  case V_REQUEST:
    return 1u << RV_LOG_METHOD | 1u << RV_LOG_PATH | 1u << RV_LOG_QUERY | 1u << RV_LOG_PROTOCOL;
  case V_METHOD:
    return 1u << RV_LOG_METHOD;
  case V_REQUEST_URI:
    return 1u << RV_LOG_PATH | 1u << RV_LOG_QUERY;
  case V_URI:
    return 1u << RV_LOG_PATH;
  case V_ARGS:
    return 1u << RV_LOG_QUERY;
  case V_PROTOCOL:
    return 1u << RV_LOG_PROTOCOL;
  case V_STATUS:
    return 1u << RV_LOG_STATUS;
  case V_BYTES:
    return 1u << RV_LOG_BYTES;
  case V_REFERER:
    return 1u << RV_LOG_REFERER;
  case V_AGENT:
    return 1u << RV_LOG_AGENT;
  case V_REQTIME:
    return 1u << RV_LOG_REQTIME;
  default:
    return 0;
  }
}

int rv_logformat_compile(rv_logformat **out, const char *fmt, const rv_alloc *alloc,
                         rv_diag *diag) {
  if (!fmt || !out)
    return RV_EINVAL;
  if (strcmp(fmt, "combined") == 0)
    fmt = combined_fmt;
  else if (strcmp(fmt, "common") == 0)
    fmt = common_fmt;
  size_t n = strlen(fmt);
  if (n == 0)
    return rv_diag_set(diag, RV_EMALFORMED, 0, "empty format");
  rv_logformat *f = rv_alloc_get(alloc, sizeof *f, _Alignof(rv_logformat));
  if (!f)
    return RV_ENOMEM;
  memset(f, 0, sizeof *f);
  f->alloc = alloc;
  f->text = rv_alloc_get(alloc, n + 1, 1);
  int rc = RV_ENOMEM;
  if (!f->text)
    goto fail;
  memcpy(f->text, fmt, n + 1);
  /* Items alternate: literal text, then a variable (or the end). */
  size_t i = 0, lit = 0;
  uint32_t seen = 0;
  for (;;) {
    if (f->nitems == LOGFMT_MAX_ITEMS) {
      rc = rv_diag_set(diag, RV_EMALFORMED, i, "too many variables");
      goto fail;
    }
    if (i == n || f->text[i] == '$') {
      fmt_item *it = &f->items[f->nitems];
      it->lit = (const uint8_t *)f->text + lit;
      it->lit_len = i - lit;
      if (i == n) {
        it->var = V_END;
        f->nitems++;
        break;
      }
      size_t start = i + 1, end = start;
      bool brace = start < n && f->text[start] == '{';
      if (brace)
        start = ++end;
      while (end < n && is_name(f->text[end]))
        end++;
      if (end == start) {
        rc = rv_diag_set(diag, RV_EMALFORMED, i, "'$' without a variable name");
        goto fail;
      }
      if (brace && (end == n || f->text[end] != '}')) {
        rc = rv_diag_set(diag, RV_EMALFORMED, i, "unclosed '${'");
        goto fail;
      }
      if (f->nitems > 0 && it->lit_len == 0) {
        rc = rv_diag_set(diag, RV_EMALFORMED, i, "two variables with no text between them");
        goto fail;
      }
      it->var = lookup_var(f->text + start, end - start);
      uint32_t fields = var_fields(it->var);
      if (fields & seen) {
        rc = rv_diag_set(diag, RV_EMALFORMED, i, "a field is given twice");
        goto fail;
      }
      seen |= fields;
      it->quoted = it->lit_len > 0 && it->lit[it->lit_len - 1] == '"';
      f->nitems++;
      i = lit = brace ? end + 1 : end;
      continue;
    }
    i++;
  }
  /* Each variable ends at the first byte of the next item's literal. */
  for (size_t k = 0; k + 1 < f->nitems; k++)
    f->items[k].term = f->items[k + 1].lit_len ? f->items[k + 1].lit[0] : 0;
  f->fields = seen;
  *out = f;
  return 0;
fail:
  rv_logformat_free(f);
  return rc;
}

void rv_logformat_free(rv_logformat *f) {
  if (!f)
    return;
  if (f->text)
    rv_alloc_free(f->alloc, f->text, strlen(f->text) + 1);
  rv_alloc_free(f->alloc, f, sizeof *f);
}

bool rv_logformat_has(const rv_logformat *f, rv_log_field field) {
  return (unsigned)field < RV_LOG_FIELD_COUNT && (f->fields >> field & 1u);
}

const char *rv_log_error_name(rv_log_error e) {
  static const char *const names[] = {
      "ok",          "binary",   "truncated",  "missing-quote",   "bad-time", "bad-status",
      "bad-request", "too-long", "bad-number", "format-mismatch", "empty"};
  return (unsigned)e < RV_LOG_ERROR_COUNT ? names[e] : "unknown";
}

/* ---- times ------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil, re-derived: eras of 400 years). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m) {
  static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

static bool digits(const uint8_t *s, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

static unsigned month_of(const uint8_t *s) {
  /* Three letters, case as nginx and Apache print them. */
  static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (unsigned i = 0; i < 12; i++)
    if (memcmp(names + (size_t)3 * i, s, 3) == 0)
      return i + 1;
  return 0;
}

static int finish_time(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
                       int off_sign, unsigned oh, unsigned om, int64_t *out) {
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 ||
      oh > 23 || om > 59)
    return RV_EMALFORMED;
  int64_t t = days_from_civil((int64_t)y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
  *out = t - off_sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
  return 0;
}

int rv_log_parse_time(const uint8_t *s, size_t len, int64_t *out) {
  /* 10/Oct/2000:13:55:36 -0700 */
  unsigned d, y, h, mi, sec, oh, om;
  if (len != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
      s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
    return RV_EMALFORMED;
  unsigned mo = month_of(s + 3);
  if (!mo || !digits(s, 2, &d) || !digits(s + 7, 4, &y) || !digits(s + 12, 2, &h) ||
      !digits(s + 15, 2, &mi) || !digits(s + 18, 2, &sec) || !digits(s + 22, 2, &oh) ||
      !digits(s + 24, 2, &om))
    return RV_EMALFORMED;
  return finish_time(y, mo, d, h, mi, sec, s[21] == '-' ? -1 : 1, oh, om, out);
}

static int parse_iso(const uint8_t *s, size_t len, int64_t *out) {
  /* 2000-10-10T13:55:36+00:00 or ...36Z */
  unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
  int sign = 1;
  if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
      !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
    return RV_EMALFORMED;
  if (len == 20 && s[19] == 'Z') {
    /* UTC */
  } else if (len == 25 && (s[19] == '+' || s[19] == '-') && s[22] == ':' &&
             digits(s + 20, 2, &oh) && digits(s + 23, 2, &om)) {
    sign = s[19] == '-' ? -1 : 1;
  } else {
    return RV_EMALFORMED;
  }
  return finish_time(y, mo, d, h, mi, sec, sign, oh, om, out);
}

/* Decimal "123" or "123.456" (at most 6 fraction digits kept) in millionths. */
static bool parse_decimal(const uint8_t *s, size_t n, uint64_t *micro) {
  uint64_t ip = 0, fp = 0;
  size_t i = 0;
  if (n == 0 || n > 24)
    return false;
  for (; i < n && s[i] != '.'; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    ip = ip * 10 + (uint64_t)(s[i] - '0');
  }
  if (i == 0)
    return false;
  unsigned scale = 1000000;
  if (i < n) {
    if (++i == n)
      return false;
    for (; i < n; i++) {
      if (s[i] < '0' || s[i] > '9')
        return false;
      if (scale > 1) {
        scale /= 10;
        fp += (uint64_t)(s[i] - '0') * scale;
      }
    }
  }
  if (ip > UINT64_MAX / 1000000 - 1)
    return false;
  *micro = ip * 1000000 + fp;
  return true;
}

/* ---- one line ---------------------------------------------------------- */

static bool is_control(uint8_t c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

#if defined(__SSE2__)
/* Bytes below 0x20 except tab, and DEL, 16 at a time (SSE2 is part of the
 * x86-64 baseline, so no run-time dispatch is needed here). */
static bool has_control(const uint8_t *p, size_t n) {
  const __m128i below = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7f);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i)); /* unaligned load */
    /* v <= 0x1f (unsigned) exactly when min(v, 0x1f) == v */
    __m128i lt = _mm_cmpeq_epi8(_mm_min_epu8(v, below), v);
    __m128i bad =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), lt), _mm_cmpeq_epi8(v, del));
    if (_mm_movemask_epi8(bad))
      return true;
  }
  for (; i < n; i++)
    if (is_control(p[i]))
      return true;
  return false;
}
#else
static bool has_control(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (is_control(p[i]))
      return true;
  return false;
}
#endif

/* Literals between fields are a few bytes: a loop beats a memcmp call. */
static inline bool lit_eq(const uint8_t *a, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i])
      return false;
  return true;
}

/* Whether the byte at e is escaped: preceded by an odd run of backslashes. */
static bool escaped(const uint8_t *p, size_t e) {
  size_t bs = 0;
  while (bs < e && p[e - 1 - bs] == '\\')
    bs++;
  return bs % 2 == 1;
}

/* End of a value that stops at \p term; inside quotes \" does not count. */
static size_t find_term(const uint8_t *p, size_t n, uint8_t term, bool quoted) {
  size_t i = 0;
  /* Most fields (user, status, bytes, method) are a few bytes long: look
   * at the first ones inline before paying for a memchr call. */
  size_t quick = n < 16 ? n : 16;
  for (; i < quick; i++)
    if (p[i] == term && (!quoted || !escaped(p, i)))
      return i;
  while (i < n) {
    const uint8_t *q = memchr(p + i, term, n - i);
    if (!q)
      return n;
    size_t e = (size_t)(q - p);
    if (!quoted || !escaped(p, e))
      return e;
    i = e + 1;
  }
  return n;
}

static void set(rv_log_record *r, rv_log_field f, const uint8_t *p, size_t n) {
  r->f[f].ptr = p;
  r->f[f].len = n;
  r->present |= 1u << f;
}

static void split_target(rv_log_record *r, const uint8_t *p, size_t n) {
  const uint8_t *q = memchr(p, '?', n);
  if (q) {
    set(r, RV_LOG_PATH, p, (size_t)(q - p));
    set(r, RV_LOG_QUERY, q + 1, n - (size_t)(q - p) - 1);
  } else {
    set(r, RV_LOG_PATH, p, n);
  }
}

static rv_log_error parse_request(rv_log_record *r, const uint8_t *p, size_t n) {
  if (n == 0 || (n == 1 && p[0] == '-'))
    return RV_LOG_OK; /* no request (connection closed early): no fields */
  const uint8_t *sp = memchr(p, ' ', n);
  size_t mlen = sp ? (size_t)(sp - p) : n;
  if (!sp || mlen == 0 || mlen > 20)
    return RV_LOG_EREQUEST;
  for (size_t i = 0; i < mlen; i++)
    if (!((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-' || p[i] == '_'))
      return RV_LOG_EREQUEST;
  const uint8_t *t = sp + 1, *end = p + n;
  size_t tlen = (size_t)(end - t);
  /* The protocol is the last word if it starts with HTTP/. */
  const uint8_t *last = NULL;
  for (const uint8_t *k = end; k > t; k--)
    if (k[-1] == ' ') {
      last = k - 1;
      break;
    }
  set(r, RV_LOG_METHOD, p, mlen);
  if (last && (size_t)(end - last - 1) >= 5 && memcmp(last + 1, "HTTP/", 5) == 0) {
    set(r, RV_LOG_PROTOCOL, last + 1, (size_t)(end - last - 1));
    tlen = (size_t)(last - t);
  }
  if (tlen == 0)
    return RV_LOG_EREQUEST;
  split_target(r, t, tlen);
  return RV_LOG_OK;
}

static rv_log_error set_var(rv_log_record *r, int var, const uint8_t *p, size_t n) {
  unsigned v;
  switch (var) {
  case V_ADDR:
    set(r, RV_LOG_ADDR, p, n);
    return RV_LOG_OK;
  case V_USER:
    set(r, RV_LOG_USER, p, n);
    return RV_LOG_OK;
  case V_TIME_LOCAL:
    set(r, RV_LOG_TIME, p, n);
    return rv_log_parse_time(p, n, &r->time) ? RV_LOG_ETIME : RV_LOG_OK;
  case V_TIME_ISO:
    set(r, RV_LOG_TIME, p, n);
    return parse_iso(p, n, &r->time) ? RV_LOG_ETIME : RV_LOG_OK;
  case V_MSEC: {
    uint64_t us;
    set(r, RV_LOG_TIME, p, n);
    if (!parse_decimal(p, n, &us))
      return RV_LOG_ETIME;
    r->time = (int64_t)(us / 1000000);
    return RV_LOG_OK;
  }
  case V_REQUEST:
    return parse_request(r, p, n);
  case V_METHOD:
    set(r, RV_LOG_METHOD, p, n);
    return RV_LOG_OK;
  case V_REQUEST_URI:
    split_target(r, p, n);
    return RV_LOG_OK;
  case V_URI:
    set(r, RV_LOG_PATH, p, n);
    return RV_LOG_OK;
  case V_ARGS:
    set(r, RV_LOG_QUERY, p, n);
    return RV_LOG_OK;
  case V_PROTOCOL:
    set(r, RV_LOG_PROTOCOL, p, n);
    return RV_LOG_OK;
  case V_STATUS:
    if (n != 3 || !digits(p, 3, &v) || v < 100)
      return RV_LOG_ESTATUS;
    set(r, RV_LOG_STATUS, p, n);
    r->status = (int)v;
    return RV_LOG_OK;
  case V_BYTES: {
    set(r, RV_LOG_BYTES, p, n);
    if (n == 1 && p[0] == '-')
      return RV_LOG_OK;
    uint64_t b = 0;
    if (n == 0 || n > 19)
      return RV_LOG_ENUMBER;
    for (size_t i = 0; i < n; i++) {
      if (p[i] < '0' || p[i] > '9')
        return RV_LOG_ENUMBER;
      b = b * 10 + (uint64_t)(p[i] - '0');
    }
    r->bytes = b;
    return RV_LOG_OK;
  }
  case V_REFERER:
    set(r, RV_LOG_REFERER, p, n);
    return RV_LOG_OK;
  case V_AGENT:
    set(r, RV_LOG_AGENT, p, n);
    return RV_LOG_OK;
  case V_REQTIME:
    if (n == 1 && p[0] == '-')
      return RV_LOG_OK;
    if (!parse_decimal(p, n, &r->reqtime_us))
      return RV_LOG_ENUMBER;
    set(r, RV_LOG_REQTIME, p, n);
    return RV_LOG_OK;
  default:
    return RV_LOG_OK;
  }
}

rv_log_error rv_log_parse_line(const rv_logformat *f, const uint8_t *line, size_t len,
                               rv_log_record *r) {
  memset(r, 0, sizeof *r);
  if (len && line[len - 1] == '\r')
    len--;
  size_t blank = 0;
  while (blank < len && (line[blank] == ' ' || line[blank] == '\t'))
    blank++;
  if (blank == len)
    return RV_LOG_EEMPTY;
  if (has_control(line, len))
    return RV_LOG_EBINARY;
  size_t pos = 0;
  for (size_t k = 0; k < f->nitems; k++) {
    const fmt_item *it = &f->items[k];
    if (it->lit_len) {
      if (len - pos < it->lit_len)
        return lit_eq(line + pos, it->lit, len - pos) ? RV_LOG_ETRUNCATED : RV_LOG_ELITERAL;
      if (!lit_eq(line + pos, it->lit, it->lit_len))
        return RV_LOG_ELITERAL;
      pos += it->lit_len;
    }
    if (it->var == V_END)
      return pos == len ? RV_LOG_OK : RV_LOG_ELITERAL;
    size_t n = len - pos;
    if (it->term) {
      n = find_term(line + pos, len - pos, it->term, it->quoted);
      if (n == len - pos)
        return it->quoted && it->term == '"' ? RV_LOG_EQUOTE : RV_LOG_ETRUNCATED;
    }
    rv_log_error e = set_var(r, it->var, line + pos, n);
    if (e != RV_LOG_OK)
      return e;
    pos += n;
  }
  return RV_LOG_OK;
}
