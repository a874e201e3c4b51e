/* json.c: strict request-body validation, timestamps, cursors and a small
 * JSON writer for the api-server (see json.h). */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core/err.h>

int api_err_set(api_err *e, int status, const char *code, const char *fmt, ...) {
  e->status = status;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    e->msg[0] = '\0';
  }
  return RV_EMALFORMED;
}

int api_json_parse_object(rv_slice body, json_t **out, api_err *e) {
  json_error_t je;
  json_t *j = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL) {
    return api_err_set(e, 400, "bad_json", "malformed JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
  }
  if (!json_is_object(j)) {
    json_decref(j);
    return api_err_set(e, 400, "invalid_type", "the request body must be a JSON object");
  }
  *out = j;
  return 0;
}

/* Bytes of s (NUL-terminated) to quote in a message: at most max, never
 * cutting a UTF-8 sequence in two. */
static int utf8_prefix(const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u) {
      n--; /* s[n] continues a sequence: cut before its lead byte */
    }
  }
  return (int)n;
}

int api_json_known(json_t *obj, const char *const *names, size_t n, const char *where, api_err *e) {
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    (void)val;
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++) {
      ok = strcmp(key, names[i]) == 0;
    }
    if (!ok) {
      /* The key is client text (valid UTF-8: jansson checked): quote at
       * most 64 bytes of it, whole characters only. */
      return api_err_set(e, 400, "unknown_field", "unknown field '%.*s'%s%s", utf8_prefix(key, 64),
                         key, where[0] != '\0' ? " in " : "", where);
    }
  }
  return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80) {
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) {
    return 0;
  }
  unsigned cp = c & (0x7Fu >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0u) != 0x80u) {
      return 0;
    }
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  if (cp >= 0x80 && cp <= 0x9F) {
    return 0; /* C1 control characters */
  }
  return len;
}

static bool id_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool api_charset_ok(api_charset cs, const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  switch (cs) {
  case API_CS_ID:
    if (len > 0 && u[0] == '.') {
      return false;
    }
    for (size_t i = 0; i < len; i++) {
      if (!id_char(u[i])) {
        return false;
      }
    }
    return true;
  case API_CS_METRIC:
    for (size_t i = 0; i < len; i++) {
      if (!id_char(u[i]) || u[i] == '-') {
        return false;
      }
    }
    return true;
  case API_CS_TEXT:
  default:
    for (size_t i = 0; i < len;) {
      if (u[i] < 0x20 || u[i] == 0x7F) {
        return false;
      }
      size_t k = utf8_seq(u + i, len - i);
      if (k == 0) {
        return false;
      }
      i += k;
    }
    return true;
  }
}

int api_json_string(json_t *obj, const char *name, const char *where, bool required, size_t min,
                    size_t max, api_charset cs, char *out, api_err *e) {
  const char *sep = where[0] != '\0' ? "." : "";
  json_t *v = json_object_get(obj, name);
  if (v == NULL) {
    if (required) {
      return api_err_set(e, 400, "missing_field", "field '%s%s%s' is required", where, sep, name);
    }
    return 0;
  }
  if (!json_is_string(v)) {
    return api_err_set(e, 400, "invalid_type", "field '%s%s%s' must be a string", where, sep, name);
  }
  const char *s = json_string_value(v);
  size_t len = json_string_length(v);
  if (len < min || len > max) {
    return api_err_set(e, 400, "invalid_value", "field '%s%s%s' must be %zu to %zu bytes", where,
                       sep, name, min, max);
  }
  if (memchr(s, '\0', len) != NULL || !api_charset_ok(cs, s, len)) {
    return api_err_set(e, 400, "invalid_value", "field '%s%s%s' holds a character not allowed",
                       where, sep, name);
  }
  memcpy(out, s, len);
  out[len] = '\0';
  return 1;
}

/* ---- timestamps -------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned mp = m > 2 ? m - 3 : m + 9;
  unsigned doy = (153 * mp + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void api_ts_format(int64_t ms, char out[25]) {
  if (ms < API_TS_MIN) {
    ms = API_TS_MIN;
  } else if (ms > API_TS_MAX) {
    ms = API_TS_MAX;
  }
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t msec = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int64_t y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  /* Every field is in range after the clamp: write the digits directly. */
  unsigned v[7] = {
      (unsigned)y,   mo, d, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
      (unsigned)msec};
  static const unsigned width[7] = {4, 2, 2, 2, 2, 2, 3};
  static const char sep[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
  size_t o = 0;
  for (size_t i = 0; i < 7; i++) {
    for (unsigned k = width[i]; k > 0; k--) {
      unsigned div = 1;
      for (unsigned p = 1; p < k; p++) {
        div *= 10;
      }
      out[o++] = (char)('0' + v[i] / div % 10);
    }
    out[o++] = sep[i];
  }
  out[o] = '\0';
}

