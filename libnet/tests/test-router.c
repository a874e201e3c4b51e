/* test-router: routing, path parameters, specificity, 404/405, the
 * middleware chain, and every allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/net/router.h>

/* Parse a complete head (the parser is tested on its own in test-http). */
typedef struct parsed {
  rv_http_header hdrs[16];
  rv_http_parser p;
  rv_http_request req;
} parsed;

static void parse(parsed *ps, const char *head) {
  assert_int_equal(rv_http_parser_init(&ps->p, ps->hdrs, 16, NULL), RV_OK);
  assert_int_equal(rv_http_parse_head(&ps->p, head, strlen(head), &ps->req, NULL), RV_OK);
}

/* A handler that answers "<name> k=v k=v" with its captures. */
static int echo(rv_http_ctx *ctx, void *ud) {
  char body[256];
  int n = snprintf(body, sizeof body, "%s", (const char *)ud);
  static const char *const names[] = {"id", "file", "rest", "x", "y"};
  for (size_t i = 0; i < 5; i++) {
    rv_slice v;
    if (rv_http_param_get(ctx, names[i], &v)) {
      n += snprintf(body + n, sizeof body - (size_t)n, " %s=%.*s", names[i], (int)v.len,
                    (const char *)v.ptr);
    }
  }
  return rv_http_reply(ctx, 200, "text/plain", rv_slice_make(body, (size_t)n));
}

/* Dispatch `head` and return the response text (static storage). */
static const char *run(const rv_http_router *r, const char *head, int *rc) {
  static char text[1024];
  parsed ps;
  parse(&ps, head);
  rv_buf out;
  rv_buf_init(&out, NULL);
  rv_http_ctx ctx;
  rv_http_ctx_init(&ctx, &ps.req, rv_slice_make(NULL, 0), &out);
  *rc = rv_http_router_dispatch(r, &ctx);
  assert_true(out.len < sizeof text);
  memcpy(text, out.data, out.len);
  text[out.len] = '\0';
  rv_buf_free(&out);
  return text;
}

static const char *body_of(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  assert_non_null(b);
  return b + 4;
}

static rv_http_router *make_router(const rv_alloc *a, int *rc) {
  rv_http_router *r = NULL;
  *rc = rv_http_router_create(&r, a);
  if (*rc != RV_OK) {
    return NULL;
  }
  static const struct {
    const char *m, *p, *name;
  } routes[] = {
      {"GET", "/", "root"},
      {"GET", "/users", "list"},
      {"POST", "/users", "create"},
      {"GET", "/users/:id", "user"},
      {"DELETE", "/users/:id", "delete"},
      {"GET", "/users/me", "me"},
      {"GET", "/users/:id/files/*file", "files"},
      {"GET", "/static/*rest", "static"},
      {"GET", "/a/:x/c", "axc"},
      {"GET", "/a/b/:y", "aby"},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    *rc = rv_http_router_add(r, routes[i].m, routes[i].p, echo, (void *)routes[i].name);
    if (*rc != RV_OK) {
      rv_http_router_destroy(r);
      return NULL;
    }
  }
  return r;
}

static void test_routes(void **state) {
  (void)state;
  int rc;
  rv_http_router *r = make_router(NULL, &rc);
  assert_non_null(r);
  static const struct {
    const char *head, *body;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "root"},
      {"GET /?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", "root"},
      {"GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", "root"},
      {"GET /users HTTP/1.1\r\nHost: a\r\n\r\n", "list"},
      {"POST /users HTTP/1.1\r\nHost: a\r\n\r\n", "create"},
      {"GET /users/42 HTTP/1.1\r\nHost: a\r\n\r\n", "user id=42"},
      {"GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", "user id=42"},
      {"DELETE /users/7 HTTP/1.1\r\nHost: a\r\n\r\n", "delete id=7"},
      {"GET /users/me HTTP/1.1\r\nHost: a\r\n\r\n", "me"}, /* literal beats :id */
      {"GET /users/42/files/a/b.txt HTTP/1.1\r\nHost: a\r\n\r\n", "files id=42 file=a/b.txt"},
      {"GET /users/42/files HTTP/1.1\r\nHost: a\r\n\r\n", "files id=42 file="},
      {"GET /users/42/files/ HTTP/1.1\r\nHost: a\r\n\r\n", "files id=42 file="},
      {"GET /static/ HTTP/1.1\r\nHost: a\r\n\r\n", "static rest="},
      {"GET /static/%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n", "static rest=%2e%2e/x"},
      {"GET /a/b/c HTTP/1.1\r\nHost: a\r\n\r\n", "aby y=c"}, /* first differing segment */
      {"GET /a/z/c HTTP/1.1\r\nHost: a\r\n\r\n", "axc x=z"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *resp = run(r, cases[i].head, &rc);
    assert_int_equal(rc, RV_OK);
    if (strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) != 0 ||
        strcmp(body_of(resp), cases[i].body) != 0) {
      fail_msg("case %zu: got %s", i, resp);
    }
  }
  /* 404 and 405 (with Allow listing each method once). */
  const char *resp = run(r, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", &rc);
  assert_int_equal(rc, RV_OK);
  assert_non_null(strstr(resp, "HTTP/1.1 404 Not Found\r\n"));
  resp = run(r, "GET /users/ HTTP/1.1\r\nHost: a\r\n\r\n", &rc); /* empty :id */
  assert_non_null(strstr(resp, "404"));
  resp = run(r, "GET /users/1/2 HTTP/1.1\r\nHost: a\r\n\r\n", &rc);
  assert_non_null(strstr(resp, "404"));
  resp = run(r, "PUT /users/9 HTTP/1.1\r\nHost: a\r\n\r\n", &rc);
  assert_non_null(strstr(resp, "HTTP/1.1 405 Method Not Allowed\r\n"));
  assert_non_null(strstr(resp, "\r\nAllow: GET, DELETE\r\n"));
  resp = run(r, "PUT /users HTTP/1.1\r\nHost: a\r\n\r\n", &rc);
  assert_non_null(strstr(resp, "\r\nAllow: GET, POST\r\n"));
  resp = run(r, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &rc);
  assert_non_null(strstr(resp, "404"));
  rv_http_router_destroy(r);
}

