/* app-harness.c: the in-process harness of test-app.c (see app-harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include <rivet/core/err.h>
#include <rivet/net/http.h>

#include "app-harness.h"

const char *g_python, *g_checker;
int64_t g_now_ms = INT64_C(1795428000000); /* 2026-11-23T10:00:00Z */

static int64_t clock_ms(void *ctx) {
  (void)ctx;
  return g_now_ms;
}
int64_t clock_s(void *ctx) {
  (void)ctx;
  return g_now_ms / 1000;
}

const uint8_t HS_KEY[32] = "0123456789abcdef0123456789abcdef";
uint8_t ed_pk[crypto_sign_PUBLICKEYBYTES], ed_sk[crypto_sign_SECRETKEYBYTES];

/* ---- fixture ------------------------------------------------------------ */

fx F;

static int sink(void *ctx, rv_log_level level, const char *line, size_t len) {
  (void)level;
  return rv_buf_append(ctx, line, len);
}

void fx_open_cfg(const api_config *cfg) {
  memset(&F, 0, sizeof F);
  g_now_ms = INT64_C(1795428000000); /* every test starts at 2026-11-23T10:00:00Z */
  strcpy(F.dir, "/tmp/test-api-app-XXXXXX");
  assert_non_null(mkdtemp(F.dir));
  (void)snprintf(F.path, sizeof F.path, "%s/db.sqlite", F.dir);
  api_sqlite_options so = {.path = F.path, .busy_timeout_ms = 50};
  assert_int_equal(api_store_sqlite_open(&F.store, &so, NULL), 0);
  rv_jwt_config jc = {.issuer = "rivet-api",
                      .audience = "rivet-devices",
                      .required = RV_JWT_REQUIRE_IAT | RV_JWT_REQUIRE_SUB | RV_JWT_REQUIRE_JTI,
                      .clock = clock_s,
                      .secmem_flags = 3};
  assert_int_equal(rv_jwt_verifier_create(&F.ver, &jc), 0);
  assert_int_equal(rv_jwt_verifier_add_key(F.ver, "hs.v1", RV_JWT_HS256, HS_KEY, 32), 0);
  assert_int_equal(rv_jwt_verifier_add_key(F.ver, "ed.v1", RV_JWT_EDDSA, ed_pk, 32), 0);
  rv_buf_init(&F.lines, NULL);
  rv_log_options lo = {.sink = sink, .sink_ctx = &F.lines, .clock = NULL};
  assert_int_equal(rv_log_create(&F.log, &lo), 0);
  F.cfg = *cfg;
  F.cfg.clock_ms = clock_ms;
  assert_int_equal(api_app_create(&F.app, &F.cfg, F.ver, F.log), 0);
  assert_int_equal(api_app_router(F.app, F.store, &F.router), 0);
  F.peer = "192.0.2.1";
  F.open = true;
}

void fx_open(void) {
  api_config c;
  api_config_default(&c);
  fx_open_cfg(&c);
}

int fx_close(void **state) {
  (void)state;
  if (!F.open) {
    return 0;
  }
  api_app_router_destroy(F.app, F.router);
  api_app_destroy(F.app);
  rv_log_destroy(F.log);
  rv_buf_free(&F.lines);
  rv_jwt_verifier_destroy(F.ver);
  api_store_close(F.store);
  static const char *const files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "metrics.txt"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p[128];
    (void)snprintf(p, sizeof p, "%s/%s", F.dir, files[i]);
    (void)unlink(p); /* some never exist */
  }
  assert_int_equal(rmdir(F.dir), 0);
  F.open = false;
  return 0;
}

/* ---- tokens ------------------------------------------------------------- */

char *mint(rv_jwt_alg alg, const char *fmt, ...) {
  char claims[1024];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(claims, sizeof claims, fmt, ap);
  va_end(ap);
  static char tok[4][2048];
  static int slot;
  char *out = tok[slot++ % 4];
  size_t n = 0;
  int rc = alg == RV_JWT_HS256
               ? rv_jwt_sign(alg, "hs.v1", HS_KEY, 32, claims, strlen(claims), out, 2048, &n)
               : rv_jwt_sign(alg, "ed.v1", ed_sk, 64, claims, strlen(claims), out, 2048, &n);
  assert_int_equal(rc, 0);
  return out;
}

/* A valid token with the given scope and jti. */
char *token(const char *scope, const char *jti) {
  int64_t now = g_now_ms / 1000;
  return mint(RV_JWT_HS256,
              "{\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\",\"sub\":\"alice\",\"jti\":\"%s\","
              "\"iat\":%lld,\"exp\":%lld,\"scope\":\"%s\"}",
              jti, (long long)now, (long long)now + 3600, scope);
}

/* ---- requests ----------------------------------------------------------- */

resp R;

