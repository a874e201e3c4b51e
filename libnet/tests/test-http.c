/* test-http: the HTTP/1.1 parser (golden requests from RFC 9112, every
 * error status, any input split) and the response writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/net/http.h>

#define SEED 20261123u

typedef struct msg {
  char method[16];
  char target[128];
  char path[128];
  char query[64];
  char body[256];
  size_t body_len;
  size_t nheaders;
  int version_minor;
  bool keep_alive, expect;
  rv_http_framing framing;
} msg;

typedef struct outcome {
  msg msgs[4];
  size_t n;
  int rc;     /* 0: all complete; RV_EAGAIN: input ended mid-request; else the error */
  int status; /* rv_http_parser_status() */
} outcome;

static void copy_slice(char *dst, size_t cap, rv_slice s) {
  assert_true(s.len < cap);
  memcpy(dst, s.ptr, s.len);
  dst[s.len] = '\0';
}

static uint32_t rng_state;
static size_t next_piece(size_t piece) {
  if (piece != 0) {
    return piece;
  }
  rng_state = rng_state * 1664525u + 1013904223u;
  return 1 + (rng_state >> 24) % 13;
}

/* A heap copy of exactly n bytes, so ASan catches any read past the end. */
static uint8_t *exact(const char *p, size_t n) {
  uint8_t *b = malloc(n > 0 ? n : 1);
  assert_non_null(b);
  memcpy(b, p, n);
  return b;
}

/* Feed `in` as a connection would receive it, `piece` bytes at a time (0 =
 * random sizes), parsing every pipelined request. */
static void drive(const char *in, size_t len, size_t piece, const rv_http_limits *lim, outcome *o) {
  memset(o, 0, sizeof *o);
  rv_http_header hdrs[64];
  rv_http_parser p;
  assert_int_equal(rv_http_parser_init(&p, hdrs, 64, lim), RV_OK);
  size_t avail = 0, start = 0, pos = 0;
  bool in_body = false;
  msg *cur = NULL;
  for (;;) {
    int rc;
    if (!in_body) {
      if (start == len) {
        o->rc = RV_OK;
        return;
      }
      uint8_t *b = exact(in + start, avail - start);
      rv_http_request req;
      rv_diag d = {0};
      rc = rv_http_parse_head(&p, b, avail - start, &req, &d);
      if (rc == RV_OK) {
        assert_true(o->n < 4);
        cur = &o->msgs[o->n++];
        copy_slice(cur->method, sizeof cur->method, req.method);
        copy_slice(cur->target, sizeof cur->target, req.target);
        copy_slice(cur->path, sizeof cur->path, req.path);
        copy_slice(cur->query, sizeof cur->query, req.query);
        cur->nheaders = req.nheaders;
        cur->version_minor = req.version_minor;
        cur->keep_alive = req.keep_alive;
        cur->expect = req.expect_continue;
        cur->framing = req.framing;
        pos = start + req.head_len;
        if (req.framing == RV_HTTP_BODY_NONE) {
          start = pos;
        } else {
          in_body = true;
        }
      } else if (rc < 0 && rc != RV_EAGAIN) {
        assert_int_equal(d.code, rc);
        assert_non_null(d.msg);
      }
      free(b);
    } else {
      uint8_t *b = exact(in + pos, avail - pos);
      size_t used = 0;
      rv_slice pc;
      rc = rv_http_parse_body(&p, b, avail - pos, &used, &pc, NULL);
      assert_true(used <= avail - pos);
      if (rc == RV_OK) {
        if (pc.len == 0) {
          in_body = false;
          start = pos + used;
        } else {
          assert_true(cur->body_len + pc.len < sizeof cur->body);
          memcpy(cur->body + cur->body_len, pc.ptr, pc.len);
          cur->body_len += pc.len;
        }
      }
      pos += used;
      free(b);
    }
    if (rc == RV_EAGAIN) {
      if (avail == len) {
        o->rc = RV_EAGAIN;
        return;
      }
      size_t step = next_piece(piece);
      avail = avail + step > len ? len : avail + step;
    } else if (rc != RV_OK) {
      o->rc = rc;
      o->status = rv_http_parser_status(&p);
      return;
    }
  }
}

