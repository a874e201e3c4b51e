/* http-write: the response writer and reason phrases. Freestanding: the
 * bytes go to an rv_buf, which allocates through its own rv_alloc. */
#include <rivet/net/http.h>

#include <string.h>

const char *rv_http_reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 417:
    return "Expectation Failed";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

/* Decimal digits of v into buf (at least 20 bytes); returns the length. */
static size_t fmt_u64(char *buf, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0);
  for (size_t i = 0; i < n; i++) {
    buf[i] = tmp[n - 1 - i];
  }
  return n;
}

static int put(rv_http_response *r, const void *p, size_t n) {
  if (r->error == RV_OK) {
    rv_buf *b = r->out;
    if (b->cap - b->len >= n && n > 0) {
      /* The common case on a reused buffer: room already, no call. */
      memcpy(b->data + b->len, p, n);
      b->len += n;
      return RV_OK;
    }
    int rc = rv_buf_append(b, p, n);
    if (rc != RV_OK) {
      r->error = rc;
    }
  }
  return r->error;
}

static int put_str(rv_http_response *r, const char *s) {
  size_t n = 0;
  while (s[n] != '\0') {
    n++;
  }
  return put(r, s, n);
}

/* tchar (RFC 9110 §5.6.2): ALPHA, DIGIT and "!#$%&'*+-.^_`|~". */
static bool is_tchar(unsigned char c) {
  static const uint32_t bits[8] = {
      0x00000000u, /* 0x00-0x1f: controls */
      0x03ff6cfau, /* 0x20-0x3f: ! # $ % & ' * + - . 0-9 */
      0xc7fffffeu, /* 0x40-0x5f: A-Z ^ _ */
      0x57ffffffu, /* 0x60-0x7f: ` a-z | ~ */
  };
  return (bits[c >> 5] >> (c & 31u)) & 1u;
}

static bool token_ok(const char *s) {
  if (s == NULL || *s == '\0') {
    return false;
  }
  for (; *s != '\0'; s++) {
    if (!is_tchar((unsigned char)*s)) {
      return false;
    }
  }
  return true;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static bool name_is(const char *a, const char *lit) {
  while (*a != '\0' && *lit != '\0' && lower((unsigned char)*a) == *lit) {
    a++;
    lit++;
  }
  return *a == '\0' && *lit == '\0';
}

int rv_http_response_begin(rv_http_response *r, rv_buf *out, int status) {
  if (r == NULL) {
    return RV_EINVAL;
  }
  memset(r, 0, sizeof *r);
  if (out == NULL || status < 100 || status > 999) {
    r->error = RV_EINVAL;
    return RV_EINVAL;
  }
  r->out = out;
  r->start = out->len;
  r->status = status;
  char line[16] = "HTTP/1.1 ";
  line[9] = (char)('0' + status / 100);
  line[10] = (char)('0' + status / 10 % 10);
  line[11] = (char)('0' + status % 10);
  line[12] = ' ';
  put(r, line, 13);
  put_str(r, rv_http_reason(status));
  return put(r, "\r\n", 2);
}

int rv_http_response_header(rv_http_response *r, const char *name, rv_slice value) {
  if (r->error != RV_OK) {
    return r->error;
  }
  if (r->status == 0 || r->ended) {
    r->error = RV_ESTATE;
    return r->error;
  }
  /* Only names starting with c or t can be one of the three checked below. */
  int first = name != NULL ? lower((unsigned char)name[0]) : 0;
  bool c_or_t = first == 'c' || first == 't';
  if (!token_ok(name) ||
      (c_or_t && (name_is(name, "content-length") || name_is(name, "transfer-encoding"))) ||
      (value.ptr == NULL && value.len > 0)) {
    r->error = RV_EINVAL;
    return r->error;
  }
  for (size_t i = 0; i < value.len; i++) {
    uint8_t c = value.ptr[i];
    if (c == '\r' || c == '\n' || c == '\0') {
      r->error = RV_EINVAL; /* would split the response */
      return r->error;
    }
  }
  if (c_or_t && value.len == 5 && name_is(name, "connection") &&
      memcmp(value.ptr, "close", 5) == 0) {
    r->close = true;
  }
  put_str(r, name);
  put(r, ": ", 2);
  put(r, value.ptr, value.len);
  return put(r, "\r\n", 2);
}

int rv_http_response_header_u64(rv_http_response *r, const char *name, uint64_t value) {
  char num[20];
  size_t n = fmt_u64(num, value);
  return rv_http_response_header(r, name, rv_slice_make(num, n));
}

/* A failed response leaves no partial bytes behind. */
static int end_failed(rv_http_response *r) {
  if (r->out != NULL) {
    (void)rv_buf_resize(r->out, r->start); /* shrinking never allocates */
  }
  r->ended = true;
  return r->error;
}

int rv_http_response_end(rv_http_response *r, rv_slice body) {
  if (r->error != RV_OK) {
    return end_failed(r);
  }
  if (r->status == 0 || r->ended) {
    r->error = RV_ESTATE;
    return r->error;
  }
  if (body.ptr == NULL && body.len > 0) {
    r->error = RV_EINVAL;
    return end_failed(r);
  }
  r->ended = true;
  /* 1xx, 204 and 304 have no body and no Content-Length (RFC 9110 §8.6). */
  bool bodiless = r->status < 200 || r->status == 204 || r->status == 304;
  if (!bodiless) {
    char num[20];
    size_t n = fmt_u64(num, body.len);
    put_str(r, "Content-Length: ");
    put(r, num, n);
    put(r, "\r\n", 2);
  }
  put(r, "\r\n", 2);
  if (!bodiless) {
    put(r, body.ptr, body.len);
  }
  return r->error != RV_OK ? end_failed(r) : RV_OK;
}

int rv_http_write_error(rv_buf *out, int status) {
  rv_http_response r;
  int rc = rv_http_response_begin(&r, out, status);
  if (rc != RV_OK) {
    return rc;
  }
  const char *reason = rv_http_reason(status);
  rv_http_response_header(&r, "Content-Type", rv_slice_cstr("text/plain; charset=utf-8"));
  rv_http_response_header(&r, "Connection", rv_slice_cstr("close"));
  return rv_http_response_end(&r, rv_slice_cstr(reason));
}
