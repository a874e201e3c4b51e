/* http: the incremental HTTP/1.1 request parser (RFC 9112).
 *
 * The head is handled in two steps. A scanner walks new bytes once, looking
 * only for line ends (CR/LF, eight bytes at a time with a SWAR test) and
 * checking the limits, so a head fed one byte at a time costs O(n) overall.
 * Once the empty line is found, the whole head, now known to be complete and
 * within limits, is parsed in one strict pass. The body is a byte-level
 * state machine because chunk framing can be split anywhere.
 *
 * Freestanding: uses only memcpy/memcmp. */
#include <rivet/net/http.h>

#include <string.h>

enum { ST_HEAD = 0, ST_BODY = 1, ST_FAILED = 2 };

enum {
  CS_SIZE = 0,
  CS_BWS,
  CS_EXT,
  CS_SIZE_LF,
  CS_DATA,
  CS_DATA_CR,
  CS_DATA_LF,
  CS_TRAILER_START,
  CS_TRAILER_NAME,
  CS_TRAILER_VALUE,
  CS_TRAILER_LF,
  CS_END_LF,
};

rv_http_limits rv_http_limits_default(void) {
  rv_http_limits l = {
      .max_head = 8192,
      .max_headers = 64,
      .max_uri = 4096,
      .max_body = (uint64_t)1024 * 1024,
      .max_trailer = 4096,
  };
  return l;
}

/* tchar (RFC 9110 §5.6.2): the bytes allowed in a token. */
static bool is_tchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