static bool msg_eq(const msg *a, const msg *b) {
  return strcmp(a->method, b->method) == 0 && strcmp(a->target, b->target) == 0 &&
         strcmp(a->path, b->path) == 0 && strcmp(a->query, b->query) == 0 &&
         a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0 &&
         a->nheaders == b->nheaders && a->version_minor == b->version_minor &&
         a->keep_alive == b->keep_alive && a->expect == b->expect && a->framing == b->framing;
}

/* The same outcome whatever the split: whole, 1, 2, 3, 7 bytes, random. */
static void drive_all(const char *in, const rv_http_limits *lim, outcome *o) {
  size_t len = strlen(in);
  drive(in, len, len > 0 ? len : 1, lim, o);
  static const size_t pieces[] = {1, 2, 3, 7, 0};
  for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
    outcome other;
    rng_state = SEED;
    drive(in, len, pieces[i], lim, &other);
    bool same = other.rc == o->rc && other.n == o->n && other.status == o->status;
    for (size_t k = 0; same && k < o->n; k++) {
      same = msg_eq(&other.msgs[k], &o->msgs[k]);
    }
    if (!same) {
      fail_msg("split %zu (seed %u) differs on: %s", pieces[i], SEED, in);
    }
  }
}

/* ---- golden requests: RFC 9112's examples -------------------------------- */

static void test_rfc9112_origin_form(void **state) {
  (void)state;
  outcome o;
  drive_all("GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n", NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.n, 1);
  assert_string_equal(o.msgs[0].method, "GET");
  assert_string_equal(o.msgs[0].target, "/where?q=now");
  assert_string_equal(o.msgs[0].path, "/where");
  assert_string_equal(o.msgs[0].query, "q=now");
  assert_int_equal(o.msgs[0].nheaders, 1);
  assert_int_equal(o.msgs[0].version_minor, 1);
  assert_true(o.msgs[0].keep_alive);
  assert_int_equal(o.msgs[0].framing, RV_HTTP_BODY_NONE);
}

static void test_rfc9112_other_forms(void **state) {
  (void)state;
  outcome o;
  drive_all("GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\n"
            "Host: www.example.org\r\n\r\n",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_string_equal(o.msgs[0].target, "http://www.example.org/pub/WWW/TheProject.html");
  assert_string_equal(o.msgs[0].path, "/pub/WWW/TheProject.html");
  drive_all("CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com\r\n\r\n", NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_string_equal(o.msgs[0].path, "www.example.com:80");
  drive_all("OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n", NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_string_equal(o.msgs[0].target, "*");
  drive_all("GET * HTTP/1.1\r\nHost: a\r\n\r\n", NULL, &o);
  assert_int_equal(o.status, 400);
  drive_all("GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n", NULL, &o);
  assert_int_equal(o.status, 400);
  /* RFC 9110 §6's example exchange, and an HTTP/1.0 request without Host. */
  drive_all("GET /hello.txt HTTP/1.1\r\nUser-Agent: curl/7.64.1\r\nHost: www.example.com\r\n"
            "Accept-Language: en, mi\r\n\r\n",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].nheaders, 3);
  drive_all("GET / HTTP/1.0\r\n\r\n", NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].version_minor, 0);
  assert_false(o.msgs[0].keep_alive);
  drive_all("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NULL, &o);
  assert_true(o.msgs[0].keep_alive);
  drive_all("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", NULL, &o);
  assert_false(o.msgs[0].keep_alive);
}

static void test_content_length_body(void **state) {
  (void)state;
  outcome o;
  drive_all("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].framing, RV_HTTP_BODY_LENGTH);
  assert_int_equal(o.msgs[0].body_len, 11);
  assert_memory_equal(o.msgs[0].body, "hello world", 11);
  /* A list of equal values is one value (RFC 9110 §8.6). */
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].body_len, 3);
  /* Content-Length: 0 means no body. */
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].framing, RV_HTTP_BODY_NONE);
  /* Input ending inside the body. */
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", NULL, &o);
  assert_int_equal(o.rc, RV_EAGAIN);
}

