/* test-app-2.c: the api-server's HTTP layer, second half: telemetry, auth,
 * rate limits, flags, logs and tracing, SQLite busy, fallback routes, and
 * every allocation failing in turn (harness: app-harness.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <rivet/core/err.h>
#include <rivet/net/http.h>

#include "app-harness.h"

static void make_device(const char *tok, const char *id) {
  char body[128];
  (void)snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"dev %s\"}", id, id);
  assert_int_equal(post("/v1/devices", tok, body), 0);
  expect_status(201);
}

static size_t npoints(void) { return json_array_size(json_object_get(R.json, "points")); }

void test_telemetry(void **state) {
  (void)state;
  fx_open();
  const char *w = token("write", "t1");
  make_device(w, "t1");
  assert_int_equal(
      post(
          "/v1/devices/t1/telemetry", w,
          "{\"points\":[{\"ts\":\"2026-11-23T10:00:00.000Z\",\"metric\":\"temp_c\",\"value\":21.5},"
          "{\"ts\":1795428001000,\"metric\":\"temp_c\",\"value\":22},"
          "{\"metric\":\"hum\",\"value\":0.1,\"ts\":\"2026-11-23T11:00:02+01:00\"}]}"),
      0);
  expect_status(202);
  assert_int_equal(json_integer_value(json_object_get(R.json, "accepted")), 3);
  char body[4096];
  int n = snprintf(body, sizeof body, "{\"points\":[");
  for (int i = 3; i < 8; i++) {
    n += snprintf(body + n, sizeof body - (size_t)n,
                  "%s{\"ts\":%lld,\"metric\":\"temp_c\",\"value\":%d.25}", i > 3 ? "," : "",
                  (long long)(INT64_C(1795428000000) + (int64_t)i * 1000), i);
  }
  (void)snprintf(body + n, sizeof body - (size_t)n, "]}");
  assert_int_equal(post("/v1/devices/t1/telemetry", w, body), 0);
  expect_status(202);
  /* `to` defaults to now (10:00:00): nothing at or after it */
  assert_int_equal(get("/v1/devices/t1/telemetry?from=2026-11-23T09:00:00Z", w), 0);
  expect_status(200);
  assert_int_equal(npoints(), 0);
  g_now_ms += 60000;
  assert_int_equal(get("/v1/devices/t1/telemetry?from=2026-11-23T10%3A00%3A00Z", w), 0);
  expect_status(200);
  assert_int_equal(npoints(), 8);
  json_t *p0 = json_array_get(json_object_get(R.json, "points"), 0);
  assert_string_equal(json_string_value(json_object_get(p0, "ts")), "2026-11-23T10:00:00.000Z");
  assert_true(json_real_value(json_object_get(p0, "value")) == 21.5);
  assert_true(json_is_null(json_object_get(R.json, "next_cursor")));
  assert_int_equal(get("/v1/devices/t1/telemetry?from=0&metric=hum", w), 0);
  assert_int_equal(npoints(), 1);
  p0 = json_array_get(json_object_get(R.json, "points"), 0);
  assert_true(json_real_value(json_object_get(p0, "value")) == 0.1);
  assert_non_null(strstr(R.body, "\"value\":0.1}"));
  assert_int_equal(get("/v1/devices/t1/telemetry?from=1795428000000&to=1795428003000", w), 0);
  assert_int_equal(npoints(), 3); /* `to` is exclusive */
  /* pages of 3 over the 7 temp_c points */
  char target[256] = "/v1/devices/t1/telemetry?from=0&metric=temp_c&limit=3";
  int seen = 0, pages = 0;
  int64_t last = -1;
  for (;;) {
    assert_int_equal(get(target, w), 0);
    expect_status(200);
    json_t *pts = json_object_get(R.json, "points");
    for (size_t i = 0; i < json_array_size(pts); i++) {
      int64_t ms = 0;
      const char *ts = json_string_value(json_object_get(json_array_get(pts, i), "ts"));
      assert_true(api_ts_parse(ts, strlen(ts), &ms));
      assert_true(ms > last);
      last = ms;
      seen++;
    }
    pages++;
    json_t *next = json_object_get(R.json, "next_cursor");
    if (json_is_null(next)) {
      break;
    }
    (void)snprintf(target, sizeof target,
                   "/v1/devices/t1/telemetry?from=0&metric=temp_c&limit=3&cursor=%s",
                   json_string_value(next));
  }
  assert_int_equal(seen, 7);
  assert_int_equal(pages, 3);
  static const struct {
    const char *target, *code;
  } bad[] = {
      {"/v1/devices/t1/telemetry", "missing_parameter"},
      {"/v1/devices/t1/telemetry?from=yesterday", "invalid_parameter"},
      {"/v1/devices/t1/telemetry?from=5&to=5", "invalid_parameter"},
      {"/v1/devices/t1/telemetry?from=5&to=x", "invalid_parameter"},
      {"/v1/devices/t1/telemetry?from=0&metric=a-b", "invalid_parameter"},
      {"/v1/devices/t1/telemetry?from=0&limit=501", "invalid_parameter"},
      {"/v1/devices/t1/telemetry?from=0&cursor=AQ", "bad_cursor"},
      {"/v1/devices/t1/telemetry?from=0&cursor=AWQwMQ", "bad_cursor"},
      {"/v1/devices/t1/telemetry?from=0&until=1", "unknown_parameter"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(get(bad[i].target, w), 0);
    expect_error(400, bad[i].code);
  }
  assert_int_equal(get("/v1/devices/nope/telemetry?from=0", w), 0);
  expect_error(404, "not_found");
  assert_int_equal(post("/v1/devices/nope/telemetry", w,
                        "{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":1}]}"),
                   0);
  expect_error(404, "not_found");
  assert_true(metric("api_telemetry_points_total") == 8.0);
  fx_close(NULL);
}

