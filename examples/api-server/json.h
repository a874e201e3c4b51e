/* json.h: strict request-body validation and small JSON output helpers for
 * the api-server's HTTP layer (private to examples/api-server).
 *
 * Input: bodies are parsed with jansson (JSON_REJECT_DUPLICATES); they must
 * be objects, every member must be known, and each field is checked for its
 * type, length and character set. A failed check fills an ::api_err with
 * the HTTP status, a stable error code and a message for the client.
 *
 * Output: a tiny writer appending to an ::rv_buf (no jansson objects on the
 * response path): string escaping, integers, shortest round-trip doubles.
 *
 * Timestamps: RFC 3339, formatted as UTC with milliseconds
 * (`2026-11-23T10:00:00.000Z`); parsed with any offset and 0..9 fraction
 * digits (truncated to milliseconds), years 0000..9999.
 *
 * Cursors: base64url without padding of a 1-byte version and a payload.
 *
 * Thread safety: no shared state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <rivet/core/bytes.h>

#include "store.h"

/** A request error: HTTP status, stable code, message for the client. */
typedef struct api_err {
  int status;       /**< 400, 404, 409, 412, 413, 415, 429, 500, 503 ... */
  const char *code; /**< "bad_json", "unknown_field", "invalid_type", ... */
  char msg[200];    /**< human-readable, never holds secrets or SQL */
} api_err;

/** Fill \p e (printf-style message); returns RV_EMALFORMED for chaining. */
int api_err_set(api_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Parse \p body as a JSON object (duplicates refused). On failure 400
 *  `bad_json` (with line and column) or `invalid_type` (not an object). */
int api_json_parse_object(rv_slice body, json_t **out, api_err *e);

/** Every member of \p obj must be one of the \p n names: else 400 `unknown_field`.
 *  \p where prefixes the message ("" or "points[3]"). */
int api_json_known(json_t *obj, const char *const *names, size_t n, const char *where, api_err *e);

/** Validation kinds for api_json_string(). */
typedef enum api_charset {
  API_CS_ID = 0,     /**< `[A-Za-z0-9._-]`, not starting with '.' */
  API_CS_TEXT = 1,   /**< valid UTF-8, no control characters */
  API_CS_METRIC = 2, /**< `[A-Za-z0-9_.]` */
} api_charset;

/** True when \p s (\p len bytes) is allowed by \p cs. */
bool api_charset_ok(api_charset cs, const char *s, size_t len);

/**
 * Read string member \p name of \p obj into \p out (room for max + 1).
 * \return 1 when present and valid, 0 when absent (and not \p required),
 *         RV_EMALFORMED with \p e filled otherwise (`missing_field`,
 *         `invalid_type`, `invalid_value`).
 */
int api_json_string(json_t *obj, const char *name, const char *where, bool required, size_t min,
                    size_t max, api_charset cs, char *out, api_err *e);

/** Format Unix ms as RFC 3339 UTC with milliseconds; \p out has 25 bytes.
 *  Years outside 0000..9999 are clamped into that range. */
void api_ts_format(int64_t ms, char out[25]);

/** Parse an RFC 3339 timestamp; false if malformed or out of range. */
bool api_ts_parse(const char *s, size_t len, int64_t *ms);

/** Largest Unix ms accepted anywhere (9999-12-31T23:59:59.999Z). */
#define API_TS_MAX INT64_C(253402300799999)
/** Smallest (0000-01-01T00:00:00.000Z). */
#define API_TS_MIN INT64_C(-62167219200000)

/** Parse a timestamp query value: RFC 3339 or a decimal (optionally
 *  negative) count of Unix ms within the range above. */
bool api_ts_parse_any(const char *s, size_t len, int64_t *ms);

/** base64url (no padding) of \p n bytes into \p out (room for 4*ceil(n/3)
 *  + 1); returns the length written (NUL-terminated). */
size_t api_b64url_encode(const uint8_t *in, size_t n, char *out);

/** Strict base64url decoding (no padding, zero trailing bits) of at most
 *  \p cap bytes; false if malformed or too long. */
bool api_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n);

/* ---- output: a JSON writer over an rv_buf with a sticky error ---------- */

/** The writer. */
typedef struct api_jw {
  rv_buf *b; /**< destination */
  int err;   /**< first error (RV_ENOMEM ...) or 0 */
} api_jw;

/** Append raw bytes (already valid JSON). */
void api_jw_raw(api_jw *w, const char *s, size_t n);
/** Append a NUL-terminated raw fragment. */
void api_jw_lit(api_jw *w, const char *s);
/** Append \p n bytes as a quoted, escaped JSON string. */
void api_jw_str(api_jw *w, const char *s, size_t n);
/** Append a NUL-terminated string, quoted and escaped. */
void api_jw_cstr(api_jw *w, const char *s);
/** Append a signed integer. */
void api_jw_i64(api_jw *w, int64_t v);
/** Append a finite double with the fewest digits that read back the same. */
void api_jw_f64(api_jw *w, double v);
/** Append a timestamp as a quoted RFC 3339 string. */
void api_jw_ts(api_jw *w, int64_t ms);
/** Append the device's JSON representation. */
void api_jw_device(api_jw *w, const api_device *d);
