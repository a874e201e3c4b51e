/* libFuzzer harness for the HTTP/1.1 request parser.
 *
 * The first byte picks a piece size; the rest is a connection's byte
 * stream. The stream is parsed twice, whole and in pieces, and both runs
 * must agree on every request (method, target, field count, body bytes)
 * and on the final status. Views must lie inside the buffer they were cut
 * from, and what the parser accepted must be well-formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/net/http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) {
    abort(); /* an invariant broke: libFuzzer saves the input */
  }
}

static int inside(rv_slice s, const uint8_t *buf, size_t len) {
  return s.len == 0 || (s.ptr >= buf && s.len <= len && s.ptr - buf <= (ptrdiff_t)(len - s.len));
}

/* A digest of what was parsed: any disagreement between runs changes it. */
typedef struct digest {
  uint64_t h;
  size_t requests;
  int rc;
  int status;
} digest;

/* Bytes only: body pieces split differently must hash the same. */
static void mix_bytes(digest *d, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    d->h = (d->h ^ b[i]) * 0x100000001b3u;
  }
}

/* A whole item: its bytes, then its length as a separator. */
static void mix(digest *d, const void *p, size_t n) {
  mix_bytes(d, p, n);
  d->h = (d->h ^ n) * 0x100000001b3u;
}

static void check_request(const rv_http_request *req, const uint8_t *buf, size_t len) {
  check(req->head_len <= len);
  check(inside(req->method, buf, len) && inside(req->target, buf, len));
  check(inside(req->path, buf, len) && inside(req->query, buf, len));
  check(req->method.len > 0 && req->target.len > 0);
  for (size_t i = 0; i < req->nheaders; i++) {
    const rv_http_header *h = &req->headers[i];
    check(inside(h->name, buf, len) && inside(h->value, buf, len) && h->name.len > 0);
    for (size_t j = 0; j < h->value.len; j++) {
      uint8_t c = h->value.ptr[j];
      check(c != '\r' && c != '\n' && c != 0);
    }
  }
  check(!(req->framing == RV_HTTP_BODY_LENGTH && req->content_length == 0));
}

static void run(const uint8_t *in, size_t len, size_t piece, digest *d) {
  rv_http_header hdrs[32];
  rv_http_parser p;
  rv_http_limits lim = rv_http_limits_default();
  lim.max_head = 1024;
  lim.max_uri = 256;
  lim.max_body = 4096;
  lim.max_trailer = 256;
  check(rv_http_parser_init(&p, hdrs, 32, &lim) == RV_OK);
  memset(d, 0, sizeof *d);
  size_t avail = 0, start = 0, pos = 0;
  int in_body = 0;
  for (;;) {
    int rc;
    if (!in_body) {
      if (start == len) {
        d->rc = RV_OK;
        return;
      }
      rv_http_request req;
      rc = rv_http_parse_head(&p, in + start, avail - start, &req, NULL);
      if (rc == RV_OK) {
        check_request(&req, in + start, avail - start);
        d->requests++;
        mix(d, req.method.ptr, req.method.len);
        mix(d, req.target.ptr, req.target.len);
        mix(d, &req.nheaders, sizeof req.nheaders);
        pos = start + req.head_len;
        if (req.framing == RV_HTTP_BODY_NONE) {
          start = pos;
        } else {
          in_body = 1;
        }
      }
    } else {
      size_t used = 0;
      rv_slice pc;
      rc = rv_http_parse_body(&p, in + pos, avail - pos, &used, &pc, NULL);
      check(used <= avail - pos);
      if (rc == RV_OK) {
        check(inside(pc, in + pos, avail - pos));
        if (pc.len == 0) {
          in_body = 0;
          start = pos + used;
          mix(d, "end", 3);
        } else {
          mix_bytes(d, pc.ptr, pc.len);
        }
      }
      pos += used;
    }
    if (rc == RV_EAGAIN) {
      if (avail == len) {
        d->rc = RV_EAGAIN;
        return;
      }
      avail = avail + piece > len ? len : avail + piece;
    } else if (rc != RV_OK) {
      d->rc = rc;
      d->status = rv_http_parser_status(&p);
      check(d->status >= 400 && d->status <= 505);
      return;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  size_t piece = (size_t)(data[0] & 31) + 1;
  data++;
  size--;
  /* An exact-size heap copy, so any read past the end is caught. */
  uint8_t *in = malloc(size > 0 ? size : 1);
  check(in != NULL);
  memcpy(in, data, size);
  digest whole, split;
  run(in, size, size > 0 ? size : 1, &whole);
  run(in, size, piece, &split);
  check(whole.rc == split.rc && whole.status == split.status && whole.requests == split.requests &&
        whole.h == split.h);
  free(in);
  return 0;
}