void test_telemetry_bodies(void **state) {
  (void)state;
  api_config c;
  api_config_default(&c);
  c.max_points = 3;
  fx_open_cfg(&c);
  const char *w = token("write", "t2");
  make_device(w, "t2");
  static const struct {
    const char *body, *code;
  } cases[] = {
      {"{\"points\":[]}", "invalid_value"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":1},{\"ts\":0,\"metric\":\"m\","
       "\"value\":1},{\"ts\":0,\"metric\":\"m\",\"value\":1},{\"ts\":0,\"metric\":\"m\","
       "\"value\":1}]}",
       "invalid_value"},
      {"{\"points\":{}}", "invalid_type"},
      {"{}", "missing_field"},
      {"{\"points\":[],\"device\":\"x\"}", "unknown_field"},
      {"{\"points\":[1]}", "invalid_type"},
      {"{\"points\":[{\"metric\":\"m\",\"value\":1}]}", "missing_field"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"m\"}]}", "missing_field"},
      {"{\"points\":[{\"ts\":0,\"value\":1}]}", "missing_field"},
      {"{\"points\":[{\"ts\":true,\"metric\":\"m\",\"value\":1}]}", "invalid_type"},
      {"{\"points\":[{\"ts\":\"today\",\"metric\":\"m\",\"value\":1}]}", "invalid_value"},
      {"{\"points\":[{\"ts\":1e3,\"metric\":\"m\",\"value\":1}]}", "invalid_type"},
      {"{\"points\":[{\"ts\":999999999999999999,\"metric\":\"m\",\"value\":1}]}", "invalid_value"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"a b\",\"value\":1}]}", "invalid_value"},
      {"{\"points\":[{\"ts\":0,\"metric\":7,\"value\":1}]}", "invalid_type"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":\"1\"}]}", "invalid_type"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":null}]}", "invalid_type"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":1,\"unit\":\"C\"}]}", "unknown_field"},
      {"{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":1e999}]}", "bad_json"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(post("/v1/devices/t2/telemetry", w, cases[i].body), 0);
    expect_error(400, cases[i].code);
  }
  assert_int_equal(post("/v1/devices/t2/telemetry", w,
                        "{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":1},"
                        "{\"ts\":1,\"metric\":\"m\",\"value\":-2.5e-3}]}"),
                   0);
  expect_status(202);
  assert_int_equal(send_req("POST", "/v1/devices/t2/telemetry", w, "text/csv", "ts,v", NULL), 0);
  expect_error(415, "unsupported_media_type");
  fx_close(NULL);
}

