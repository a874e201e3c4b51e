/* test-config.c: api-server's settings: defaults, the config file (syntax
 * and every error with its FILE:LINE), flags over the file, value syntax
 * and ranges, --help. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rivet/core/err.h>

#include "config.h"

static char tmpdir[64];

static int setup(void **state) {
  (void)state;
  (void)snprintf(tmpdir, sizeof tmpdir, "/tmp/test-api-config-XXXXXX");
  return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  char path[128];
  (void)snprintf(path, sizeof path, "%s/c.conf", tmpdir);
  (void)unlink(path);
  return rmdir(tmpdir);
}

/* Write \p text to the temp config file; returns its path (static). */
static const char *conf(const char *text) {
  static char path[128];
  (void)snprintf(path, sizeof path, "%s/c.conf", tmpdir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
  return path;
}

static void test_defaults(void **state) {
  (void)state;
  srv_config c;
  assert_int_equal(srv_config_init(&c), RV_OK);
  api_config app;
  api_config_default(&app);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 8080);
  assert_int_equal(c.workers, 1);
  assert_string_equal(c.db_path, "./api-server.db");
  assert_string_equal(c.key_name, "api-signing");
  assert_null(c.passphrase_file);
  assert_null(c.log_file);
  assert_string_equal(c.jwt_issuer, "rivet-api");
  assert_string_equal(c.jwt_audience, "rivet-devices");
  assert_int_equal(c.jwt_leeway_ms, 30000);
  assert_int_equal(c.max_body, 1024 * 1024);
  assert_int_equal(c.max_head, 8192);
  assert_int_equal(c.body_timeout_ms, 30000);
  assert_int_equal(c.drain_timeout_ms, 10000);
  assert_int_equal(c.drain_delay_ms, 0);
  assert_int_equal(c.log_level, RV_LOG_INFO);
  /* The table's defaults for the app agree with api_config_default(). */
  assert_int_equal(c.app.mw_auth, app.mw_auth);
  assert_int_equal(c.app.mw_trace, app.mw_trace);
  assert_int_equal(c.app.rate_per_addr, app.rate_per_addr);
  assert_int_equal(c.app.rate_per_token, app.rate_per_token);
  assert_int_equal(c.app.rate_max_keys, app.rate_max_keys);
  assert_int_equal(c.app.page_default, app.page_default);
  assert_int_equal(c.app.page_max, app.page_max);
  assert_int_equal(c.app.max_points, app.max_points);
  for (int i = 0; i < API_FLAG_COUNT; i++) {
    assert_int_equal(c.app.flags[i], app.flags[i]);
  }
  srv_config_free(&c);
  srv_config_free(NULL);
}

static void test_file(void **state) {
  (void)state;
  srv_config c;
  char err[SRV_ERR_MAX];
  assert_int_equal(srv_config_init(&c), RV_OK);
  const char *p = conf("# api-server settings\n"
                       "\n"
                       "   listen_port=9000\n"
                       "listen_host = 0.0.0.0   \n"
                       "\tworkers\t=\t4\r\n"
                       "db_path = /var/lib/api/x y.db\n"
                       "auth = off\n"
                       "ratelimit = no\n"
                       "flag_device_writes = 0\n"
                       "max_body = 64K\n"
                       "body_timeout = 1500ms\n"
                       "drain_delay = 2m\n"
                       "log_level = WARN\n"
                       "  # indented comment\n"
                       "jwt_leeway = 1h");
  assert_int_equal(srv_config_load_file(&c, p, err), RV_OK);
  assert_int_equal(c.listen_port, 9000);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.workers, 4);
  assert_string_equal(c.db_path, "/var/lib/api/x y.db");
  assert_false(c.app.mw_auth);
  assert_false(c.app.mw_ratelimit);
  assert_true(c.app.mw_trace);
  assert_false(c.app.flags[API_FLAG_DEVICE_WRITES]);
  assert_true(c.app.flags[API_FLAG_TELEMETRY_INGEST]);
  assert_int_equal(c.max_body, 65536);
  assert_int_equal(c.body_timeout_ms, 1500);
  assert_int_equal(c.drain_delay_ms, 120000);
  assert_int_equal(c.log_level, RV_LOG_WARN);
  assert_int_equal(c.jwt_leeway_ms, 3600000);
  srv_config_free(&c);
}