/* field-vchar, SP and HTAB: what a field value (or chunk extension) may hold. */
static bool is_value_char(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static bool eq_ci(rv_slice s, const char *lit) {
  size_t n = 0;
  while (lit[n] != '\0') {
    if (n >= s.len || lower(s.ptr[n]) != lower((unsigned char)lit[n])) {
      return false;
    }
    n++;
  }
  return n == s.len;
}

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

static int fail(rv_http_parser *p, int code, int status, rv_diag *diag, size_t off,
                const char *msg) {
  p->state = ST_FAILED;
  p->error = code;
  p->status = status;
  return rv_diag_set(diag, code, off, msg);
}

int rv_http_parser_init(rv_http_parser *p, rv_http_header *headers, size_t max_headers,
                        const rv_http_limits *limits) {
  if (p == NULL || headers == NULL || max_headers == 0) {
    return RV_EINVAL;
  }
  rv_http_limits l = limits != NULL ? *limits : rv_http_limits_default();
  if (l.max_head == 0 || l.max_headers == 0 || l.max_uri == 0 || l.max_trailer == 0) {
    return RV_EINVAL;
  }
  memset(p, 0, sizeof *p);
  p->limits = l;
  p->headers = headers;
  p->max_headers = max_headers < l.max_headers ? max_headers : l.max_headers;
  return RV_OK;
}

int rv_http_parser_status(const rv_http_parser *p) { return p->status; }

bool rv_http_parser_idle(const rv_http_parser *p) { return p->state == ST_HEAD; }

/* Index of the first CR or LF in [i, end), or end. Eight bytes at a time:
 * x ^ pattern has a zero byte where x matched, and the classic
 * (v - 0x01..) & ~v & 0x80.. test flags a zero byte (it can also flag a
 * 0x01 byte just above a real zero, never a miss, so the exact position is
 * found bytewise afterwards). memcpy makes the unaligned load defined. */
static size_t find_eol(const uint8_t *b, size_t i, size_t end) {
  const uint64_t ones = 0x0101010101010101u;
  const uint64_t highs = 0x8080808080808080u;
  while (end - i >= 8) {
    uint64_t x;
    memcpy(&x, b + i, 8);
    uint64_t cr = x ^ (ones * '\r');
    uint64_t lf = x ^ (ones * '\n');
    if ((((cr - ones) & ~cr) | ((lf - ones) & ~lf)) & highs) {
      break;
    }
    i += 8;
  }
  while (i < end && b[i] != '\r' && b[i] != '\n') {
    i++;
  }
  return i;
}

/* Scan new head bytes. Returns 1 with *end set when the empty line ending
 * the head is found, 0 when more bytes are needed, or a negative error. */
static int scan_head(rv_http_parser *p, const uint8_t *b, size_t len, size_t *end, rv_diag *diag) {
  const rv_http_limits *l = &p->limits;
  size_t stop = len < l->max_head ? len : l->max_head;
  size_t i = p->scanned;
  while (i < stop) {
    if (p->lines == 0) {
      /* The request line, bytewise: early 400 for a bad method, early 414. */
      uint8_t c = b[i];
      if (c != '\r' && c != '\n') {
        if (c == ' ') {
          if (p->sp1 == 0) {
            if (i == p->line_start) {
              return fail(p, RV_EMALFORMED, 400, diag, i, "empty method");
            }
            p->sp1 = i + 1;
          } else if (p->sp2 == 0) {
            p->sp2 = i + 1;
          }
        } else if (p->sp1 == 0 && !is_tchar(c)) {
          return fail(p, RV_EMALFORMED, 400, diag, i, "invalid byte in method");
        } else if (p->sp1 != 0 && p->sp2 == 0 && i + 1 - p->sp1 > l->max_uri) {
          return fail(p, RV_ELIMIT, 414, diag, i, "request target too long");
        }
        i++;
        continue;
      }
    } else {
      i = find_eol(b, i, stop);
      if (i == stop) {
        break;
      }
    }
    if (b[i] == '\n') {
      return fail(p, RV_EMALFORMED, 400, diag, i, "bare LF (lines must end in CRLF)");
    }
    /* b[i] is CR: it must be followed by LF. Looking no further than the
     * limit keeps the verdict independent of how the input was split. */
    if (i + 1 >= stop) {
      break; /* wait for the next byte, or the head is too large */
    }
    if (b[i + 1] != '\n') {
      return fail(p, RV_EMALFORMED, 400, diag, i, "bare CR");
    }
    size_t next = i + 2;
    if (i == p->line_start) {
      if (p->lines == 0) {
        p->line_start = next; /* an empty line before the request line */
        p->sp1 = p->sp2 = 0;
      } else {
        *end = next;
        return 1;
      }
    } else {
      p->lines++;
      if (p->lines - 1 > p->max_headers) {
        return fail(p, RV_ELIMIT, 431, diag, i, "too many header fields");
      }
      p->line_start = next;
    }
    i = next;
  }
  p->scanned = i;
  if (len >= l->max_head) {
    return fail(p, RV_ELIMIT, 431, diag, l->max_head, "request head too large");
  }
  return 0;
}

/* Content-Length: 1*DIGIT, possibly a list of equal values (RFC 9110 §8.6). */
static int parse_content_length(rv_http_parser *p, rv_slice v, const uint8_t *base, bool *seen,
                                uint64_t *cl, rv_diag *diag) {
  size_t off = (size_t)(v.ptr - base);
  size_t i = 0;
  bool any = false;
  while (i <= v.len) {
    while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t')) {
      i++;
    }
    uint64_t n = 0;
    size_t digits = 0;
    while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9') {
      if (__builtin_mul_overflow(n, 10u, &n) ||
          __builtin_add_overflow(n, (uint64_t)(v.ptr[i] - '0'), &n)) {
        return fail(p, RV_ELIMIT, 413, diag, off + i, "Content-Length too large");
      }
      digits++;
      i++;
    }
    if (digits == 0) {
      return fail(p, RV_EMALFORMED, 400, diag, off + i, "invalid Content-Length");
    }
    if (*seen && n != *cl) {
      return fail(p, RV_EMALFORMED, 400, diag, off, "conflicting Content-Length values");
    }
    *seen = true;
    *cl = n;
    any = true;
    while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t')) {
      i++;
    }
    if (i == v.len) {
      break;
    }
    if (v.ptr[i] != ',') {
      return fail(p, RV_EMALFORMED, 400, diag, off + i, "invalid Content-Length");
    }
    i++;
  }
  return any ? RV_OK : fail(p, RV_EMALFORMED, 400, diag, off, "invalid Content-Length");
}

/* Split a comma list into trimmed elements; empty elements are skipped
 * (RFC 9110 §5.6.1). Returns false when the list is exhausted. */