void test_auth(void **state) {
  (void)state;
  fx_open();
  char v[512];
  assert_int_equal(get("/v1/devices", NULL), 0);
  expect_error(401, "unauthorized");
  assert_true(header(&R, "WWW-Authenticate", v, sizeof v));
  assert_string_equal(v, "Bearer realm=\"rivet\"");
  assert_int_equal(
      send_req("GET", "/v1/devices", NULL, NULL, NULL, "Authorization: Basic YTpi\r\n"), 0);
  expect_error(401, "unauthorized");
  assert_int_equal(get("/v1/devices", "not.a.token"), 0);
  expect_error(401, "invalid_token");
  assert_true(header(&R, "WWW-Authenticate", v, sizeof v));
  assert_non_null(strstr(v, "Bearer error=\"invalid_token\", error_description=\""));
  int64_t now = g_now_ms / 1000;
  const char *head = "\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\",\"sub\":\"bob\"";
  long long n0 = (long long)now;
  const char *bad[] = {
      /* expired */
      mint(RV_JWT_HS256, "{%s,\"jti\":\"e\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\"}", head,
           n0 - 100, n0 - 10),
      /* not yet valid */
      mint(RV_JWT_HS256,
           "{%s,\"jti\":\"e\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\",\"nbf\":%lld}", head, n0,
           n0 + 100, n0 + 50),
      /* scope of the wrong type */
      mint(RV_JWT_HS256, "{%s,\"jti\":\"e\",\"iat\":%lld,\"exp\":%lld,\"scope\":5}", head, n0,
           n0 + 100),
      /* no jti */
      mint(RV_JWT_HS256, "{%s,\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\"}", head, n0, n0 + 100),
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(get("/v1/devices", bad[i]), 0);
    expect_error(401, "invalid_token");
  }
  /* wrong audience */
  assert_int_equal(get("/v1/devices", mint(RV_JWT_HS256,
                                           "{\"iss\":\"rivet-api\",\"aud\":\"x\",\"sub\":\"s\","
                                           "\"jti\":\"j\",\"iat\":%lld,\"exp\":%lld}",
                                           n0, n0 + 60)),
                   0);
  expect_error(401, "invalid_token");
  assert_int_equal(get("/v1/devices", mint(RV_JWT_HS256,
                                           "{\"iss\":\"other\",\"aud\":\"rivet-devices\","
                                           "\"sub\":\"s\",\"jti\":\"j\",\"iat\":%lld,\"exp\":%lld}",
                                           (long long)now, (long long)now + 60)),
                   0);
  expect_error(401, "invalid_token");
  assert_int_equal(get("/v1/devices", mint(RV_JWT_HS256,
                                           "{\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\","
                                           "\"sub\":\"s\",\"jti\":\"j\",\"iat\":%lld,\"exp\":%lld,"
                                           "\"scope\":\"superuser\"}",
                                           (long long)now, (long long)now + 60)),
                   0);
  expect_error(403, "insufficient_scope");
  const char *r = token("read", "r1");
  assert_int_equal(get("/v1/devices", r), 0);
  expect_status(200);
  assert_int_equal(post("/v1/devices", r, "{\"id\":\"a\",\"name\":\"b\"}"), 0);
  expect_error(403, "insufficient_scope");
  assert_true(header(&R, "WWW-Authenticate", v, sizeof v));
  assert_string_equal(v, "Bearer error=\"insufficient_scope\", scope=\"write\"");
  const char *w = token("read write", "w1");
  assert_int_equal(get("/v1/admin/flags", w), 0);
  expect_error(403, "insufficient_scope");
  assert_true(header(&R, "WWW-Authenticate", v, sizeof v));
  assert_non_null(strstr(v, "scope=\"admin\""));
  const char *a = token("admin", "a1");
  assert_int_equal(post("/v1/devices", a, "{\"id\":\"a\",\"name\":\"b\"}"), 0);
  expect_status(201);
  assert_int_equal(get("/v1/admin/flags", a), 0);
  expect_status(200);
  const char *ed = mint(RV_JWT_EDDSA,
                        "{\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\",\"sub\":\"ed\","
                        "\"jti\":\"e1\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\"}",
                        (long long)now, (long long)now + 60);
  assert_int_equal(get("/v1/devices/a", ed), 0);
  expect_status(200);
  F.peer = "198.51.100.7";
  assert_true(metric("api_auth_failures_total{reason=\"missing\"}") == 2.0);
  assert_true(metric("api_auth_failures_total{reason=\"invalid\"}") == 7.0);
  assert_true(metric("api_auth_failures_total{reason=\"insufficient_scope\"}") == 3.0);
  fx_close(NULL);
}