/* Load \p text and expect \p rc with \p msg in the error. */
static void file_error(const char *text, int rc, const char *msg) {
  srv_config c;
  char err[SRV_ERR_MAX] = "";
  assert_int_equal(srv_config_init(&c), RV_OK);
  const char *p = conf(text);
  assert_int_equal(srv_config_load_file(&c, p, err), rc);
  if (strstr(err, msg) == NULL || strncmp(err, p, strlen(p)) != 0) {
    fail_msg("error '%s' lacks the path or '%s'", err, msg);
  }
  srv_config_free(&c);
}

static void test_file_errors(void **state) {
  (void)state;
  file_error("workers = 2\nbogus = 1\n", RV_EINVAL, ":2: unknown key 'bogus'");
  file_error("\n\nlisten_port = 70000\n", RV_EINVAL,
             ":3: listen_port: '70000' is outside 0..65535");
  file_error("workers = 0\n", RV_EINVAL, ":1: workers: '0' is outside 1..256");
  file_error("workers = 2\nworkers = 2\n", RV_EINVAL, ":2: duplicate key 'workers'");
  file_error("# c\njust text\n", RV_EINVAL, ":2: expected 'key = value'");
  file_error("auth = maybe\n", RV_EINVAL, ":1: auth: 'maybe' is not a boolean");
  file_error("body_timeout = 30\n", RV_EINVAL, "is not a duration");
  file_error("max_body = 1T\n", RV_EINVAL, "is not a size");
  file_error("max_body = 1G\n", RV_EINVAL, "is outside");
  file_error("idle_timeout = 1ms\n", RV_EINVAL, "'1ms' is outside 100ms..");
  file_error("log_level = loud\n", RV_EINVAL, "is not a log level");
  file_error("db_path =\n", RV_EINVAL, ":1: db_path: empty value");
  file_error("workers = 2x\n", RV_EINVAL, "is not a whole number");
  file_error("workers = 99999999999999999999999\n", RV_EINVAL, "is not a whole number");
  file_error(" = 3\n", RV_EINVAL, "unknown key ''");

  srv_config c;
  char err[SRV_ERR_MAX] = "";
  assert_int_equal(srv_config_init(&c), RV_OK);
  char path[128];
  (void)snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
  assert_int_equal(srv_config_load_file(&c, path, err), RV_ENOTFOUND);
  assert_non_null(strstr(err, "missing.conf: No such file"));
  /* A directory opens but cannot be read. */
  assert_int_equal(srv_config_load_file(&c, tmpdir, err), RV_EIO);
  assert_non_null(strstr(err, tmpdir));
  /* A NUL byte inside a line. */
  const char *np = conf("");
  FILE *f = fopen(np, "w");
  assert_non_null(f);
  assert_int_equal(fwrite("workers = 2\0\n", 1, 13, f), 13);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(srv_config_load_file(&c, np, err), RV_EINVAL);
  srv_config_free(&c);
}

static void test_flags(void **state) {
  (void)state;
  srv_config c;
  char err[SRV_ERR_MAX] = "";
  assert_int_equal(srv_config_init(&c), RV_OK);
  assert_int_equal(
      srv_config_load_file(&c, conf("listen_port = 9000\nworkers = 3\nauth = false\n"), err),
      RV_OK);
  char *argv[] = {"api-server",  "--listen-port", "0",
                  "--auth",      "--no-trace",    "--db-path=/tmp/x.db",
                  "--log-level", "debug",         "--drain-timeout=250ms",
                  NULL};
  int argc = 9;
  for (int i = 1; i < argc; i++) {
    assert_true(srv_config_is_flag(argv[i]));
    assert_int_equal(srv_config_flag(&c, argc, argv, &i, err), RV_OK);
  }
  assert_int_equal(c.listen_port, 0); /* the flag won over the file */
  assert_int_equal(c.workers, 3);     /* the file's value stays */
  assert_true(c.app.mw_auth);
  assert_false(c.app.mw_trace);
  assert_string_equal(c.db_path, "/tmp/x.db");
  assert_int_equal(c.log_level, RV_LOG_DEBUG);
  assert_int_equal(c.drain_timeout_ms, 250);

  int i = 1;
  char *dup[] = {"x", "--workers", "2", NULL};
  assert_int_equal(srv_config_flag(&c, 3, dup, &i, err), RV_OK);
  assert_int_equal(i, 2);
  i = 1;
  assert_int_equal(srv_config_flag(&c, 3, dup, &i, err), RV_EINVAL);
  assert_string_equal(err, "--workers: given twice");

  char *bad[] = {"x", "--max-body", "2G", "--nope", "--no-auth=1", "--page-max", NULL};
  i = 1;
  assert_int_equal(srv_config_flag(&c, 6, bad, &i, err), RV_EINVAL);
  assert_string_equal(err, "--max-body: '2G' is outside 1..67108864");
  i = 3;
  assert_false(srv_config_is_flag(bad[3]));
  assert_int_equal(srv_config_flag(&c, 6, bad, &i, err), RV_EINVAL);
  assert_non_null(strstr(err, "--nope: unknown option"));
  i = 4;
  assert_int_equal(srv_config_flag(&c, 6, bad, &i, err), RV_EINVAL);
  assert_non_null(strstr(err, "takes no value"));
  i = 5;
  assert_int_equal(srv_config_flag(&c, 6, bad, &i, err), RV_EINVAL);
  assert_string_equal(err, "--page-max: missing value");
  /* Not a flag: a file key spelled with '_', a prefix, a non-boolean --no-. */
  assert_false(srv_config_is_flag("--listen_port"));
  assert_false(srv_config_is_flag("--listen"));
  assert_false(srv_config_is_flag("--no-workers"));
  assert_false(srv_config_is_flag("listen-port"));
  srv_config_free(&c);
}