static void test_chunked_body(void **state) {
  (void)state;
  outcome o;
  drive_all("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "4\r\nWiki\r\n5;name=val;x=\"q\"\r\npedia\r\nE \t;ext\r\n in\r\n\r\nchunks.\r\n"
            "0\r\nExpires: never\r\nX-T: 1\r\n\r\n",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].framing, RV_HTTP_BODY_CHUNKED);
  assert_int_equal(o.msgs[0].body_len, 23);
  assert_memory_equal(o.msgs[0].body, "Wikipedia in\r\n\r\nchunks.", 23);
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
            "000A\r\n0123456789\r\n0000\r\n\r\n",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.msgs[0].body_len, 10);
}

static void test_pipelining(void **state) {
  (void)state;
  outcome o;
  drive_all("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
            "\r\n" /* a stray CRLF after a body is skipped (RFC 9112 §2.2) */
            "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\n"
            "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_int_equal(o.n, 4);
  assert_string_equal(o.msgs[0].target, "/1");
  assert_string_equal(o.msgs[1].target, "/2");
  assert_memory_equal(o.msgs[1].body, "hi", 2);
  assert_string_equal(o.msgs[2].target, "/3");
  assert_memory_equal(o.msgs[2].body, "yo", 2);
  assert_string_equal(o.msgs[3].target, "/4");
  assert_false(o.msgs[3].keep_alive);
}

static void test_expect_continue(void **state) {
  (void)state;
  outcome o;
  drive_all("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
            NULL, &o);
  assert_int_equal(o.rc, RV_OK);
  assert_true(o.msgs[0].expect);
  drive_all("PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", NULL, &o);
  assert_false(o.msgs[0].expect); /* ignored in HTTP/1.0 (RFC 9110 §10.1.1) */
  drive_all("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", NULL, &o);
  assert_int_equal(o.rc, RV_EUNSUPPORTED);
  assert_int_equal(o.status, 417);
  /* Too large: answered 413 at the head, before the client sends the body. */
  rv_http_limits lim = rv_http_limits_default();
  lim.max_body = 10;
  drive_all("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
            &lim, &o);
  assert_int_equal(o.status, 413);
  assert_string_equal(RV_HTTP_CONTINUE, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* ---- errors ---------------------------------------------------------------- */

typedef struct bad_case {
  const char *in;
  int rc;
  int status;
} bad_case;

static const bad_case bad_cases[] = {
    /* smuggling defences */
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", RV_ELIMIT, 413},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", RV_EUNSUPPORTED,
     501},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", RV_EUNSUPPORTED, 501},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\n\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX(: 1\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", RV_EMALFORMED, 400},
    /* request line */
    {"G(T / HTTP/1.1\r\n\r\n", RV_EMALFORMED, 400},
    {" GET / HTTP/1.1\r\n\r\n", RV_EMALFORMED, 400},
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.x\r\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTPS/1.1\r\nHost: a\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", RV_EUNSUPPORTED, 505},
    {"GET /\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", RV_EMALFORMED, 400},
    {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", RV_EMALFORMED, 400},
    /* chunked framing */
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\rz", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x01\r\nx\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n", RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA B: c\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n(: c\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: \x01\r\n\r\n",
     RV_EMALFORMED, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\rx", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rx", RV_EMALFORMED,
     400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\rx", RV_EMALFORMED, 400},
    /* chunk-size overflow: 17 hex digits */
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
     RV_ELIMIT, 413},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n",
     RV_ELIMIT, 413},
};

static void test_bad_requests(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    outcome o;
    const char *in = bad_cases[i].in;
    drive_all(in, NULL, &o);
    if (o.rc != bad_cases[i].rc || o.status != bad_cases[i].status) {
      fail_msg("case %zu: rc %d status %d, want %d %d: %s", i, o.rc, o.status, bad_cases[i].rc,
               bad_cases[i].status, in);
    }
  }
}