static void test_add_errors(void **state) {
  (void)state;
  rv_http_router *r;
  assert_int_equal(rv_http_router_create(NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_create(&r, NULL), RV_OK);
  static const char *const bad[] = {"", "x", "/:", "/*", "/*a/b", "/a/:/b"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(rv_http_router_add(r, "GET", bad[i], echo, NULL), RV_EINVAL);
  }
  assert_int_equal(rv_http_router_add(r, "G T", "/", echo, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_add(r, "", "/", echo, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_add(r, "GET", "/", NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_add(NULL, "GET", "/", echo, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_add(r, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h", echo, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(r, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/:i", echo, NULL),
                   RV_EINVAL);
  char deep[128];
  for (size_t i = 0; i < 33; i++) {
    memcpy(deep + 2 * i, "/s", 2);
  }
  deep[66] = '\0';
  assert_int_equal(rv_http_router_add(r, "GET", deep, echo, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_add(r, "GET", "/x", echo, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(r, "GET", "/x", echo, NULL), RV_EEXIST);
  assert_int_equal(rv_http_router_add(r, "POST", "/x", echo, NULL), RV_OK);
  assert_int_equal(rv_http_router_use(r, NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_http_router_use(NULL, NULL, NULL), RV_EINVAL);
  rv_http_ctx ctx;
  assert_int_equal(rv_http_router_dispatch(r, NULL), RV_EINVAL);
  rv_http_ctx_init(&ctx, NULL, rv_slice_make(NULL, 0), NULL);
  assert_int_equal(rv_http_router_dispatch(r, &ctx), RV_EINVAL);
  assert_int_equal(rv_http_next(&ctx), RV_ESTATE); /* not dispatched */
  rv_http_router_destroy(r);
  rv_http_router_destroy(NULL);
}

/* ---- middleware ----------------------------------------------------------- */

typedef struct trail {
  char log[128];
} trail;

static void note(trail *t, const char *a, const char *b) {
  size_t n = strlen(t->log);
  snprintf(t->log + n, sizeof t->log - n, "%s%s", a, b);
}

static int mw_log(rv_http_ctx *ctx, void *ud) {
  trail *t = ctx->user;
  note(t, (const char *)ud, ">");
  int rc = rv_http_next(ctx);
  char st[8];
  snprintf(st, sizeof st, "%d", rv_http_ctx_status(ctx));
  note(t, "<", (const char *)ud);
  note(t, st, "");
  return rc;
}

static int mw_block(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  rv_slice v;
  if (rv_http_header_get(ctx->req, "x-block", &v)) {
    return rv_http_reply(ctx, 403, NULL, rv_slice_cstr("no"));
  }
  return rv_http_next(ctx);
}

static int mw_twice(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  int rc = rv_http_next(ctx);
  assert_int_equal(rv_http_next(ctx), RV_ESTATE); /* the handler runs once */
  return rc;
}

static int h_fail(rv_http_ctx *ctx, void *ud) {
  (void)ctx;
  (void)ud;
  return RV_EIO;
}

static int h_half(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  rv_http_response_begin(&ctx->res, ctx->out, 200);
  rv_http_response_header(&ctx->res, "X-Half", rv_slice_cstr("1"));
  return RV_OK; /* never ends the response */
}

static int h_badfield(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  rv_http_response_begin(&ctx->res, ctx->out, 200);
  rv_http_response_header(&ctx->res, "X", rv_slice_cstr("a\nb"));
  return rv_http_response_end(&ctx->res, rv_slice_cstr("x"));
}

static void test_middleware(void **state) {
  (void)state;
  rv_http_router *r;
  assert_int_equal(rv_http_router_create(&r, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(r, "GET", "/ok", echo, "ok"), RV_OK);
  assert_int_equal(rv_http_router_add(r, "GET", "/fail", h_fail, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(r, "GET", "/half", h_half, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(r, "GET", "/bad", h_badfield, NULL), RV_OK);
  assert_int_equal(rv_http_router_use(r, mw_log, "A"), RV_OK);
  assert_int_equal(rv_http_router_use(r, mw_block, NULL), RV_OK);
  assert_int_equal(rv_http_router_use(r, mw_twice, NULL), RV_OK);
  assert_int_equal(rv_http_router_use(r, mw_log, "B"), RV_OK);
  static const struct {
    const char *head;
    int rc;
    const char *log;
    const char *status;
  } cases[] = {
      {"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n", RV_OK, "A>B><B200<A200", "200 OK"},
      {"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", RV_OK, "A>B><B404<A404", "404"},
      {"GET /ok HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\n\r\n", RV_OK, "A><A403", "403"},
      {"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n", RV_EIO, "A>B><B0<A0", "500"},
      {"GET /half HTTP/1.1\r\nHost: a\r\n\r\n", RV_ESTATE, "A>B><B0<A0", "500"},
      {"GET /bad HTTP/1.1\r\nHost: a\r\n\r\n", RV_EINVAL, "A>B><B0<A0", "500"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    parsed ps;
    parse(&ps, cases[i].head);
    rv_buf out;
    rv_buf_init(&out, NULL);
    rv_buf_append(&out, "prev", 4); /* earlier pipelined responses stay */
    trail t = {{0}};
    rv_http_ctx ctx;
    rv_http_ctx_init(&ctx, &ps.req, rv_slice_make(NULL, 0), &out);
    ctx.user = &t;
    int rc = rv_http_router_dispatch(r, &ctx);
    assert_int_equal(rc, cases[i].rc);
    assert_string_equal(t.log, cases[i].log);
    rv_buf_push(&out, 0);
    assert_memory_equal(out.data, "prevHTTP/1.1 ", 13);
    if (strstr((const char *)out.data, cases[i].status) == NULL) {
      fail_msg("case %zu: %s", i, (const char *)out.data);
    }
    assert_null(strstr((const char *)out.data, "X-Half"));
    rv_buf_free(&out);
  }
  rv_http_router_destroy(r);
}

static void test_reply_twice(void **state) {
  (void)state;
  parsed ps;
  parse(&ps, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  rv_buf out;
  rv_buf_init(&out, NULL);
  rv_http_ctx ctx;
  rv_http_ctx_init(&ctx, &ps.req, rv_slice_make(NULL, 0), &out);
  assert_int_equal(rv_http_ctx_status(&ctx), 0);
  assert_int_equal(rv_http_reply(&ctx, 201, NULL, rv_slice_cstr("")), RV_OK);
  assert_int_equal(rv_http_ctx_status(&ctx), 201);
  assert_int_equal(rv_http_reply(&ctx, 200, NULL, rv_slice_cstr("")), RV_ESTATE);
  rv_buf_free(&out);
}

/* Every allocation failure in setup and dispatch is reported and leaks nothing. */
static void test_enomem(void **state) {
  (void)state;
  bool done = false;
  for (size_t n = 0; !done; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    f.fail_after = 1; /* so the 500 fallback fails too */
    int rc;
    rv_http_router *r = make_router(a, &rc);
    if (r != NULL) {
      rc = rv_http_router_use(r, mw_block, NULL);
    }
    if (rc == RV_OK) {
      parsed ps;
      parse(&ps, "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
      rv_buf out;
      rv_buf_init(&out, a);
      rv_http_ctx ctx;
      rv_http_ctx_init(&ctx, &ps.req, rv_slice_make(NULL, 0), &out);
      rc = rv_http_router_dispatch(r, &ctx);
      if (rc == RV_OK) {
        assert_int_equal(rv_buf_push(&out, 0), RV_OK);
        assert_non_null(strstr((const char *)out.data, "user id=1"));
        done = true;
      } else {
        assert_int_equal(out.len, 0);
      }
      rv_buf_free(&out);
    }
    if (!done) {
      assert_int_equal(rc, RV_ENOMEM);
    }
    rv_http_router_destroy(r);
    assert_int_equal(f.live_blocks, 0);
    assert_true(n < 1000);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes),     cmocka_unit_test(test_add_errors),
      cmocka_unit_test(test_middleware), cmocka_unit_test(test_reply_twice),
      cmocka_unit_test(test_enomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