static bool next_element(rv_slice *list, rv_slice *elem) {
  while (list->len > 0) {
    size_t i = 0;
    while (i < list->len && list->ptr[i] != ',') {
      i++;
    }
    rv_slice e = rv_slice_make(list->ptr, i);
    size_t skip = i < list->len ? i + 1 : i;
    list->ptr += skip;
    list->len -= skip;
    while (e.len > 0 && (e.ptr[0] == ' ' || e.ptr[0] == '\t')) {
      e.ptr++;
      e.len--;
    }
    while (e.len > 0 && (e.ptr[e.len - 1] == ' ' || e.ptr[e.len - 1] == '\t')) {
      e.len--;
    }
    if (e.len > 0) {
      *elem = e;
      return true;
    }
  }
  return false;
}

typedef struct head_sem {
  bool cl_seen, te_seen, chunked, te_unknown, close, keep_alive, expect;
  size_t hosts;
  uint64_t cl;
} head_sem;

static int field_semantics(rv_http_parser *p, const rv_http_header *h, const uint8_t *base,
                           head_sem *s, rv_diag *diag) {
  size_t off = (size_t)(h->name.ptr - base);
  if (eq_ci(h->name, "content-length")) {
    return parse_content_length(p, h->value, base, &s->cl_seen, &s->cl, diag);
  }
  if (eq_ci(h->name, "host")) {
    s->hosts++;
    return RV_OK;
  }
  rv_slice list = h->value;
  rv_slice e;
  if (eq_ci(h->name, "transfer-encoding")) {
    bool any = false;
    while (next_element(&list, &e)) {
      any = true;
      if (s->chunked) {
        return fail(p, RV_EMALFORMED, 400, diag, off, "chunked must be the final coding, once");
      }
      if (eq_ci(e, "chunked")) {
        s->chunked = true;
      } else {
        s->te_unknown = true;
      }
    }
    if (!any) {
      return fail(p, RV_EMALFORMED, 400, diag, off, "empty Transfer-Encoding");
    }
    s->te_seen = true;
    return RV_OK;
  }
  if (eq_ci(h->name, "connection")) {
    while (next_element(&list, &e)) {
      if (eq_ci(e, "close")) {
        s->close = true;
      } else if (eq_ci(e, "keep-alive")) {
        s->keep_alive = true;
      }
    }
    return RV_OK;
  }
  if (eq_ci(h->name, "expect")) {
    if (!eq_ci(h->value, "100-continue")) {
      return fail(p, RV_EUNSUPPORTED, 417, diag, off, "unsupported expectation");
    }
    s->expect = true;
  }
  return RV_OK;
}

/* The request line: method SP request-target SP HTTP-version. */
static int parse_request_line(rv_http_parser *p, const uint8_t *b, size_t start, size_t eol,
                              rv_http_request *req, rv_diag *diag) {
  size_t i = start;
  while (i < eol && is_tchar(b[i])) {
    i++;
  }
  if (i == start || i >= eol || b[i] != ' ') {
    return fail(p, RV_EMALFORMED, 400, diag, i, "malformed method");
  }
  req->method = rv_slice_make(b + start, i - start);
  size_t t = ++i;
  while (i < eol && b[i] > 0x20 && b[i] < 0x7F) {
    i++;
  }
  if (i == t || i >= eol || b[i] != ' ') {
    return fail(p, RV_EMALFORMED, 400, diag, i, "malformed request target");
  }
  if (i - t > p->limits.max_uri) {
    return fail(p, RV_ELIMIT, 414, diag, t, "request target too long");
  }
  req->target = rv_slice_make(b + t, i - t);
  i++;
  if (eol - i != 8 || memcmp(b + i, "HTTP/", 5) != 0 || b[i + 5] < '0' || b[i + 5] > '9' ||
      b[i + 6] != '.' || b[i + 7] < '0' || b[i + 7] > '9') {
    return fail(p, RV_EMALFORMED, 400, diag, i, "malformed HTTP version");
  }
  if (b[i + 5] != '1') {
    return fail(p, RV_EUNSUPPORTED, 505, diag, i + 5, "HTTP major version not supported");
  }
  req->version_minor = b[i + 7] == '0' ? 0 : 1;

  /* Target forms (RFC 9112 §3.2): origin, absolute, authority, asterisk. */
  rv_slice tg = req->target;
  size_t from = 0;
  if (tg.ptr[0] == '*') {
    if (tg.len != 1 || !eq_ci(req->method, "OPTIONS")) {
      return fail(p, RV_EMALFORMED, 400, diag, t, "asterisk-form only for OPTIONS");
    }
    req->path = tg;
    req->query = rv_slice_make(tg.ptr + 1, 0);
    return RV_OK;
  }
  if (req->method.len == 7 && memcmp(req->method.ptr, "CONNECT", 7) == 0) {
    req->path = tg; /* authority-form: host:port */
    req->query = rv_slice_make(tg.ptr + tg.len, 0);
    return RV_OK;
  }
  if (tg.ptr[0] != '/') {
    /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
    size_t s = 0;
    while (s < tg.len && ((tg.ptr[s] | 0x20) >= 'a' && (tg.ptr[s] | 0x20) <= 'z')) {
      s++;
    }
    if (s == 0 || tg.len - s < 3 || memcmp(tg.ptr + s, "://", 3) != 0) {
      return fail(p, RV_EMALFORMED, 400, diag, t, "malformed request target");
    }
    from = s + 3;
    while (from < tg.len && tg.ptr[from] != '/' && tg.ptr[from] != '?') {
      from++;
    }
  }
  size_t q = from;
  while (q < tg.len && tg.ptr[q] != '?') {
    q++;
  }
  req->path = rv_slice_make(tg.ptr + from, q - from);
  req->query = q < tg.len ? rv_slice_make(tg.ptr + q + 1, tg.len - q - 1)
                          : rv_slice_make(tg.ptr + tg.len, 0);
  return RV_OK;
}