static void test_set_and_values(void **state) {
  (void)state;
  srv_config c;
  char err[SRV_ERR_MAX] = "";
  assert_int_equal(srv_config_init(&c), RV_OK);
  assert_int_equal(srv_config_set(&c, "max_head", "16k", err), RV_OK);
  assert_int_equal(c.max_head, 16384);
  assert_int_equal(srv_config_set(&c, "max_body", "1048576", err), RV_OK);
  assert_int_equal(c.max_body, 1048576);
  assert_int_equal(srv_config_set(&c, "log_file", "/tmp/a.log", err), RV_OK);
  assert_int_equal(srv_config_set(&c, "log_file", "/tmp/b.log", err), RV_OK);
  assert_string_equal(c.log_file, "/tmp/b.log"); /* the old copy was freed (ASan) */
  assert_int_equal(srv_config_set(&c, "nope", "1", err), RV_EINVAL);
  assert_string_equal(err, "unknown setting 'nope'");
  assert_int_equal(srv_config_set(&c, "auth", "yes", err), RV_OK);
  assert_int_equal(srv_config_set(&c, "workers", "-1", err), RV_EINVAL);
  assert_string_equal(err, "workers: '-1' is not a whole number");
  srv_config_free(&c);

  uint64_t ms = 0;
  assert_int_equal(srv_parse_duration_ms("0s", &ms), RV_OK);
  assert_int_equal(ms, 0);
  assert_int_equal(srv_parse_duration_ms("250ms", &ms), RV_OK);
  assert_int_equal(ms, 250);
  assert_int_equal(srv_parse_duration_ms("15m", &ms), RV_OK);
  assert_int_equal(ms, 900000);
  assert_int_equal(srv_parse_duration_ms("2h", &ms), RV_OK);
  assert_int_equal(ms, 7200000);
  assert_int_equal(srv_parse_duration_ms("30d", &ms), RV_OK);
  assert_int_equal(ms, 2592000000ull);
  assert_int_equal(srv_parse_duration_ms("5", &ms), RV_EINVAL);
  assert_int_equal(srv_parse_duration_ms("s", &ms), RV_EINVAL);
  assert_int_equal(srv_parse_duration_ms("", &ms), RV_EINVAL);
  assert_int_equal(srv_parse_duration_ms("1 s", &ms), RV_EINVAL);
  assert_int_equal(srv_parse_duration_ms("1w", &ms), RV_EINVAL);
  assert_int_equal(srv_parse_duration_ms(NULL, &ms), RV_EINVAL);
  assert_int_equal(srv_parse_duration_ms("18446744073709551615d", &ms), RV_EINVAL);
}

static void test_usage(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  srv_config_usage(f);
  assert_int_equal(fclose(f), 0);
  /* Every setting, with its default. */
  static const char *const want[] = {
      "--listen-port N",           "[default: 8080]",          "--[no-]auth",
      "--[no-]flag-device-writes", "--drain-timeout DURATION", "--max-body SIZE",
      "--log-level LEVEL",         "[default: info]",          "--passphrase-file TEXT"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    if (strstr(text, want[i]) == NULL) {
      fail_msg("usage lacks '%s'", want[i]);
    }
  }
  /* No line wider than 100 columns. */
  for (const char *p = text; *p != '\0';) {
    size_t n = strcspn(p, "\n");
    assert_true(n <= 100);
    p += n + (p[n] == '\n');
  }
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),       cmocka_unit_test(test_file),
      cmocka_unit_test(test_file_errors),    cmocka_unit_test(test_flags),
      cmocka_unit_test(test_set_and_values), cmocka_unit_test(test_usage),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
