/* test-app.c: the api-server's HTTP layer (app.h), in process: raw request
 * bytes parsed with rv_http_parse_head, dispatched through the router of
 * api_app_router() over a real SQLite store in a mkdtemp directory, the
 * response parsed back (harness: app-harness.c).
 *
 * argv[1], argv[2]: python3 and libnet/tests/check-prom.py, the strict
 * Prometheus checker the /metrics page is run through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <rivet/core/err.h>

#include "app-harness.h"

/* ---- pure helpers (json.c) --------------------------------------------- */

static void test_timestamps(void **state) {
  (void)state;
  char out[25];
  api_ts_format(INT64_C(1795428000000), out);
  assert_string_equal(out, "2026-11-23T10:00:00.000Z");
  api_ts_format(-1, out);
  assert_string_equal(out, "1969-12-31T23:59:59.999Z");
  api_ts_format(INT64_MAX, out);
  assert_string_equal(out, "9999-12-31T23:59:59.999Z");
  int64_t ms = 0;
  assert_true(api_ts_parse("2026-11-23T10:00:00.000Z", 24, &ms));
  assert_int_equal(ms, INT64_C(1795428000000));
  assert_true(api_ts_parse("2026-11-23T11:00:00.5+01:00", 27, &ms));
  assert_int_equal(ms, INT64_C(1795428000500));
  assert_true(api_ts_parse("2024-02-29T00:00:00.123456789z", 30, &ms));
  assert_int_equal(ms % 1000, 123);
  static const char *const bad[] = {"2025-02-29T00:00:00Z",     "2026-13-01T00:00:00Z",
                                    "2026-11-23T24:00:00Z",     "2026-11-23T10:00:60Z",
                                    "2026-11-23 10:00:00Z",     "2026-11-23T10:00:00",
                                    "2026-11-23T10:00:00.Z",    "2026-11-23T10:00:00.1234567890Z",
                                    "2026-11-23T10:00:00+1:00", "2026-11-23T10:00:00Zjunk",
                                    "x026-11-23T10:00:00Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(api_ts_parse(bad[i], strlen(bad[i]), &ms));
  }
  assert_true(api_ts_parse_any("-5", 2, &ms));
  assert_int_equal(ms, -5);
  assert_false(api_ts_parse_any("1234567890123456", 16, &ms));
  assert_false(api_ts_parse_any("-", 1, &ms));
  assert_false(api_ts_parse_any("", 0, &ms));
  /* round trip over a spread of instants */
  for (int64_t t = API_TS_MIN; t < API_TS_MAX; t += INT64_C(98765432109)) {
    api_ts_format(t, out);
    assert_true(api_ts_parse(out, 24, &ms));
    assert_int_equal(ms, t);
  }
}