void test_token_cache(void **state) {
  (void)state;
  fx_open();
  const char *t = token("read", "c1");
  assert_int_equal(get("/v1/info", t), 0);
  expect_status(200);
  assert_int_equal(get("/v1/info", t), 0);
  expect_status(200);
  assert_true(metric("api_token_cache_hits_total") == 1.0);
  /* a token whose sub is too long to cache still works, uncached */
  char sub[200];
  memset(sub, 's', 150);
  sub[150] = '\0';
  int64_t now = g_now_ms / 1000;
  const char *l = mint(RV_JWT_HS256,
                       "{\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\",\"sub\":\"%s\","
                       "\"jti\":\"c2\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\"}",
                       sub, (long long)now, (long long)now + 60);
  assert_int_equal(get("/v1/info", l), 0);
  expect_status(200);
  assert_int_equal(get("/v1/info", l), 0);
  expect_status(200);
  assert_true(metric("api_token_cache_hits_total") == 1.0);
  /* so does a token longer than a cache slot */
  char pad[500];
  memset(pad, 'p', 450);
  pad[450] = '\0';
  const char *big = mint(RV_JWT_HS256,
                         "{\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\",\"sub\":\"b\","
                         "\"jti\":\"c3\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\","
                         "\"pad\":\"%s\"}",
                         (long long)now, (long long)now + 60, pad);
  assert_true(strlen(big) > 512);
  assert_int_equal(get("/v1/info", big), 0);
  expect_status(200);
  assert_int_equal(get("/v1/info", big), 0);
  expect_status(200);
  assert_true(metric("api_token_cache_hits_total") == 1.0);
  /* a token differing only in its last signature byte: never a hit */
  char forged[2048];
  (void)snprintf(forged, sizeof forged, "%s", t);
  size_t fl = strlen(forged);
  forged[fl - 1] = forged[fl - 1] == 'A' ? 'B' : 'A';
  assert_int_equal(get("/v1/info", forged), 0);
  expect_error(401, "invalid_token");
  /* past exp the cached entry is dead and the verifier refuses the token */
  g_now_ms += INT64_C(3600) * 1000;
  assert_int_equal(get("/v1/info", t), 0);
  expect_error(401, "invalid_token");
  assert_true(metric("api_token_cache_hits_total") == 1.0);
  fx_close(NULL);
}