static void test_nul_byte(void **state) {
  (void)state;
  static const char in1[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
  static const char in2[] = "GET / HTTP/1.1\r\nHost: a\r\n\0: b\r\n\r\n";
  static const char in3[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
  static const char in4[] = "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n";
  static const char *const ins[] = {in1, in2, in3, in4};
  static const size_t lens[] = {sizeof in1 - 1, sizeof in2 - 1, sizeof in3 - 1, sizeof in4 - 1};
  outcome o;
  for (size_t k = 0; k < 4; k++) {
    for (size_t piece = 1; piece <= lens[k]; piece++) {
      drive(ins[k], lens[k], piece, NULL, &o);
      assert_int_equal(o.rc, RV_EMALFORMED);
      assert_int_equal(o.status, 400);
    }
  }
}

static void test_limits(void **state) {
  (void)state;
  rv_http_limits lim = rv_http_limits_default();
  lim.max_head = 64;
  lim.max_uri = 16;
  lim.max_headers = 2;
  lim.max_body = 8;
  lim.max_trailer = 16;
  outcome o;
  /* 414 as soon as the target passes the limit, before the line ends. */
  drive_all("GET /0123456789abcdefg", &lim, &o);
  assert_int_equal(o.rc, RV_ELIMIT);
  assert_int_equal(o.status, 414);
  drive_all("GET /0123456789abcde HTTP/1.1\r\nHost: a\r\n\r\n", &lim, &o);
  assert_int_equal(o.rc, RV_OK); /* exactly 16 */
  /* 431: too many fields, or a head too large (even without its end). */
  drive_all("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", &lim, &o);
  assert_int_equal(o.status, 431);
  drive_all("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123456789", &lim, &o);
  assert_int_equal(o.status, 431);
  /* A head of exactly max_head bytes is fine; one more is not. */
  const char *exact64 = "GET / HTTP/1.1\r\nHost: a\r\nX: 01234567890123456789012345678901\r\n\r\n";
  assert_int_equal(strlen(exact64), 64);
  drive_all(exact64, &lim, &o);
  assert_int_equal(o.rc, RV_OK);
  drive_all("GET / HTTP/1.1\r\nHost: a\r\nX: 012345678901234567890123456789012\r\n\r\n", &lim, &o);
  assert_int_equal(o.status, 431);
  /* A CR as the last byte within the limit: 431 whatever follows it and
   * however the input is split (found by fuzz-http). */
  drive_all("GET / HTTP/1.1\r\nHost: a\r\nX: 01234567890123456789012345678901234\rZZ", &lim, &o);
  assert_int_equal(o.rc, RV_ELIMIT);
  assert_int_equal(o.status, 431);
  /* 413: declared or chunked body over the limit. */
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n", &lim, &o);
  assert_int_equal(o.status, 413);
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\n12345\r\n4\r\n",
            &lim, &o);
  assert_int_equal(o.rc, RV_ELIMIT);
  assert_int_equal(o.status, 413);
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\n12345\r\n3\r\n678\r\n0\r\n\r\n",
            &lim, &o);
  assert_int_equal(o.rc, RV_OK); /* exactly 8 */
  /* 431: chunk extensions or trailers over max_trailer. */
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1;aaaaaaaaaaaaaaaaaaaa\r\n",
            &lim, &o);
  assert_int_equal(o.status, 431);
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\nA: 0123456789abcdef\r\n\r\n",
            &lim, &o);
  assert_int_equal(o.status, 431);
  drive_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "00000000000000000000001\r\n",
            &lim, &o);
  assert_int_equal(o.status, 431); /* endless leading zeros stop too */
}

