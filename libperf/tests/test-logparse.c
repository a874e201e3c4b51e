/* test-logparse: field-by-field checks of every format, every malformed
 * case, times, streaming split at every byte, format errors, allocation
 * failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core/alloc.h>
#include <rivet/core/err.h>
#include <rivet/perf/logparse.h>

static const char L1[] =
    "203.0.113.9 - alice [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?x=1&y=2 HTTP/1.0\" "
    "200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"";

static void expect_field(const rv_log_record *r, rv_log_field f, const char *want) {
  if (!want) {
    assert_false(r->present >> f & 1u);
    assert_int_equal(r->f[f].len, 0);
    return;
  }
  assert_true(r->present >> f & 1u);
  if (r->f[f].len != strlen(want) || memcmp(r->f[f].ptr, want, strlen(want)) != 0) {
    printf("field %d: got '%.*s' want '%s'\n", (int)f, (int)r->f[f].len, (const char *)r->f[f].ptr,
           want);
    fail();
  }
}

static rv_logformat *compile(const char *s) {
  rv_logformat *f = NULL;
  rv_diag d = {0};
  int rc = rv_logformat_compile(&f, s, NULL, &d);
  if (rc)
    printf("compile '%s': %d at %zu\n", s, rc, d.offset);
  assert_int_equal(rc, 0);
  return f;
}

static rv_log_error parse(const rv_logformat *f, const char *s, rv_log_record *r) {
  return rv_log_parse_line(f, (const uint8_t *)s, strlen(s), r);
}

static void test_combined_fields(void **state) {
  (void)state;
  rv_logformat *f = compile("combined");
  rv_log_record r;
  assert_int_equal(parse(f, L1, &r), RV_LOG_OK);
  expect_field(&r, RV_LOG_ADDR, "203.0.113.9");
  expect_field(&r, RV_LOG_USER, "alice");
  expect_field(&r, RV_LOG_TIME, "10/Oct/2000:13:55:36 -0700");
  expect_field(&r, RV_LOG_METHOD, "GET");
  expect_field(&r, RV_LOG_PATH, "/apache_pb.gif");
  expect_field(&r, RV_LOG_QUERY, "x=1&y=2");
  expect_field(&r, RV_LOG_PROTOCOL, "HTTP/1.0");
  expect_field(&r, RV_LOG_STATUS, "200");
  expect_field(&r, RV_LOG_BYTES, "2326");
  expect_field(&r, RV_LOG_REFERER, "http://www.example.com/start.html");
  expect_field(&r, RV_LOG_AGENT, "Mozilla/4.08 [en] (Win98; I ;Nav)");
  expect_field(&r, RV_LOG_REQTIME, NULL);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.bytes, 2326);
  assert_int_equal(r.time, 971211336); /* 2000-10-10T20:55:36Z */
  assert_true(rv_logformat_has(f, RV_LOG_AGENT));
  assert_false(rv_logformat_has(f, RV_LOG_REQTIME));
  assert_false(rv_logformat_has(f, (rv_log_field)99));
  /* Zero-copy: slices point into the line. */
  assert_ptr_equal(r.f[RV_LOG_ADDR].ptr, (const uint8_t *)L1);

  /* Escaped quote in the user agent, "-" bytes, no query, CRLF ending. */
  assert_int_equal(parse(f,
                         "::1 - - [01/Jan/2024:00:00:00 +0000] \"POST /a HTTP/2.0\" 304 - \"-\" "
                         "\"say \\\"hi\\\" \\\\\"\r",
                         &r),
                   RV_LOG_OK);
  expect_field(&r, RV_LOG_AGENT, "say \\\"hi\\\" \\\\");
  expect_field(&r, RV_LOG_QUERY, NULL);
  expect_field(&r, RV_LOG_PATH, "/a");
  assert_int_equal(r.bytes, 0);
  assert_int_equal(r.time, 1704067200);
  /* Empty request (client closed the connection): a record without request fields. */
  assert_int_equal(parse(f, "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"\" 400 0 \"-\" \"-\"", &r),
                   RV_LOG_OK);
  expect_field(&r, RV_LOG_METHOD, NULL);
  assert_int_equal(r.status, 400);
  /* HTTP/0.9 style: no protocol. */
  assert_int_equal(
      parse(f, "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET /x y\" 200 1 \"-\" \"-\"", &r),
      RV_LOG_OK);
  expect_field(&r, RV_LOG_PATH, "/x y");
  expect_field(&r, RV_LOG_PROTOCOL, NULL);
  rv_logformat_free(f);
}