/* Parse a complete head [0, end) in one strict pass. */
static int parse_complete_head(rv_http_parser *p, const uint8_t *b, size_t end,
                               rv_http_request *req, rv_diag *diag) {
  size_t i = 0;
  while (i + 1 < end && b[i] == '\r' && b[i + 1] == '\n') {
    i += 2; /* empty lines before the request line (the scanner allowed them) */
  }
  size_t eol = i;
  while (b[eol] != '\r') {
    eol++;
  }
  int rc = parse_request_line(p, b, i, eol, req, diag);
  if (rc != RV_OK) {
    return rc;
  }
  head_sem s = {0};
  size_t n = 0;
  i = eol + 2;
  while (i < end - 2) {
    if (b[i] == ' ' || b[i] == '\t') {
      return fail(p, RV_EMALFORMED, 400, diag, i, "obs-fold (line folding) is not allowed");
    }
    size_t name = i;
    while (is_tchar(b[i])) {
      i++;
    }
    if (b[i] != ':') {
      const char *msg = (b[i] == ' ' || b[i] == '\t') ? "whitespace before field colon"
                                                      : "invalid byte in field name";
      return fail(p, RV_EMALFORMED, 400, diag, i, msg);
    }
    if (i == name) {
      return fail(p, RV_EMALFORMED, 400, diag, i, "empty field name");
    }
    rv_http_header *h = &p->headers[n];
    h->name = rv_slice_make(b + name, i - name);
    i++;
    while (b[i] == ' ' || b[i] == '\t') {
      i++;
    }
    size_t v = i;
    while (b[i] != '\r') {
      if (!is_value_char(b[i])) {
        return fail(p, RV_EMALFORMED, 400, diag, i, "invalid byte in field value");
      }
      i++;
    }
    size_t ve = i;
    while (ve > v && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
      ve--;
    }
    h->value = rv_slice_make(b + v, ve - v);
    n++;
    rc = field_semantics(p, h, b, &s, diag);
    if (rc != RV_OK) {
      return rc;
    }
    i += 2;
  }
  req->headers = p->headers;
  req->nheaders = n;
  if (req->version_minor == 1 && s.hosts != 1) {
    return fail(p, RV_EMALFORMED, 400, diag, 0, "HTTP/1.1 needs exactly one Host field");
  }
  if (req->version_minor == 0 && s.hosts > 1) {
    return fail(p, RV_EMALFORMED, 400, diag, 0, "more than one Host field");
  }
  if (s.te_seen) {
    if (s.cl_seen) {
      return fail(p, RV_EMALFORMED, 400, diag, 0, "both Content-Length and Transfer-Encoding");
    }
    if (req->version_minor == 0) {
      return fail(p, RV_EMALFORMED, 400, diag, 0, "Transfer-Encoding in an HTTP/1.0 request");
    }
    if (s.te_unknown) {
      return fail(p, RV_EUNSUPPORTED, 501, diag, 0, "transfer coding not implemented");
    }
  }
  if (s.cl_seen && s.cl > p->limits.max_body) {
    return fail(p, RV_ELIMIT, 413, diag, 0, "Content-Length exceeds the body limit");
  }
  req->framing = s.chunked                 ? RV_HTTP_BODY_CHUNKED
                 : (s.cl_seen && s.cl > 0) ? RV_HTTP_BODY_LENGTH
                                           : RV_HTTP_BODY_NONE;
  req->content_length = s.cl_seen ? s.cl : 0;
  req->keep_alive = !s.close && (req->version_minor == 1 || s.keep_alive);
  req->expect_continue = s.expect && req->version_minor == 1;
  req->head_len = end;
  return RV_OK;
}