void test_rate_limits(void **state) {
  (void)state;
  api_config c;
  api_config_default(&c);
  c.rate_per_addr = 3;
  fx_open_cfg(&c);
  char v[64];
  for (int i = 0; i < 3; i++) {
    assert_int_equal(get("/healthz", NULL), 0);
    expect_status(200);
    assert_true(header(&R, "RateLimit-Remaining", v, sizeof v));
    assert_int_equal(strtol(v, NULL, 10), 2 - i);
  }
  assert_int_equal(get("/healthz", NULL), 0);
  expect_error(429, "rate_limited");
  assert_true(header(&R, "Retry-After", v, sizeof v));
  assert_true(strtol(v, NULL, 10) >= 1);
  assert_true(header(&R, "RateLimit-Limit", v, sizeof v));
  assert_string_equal(v, "3");
  F.peer = "192.0.2.2";
  assert_int_equal(get("/healthz", NULL), 0);
  expect_status(200);
  F.peer = "192.0.2.3";
  assert_true(metric("api_ratelimit_rejected_total{limiter=\"address\"}") == 1.0);
  fx_close(NULL);

  c.rate_per_addr = 1000;
  c.rate_per_token = 2;
  fx_open_cfg(&c);
  const char *t = token("read", "x");
  for (int i = 0; i < 2; i++) {
    assert_int_equal(get("/v1/info", t), 0);
    expect_status(200);
  }
  assert_int_equal(get("/v1/info", t), 0);
  expect_error(429, "rate_limited");
  assert_non_null(strstr(R.body, "with this token"));
  assert_int_equal(get("/v1/info", token("read", "y")), 0);
  expect_status(200);
  assert_true(metric("api_ratelimit_rejected_total{limiter=\"token\"}") == 1.0);
  fx_close(NULL);

  c.rate_max_keys = 1;
  fx_open_cfg(&c);
  assert_int_equal(get("/healthz", NULL), 0);
  expect_status(200);
  F.peer = "192.0.2.99";
  assert_int_equal(get("/healthz", NULL), 0);
  expect_error(503, "overloaded"); /* the table is full of active keys: fail closed */
  assert_true(header(&R, "Retry-After", v, sizeof v));
  assert_string_equal(v, "1");
  fx_close(NULL);
}

static size_t count_lines(const char *needle) {
  size_t n = 0;
  const char *p = (const char *)F.lines.data, *end = p + F.lines.len;
  while (p != NULL && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) {
      break;
    }
    char line[4096];
    size_t len = (size_t)(nl - p) < sizeof line - 1 ? (size_t)(nl - p) : sizeof line - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    n += strstr(line, needle) != NULL;
    p = nl + 1;
  }
  return n;
}