static void test_common_and_custom(void **state) {
  (void)state;
  rv_logformat *f = compile("common");
  rv_log_record r;
  assert_int_equal(
      parse(f, "10.0.0.1 - - [29/Feb/2024:23:59:59 +0530] \"DELETE /x?y HTTP/1.1\" 404 12", &r),
      RV_LOG_OK);
  expect_field(&r, RV_LOG_QUERY, "y");
  expect_field(&r, RV_LOG_AGENT, NULL);
  assert_int_equal(r.time, 1709231399);
  assert_int_equal(r.status, 404);
  rv_logformat_free(f);

  f = compile("${remote_addr} [$time_iso8601] $request_method $uri?$args $status "
              "$body_bytes_sent $request_time \"$http_user_agent\" $host");
  assert_true(rv_logformat_has(f, RV_LOG_REQTIME));
  assert_int_equal(parse(f,
                         "10.1.1.1 [2024-03-01T10:00:00+01:00] PUT /up?k=v 201 99 0.250 "
                         "\"curl/8\" example.org",
                         &r),
                   RV_LOG_OK);
  expect_field(&r, RV_LOG_ADDR, "10.1.1.1");
  expect_field(&r, RV_LOG_METHOD, "PUT");
  expect_field(&r, RV_LOG_PATH, "/up");
  expect_field(&r, RV_LOG_QUERY, "k=v");
  assert_int_equal(r.reqtime_us, 250000);
  assert_int_equal(r.time, 1709283600);
  assert_int_equal(parse(f, "h [2024-03-01T10:00:00Z] GET /?a 200 1 - \"a\" b", &r), RV_LOG_OK);
  expect_field(&r, RV_LOG_REQTIME, NULL);
  assert_int_equal(r.time, 1709287200);
  assert_int_equal(parse(f, "h [2024-03-01T10:00:00] GET /?a 200 1 1 \"a\" b", &r), RV_LOG_ETIME);
  assert_int_equal(parse(f, "h [2024-03-01T10:00:00Z] GET /?a 200 1 1. \"a\" b", &r),
                   RV_LOG_ENUMBER);
  assert_int_equal(parse(f, "h [2024-03-01T10:00:00Z] GET /?a 200 1 x \"a\" b", &r),
                   RV_LOG_ENUMBER);
  rv_logformat_free(f);

  f = compile("$msec $status $request_uri $request_time");
  assert_int_equal(parse(f, "1700000000.123 200 /p?q 3", &r), RV_LOG_OK);
  assert_int_equal(r.time, 1700000000);
  assert_int_equal(r.reqtime_us, 3000000);
  expect_field(&r, RV_LOG_PATH, "/p");
  assert_int_equal(parse(f, "17x 200 /p 3", &r), RV_LOG_ETIME);
  rv_logformat_free(f);
}