int rv_http_parse_head(rv_http_parser *p, const void *buf, size_t len, rv_http_request *req,
                       rv_diag *diag) {
  if (p->state == ST_FAILED) {
    return rv_diag_set(diag, p->error, 0, "parser failed earlier");
  }
  if (p->state != ST_HEAD) {
    return rv_diag_set(diag, RV_ESTATE, 0, "a body is still being read");
  }
  if ((buf == NULL && len > 0) || len < p->scanned || req == NULL) {
    return RV_EINVAL;
  }
  const uint8_t *b = buf;
  size_t end = 0;
  int rc = scan_head(p, b, len, &end, diag);
  if (rc <= 0) {
    return rc < 0 ? rc : RV_EAGAIN;
  }
  memset(req, 0, sizeof *req);
  rc = parse_complete_head(p, b, end, req, diag);
  if (rc != RV_OK) {
    return rc;
  }
  p->scanned = p->line_start = p->lines = p->sp1 = p->sp2 = 0;
  p->framing = req->framing;
  p->body_total = 0;
  p->extra = 0;
  if (req->framing == RV_HTTP_BODY_LENGTH) {
    p->state = ST_BODY;
    p->body_left = req->content_length;
  } else if (req->framing == RV_HTTP_BODY_CHUNKED) {
    p->state = ST_BODY;
    p->sub = CS_SIZE;
    p->body_left = 0;
    p->hexdigits = 0;
  }
  return RV_OK;
}

static void body_done(rv_http_parser *p, rv_slice *piece, const uint8_t *at) {
  p->state = ST_HEAD;
  *piece = rv_slice_make(at, 0);
}