static void test_b64_and_charsets(void **state) {
  (void)state;
  uint8_t in[5] = {0xff, 0x00, 0x7e, 0x41, 0x80}, back[8];
  char enc[16];
  size_t n = 0;
  for (size_t len = 0; len <= 5; len++) {
    size_t el = api_b64url_encode(in, len, enc);
    assert_int_equal(el, strlen(enc));
    assert_null(strchr(enc, '='));
    assert_true(api_b64url_decode(enc, el, back, sizeof back, &n));
    assert_int_equal(n, len);
    assert_memory_equal(back, in, len);
  }
  assert_false(api_b64url_decode("AB", 2, back, sizeof back, &n)); /* trailing bits */
  assert_false(api_b64url_decode("A", 1, back, sizeof back, &n));
  assert_false(api_b64url_decode("AA+A", 4, back, sizeof back, &n));
  assert_false(api_b64url_decode("AAAAAAAAAAAA", 12, back, 2, &n)); /* too long */
  assert_true(api_charset_ok(API_CS_ID, "a-B_9.x", 7));
  assert_false(api_charset_ok(API_CS_ID, ".hidden", 7));
  assert_false(api_charset_ok(API_CS_ID, "a/b", 3));
  assert_true(api_charset_ok(API_CS_METRIC, "temp_c.1", 8));
  assert_false(api_charset_ok(API_CS_METRIC, "temp-c", 6));
  assert_true(api_charset_ok(API_CS_TEXT, "caf\xc3\xa9 \xe2\x82\xac", 9));
  assert_false(api_charset_ok(API_CS_TEXT, "a\tb", 3));
  assert_false(api_charset_ok(API_CS_TEXT, "\xc3", 1));
  assert_false(api_charset_ok(API_CS_TEXT, "\xed\xa0\x80", 3)); /* surrogate */
  assert_false(api_charset_ok(API_CS_TEXT, "\xc2\x85", 2));     /* C1 control */
  rv_buf b;
  rv_buf_init(&b, NULL);
  api_jw w = {&b, 0};
  api_jw_f64(&w, 0.1);
  api_jw_lit(&w, " ");
  api_jw_f64(&w, 21.5);
  api_jw_lit(&w, " ");
  api_jw_str(&w, "a\"\\\x01", 4);
  api_jw_lit(&w, " ");
  api_jw_str(&w, "\xff\xc3\xa9\xe2\x82", 5); /* bad byte, é, truncated sequence */
  assert_int_equal(w.err, 0);
  static const char want[] = "0.1 21.5 \"a\\\"\\\\\\u0001\" \"\\ufffd\xc3\xa9\\ufffd\\ufffd\"";
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.data, want, b.len);
  rv_buf_free(&b);
}

static void test_config_and_flags(void **state) {
  (void)state;
  api_config c;
  api_config_default(&c);
  assert_true(c.mw_trace && c.mw_access_log && c.mw_metrics && c.mw_ratelimit && c.mw_auth);
  assert_int_equal(c.page_default, 50);
  assert_int_equal(c.max_points, 1000);
  api_flag f;
  for (int i = 0; i < API_FLAG_COUNT; i++) {
    const char *name = api_flag_name((api_flag)i);
    assert_true(api_flag_parse(name, strlen(name), &f));
    assert_int_equal(f, i);
  }
  assert_null(api_flag_name(API_FLAG_COUNT));
  assert_false(api_flag_parse("nope", 4, &f));
  api_app *a = NULL;
  assert_int_equal(api_app_create(&a, &c, NULL, NULL), RV_EINVAL); /* auth without verifier */
  c.mw_auth = false;
  c.max_points = 1001;
  assert_int_equal(api_app_create(&a, &c, NULL, NULL), RV_EINVAL);
  c.max_points = 10;
  c.page_default = 600;
  assert_int_equal(api_app_create(&a, &c, NULL, NULL), RV_EINVAL);
  c.page_default = 5;
  c.rate_per_addr = 0;
  assert_int_equal(api_app_create(&a, &c, NULL, NULL), RV_EINVAL);
  c.rate_per_addr = 10;
  assert_int_equal(api_app_create(&a, &c, NULL, NULL), 0);
  rv_http_router *r = NULL;
  assert_int_equal(api_app_router(a, NULL, &r), RV_EINVAL);
  assert_true(api_app_flag(a, API_FLAG_DEVICE_WRITES));
  api_app_set_flag(a, API_FLAG_DEVICE_WRITES, false);
  assert_false(api_app_flag(a, API_FLAG_DEVICE_WRITES));
  assert_false(api_app_flag(a, API_FLAG_COUNT));
  assert_non_null(api_app_metrics(a));
  api_app_router_destroy(a, NULL);
  api_app_destroy(a);
  api_app_destroy(NULL);
}

/* ---- routes ------------------------------------------------------------- */