void test_flags(void **state) {
  (void)state;
  fx_open();
  const char *a = token("admin", "f1");
  make_device(a, "f1");
  assert_int_equal(get("/v1/admin/flags", a), 0);
  expect_status(200);
  assert_true(json_is_true(json_object_get(R.json, "device_writes")));
  assert_int_equal(json_object_size(R.json), API_FLAG_COUNT);
  assert_int_equal(send_req("PUT", "/v1/admin/flags", a, JSON, "{\"device_writes\":false}", NULL),
                   0);
  expect_status(200);
  assert_true(json_is_false(json_object_get(R.json, "device_writes")));
  assert_true(json_is_true(json_object_get(R.json, "telemetry_ingest")));
  assert_false(api_app_flag(F.app, API_FLAG_DEVICE_WRITES));
  assert_int_equal(post("/v1/devices", a, "{\"id\":\"f2\",\"name\":\"x\"}"), 0);
  expect_error(503, "feature_disabled");
  assert_int_equal(send_req("PATCH", "/v1/devices/f1", a, JSON, "{\"name\":\"y\"}", NULL), 0);
  expect_error(503, "feature_disabled");
  assert_int_equal(send_req("DELETE", "/v1/devices/f1", a, NULL, NULL, NULL), 0);
  expect_error(503, "feature_disabled");
  assert_int_equal(get("/v1/devices/f1", a), 0); /* reads still work */
  expect_status(200);
  assert_int_equal(
      send_req("PUT", "/v1/admin/flags", a, JSON, "{\"telemetry_ingest\":false}", NULL), 0);
  expect_status(200);
  assert_int_equal(
      post("/v1/devices/f1/telemetry", a, "{\"points\":[{\"ts\":0,\"metric\":\"m\",\"value\":1}]}"),
      0);
  expect_error(503, "feature_disabled");
  static const struct {
    const char *body, *code;
  } bad[] = {{"{\"nope\":true}", "unknown_field"},
             {"{\"device_writes\":\"yes\"}", "invalid_type"},
             {"[true]", "invalid_type"},
             {"{\"device_writes\":true,\"device_writes\":false}", "bad_json"}};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(send_req("PUT", "/v1/admin/flags", a, JSON, bad[i].body, NULL), 0);
    expect_error(400, bad[i].code);
  }
  assert_false(api_app_flag(F.app, API_FLAG_DEVICE_WRITES)); /* nothing half-applied */
  assert_int_equal(send_req("PUT", "/v1/admin/flags", a, "text/plain", "{}", NULL), 0);
  expect_error(415, "unsupported_media_type");
  assert_int_equal(send_req("PUT", "/v1/admin/flags", token("write", "f2"), JSON, "{}", NULL), 0);
  expect_error(403, "insufficient_scope");
  assert_int_equal(send_req("PUT", "/v1/admin/flags", a, JSON,
                            "{\"device_writes\":true,\"telemetry_ingest\":true}", NULL),
                   0);
  expect_status(200);
  assert_int_equal(post("/v1/devices", a, "{\"id\":\"f2\",\"name\":\"x\"}"), 0);
  expect_status(201);
  assert_int_equal(count_lines("\"msg\":\"feature flag set\""), 4);
  assert_int_equal(
      count_lines("\"flag\":\"device_writes\",\"old\":true,\"new\":false,\"sub\":\"alice\""), 1);
  /* access_log off: no more request lines, flag lines still */
  assert_int_equal(send_req("PUT", "/v1/admin/flags", a, JSON, "{\"access_log\":false}", NULL), 0);
  size_t before = count_lines("\"msg\":\"request\"");
  assert_int_equal(get("/v1/devices/f2", a), 0);
  expect_status(200);
  assert_int_equal(count_lines("\"msg\":\"request\""), before);
  assert_int_equal(count_lines("\"msg\":\"feature flag set\""), 5);
  fx_close(NULL);
}

/* A store whose every operation fails with RV_EIO (a broken database). */
static int eio(void) { return RV_EIO; }
static int f_create(api_store *s, api_device *d) {
  (void)s;
  (void)d;
  return eio();
}
static int f_get(api_store *s, const char *id, api_device *out) {
  (void)s;
  (void)id;
  (void)out;
  return eio();
}
static int f_ping(api_store *s) {
  (void)s;
  return eio();
}
static const api_store_ops BROKEN_OPS = {
    .name = "broken", .device_create = f_create, .device_get = f_get, .ping = f_ping};