static void test_malformed(void **state) {
  (void)state;
  rv_logformat *f = compile("combined");
  rv_log_record r;
  static const struct {
    const char *line;
    rv_log_error want;
  } cases[] = {
      {"", RV_LOG_EEMPTY},
      {"   \t", RV_LOG_EEMPTY},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\x01b\"",
       RV_LOG_EBINARY},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", RV_LOG_EBINARY},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\x7f\"",
       RV_LOG_EBINARY},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200", RV_LOG_ETRUNCATED},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla",
       RV_LOG_EQUOTE},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1", RV_LOG_EQUOTE},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000", RV_LOG_ETRUNCATED},
      {"1.2.3.4 -", RV_LOG_ETRUNCATED},
      {"1.2.3.4", RV_LOG_ETRUNCATED},
      /* nginx logs a TLS ClientHello on a plain port with \x escapes. */
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"\\x16\\x03\\x01\\x02\\x00\\x01\" 400 157 \"-\" "
       "\"-\"",
       RV_LOG_EREQUEST},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"get / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_EREQUEST},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET  HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_EREQUEST},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 20x 5 \"-\" \"-\"",
       RV_LOG_ESTATUS},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 099 5 \"-\" \"-\"",
       RV_LOG_ESTATUS},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5k \"-\" \"-\"",
       RV_LOG_ENUMBER},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 99999999999999999999 "
       "\"-\" \"-\"",
       RV_LOG_ENUMBER},
      {"1.2.3.4 - - [31/Apr/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_ETIME},
      {"1.2.3.4 - - [29/Feb/2023:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_ETIME},
      {"1.2.3.4 - - [01/Foo/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_ETIME},
      {"1.2.3.4 - - [01/Jan/2024:24:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_ETIME},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", RV_LOG_ETIME},
      {"1.2.3.4 x - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_ELITERAL},
      {"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\" extra",
       RV_LOG_ELITERAL},
      {"1.2.3.4 - - 01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
       RV_LOG_ELITERAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rv_log_error e = parse(f, cases[i].line, &r);
    if (e != cases[i].want) {
      printf("case %zu: got %s want %s\n", i, rv_log_error_name(e),
             rv_log_error_name(cases[i].want));
      fail();
    }
  }
  assert_string_equal(rv_log_error_name(RV_LOG_EQUOTE), "missing-quote");
  assert_string_equal(rv_log_error_name((rv_log_error)77), "unknown");
  rv_logformat_free(f);
}

static void test_times(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(rv_log_parse_time((const uint8_t *)"01/Jan/1970:00:00:00 +0000", 26, &t), 0);
  assert_int_equal(t, 0);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"31/Dec/1969:23:59:59 +0000", 26, &t), 0);
  assert_int_equal(t, -1);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"29/Feb/2000:12:00:00 -0130", 26, &t), 0);
  assert_int_equal(t, 951831000);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"01/Mar/2100:00:00:00 +0000", 26, &t), 0);
  assert_int_equal(t, 4107542400);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"29/Feb/2100:00:00:00 +0000", 26, &t),
                   RV_EMALFORMED);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"01/Jan/1970:00:00:00 +0000", 25, &t),
                   RV_EMALFORMED);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"01/Jan/1970:00:60:00 +0000", 26, &t),
                   RV_EMALFORMED);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"01/Jan/1970:00:00:00 +0060", 26, &t),
                   RV_EMALFORMED);
  assert_int_equal(rv_log_parse_time((const uint8_t *)"0a/Jan/1970:00:00:00 +0000", 26, &t),
                   RV_EMALFORMED);
}