static void test_health_ready_metrics(void **state) {
  (void)state;
  fx_open();
  assert_int_equal(get("/healthz", NULL), 0);
  expect_status(200);
  assert_string_equal(json_string_value(json_object_get(R.json, "status")), "ok");
  assert_int_equal(get("/readyz", NULL), 0);
  expect_status(200);
  api_app_set_draining(F.app, true);
  assert_int_equal(get("/readyz", NULL), 0);
  expect_status(503);
  assert_string_equal(json_string_value(json_object_get(R.json, "status")), "draining");
  api_app_set_draining(F.app, false);
  assert_int_equal(get("/readyz", NULL), 0);
  expect_status(200);
  /* a mix of routes and statuses, then the page through the strict checker */
  const char *tok = token("admin", "m1");
  assert_int_equal(post("/v1/devices", tok, "{\"id\":\"m-1\",\"name\":\"M\"}"), 0);
  assert_int_equal(get("/v1/devices/m-1", tok), 0);
  assert_int_equal(get("/v1/devices/none", tok), 0);
  assert_int_equal(get("/nowhere\"x", tok), 0);
  assert_int_equal(send_req("BREW", "/v1/devices", NULL, NULL, NULL, NULL), 0);
  assert_int_equal(get("/metrics", NULL), 0);
  expect_status(200);
  char ct[128];
  assert_true(header(&R, "Content-Type", ct, sizeof ct));
  assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
  assert_non_null(
      strstr(R.body,
             "api_http_requests_total{route=\"/v1/devices/:id\",method=\"GET\",status=\"404\"} 1"));
  assert_non_null(strstr(
      R.body, "api_http_requests_total{route=\"/v1/devices\",method=\"POST\",status=\"201\"} 1"));
  assert_non_null(
      strstr(R.body, "api_http_requests_total{route=\"unmatched\",method=\"other\",status="));
  assert_null(strstr(R.body, "nowhere")); /* never the raw path */
  assert_non_null(strstr(R.body, "api_http_request_duration_seconds_bucket{route=\"/healthz\""));
  char path[128];
  (void)snprintf(path, sizeof path, "%s/metrics.txt", F.dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  assert_int_equal(fwrite(R.body, 1, strlen(R.body), fp), strlen(R.body));
  assert_int_equal(fclose(fp), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char *const argv[] = {(char *)g_python, (char *)g_checker, path, NULL};
    execv(g_python, argv);
    _exit(127);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  fx_close(NULL);
}

static void test_info_raw_and_full(void **state) {
  (void)state;
  api_config c;
  api_config_default(&c);
  c.mw_trace = c.mw_access_log = c.mw_metrics = c.mw_ratelimit = c.mw_auth = false;
  fx_open_cfg(&c);
  assert_int_equal(get("/v1/info", NULL), 0);
  expect_status(200);
  char v[128];
  assert_false(header(&R, "X-Request-Id", v, sizeof v));
  assert_false(header(&R, "RateLimit-Limit", v, sizeof v));
  assert_string_equal(json_string_value(json_object_get(R.json, "api")), "v1");
  size_t raw_body = strlen(R.body);
  assert_true(raw_body > 60 && raw_body < 160);
  assert_int_equal(F.lines.len, 0); /* no access log */
  /* raw mode still answers every route, errors without request ids */
  assert_int_equal(get("/v1/devices/x", NULL), 0);
  expect_status(404);
  assert_null(json_object_get(json_object_get(R.json, "error"), "request_id"));
  fx_close(NULL);

  fx_open();
  assert_int_equal(get("/v1/info", NULL), 0);
  expect_error(401, "unauthorized");
  assert_int_equal(get("/v1/info", token("read", "i1")), 0);
  expect_status(200);
  assert_int_equal(strlen(R.body), raw_body);
  assert_true(header(&R, "X-Request-Id", v, sizeof v));
  assert_int_equal(strlen(v), 49);
  assert_true(header(&R, "traceparent", v, sizeof v));
  assert_true(header(&R, "RateLimit-Limit", v, sizeof v));
  assert_string_equal(v, "3000"); /* the per-token quota is the tighter one */
  fx_close(NULL);
}

static void test_devices_crud(void **state) {
  (void)state;
  fx_open();
  const char *w = token("write", "w1");
  assert_int_equal(post("/v1/devices", w,
                        "{\"id\":\"dev-1\",\"name\":\"Boiler \\\"A\\\"\",\"model\":\"rv-env1\","
                        "\"firmware\":\"1.2.3\"}"),
                   0);
  expect_status(201);
  char v[128];
  assert_true(header(&R, "Location", v, sizeof v));
  assert_string_equal(v, "/v1/devices/dev-1");
  assert_true(header(&R, "ETag", v, sizeof v));
  assert_string_equal(v, "\"1\"");
  assert_string_equal(json_string_value(json_object_get(R.json, "name")), "Boiler \"A\"");
  assert_string_equal(json_string_value(json_object_get(R.json, "status")), "active");
  assert_string_equal(json_string_value(json_object_get(R.json, "created_at")),
                      "2026-11-23T10:00:00.000Z");
  assert_int_equal(json_integer_value(json_object_get(R.json, "version")), 1);
  assert_int_equal(post("/v1/devices", w, "{\"id\":\"dev-1\",\"name\":\"again\"}"), 0);
  expect_error(409, "conflict");
  assert_int_equal(get("/v1/devices/dev-1", w), 0);
  expect_status(200);
  assert_string_equal(json_string_value(json_object_get(R.json, "model")), "rv-env1");
  g_now_ms += 1500;
  assert_int_equal(
      send_req("PATCH", "/v1/devices/dev-1", w, JSON, "{\"status\":\"disabled\"}", NULL), 0);
  expect_status(200);
  assert_int_equal(json_integer_value(json_object_get(R.json, "version")), 2);
  assert_string_equal(json_string_value(json_object_get(R.json, "status")), "disabled");
  assert_string_equal(json_string_value(json_object_get(R.json, "model")), "rv-env1");
  assert_string_equal(json_string_value(json_object_get(R.json, "updated_at")),
                      "2026-11-23T10:00:01.500Z");
  assert_int_equal(
      send_req("PATCH", "/v1/devices/dev-1", w, JSON, "{\"name\":\"B\"}", "If-Match: \"1\"\r\n"),
      0);
  expect_error(412, "precondition_failed");
  assert_int_equal(
      send_req("PATCH", "/v1/devices/dev-1", w, JSON, "{\"name\":\"B\"}", "If-Match: W/\"2\"\r\n"),
      0);
  expect_error(400, "invalid_header");
  assert_int_equal(send_req("PATCH", "/v1/devices/dev-1", w, JSON,
                            "{\"name\":\"B\",\"firmware\":\"\"}", "If-Match: \"2\"\r\n"),
                   0);
  expect_status(200);
  assert_true(header(&R, "ETag", v, sizeof v));
  assert_string_equal(v, "\"3\"");
  assert_string_equal(json_string_value(json_object_get(R.json, "firmware")), "");
  assert_int_equal(send_req("PATCH", "/v1/devices/nope", w, JSON, "{\"name\":\"B\"}", NULL), 0);
  expect_error(404, "not_found");
  assert_int_equal(send_req("DELETE", "/v1/devices/dev-1", w, NULL, NULL, NULL), 0);
  expect_status(204);
  assert_int_equal(R.body[0], '\0');
  assert_int_equal(send_req("DELETE", "/v1/devices/dev-1", w, NULL, NULL, NULL), 0);
  expect_error(404, "not_found");
  assert_int_equal(get("/v1/devices/dev-1", w), 0);
  expect_error(404, "not_found");
  assert_non_null(strstr(R.body, "device 'dev-1' not found"));
  assert_int_equal(get("/v1/devices/bad%2Fid", w), 0); /* cannot name a device */
  expect_error(404, "not_found");
  fx_close(NULL);
}

static void test_device_bodies(void **state) {
  (void)state;
  fx_open();
  const char *w = token("write", "w2");
  static const struct {
    const char *body, *code;
  } cases[] = {
      {"{\"id\":\"a\",", "bad_json"},
      {"[1,2]", "invalid_type"},
      {"{\"id\":\"a\",\"id\":\"b\",\"name\":\"x\"}", "bad_json"},
      {"{\"id\":\"a\",\"name\":\"x\",\"color\":\"red\"}", "unknown_field"},
      {"{\"id\":\"a\",\"name\":5}", "invalid_type"},
      {"{\"id\":7,\"name\":\"x\"}", "invalid_type"},
      {"{\"name\":\"x\"}", "missing_field"},
      {"{\"id\":\"a\"}", "missing_field"},
      {"{\"id\":\".a\",\"name\":\"x\"}", "invalid_value"},
      {"{\"id\":\"a b\",\"name\":\"x\"}", "invalid_value"},
      {"{\"id\":\"\",\"name\":\"x\"}", "invalid_value"},
      {"{\"id\":\"a\",\"name\":\"\"}", "invalid_value"},
      {"{\"id\":\"a\",\"name\":\"x\\ny\"}", "invalid_value"},
      {"{\"id\":\"a\",\"name\":\"x\\u0000y\"}", "bad_json"},
      {"{\"id\":\"a\",\"name\":\"x\",\"status\":\"broken\"}", "invalid_value"},
      {"{\"id\":\"a\",\"name\":\"x\",\"status\":true}", "invalid_type"},
      {"{\"id\":\"a\",\"name\":\"x\",\"firmware\":\"123456789012345678901234567890123\"}",
       "invalid_value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(post("/v1/devices", w, cases[i].body), 0);
    expect_error(400, cases[i].code);
  }
  /* invalid UTF-8 in the body: jansson's message quotes it; the reply stays UTF-8 */
  assert_int_equal(post("/v1/devices", w, "{\"id\":\"\xff\xfe\",\"name\":\"x\"}"), 0);
  expect_error(400, "bad_json");
  /* a long unknown key is quoted whole characters only: the reply stays UTF-8 */
  char key[200], kbody[300];
  size_t kl = 0;
  kl += (size_t)snprintf(key, sizeof key, "%s", "a");
  for (int i = 0; i < 40; i++) {
    kl += (size_t)snprintf(key + kl, sizeof key - kl, "%s", "\xe2\x82\xac");
  }
  (void)snprintf(kbody, sizeof kbody, "{\"id\":\"k\",\"name\":\"k\",\"%s\":1}", key);
  assert_int_equal(post("/v1/devices", w, kbody), 0);
  expect_error(400, "unknown_field"); /* the harness parses the reply as strict JSON */
  assert_int_equal(get("/v1/devices?%ff%fe=1", w), 0);
  expect_error(400, "unknown_parameter");
  assert_int_equal(post("/v1/devices", w, "{\"id\":\"a\",\n\"name\" 1}"), 0);
  expect_error(400, "bad_json");
  assert_non_null(strstr(R.body, "line 2"));
  char longid[80], body[256];
  memset(longid, 'x', 65);
  longid[65] = '\0';
  (void)snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"x\"}", longid);
  assert_int_equal(post("/v1/devices", w, body), 0);
  expect_error(400, "invalid_value");
  longid[64] = '\0';
  (void)snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"caf\xc3\xa9\"}", longid);
  assert_int_equal(post("/v1/devices", w, body), 0);
  expect_status(201);
  assert_int_equal(send_req("POST", "/v1/devices", w, "text/plain", "{}", NULL), 0);
  expect_error(415, "unsupported_media_type");
  assert_int_equal(send_req("POST", "/v1/devices", w, NULL, "{}", NULL), 0);
  expect_error(415, "unsupported_media_type");
  assert_int_equal(send_req("POST", "/v1/devices", w, "Application/JSON; charset=utf-8",
                            "{\"id\":\"b\",\"name\":\"y\"}", NULL),
                   0);
  expect_status(201);
  assert_int_equal(send_req("PATCH", "/v1/devices/b", w, JSON, "{}", NULL), 0);
  expect_error(400, "invalid_value");
  assert_int_equal(send_req("PATCH", "/v1/devices/b", w, JSON, "{\"id\":\"c\"}", NULL), 0);
  expect_error(400, "unknown_field");
  assert_int_equal(send_req("PATCH", "/v1/devices/b", w, "text/json", "{}", NULL), 0);
  expect_error(415, "unsupported_media_type");
  fx_close(NULL);
}

static void test_pagination(void **state) {
  (void)state;
  fx_open();
  const char *w = token("write", "w3");
  for (int i = 0; i < 7; i++) {
    char body[64];
    (void)snprintf(body, sizeof body, "{\"id\":\"d%02d\",\"name\":\"n%d\"}", i % 100, i);
    assert_int_equal(post("/v1/devices", w, body), 0);
    expect_status(201);
  }
  char target[256] = "/v1/devices?limit=3";
  int seen = 0, pages = 0;
  for (;;) {
    assert_int_equal(get(target, w), 0);
    expect_status(200);
    json_t *items = json_object_get(R.json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
      char want[16];
      (void)snprintf(want, sizeof want, "d%02d", seen++ % 100);
      assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "id")), want);
    }
    pages++;
    json_t *next = json_object_get(R.json, "next_cursor");
    if (json_is_null(next)) {
      break;
    }
    (void)snprintf(target, sizeof target, "/v1/devices?cursor=%s&limit=3", json_string_value(next));
  }
  assert_int_equal(seen, 7);
  assert_int_equal(pages, 3);
  assert_int_equal(get("/v1/devices", w), 0); /* default limit: everything, no cursor */
  assert_int_equal(json_array_size(json_object_get(R.json, "items")), 7);
  assert_true(json_is_null(json_object_get(R.json, "next_cursor")));
  static const char *const bad_cursor[] = {
      "/v1/devices?cursor=!!", "/v1/devices?cursor=", "/v1/devices?cursor=AmQwMQ" /* version 2 */,
      "/v1/devices?cursor=AQ" /* no id */};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(get(bad_cursor[i], w), 0);
    expect_error(400, "bad_cursor");
  }
  static const char *const bad_param[] = {
      "/v1/devices?limit=0", "/v1/devices?limit=501",       "/v1/devices?limit=abc",
      "/v1/devices?limit=",  "/v1/devices?limit=1&limit=2", "/v1/devices?cursor=%zz"};
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(get(bad_param[i], w), 0);
    expect_error(400, "invalid_parameter");
  }
  assert_int_equal(get("/v1/devices?sort=name", w), 0);
  expect_error(400, "unknown_parameter");
  assert_int_equal(get("/v1/devices?limit=500", w), 0);
  expect_status(200);
  fx_close(NULL);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    (void)fprintf(stderr, "usage: %s PYTHON CHECK-PROM.PY\n", argv[0]);
    return 2;
  }
  g_python = argv[1];
  g_checker = argv[2];
  if (sodium_init() < 0) {
    return 1;
  }
  crypto_sign_keypair(ed_pk, ed_sk);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timestamps),
      cmocka_unit_test(test_b64_and_charsets),
      cmocka_unit_test(test_config_and_flags),
      cmocka_unit_test_teardown(test_health_ready_metrics, fx_close),
      cmocka_unit_test_teardown(test_info_raw_and_full, fx_close),
      cmocka_unit_test_teardown(test_devices_crud, fx_close),
      cmocka_unit_test_teardown(test_device_bodies, fx_close),
      cmocka_unit_test_teardown(test_pagination, fx_close),
      cmocka_unit_test_teardown(test_telemetry, fx_close),
      cmocka_unit_test_teardown(test_telemetry_bodies, fx_close),
      cmocka_unit_test_teardown(test_auth, fx_close),
      cmocka_unit_test_teardown(test_token_cache, fx_close),
      cmocka_unit_test_teardown(test_rate_limits, fx_close),
      cmocka_unit_test_teardown(test_flags, fx_close),
      cmocka_unit_test_teardown(test_logs_and_trace, fx_close),
      cmocka_unit_test_teardown(test_busy, fx_close),
      cmocka_unit_test_teardown(test_fallback, fx_close),
      cmocka_unit_test(test_alloc_failures),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  teardown_resp();
  return rc;
}