bool header(const resp *r, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  const char *p = strstr(r->raw, "\r\n") + 2;
  while (p < r->body - 2) {
    const char *e = strstr(p, "\r\n");
    if ((size_t)(e - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (*v == ' ') {
        v++;
      }
      size_t vl = (size_t)(e - v);
      assert_true(vl < cap);
      memcpy(out, v, vl);
      out[vl] = '\0';
      return true;
    }
    p = e + 2;
  }
  return false;
}

const char *error_code(const resp *r) {
  json_t *e = json_object_get(r->json, "error");
  return json_string_value(json_object_get(e, "code"));
}

/* Send one request; extra: more header lines ("Name: v\r\n..."), or NULL. */
int send_req(const char *method, const char *target, const char *tok, const char *ctype,
             const char *body, const char *extra) {
  static char raw[131072];
  size_t blen = body != NULL ? strlen(body) : 0;
  int n = snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: t\r\n", method, target);
  if (tok != NULL) {
    n += snprintf(raw + n, sizeof raw - (size_t)n, "Authorization: Bearer %s\r\n", tok);
  }
  if (ctype != NULL) {
    n += snprintf(raw + n, sizeof raw - (size_t)n, "Content-Type: %s\r\n", ctype);
  }
  if (extra != NULL) {
    n += snprintf(raw + n, sizeof raw - (size_t)n, "%s", extra);
  }
  if (body != NULL) {
    n += snprintf(raw + n, sizeof raw - (size_t)n, "Content-Length: %zu\r\n", blen);
  }
  n += snprintf(raw + n, sizeof raw - (size_t)n, "\r\n%s", body != NULL ? body : "");
  assert_true((size_t)n < sizeof raw);
  rv_http_parser p;
  rv_http_header hs[32];
  rv_http_request req;
  assert_int_equal(rv_http_parser_init(&p, hs, 32, NULL), 0);
  assert_int_equal(rv_http_parse_head(&p, raw, (size_t)n, &req, NULL), 0);
  rv_slice b = {NULL, 0};
  if (req.framing == RV_HTTP_BODY_LENGTH) {
    size_t used = 0;
    rv_slice piece;
    assert_int_equal(
        rv_http_parse_body(&p, raw + req.head_len, (size_t)n - req.head_len, &used, &piece, NULL),
        0);
    b = piece;
  }
  rv_buf out;
  rv_buf_init(&out, NULL);
  rv_http_ctx ctx;
  rv_http_ctx_init(&ctx, &req, b, &out);
  ctx.peer = F.peer;
  int rc = rv_http_router_dispatch(F.router, &ctx);
  assert_null(ctx.user);
  if (R.json != NULL) {
    json_decref(R.json);
    R.json = NULL;
  }
  assert_true(out.len < sizeof R.raw);
  memcpy(R.raw, out.data, out.len);
  R.raw[out.len] = '\0';
  R.len = out.len;
  rv_buf_free(&out);
  assert_memory_equal(R.raw, "HTTP/1.1 ", 9);
  R.status = (int)strtol(R.raw + 9, NULL, 10);
  R.body = strstr(R.raw, "\r\n\r\n") + 4;
  char ct[128];
  if (header(&R, "Content-Type", ct, sizeof ct) && strcmp(ct, "application/json") == 0) {
    json_error_t je;
    R.json = json_loads(R.body, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(R.json);
  }
  return rc;
}

int get(const char *target, const char *tok) {
  return send_req("GET", target, tok, NULL, NULL, NULL);
}
int post(const char *target, const char *tok, const char *body) {
  return send_req("POST", target, tok, JSON, body, NULL);
}

void expect_error(int status, const char *code) {
  if (R.status != status || error_code(&R) == NULL || strcmp(error_code(&R), code) != 0) {
    print_error("expected %d %s, got:\n%s\n", status, code, R.raw);
    fail();
  }
  char rid[128];
  assert_true(header(&R, "X-Request-Id", rid, sizeof rid));
  json_t *e = json_object_get(R.json, "error");
  assert_string_equal(json_string_value(json_object_get(e, "request_id")), rid);
  assert_non_null(json_string_value(json_object_get(e, "message")));
}

void expect_status(int status) {
  if (R.status != status) {
    print_error("expected %d, got:\n%s\n", status, R.raw);
    fail();
  }
}

void teardown_resp(void) {
  json_decref(R.json);
  R.json = NULL;
}

/* The number after `series ` in the /metrics page, or -1. */
double metric(const char *series) {
  assert_int_equal(get("/metrics", NULL), 0);
  char needle[256];
  (void)snprintf(needle, sizeof needle, "\n%s ", series);
  const char *p = strstr(R.raw, needle);
  return p != NULL ? strtod(p + strlen(needle), NULL) : -1.0;
}