void test_logs_and_trace(void **state) {
  (void)state;
  fx_open();
  const char *t = token("write", "l1");
  const char *sig = strrchr(t, '.') + 1;
  char v[128], rid[128];
  assert_int_equal(
      send_req("GET", "/v1/info", t, NULL, NULL,
               "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"),
      0);
  expect_status(200);
  assert_true(header(&R, "traceparent", v, sizeof v));
  assert_int_equal(strlen(v), 55);
  assert_memory_equal(v, "00-0af7651916cd43dd8448eb211c80319c-", 36);
  assert_memory_not_equal(v + 36, "b7ad6b7169203331", 16); /* our own child span */
  assert_string_equal(v + 52, "-01");
  assert_true(header(&R, "X-Request-Id", rid, sizeof rid));
  assert_memory_equal(rid, v + 3, 32);
  assert_int_equal(rid[32], '-');
  assert_memory_equal(rid + 33, v + 36, 16);
  assert_int_equal(send_req("GET", "/v1/info", t, NULL, NULL, "traceparent: garbage\r\n"), 0);
  assert_true(header(&R, "traceparent", v, sizeof v));
  assert_memory_not_equal(v + 3, "0af7651916cd43dd8448eb211c80319c", 32);
  assert_string_equal(v + 52, "-00");
  /* a 500 from a broken store: logged with the request id, no detail to the client */
  api_store broken = {&BROKEN_OPS};
  rv_http_router *main_router = F.router, *br = NULL;
  assert_int_equal(api_app_router(F.app, &broken, &br), 0);
  F.router = br;
  assert_int_equal(get("/v1/devices/x", t), 0);
  expect_error(500, "internal");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(R.json, "error"), "message")),
      "internal error");
  assert_true(header(&R, "X-Request-Id", rid, sizeof rid));
  assert_int_equal(get("/readyz", NULL), 0);
  expect_status(503);
  F.router = main_router;
  api_app_router_destroy(F.app, br);
  assert_int_equal(count_lines("\"msg\":\"storage error\""), 1);
  char needle[160];
  (void)snprintf(needle, sizeof needle, "\"request_id\":\"%s\",\"error\":\"RV_EIO\"", rid);
  assert_int_equal(count_lines(needle), 1);
  assert_int_equal(count_lines("readiness: store ping failed"), 1);
  assert_true(metric("api_store_errors_total") == 1.0);
  /* every line is one JSON object; access lines carry the fields; no token text */
  const char *p = (const char *)F.lines.data, *end = p + F.lines.len;
  size_t access = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    assert_non_null(nl);
    json_error_t je;
    json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &je);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(text, sig));
    assert_null(strstr(text, "Bearer"));
    free(text);
    if (strcmp(json_string_value(json_object_get(j, "msg")), "request") == 0) {
      access++;
      assert_int_equal(strlen(json_string_value(json_object_get(j, "request_id"))), 49);
      assert_non_null(json_string_value(json_object_get(j, "method")));
      assert_non_null(json_string_value(json_object_get(j, "path")));
      assert_true(json_is_integer(json_object_get(j, "status")));
      assert_true(json_is_integer(json_object_get(j, "bytes")));
      assert_true(json_is_integer(json_object_get(j, "duration_us")));
      assert_string_equal(json_string_value(json_object_get(j, "peer")), F.peer);
      assert_non_null(json_object_get(j, "sub"));
      assert_non_null(json_object_get(j, "time"));
      assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    }
    json_decref(j);
    p = nl + 1;
  }
  assert_true(access >= 5);
  (void)snprintf(needle, sizeof needle, "\"request_id\":\"%s\",\"method\":\"GET\",", rid);
  assert_int_equal(count_lines(needle), 1); /* the 500's access line */
  assert_int_equal(count_lines("\"status\":500,"), 1);
  fx_close(NULL);
}

void test_busy(void **state) {
  (void)state;
  fx_open();
  const char *w = token("write", "b1");
  make_device(w, "b0");
  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open_v2(F.path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(post("/v1/devices", w, "{\"id\":\"b1\",\"name\":\"x\"}"), 0);
  expect_error(503, "busy");
  char v[16];
  assert_true(header(&R, "Retry-After", v, sizeof v));
  assert_string_equal(v, "1");
  assert_int_equal(get("/v1/devices/b0", w), 0); /* WAL: readers are not blocked */
  expect_status(200);
  assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(other), SQLITE_OK);
  assert_int_equal(post("/v1/devices", w, "{\"id\":\"b1\",\"name\":\"x\"}"), 0);
  expect_status(201);
  assert_true(metric("api_store_busy_total") == 1.0);
  assert_int_equal(count_lines("\"msg\":\"database busy: answered 503\""), 1);
  fx_close(NULL);
}