static bool digits(const char *s, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

bool api_ts_parse(const char *s, size_t len, int64_t *ms) {
  /* YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM) */
  unsigned y, mo, d, h, mi, sec, frac = 0;
  if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
      !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec)) {
    return false;
  }
  size_t i = 19;
  if (s[i] == '.') {
    size_t f0 = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (i - f0 < 3) {
        frac = frac * 10 + (unsigned)(s[i] - '0');
      }
      i++;
    }
    size_t nf = i - f0;
    if (nf == 0 || nf > 9) {
      return false;
    }
    for (size_t k = nf; k < 3; k++) {
      frac *= 10;
    }
  }
  int64_t off_min = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    unsigned oh, om;
    if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    off_min = (int64_t)(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (i != len || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
      (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59) {
    return false; /* leap seconds (60) are refused: Unix time has none */
  }
  int64_t v = days_from_civil(y, mo, d) * 86400 + (int64_t)(h * 3600 + mi * 60 + sec);
  v = (v - off_min * 60) * 1000 + frac;
  if (v < API_TS_MIN || v > API_TS_MAX) {
    return false;
  }
  *ms = v;
  return true;
}

bool api_ts_parse_any(const char *s, size_t len, int64_t *ms) {
  if (len == 0) {
    return false;
  }
  size_t i = s[0] == '-' ? 1 : 0;
  bool num = i < len;
  for (size_t k = i; k < len && num; k++) {
    num = s[k] >= '0' && s[k] <= '9';
  }
  if (!num) {
    return api_ts_parse(s, len, ms);
  }
  if (len - i > 15) {
    return false; /* more digits than any value in range */
  }
  int64_t v = 0;
  for (size_t k = i; k < len; k++) {
    v = v * 10 + (s[k] - '0');
  }
  v = i == 1 ? -v : v;
  if (v < API_TS_MIN || v > API_TS_MAX) {
    return false;
  }
  *ms = v;
  return true;
}

/* ---- base64url ------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t api_b64url_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = B64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
  }
  out[o] = '\0';
  return o;
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  return c == '-' ? 62 : c == '_' ? 63 : -1;
}

bool api_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n) {
  if (len % 4 == 1) {
    return false;
  }
  size_t o = 0;
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64val(s[i]);
    if (v < 0) {
      return false;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o == cap) {
        return false;
      }
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1u;
    }
  }
  if (acc != 0) {
    return false; /* non-zero trailing bits: one encoding per byte string */
  }
  *n = o;
  return true;
}

/* ---- writer ------------------------------------------------------------ */

void api_jw_raw(api_jw *w, const char *s, size_t n) {
  if (w->err == 0) {
    w->err = rv_buf_append(w->b, s, n);
  }
}

void api_jw_lit(api_jw *w, const char *s) { api_jw_raw(w, s, strlen(s)); }

void api_jw_str(api_jw *w, const char *s, size_t n) {
  api_jw_raw(w, "\"", 1);
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = u[i];
    if (c >= 0x80) {
      size_t k = utf8_seq(u + i, n - i);
      if (k != 0) {
        i += k - 1; /* a valid sequence: copied with the run */
        continue;
      }
      /* Invalid UTF-8 (e.g. client bytes quoted by a parser message):
       * one U+FFFD per bad byte keeps the document valid JSON. */
      api_jw_raw(w, s + run, i - run);
      api_jw_raw(w, "\\ufffd", 6);
      run = i + 1;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) {
      continue;
    }
    api_jw_raw(w, s + run, i - run);
    run = i + 1;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      api_jw_raw(w, esc, 2);
    } else {
      (void)snprintf(esc, sizeof esc, "\\u%04x", c);
      api_jw_raw(w, esc, 6);
    }
  }
  api_jw_raw(w, s + run, n - run);
  api_jw_raw(w, "\"", 1);
}

void api_jw_cstr(api_jw *w, const char *s) { api_jw_str(w, s, strlen(s)); }

void api_jw_i64(api_jw *w, int64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  api_jw_raw(w, tmp, (size_t)n);
}

void api_jw_f64(api_jw *w, double v) {
  if (!isfinite(v)) {
    api_jw_lit(w, "null");
    return;
  }
  char tmp[40];
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) {
      break;
    }
  }
  for (int i = 0; i < n; i++) {
    if (tmp[i] == ',') {
      tmp[i] = '.'; /* a locale with a decimal comma */
    }
  }
  api_jw_raw(w, tmp, (size_t)n);
}

void api_jw_ts(api_jw *w, int64_t ms) {
  char ts[25];
  api_ts_format(ms, ts);
  api_jw_raw(w, "\"", 1);
  api_jw_raw(w, ts, 24);
  api_jw_raw(w, "\"", 1);
}

void api_jw_device(api_jw *w, const api_device *d) {
  api_jw_lit(w, "{\"id\":");
  api_jw_cstr(w, d->id);
  api_jw_lit(w, ",\"name\":");
  api_jw_cstr(w, d->name);
  api_jw_lit(w, ",\"model\":");
  api_jw_cstr(w, d->model);
  api_jw_lit(w, ",\"firmware\":");
  api_jw_cstr(w, d->firmware);
  api_jw_lit(w, d->status == API_DEVICE_DISABLED ? ",\"status\":\"disabled\""
                                                 : ",\"status\":\"active\"");
  api_jw_lit(w, ",\"created_at\":");
  api_jw_ts(w, d->created_ms);
  api_jw_lit(w, ",\"updated_at\":");
  api_jw_ts(w, d->updated_ms);
  api_jw_lit(w, ",\"version\":");
  api_jw_i64(w, d->version);
  api_jw_lit(w, "}");
}