static void test_api_misuse(void **state) {
  (void)state;
  rv_http_header h[4];
  rv_http_parser p;
  rv_http_request req;
  rv_http_limits lim = rv_http_limits_default();
  assert_int_equal(rv_http_parser_init(NULL, h, 4, NULL), RV_EINVAL);
  assert_int_equal(rv_http_parser_init(&p, NULL, 4, NULL), RV_EINVAL);
  assert_int_equal(rv_http_parser_init(&p, h, 0, NULL), RV_EINVAL);
  lim.max_uri = 0;
  assert_int_equal(rv_http_parser_init(&p, h, 4, &lim), RV_EINVAL);
  assert_int_equal(rv_http_parser_init(&p, h, 4, NULL), RV_OK);
  assert_true(rv_http_parser_idle(&p));
  size_t used;
  rv_slice pc;
  assert_int_equal(rv_http_parse_body(&p, "x", 1, &used, &pc, NULL), RV_ESTATE);
  assert_int_equal(rv_http_parse_head(&p, NULL, 1, &req, NULL), RV_EINVAL);
  assert_int_equal(rv_http_parse_head(&p, NULL, 0, &req, NULL), RV_EAGAIN);
  const char *r = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab";
  assert_int_equal(rv_http_parse_head(&p, r, strlen(r), &req, NULL), RV_OK);
  assert_false(rv_http_parser_idle(&p));
  rv_slice v;
  assert_true(rv_http_header_get(&req, "content-LENGTH", &v));
  assert_int_equal(v.len, 1);
  assert_false(rv_http_header_get(&req, "content", NULL));
  assert_int_equal(rv_http_parse_head(&p, r, strlen(r), &req, NULL), RV_ESTATE);
  assert_int_equal(rv_http_parse_body(&p, NULL, 1, &used, &pc, NULL), RV_EINVAL);
  assert_int_equal(rv_http_parse_body(&p, NULL, 0, &used, &pc, NULL), RV_EAGAIN);
  /* Zero copy: the piece points into the caller's bytes. */
  const char *body = r + req.head_len;
  assert_int_equal(rv_http_parse_body(&p, body, 2, &used, &pc, NULL), RV_OK);
  assert_ptr_equal(pc.ptr, (const uint8_t *)body);
  assert_int_equal(rv_http_parse_body(&p, NULL, 0, &used, &pc, NULL), RV_OK);
  assert_int_equal(pc.len, 0);
  assert_true(rv_http_parser_idle(&p));
  /* Shrinking the buffer between calls is misuse. */
  assert_int_equal(rv_http_parse_head(&p, "GET / HT", 8, &req, NULL), RV_EAGAIN);
  assert_int_equal(rv_http_parse_head(&p, "GET", 3, &req, NULL), RV_EINVAL);
  /* Sticky errors. */
  rv_diag d = {0};
  assert_int_equal(rv_http_parser_init(&p, h, 4, NULL), RV_OK);
  assert_int_equal(rv_http_parse_head(&p, "GET / HTTP/1.1\n", 15, &req, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 14);
  assert_int_equal(rv_http_parse_head(&p, "GET / HTTP/1.1\r\n", 16, &req, NULL), RV_EMALFORMED);
  assert_int_equal(rv_http_parse_body(&p, "x", 1, &used, &pc, NULL), RV_EMALFORMED);
  assert_false(rv_http_parser_idle(&p));
  /* The field count limit is the smaller of the array and the limits. */
  assert_int_equal(rv_http_parser_init(&p, h, 1, NULL), RV_OK);
  r = "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n";
  assert_int_equal(rv_http_parse_head(&p, r, strlen(r), &req, NULL), RV_ELIMIT);
  assert_int_equal(rv_http_parser_status(&p), 431);
}

/* ---- response writer -------------------------------------------------------- */

static void test_response(void **state) {
  (void)state;
  rv_buf b;
  rv_buf_init(&b, NULL);
  rv_http_response r;
  assert_int_equal(rv_http_response_begin(&r, &b, 200), RV_OK);
  assert_int_equal(rv_http_response_header(&r, "Content-Type", rv_slice_cstr("text/plain")), RV_OK);
  assert_int_equal(rv_http_response_header_u64(&r, "X-N", 18446744073709551615u), RV_OK);
  assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("hi")), RV_OK);
  const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "X-N: 18446744073709551615\r\nContent-Length: 2\r\n\r\nhi";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("")), RV_ESTATE);
  /* 204 has neither body nor Content-Length. */
  rv_buf_resize(&b, 0);
  assert_int_equal(rv_http_response_begin(&r, &b, 204), RV_OK);
  assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("ignored")), RV_OK);
  assert_int_equal(b.len, strlen("HTTP/1.1 204 No Content\r\n\r\n"));
  /* Response splitting and framing fields are refused; nothing is left. */
  rv_buf_resize(&b, 0);
  assert_int_equal(rv_http_response_begin(&r, &b, 200), RV_OK);
  assert_int_equal(rv_http_response_header(&r, "X", rv_slice_cstr("a\r\nSet-Cookie: x")),
                   RV_EINVAL);
  assert_int_equal(rv_http_response_header(&r, "Y", rv_slice_cstr("ok")), RV_EINVAL);
  assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("")), RV_EINVAL);
  assert_int_equal(b.len, 0);
  static const char *const bad_names[] = {"", "A B", "A:", "content-length", "Transfer-Encoding"};
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(rv_http_response_begin(&r, &b, 200), RV_OK);
    assert_int_equal(rv_http_response_header(&r, bad_names[i], rv_slice_cstr("1")), RV_EINVAL);
    assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("")), RV_EINVAL);
  }
  assert_int_equal(rv_http_response_begin(&r, &b, 200), RV_OK);
  assert_int_equal(rv_http_response_header(&r, "X", rv_slice_make(NULL, 1)), RV_EINVAL);
  assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("")), RV_EINVAL);
  assert_int_equal(rv_http_response_begin(&r, &b, 200), RV_OK);
  assert_int_equal(rv_http_response_header(&r, "X", rv_slice_make("a\0b", 3)), RV_EINVAL);
  assert_int_equal(rv_http_response_end(&r, rv_slice_cstr("")), RV_EINVAL);
  assert_int_equal(rv_http_response_begin(&r, &b, 200), RV_OK);
  assert_int_equal(rv_http_response_end(&r, rv_slice_make(NULL, 1)), RV_EINVAL);
  assert_int_equal(b.len, 0);
  assert_int_equal(rv_http_response_begin(&r, &b, 99), RV_EINVAL);
  assert_int_equal(rv_http_response_begin(&r, NULL, 200), RV_EINVAL);
  assert_int_equal(rv_http_response_begin(NULL, &b, 200), RV_EINVAL);
  rv_http_response fresh = {0};
  assert_int_equal(rv_http_response_header(&fresh, "X", rv_slice_cstr("")), RV_ESTATE);
  fresh = (rv_http_response){0};
  assert_int_equal(rv_http_response_end(&fresh, rv_slice_cstr("")), RV_ESTATE);
  /* Error responses. */
  assert_int_equal(rv_http_write_error(&b, 431), RV_OK);
  want = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
         "charset=utf-8\r\nConnection: close\r\nContent-Length: 31\r\n\r\n"
         "Request Header Fields Too Large";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  assert_int_equal(rv_http_write_error(&b, 1000), RV_EINVAL);
  static const int codes[] = {100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307,
                              308, 400, 401, 403, 404, 405, 408, 409, 411, 413, 414, 415,
                              417, 422, 429, 431, 500, 501, 502, 503, 504, 505};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    assert_string_not_equal(rv_http_reason(codes[i]), "Unknown");
  }
  assert_string_equal(rv_http_reason(299), "Unknown");
  rv_buf_free(&b);
}

static void test_response_enomem(void **state) {
  (void)state;
  for (size_t n = 0; n < 8; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    rv_buf b;
    rv_buf_init(&b, a);
    int rc = rv_http_write_error(&b, 500);
    if (rc == RV_OK) {
      assert_true(b.len > 0);
    } else {
      assert_int_equal(rc, RV_ENOMEM);
      assert_int_equal(b.len, 0);
    }
    rv_buf_free(&b);
    assert_int_equal(f.live_blocks, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc9112_origin_form),
      cmocka_unit_test(test_rfc9112_other_forms),
      cmocka_unit_test(test_content_length_body),
      cmocka_unit_test(test_chunked_body),
      cmocka_unit_test(test_pipelining),
      cmocka_unit_test(test_expect_continue),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_nul_byte),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_api_misuse),
      cmocka_unit_test(test_response),
      cmocka_unit_test(test_response_enomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