void test_fallback(void **state) {
  (void)state;
  fx_open();
  const char *w = token("write", "n1");
  char v[64];
  assert_int_equal(get("/nope", w), 0);
  expect_error(404, "not_found");
  assert_int_equal(get("/v1/devices/a/b/c", w), 0);
  expect_error(404, "not_found");
  assert_int_equal(send_req("POST", "/healthz", NULL, JSON, "{}", NULL), 0);
  expect_error(405, "method_not_allowed");
  assert_true(header(&R, "Allow", v, sizeof v));
  assert_string_equal(v, "GET");
  assert_int_equal(send_req("DELETE", "/v1/devices", w, NULL, NULL, NULL), 0);
  expect_error(405, "method_not_allowed");
  assert_true(header(&R, "Allow", v, sizeof v));
  assert_string_equal(v, "GET, POST");
  assert_int_equal(send_req("PUT", "/v1/devices/x", w, JSON, "{}", NULL), 0);
  expect_error(405, "method_not_allowed");
  assert_true(header(&R, "Allow", v, sizeof v));
  assert_string_equal(v, "GET, PATCH, DELETE");
  assert_int_equal(send_req("BREW", "/pot", w, NULL, NULL, NULL), 0);
  expect_status(405); /* an unknown method: the router's own plain-text 405 */
  assert_null(R.json);
  fx_close(NULL);
}

/* Parse and dispatch one raw request; the response is not inspected. */
static void dispatch_raw(rv_http_router *r, const char *raw) {
  rv_http_parser p;
  rv_http_header hs[16];
  rv_http_request req;
  assert_int_equal(rv_http_parser_init(&p, hs, 16, NULL), 0);
  assert_int_equal(rv_http_parse_head(&p, raw, strlen(raw), &req, NULL), 0);
  rv_slice body = rv_slice_make(raw + req.head_len, strlen(raw) - req.head_len);
  rv_buf out;
  rv_buf_init(&out, NULL);
  rv_http_ctx ctx;
  rv_http_ctx_init(&ctx, &req, body, &out);
  ctx.peer = "192.0.2.1";
  int rc = rv_http_router_dispatch(r, &ctx);
  assert_true(rc == 0 || rc < 0);
  assert_null(ctx.user);
  rv_buf_free(&out);
}

void test_alloc_failures(void **state) {
  (void)state;
  fx_open(); /* the store and verifier, on the default allocator */
  const char *t = token("admin", "z");
  char get_info[2048], post_dev[2048];
  (void)snprintf(get_info, sizeof get_info,
                 "GET /v1/info HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n", t);
  (void)snprintf(post_dev, sizeof post_dev,
                 "POST /v1/devices HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: 21\r\n\r\n"
                 "{\"id\":\"q\",\"name\":\"q\"}",
                 t);
  bool done = false;
  for (size_t fail_at = 0; fail_at < 5000 && !done; fail_at++) {
    rv_alloc_failing fa;
    api_config c = F.cfg;
    c.alloc = rv_alloc_failing_init(&fa, NULL, fail_at);
    api_app *app = NULL;
    int rc = api_app_create(&app, &c, F.ver, F.log);
    if (rc != 0) {
      assert_int_equal(rc, RV_ENOMEM);
      assert_int_equal(fa.live_blocks, 0);
      continue;
    }
    rv_http_router *r = NULL;
    rc = api_app_router(app, F.store, &r);
    if (rc != 0) {
      assert_int_equal(rc, RV_ENOMEM);
      api_app_destroy(app);
      assert_int_equal(fa.live_blocks, 0);
      continue;
    }
    dispatch_raw(r, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    dispatch_raw(r, get_info);
    dispatch_raw(r, post_dev);
    dispatch_raw(r, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    dispatch_raw(r, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    api_app_router_destroy(app, r);
    api_app_destroy(app);
    assert_int_equal(fa.live_blocks, 0);
    assert_int_equal(fa.live_bytes, 0);
    done = fa.failures == 0;
  }
  assert_true(done);
  fx_close(NULL);
}