static void test_format_errors(void **state) {
  (void)state;
  rv_logformat *f = NULL;
  rv_diag d = {0};
  assert_int_equal(rv_logformat_compile(&f, NULL, NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_logformat_compile(&f, "", NULL, &d), RV_EMALFORMED);
  assert_int_equal(rv_logformat_compile(&f, "a $ b", NULL, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 2);
  assert_int_equal(rv_logformat_compile(&f, "${status x", NULL, &d), RV_EMALFORMED);
  assert_int_equal(rv_logformat_compile(&f, "$status$request", NULL, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 7);
  assert_int_equal(rv_logformat_compile(&f, "$status $status", NULL, &d), RV_EMALFORMED);
  assert_int_equal(rv_logformat_compile(&f, "$uri $request", NULL, &d), RV_EMALFORMED);
  char many[400];
  for (size_t i = 0; i < 60; i++)
    memcpy(many + 3 * i, "$x ", 3);
  many[180] = 0;
  assert_int_equal(rv_logformat_compile(&f, many, NULL, &d), RV_EMALFORMED);
  assert_null(f);
  /* Literal-only format: lines must equal it. */
  f = compile("hello");
  rv_log_record r;
  assert_int_equal(parse(f, "hello", &r), RV_LOG_OK);
  assert_int_equal(parse(f, "hell", &r), RV_LOG_ETRUNCATED);
  assert_int_equal(parse(f, "help!", &r), RV_LOG_ELITERAL);
  rv_logformat_free(f);
  rv_logformat_free(NULL);
  for (size_t n = 0; n < 10; n++) {
    rv_alloc_failing fa;
    const rv_alloc *a = rv_alloc_failing_init(&fa, NULL, n);
    int rc = rv_logformat_compile(&f, "combined", a, NULL);
    if (rc == 0) {
      rv_logparse *p = NULL;
      rc = rv_logparse_create(&p, f, &(rv_logparse_config){.alloc = a});
      assert_true(rc == 0 || rc == RV_ENOMEM);
      rv_logparse_destroy(p);
      rv_logformat_free(f);
    } else {
      assert_int_equal(rc, RV_ENOMEM);
    }
    assert_int_equal(fa.live_blocks, 0);
  }
  rv_logparse *p;
  assert_int_equal(rv_logparse_create(&p, NULL, NULL), RV_EINVAL);
}

/* ---- streaming ---- */

typedef struct seen {
  uint64_t ok, bad_lines[16];
  size_t nbad;
  rv_log_error bad_err[16];
  uint64_t bytes;
  int stop_after;
} seen;

static int on_ok(void *ctx, const rv_log_record *r) {
  seen *s = ctx;
  s->ok++;
  s->bytes += r->bytes;
  return s->stop_after && s->ok == (uint64_t)s->stop_after ? 42 : 0;
}

static void on_bad(void *ctx, uint64_t line, rv_log_error e, const uint8_t *p, size_t n) {
  seen *s = ctx;
  (void)p;
  (void)n;
  if (s->nbad < 16) {
    s->bad_lines[s->nbad] = line;
    s->bad_err[s->nbad++] = e;
  }
}

static void test_streaming(void **state) {
  (void)state;
  rv_logformat *f = compile("combined");
  /* Lines: good, junk, good, too long (300 > max 200), good, no newline at end. */
  char text[2000];
  char longl[301];
  memset(longl, 'x', 300);
  longl[300] = 0;
  snprintf(text, sizeof text, "%s\n\x16\x03junk\n%s\n%s\n%s\n%s", L1, L1, longl, L1, L1);
  size_t n = strlen(text);
  for (size_t split = 0; split <= n; split++) {
    rv_logparse *p;
    assert_int_equal(rv_logparse_create(&p, f, &(rv_logparse_config){.max_line = 200}), 0);
    seen s = {0};
    assert_int_equal(rv_logparse_feed(p, text, split, on_ok, on_bad, &s), 0);
    assert_int_equal(rv_logparse_feed(p, text + split, n - split, on_ok, on_bad, &s), 0);
    assert_int_equal(rv_logparse_finish(p, on_ok, on_bad, &s), 0);
    assert_int_equal(s.ok, 4);
    assert_int_equal(s.bytes, 4 * 2326);
    assert_int_equal(s.nbad, 2);
    assert_int_equal(s.bad_lines[0], 2);
    assert_int_equal(s.bad_err[0], RV_LOG_EBINARY);
    assert_int_equal(s.bad_lines[1], 4);
    assert_int_equal(s.bad_err[1], RV_LOG_ETOOLONG);
    assert_int_equal(rv_logparse_lines(p), 6);
    assert_int_equal(rv_logparse_malformed(p, RV_LOG_OK), 2);
    assert_int_equal(rv_logparse_malformed(p, RV_LOG_ETOOLONG), 1);
    assert_int_equal(rv_logparse_malformed(p, (rv_log_error)99), 0);
    rv_logparse_destroy(p);
  }
  /* Byte-at-a-time feeding, numbering from 100, and a callback that stops. */
  rv_logparse *p;
  assert_int_equal(rv_logparse_create(&p, f, &(rv_logparse_config){.first_line = 100}), 0);
  seen s = {.stop_after = 2};
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = rv_logparse_feed(p, text + i, 1, on_ok, NULL, &s);
  assert_int_equal(rc, 42);
  assert_int_equal(s.ok, 2);
  assert_int_equal(rv_logparse_lines(p), 3);
  rv_logparse_reset(p, 0);
  assert_int_equal(rv_logparse_lines(p), 0);
  assert_int_equal(rv_logparse_feed(p, NULL, 0, NULL, NULL, NULL), 0);
  assert_int_equal(rv_logparse_finish(p, NULL, NULL, NULL), 0);
  rv_logparse_destroy(p);
  rv_logparse_destroy(NULL);
  rv_logformat_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_combined_fields), cmocka_unit_test(test_common_and_custom),
      cmocka_unit_test(test_malformed),       cmocka_unit_test(test_times),
      cmocka_unit_test(test_format_errors),   cmocka_unit_test(test_streaming),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