/* One framing byte of a chunked body (every state but CS_DATA). */
static int chunk_byte(rv_http_parser *p, uint8_t c, size_t off, rv_diag *diag) {
  const rv_http_limits *l = &p->limits;
  switch (p->sub) {
  case CS_SIZE: {
    int h = hexval(c);
    if (h >= 0) {
      if (p->body_left > (UINT64_MAX >> 4)) {
        return fail(p, RV_ELIMIT, 413, diag, off, "chunk size overflows");
      }
      p->body_left = p->body_left << 4 | (uint64_t)h;
      p->hexdigits++;
      return RV_OK;
    }
    if (p->hexdigits == 0) {
      return fail(p, RV_EMALFORMED, 400, diag, off, "missing chunk size");
    }
    if (p->body_left > l->max_body - p->body_total) {
      return fail(p, RV_ELIMIT, 413, diag, off, "body exceeds the limit");
    }
    if (c == ';') {
      p->sub = CS_EXT;
    } else if (c == ' ' || c == '\t') {
      p->sub = CS_BWS;
    } else if (c == '\r') {
      p->sub = CS_SIZE_LF;
    } else {
      return fail(p, RV_EMALFORMED, 400, diag, off, "invalid byte after chunk size");
    }
    return RV_OK;
  }
  case CS_BWS:
    if (c == ';') {
      p->sub = CS_EXT;
    } else if (c != ' ' && c != '\t') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "invalid byte after chunk size");
    }
    return RV_OK;
  case CS_EXT:
    if (c == '\r') {
      p->sub = CS_SIZE_LF;
    } else if (!is_value_char(c)) {
      return fail(p, RV_EMALFORMED, 400, diag, off, "invalid byte in chunk extension");
    }
    return RV_OK;
  case CS_SIZE_LF:
    if (c != '\n') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "bare CR in chunk size line");
    }
    p->sub = p->body_left == 0 ? CS_TRAILER_START : CS_DATA;
    return RV_OK;
  case CS_DATA_CR:
    if (c != '\r') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "chunk data not followed by CRLF");
    }
    p->sub = CS_DATA_LF;
    return RV_OK;
  case CS_DATA_LF:
    if (c != '\n') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "chunk data not followed by CRLF");
    }
    p->sub = CS_SIZE;
    p->hexdigits = 0;
    p->body_left = 0;
    p->extra = 0; /* the limit applies to each chunk-size line */
    return RV_OK;
  case CS_TRAILER_START:
    if (c == '\r') {
      p->sub = CS_END_LF;
    } else if (is_tchar(c)) {
      p->sub = CS_TRAILER_NAME;
    } else if (c == ' ' || c == '\t') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "obs-fold in trailer");
    } else {
      return fail(p, RV_EMALFORMED, 400, diag, off, "invalid trailer field");
    }
    return RV_OK;
  case CS_TRAILER_NAME:
    if (c == ':') {
      p->sub = CS_TRAILER_VALUE;
    } else if (!is_tchar(c)) {
      return fail(p, RV_EMALFORMED, 400, diag, off, "invalid byte in trailer field name");
    }
    return RV_OK;
  case CS_TRAILER_VALUE:
    if (c == '\r') {
      p->sub = CS_TRAILER_LF;
    } else if (!is_value_char(c)) {
      return fail(p, RV_EMALFORMED, 400, diag, off, "invalid byte in trailer field value");
    }
    return RV_OK;
  case CS_TRAILER_LF:
    if (c != '\n') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "bare CR in trailer");
    }
    p->sub = CS_TRAILER_START;
    return RV_OK;
  default: /* CS_END_LF */
    if (c != '\n') {
      return fail(p, RV_EMALFORMED, 400, diag, off, "bare CR after trailers");
    }
    return 1; /* the message is complete */
  }
}

int rv_http_parse_body(rv_http_parser *p, const void *data, size_t len, size_t *consumed,
                       rv_slice *piece, rv_diag *diag) {
  *consumed = 0;
  if (p->state == ST_FAILED) {
    return rv_diag_set(diag, p->error, 0, "parser failed earlier");
  }
  if (p->state != ST_BODY) {
    return rv_diag_set(diag, RV_ESTATE, 0, "no body is being read");
  }
  if (data == NULL && len > 0) {
    return RV_EINVAL;
  }
  const uint8_t *b = data;
  if (p->framing == RV_HTTP_BODY_LENGTH) {
    if (p->body_left == 0) {
      body_done(p, piece, b);
      return RV_OK;
    }
    if (len == 0) {
      return RV_EAGAIN;
    }
    size_t n = p->body_left < len ? (size_t)p->body_left : len;
    p->body_left -= n;
    *piece = rv_slice_make(b, n);
    *consumed = n;
    return RV_OK;
  }
  size_t i = 0;
  while (i < len) {
    if (p->sub == CS_DATA) {
      size_t n = p->body_left < len - i ? (size_t)p->body_left : len - i;
      p->body_left -= n;
      p->body_total += n;
      if (p->body_left == 0) {
        p->sub = CS_DATA_CR;
      }
      *piece = rv_slice_make(b + i, n);
      *consumed = i + n;
      return RV_OK;
    }
    if (p->sub >= CS_TRAILER_START || p->sub <= CS_EXT) {
      if (++p->extra > p->limits.max_trailer) {
        return fail(p, RV_ELIMIT, 431, diag, i, "chunk extensions or trailers too large");
      }
    }
    int rc = chunk_byte(p, b[i], i, diag);
    i++;
    if (rc < 0) {
      *consumed = i;
      return rc;
    }
    if (rc == 1) {
      *consumed = i;
      body_done(p, piece, b + i);
      return RV_OK;
    }
  }
  *consumed = i;
  return RV_EAGAIN;
}

bool rv_http_header_get(const rv_http_request *req, const char *name, rv_slice *value) {
  for (size_t i = 0; i < req->nheaders; i++) {
    if (eq_ci(req->headers[i].name, name)) {
      if (value != NULL) {
        *value = req->headers[i].value;
      }
      return true;
    }
  }
  return false;
}
