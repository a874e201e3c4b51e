/* Tests for log: exact output (golden lines), escaping of quotes, control
 * characters and invalid UTF-8, numbers and time, the level filter, long
 * and truncated records, every allocation failure, the fd sink. Threads
 * logging at once are in test-log-threads.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rivet/core/err.h>
#include <rivet/core/log.h>

/* 2026-11-23T19:30:50.123456789Z */
extern char **environ;

static int64_t fixed_ns = INT64_C(1795462250123456789);
static int64_t fixed_clock(void *ctx) { return *(const int64_t *)ctx; }
#define T "{\"time\":\"2026-11-23T19:30:50.123Z\","

/* A sink that keeps the last line (and counts calls). */
struct capture {
  char line[70000];
  size_t len;
  int calls;
  rv_log_level level;
  int rc; /* what the sink returns */
};
static struct capture cap;

static int capture_sink(void *ctx, rv_log_level level, const char *line, size_t len) {
  struct capture *c = ctx;
  assert_true(len < sizeof c->line);
  memcpy(c->line, line, len);
  c->line[len] = '\0';
  c->len = len;
  c->level = level;
  c->calls++;
  return c->rc;
}

static rv_log *make_log(const rv_log_field *fields, size_t n, size_t max_record,
                        const rv_alloc *alloc) {
  rv_log_options o = {0};
  o.level = RV_LOG_TRACE;
  o.sink = capture_sink;
  o.sink_ctx = &cap;
  o.clock = fixed_clock;
  o.clock_ctx = &fixed_ns;
  o.fields = fields;
  o.nfields = n;
  o.max_record = max_record;
  o.alloc = alloc;
  rv_log *log = NULL;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  memset(&cap, 0, sizeof cap);
  return log;
}

/* ---- golden lines ---------------------------------------------------------- */

static void test_golden_basic(void **state) {
  (void)state;
  rv_log *log = make_log(NULL, 0, 0, NULL);
  assert_int_equal(rv_log_info(log, "hello"), RV_OK);
  assert_string_equal(cap.line, T "\"level\":\"info\",\"msg\":\"hello\"}\n");
  assert_int_equal(cap.level, RV_LOG_INFO);
  assert_int_equal(rv_log_warn(log, "types", RV_LOG_STR("s", "text"), RV_LOG_STR("n", NULL),
                               RV_LOG_STRN("sn", "a\0b", 3), RV_LOG_INT("i", -42),
                               RV_LOG_UINT("u", 42u), RV_LOG_F64("f", 0.5), RV_LOG_BOOL("t", 1),
                               RV_LOG_BOOL("b", 0),
                               RV_LOG_BYTES("raw",
                                            "\x00\xff"
                                            "A",
                                            3)),
                   RV_OK);
  assert_string_equal(cap.line, T "\"level\":\"warn\",\"msg\":\"types\",\"s\":\"text\",\"n\":null,"
                                  "\"sn\":\"a\\u0000b\",\"i\":-42,\"u\":42,\"f\":0.5,\"t\":true,"
                                  "\"b\":false,\"raw\":\"\\u0000\\u00ffA\"}\n");
  const char *names[] = {"trace", "debug", "info", "warn", "error", "fatal"};
  for (int l = RV_LOG_TRACE; l <= RV_LOG_FATAL; l++) {
    assert_int_equal(rv_log_at(log, (rv_log_level)l, "x"), RV_OK);
    char want[128];
    snprintf(want, sizeof want, T "\"level\":\"%s\",\"msg\":\"x\"}\n", names[l - 1]);
    assert_string_equal(cap.line, want);
    assert_int_equal(cap.level, l);
  }
  assert_int_equal(rv_log_trace(log, "t"), RV_OK);
  assert_int_equal(rv_log_debug(log, "d"), RV_OK);
  assert_int_equal(rv_log_error(log, "e"), RV_OK);
  assert_int_equal(rv_log_fatal(log, "f", RV_LOG_INT("code", 3)), RV_OK);
  assert_string_equal(cap.line, T "\"level\":\"fatal\",\"msg\":\"f\",\"code\":3}\n");
  /* The function form, with an explicit array. */
  rv_log_field f[2] = {RV_LOG_INT("a", 1), RV_LOG_STR("b", "2")};
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, "fn", f, 2), RV_OK);
  assert_string_equal(cap.line, T "\"level\":\"info\",\"msg\":\"fn\",\"a\":1,\"b\":\"2\"}\n");
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, "none", NULL, 0), RV_OK);
  assert_int_equal(cap.calls, 6 + 4 + 4);
  rv_log_destroy(log);
  rv_log_destroy(NULL);
}

static void test_static_fields(void **state) {
  (void)state;
  rv_log_field st[] = {RV_LOG_STR("service", "api"), RV_LOG_INT("pid", 7),
                       RV_LOG_STR("q\"k", "v\n")};
  char key[] = "service"; /* static fields are copied: changing this later is harmless */
  st[0].key = key;
  rv_log *log = make_log(st, 3, 0, NULL);
  key[0] = 'X';
  assert_int_equal(rv_log_info(log, "up", RV_LOG_UINT("port", 8080)), RV_OK);
  assert_string_equal(cap.line, T "\"level\":\"info\",\"service\":\"api\",\"pid\":7,"
                                  "\"q\\\"k\":\"v\\n\",\"msg\":\"up\",\"port\":8080}\n");
  rv_log_destroy(log);
}

/* ---- escaping ---------------------------------------------------------------- */

struct esc_case {
  const char *in;
  size_t len;
  const char *text;  /* as RV_LOG_STRN */
  const char *bytes; /* as RV_LOG_BYTES */
};

#define S(lit) lit, sizeof(lit) - 1

static const struct esc_case esc_cases[] = {
    {S("plain ascii ~"), "plain ascii ~", "plain ascii ~"},
    {S("q\"b\\s/"), "q\\\"b\\\\s/", "q\\\"b\\\\s/"},
    {S("\b\f\n\r\t"), "\\b\\f\\n\\r\\t", "\\b\\f\\n\\r\\t"},
    {S("\x01\x1f\x7f\x1b[31m"), "\\u0001\\u001f\\u007f\\u001b[31m",
     "\\u0001\\u001f\\u007f\\u001b[31m"},
    {S("nul\0end"), "nul\\u0000end", "nul\\u0000end"},
    /* Valid UTF-8 stays as it is in text, one \u00XX per byte in bytes. */
    {S("\xc3\xa9"), "\xc3\xa9", "\\u00c3\\u00a9"},
    {S("\xe2\x82\xac"), "\xe2\x82\xac", "\\u00e2\\u0082\\u00ac"},
    {S("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80", "\\u00f0\\u009f\\u0098\\u0080"},
    {S("\xef\xbf\xbf\xf4\x8f\xbf\xbf"), "\xef\xbf\xbf\xf4\x8f\xbf\xbf",
     "\\u00ef\\u00bf\\u00bf\\u00f4\\u008f\\u00bf\\u00bf"},
    /* Invalid UTF-8: one U+FFFD per maximal invalid subpart. */
    {S("a\x80z"), "a\\ufffdz", "a\\u0080z"},                               /* lone continuation */
    {S("\xbf\xbf"), "\\ufffd\\ufffd", "\\u00bf\\u00bf"},                   /* two of them */
    {S("\xc0\xaf"), "\\ufffd\\ufffd", "\\u00c0\\u00af"},                   /* overlong '/' */
    {S("\xc1\xbf"), "\\ufffd\\ufffd", "\\u00c1\\u00bf"},                   /* overlong */
    {S("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd", "\\u00e0\\u0080\\u00af"}, /* overlong */
    {S("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd", "\\u00ed\\u00a0\\u0080"}, /* surrogate */
    {S("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd",
     "\\u00f4\\u0090\\u0080\\u0080"}, /* above U+10FFFF */
    {S("\xf5\xff\xfe"), "\\ufffd\\ufffd\\ufffd", "\\u00f5\\u00ff\\u00fe"},
    {S("\xe2\x82"), "\\ufffd", "\\u00e2\\u0082"},            /* truncated at the end */
    {S("\xe2\x82z"), "\\ufffdz", "\\u00e2\\u0082z"},         /* truncated in the middle */
    {S("\xf0\x9f\x98"), "\\ufffd", "\\u00f0\\u009f\\u0098"}, /* 3 of 4 */
    {S("\xf0\x9f\x98\xc3\xa9"), "\\ufffd\xc3\xa9", "\\u00f0\\u009f\\u0098\\u00c3\\u00a9"},
    {S("\xc3"), "\\ufffd", "\\u00c3"},
    {S(""), "", ""},
};

static void test_escaping(void **state) {
  (void)state;
  rv_log *log = make_log(NULL, 0, 0, NULL);
  for (size_t i = 0; i < sizeof esc_cases / sizeof esc_cases[0]; i++) {
    const struct esc_case *c = &esc_cases[i];
    char want[512];
    assert_int_equal(
        rv_log_info(log, "", RV_LOG_STRN("t", c->in, c->len), RV_LOG_BYTES("b", c->in, c->len)),
        RV_OK);
    snprintf(want, sizeof want, T "\"level\":\"info\",\"msg\":\"\",\"t\":\"%s\",\"b\":\"%s\"}\n",
             c->text, c->bytes);
    if (strcmp(cap.line, want) != 0) {
      fail_msg("escape case %zu:\n got %s want %s", i, cap.line, want);
    }
    /* The same text as a NUL-terminated message and key (up to any NUL). */
    if (memchr(c->in, 0, c->len) == NULL) {
      assert_int_equal(rv_log_info(log, c->in, RV_LOG_STR(c->in, c->in)), RV_OK);
      snprintf(want, sizeof want, T "\"level\":\"info\",\"msg\":\"%s\",\"%s\":\"%s\"}\n", c->text,
               c->text, c->text);
      if (strcmp(cap.line, want) != 0) {
        fail_msg("escape case %zu as message:\n got %s want %s", i, cap.line, want);
      }
    }
  }
  /* Every one of the 256 byte values, as bytes: 0x20..0x7e but " and \
   * stay themselves, all others are escaped. */
  unsigned char all[256];
  for (int b = 0; b < 256; b++) {
    all[b] = (unsigned char)b;
  }
  assert_int_equal(rv_log_info(log, "", RV_LOG_BYTES("all", all, sizeof all)), RV_OK);
  for (size_t i = 0; i < cap.len - 1; i++) {
    unsigned char c = (unsigned char)cap.line[i];
    assert_true(c >= 0x20 && c < 0x7f);
  }
  rv_log_destroy(log);
}

/* ---- numbers and time ----------------------------------------------------- */

static void expect_number(rv_log *log, rv_log_field f, const char *want) {
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, "", &f, 1), RV_OK);
  char line[256];
  snprintf(line, sizeof line, T "\"level\":\"info\",\"msg\":\"\",\"v\":%s}\n", want);
  assert_string_equal(cap.line, line);
}

static void test_numbers(void **state) {
  (void)state;
  rv_log *log = make_log(NULL, 0, 0, NULL);
  expect_number(log, RV_LOG_INT("v", 0), "0");
  expect_number(log, RV_LOG_INT("v", INT64_MIN), "-9223372036854775808");
  expect_number(log, RV_LOG_INT("v", INT64_MAX), "9223372036854775807");
  expect_number(log, RV_LOG_UINT("v", UINT64_MAX), "18446744073709551615");
  expect_number(log, RV_LOG_UINT("v", 0), "0");
  expect_number(log, RV_LOG_F64("v", 0.1), "0.1");
  expect_number(log, RV_LOG_F64("v", 1.0 / 3.0), "0.3333333333333333");
  expect_number(log, RV_LOG_F64("v", 0.1 + 0.2), "0.30000000000000004");
  expect_number(log, RV_LOG_F64("v", 3.0), "3.0");
  expect_number(log, RV_LOG_F64("v", -0.0), "-0.0");
  expect_number(log, RV_LOG_F64("v", 1e300), "1e+300");
  expect_number(log, RV_LOG_F64("v", -12345678.0), "-12345678.0");
  expect_number(log, RV_LOG_F64("v", 5e-324), "4.94065645841247e-324");
  expect_number(log, RV_LOG_F64("v", 1.7976931348623157e308), "1.7976931348623157e+308");
  expect_number(log, RV_LOG_F64("v", NAN), "\"NaN\"");
  expect_number(log, RV_LOG_F64("v", INFINITY), "\"Infinity\"");
  expect_number(log, RV_LOG_F64("v", -INFINITY), "\"-Infinity\"");
  rv_log_destroy(log);
}

/* rm -r for the small tree the locale test makes. */
static void remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (d) {
      const struct dirent *e;
      while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
          char sub[512];
          snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
          remove_tree(sub);
        }
      }
      closedir(d);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

/* A locale whose decimal point is a comma must not leak into JSON. Such a
 * locale is compiled here with localedef (glibc) into a temporary
 * directory; without localedef the test is skipped. */
static void test_numbers_comma_locale(void **state) {
  (void)state;
  static const char def[] = "LC_CTYPE\ncopy \"POSIX\"\nEND LC_CTYPE\n"
                            "LC_NUMERIC\ndecimal_point \"<U002C>\"\nthousands_sep \"<U002E>\"\n"
                            "grouping 3\nEND LC_NUMERIC\n";
  char dir[] = "/tmp/rv-test-log-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  char out[128];
  snprintf(path, sizeof path, "%s/comma.def", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(def, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  /* -c: write the locale although the other categories are missing (it
   * then exits 1 for the warnings: success is judged by setlocale below). */
  snprintf(out, sizeof out, "%s/xx_XX.UTF-8", dir);
  char *argv[] = {"localedef", "-c", "-i", path, "-f", "UTF-8", out, NULL};
  posix_spawn_file_actions_t fa;
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  assert_int_equal(posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0), 0);
  assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0), 0);
  pid_t pid;
  if (posix_spawnp(&pid, "localedef", &fa, NULL, argv, environ) == 0) {
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  }
  posix_spawn_file_actions_destroy(&fa);
  assert_int_equal(setenv("LOCPATH", dir, 1), 0);
  int have = setlocale(LC_NUMERIC, "xx_XX.UTF-8") != NULL;
  char probe[16] = "";
  if (have) {
    snprintf(probe, sizeof probe, "%.1f", 1.5);
  }
  rv_log *log = make_log(NULL, 0, 0, NULL);
  if (have) {
    assert_string_equal(probe, "1,5"); /* the locale really is in effect */
    expect_number(log, RV_LOG_F64("v", -2.5e-7), "-2.5e-07");
    expect_number(log, RV_LOG_F64("v", 1234.5), "1234.5");
    expect_number(log, RV_LOG_F64("v", 0.1 + 0.2), "0.30000000000000004");
  }
  setlocale(LC_NUMERIC, "C");
  unsetenv("LOCPATH");
  rv_log_destroy(log);
  remove_tree(dir);
  if (!have) {
    skip(); /* no localedef or no locale support: nothing to check */
  }
}

static void test_time(void **state) {
  (void)state;
  static const struct {
    int64_t ns;
    const char *want;
  } cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {999999, "1970-01-01T00:00:00.000Z"},
      {1000000, "1970-01-01T00:00:00.001Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {INT64_C(1709210096789000000), "2024-02-29T12:34:56.789Z"}, /* leap day */
      {INT64_C(951782400000000000), "2000-02-29T00:00:00.000Z"},  /* 400-year leap */
      {INT64_C(4107542399999999999), "2100-02-28T23:59:59.999Z"}, /* no leap in 2100 */
      {INT64_MAX, "2262-04-11T23:47:16.854Z"},
      {INT64_MIN, "1677-09-21T00:12:43.145Z"},
  };
  rv_log *log = make_log(NULL, 0, 0, NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t saved = fixed_ns;
    fixed_ns = cases[i].ns;
    assert_int_equal(rv_log_info(log, ""), RV_OK);
    fixed_ns = saved;
    char want[128];
    snprintf(want, sizeof want, "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"\"}\n",
             cases[i].want);
    assert_string_equal(cap.line, want);
  }
  rv_log_destroy(log);

  /* The default clock: the real time, in the same shape. */
  rv_log_options o = {0};
  o.sink = capture_sink;
  o.sink_ctx = &cap;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  assert_int_equal(rv_log_info(log, "now"), RV_OK);
  /* "time":"YYYY-MM-DDTHH:MM:SS.mmmZ" */
  const char *t = cap.line + strlen("{\"time\":\"");
  static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (size_t i = 0; i < sizeof shape - 1; i++) {
    if (shape[i] == 'd') {
      assert_true(t[i] >= '0' && t[i] <= '9');
    } else {
      assert_int_equal(t[i], shape[i]);
    }
  }
  long y = strtol(t, NULL, 10);
  assert_true(y >= 2024 && y < 2262);
  rv_log_destroy(log);
}

/* ---- filter and errors ----------------------------------------------------- */

static void test_levels(void **state) {
  (void)state;
  rv_log_options o = {0};
  o.sink = capture_sink;
  o.sink_ctx = &cap;
  o.clock = fixed_clock;
  o.clock_ctx = &fixed_ns;
  rv_log *log;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  memset(&cap, 0, sizeof cap);
  assert_int_equal(rv_log_get_level(log), RV_LOG_INFO); /* the default */
  assert_false(rv_log_enabled(log, RV_LOG_DEBUG));
  assert_true(rv_log_enabled(log, RV_LOG_INFO));
  assert_false(rv_log_enabled(log, RV_LOG_OFF));
  assert_false(rv_log_enabled(log, (rv_log_level)0));
  assert_int_equal(rv_log_debug(log, "hidden"), RV_OK);
  assert_int_equal(rv_log_write(log, RV_LOG_DEBUG, NULL, NULL, 5), RV_OK); /* not looked at */
  assert_int_equal(cap.calls, 0);
  assert_int_equal(rv_log_set_level(log, RV_LOG_TRACE), RV_OK);
  assert_int_equal(rv_log_trace(log, "shown"), RV_OK);
  assert_int_equal(cap.calls, 1);
  assert_int_equal(rv_log_set_level(log, RV_LOG_OFF), RV_OK);
  assert_int_equal(rv_log_fatal(log, "hidden"), RV_OK);
  assert_int_equal(cap.calls, 1);
  assert_int_equal(rv_log_set_level(log, (rv_log_level)0), RV_EINVAL);
  assert_int_equal(rv_log_set_level(log, (rv_log_level)8), RV_EINVAL);
  assert_int_equal(rv_log_get_level(log), RV_LOG_OFF);
  assert_int_equal(rv_log_set_level(log, RV_LOG_TRACE), RV_OK);
  /* Levels outside TRACE..FATAL cannot be written. */
  assert_int_equal(rv_log_write(log, RV_LOG_OFF, "x", NULL, 0), RV_EINVAL);
  assert_int_equal(rv_log_write(log, (rv_log_level)0, "x", NULL, 0), RV_EINVAL);
  assert_int_equal(rv_log_write(log, (rv_log_level)-3, "x", NULL, 0), RV_EINVAL);
  assert_int_equal(cap.calls, 1);
  rv_log_destroy(log);

  rv_log_level l = RV_LOG_INFO;
  assert_int_equal(rv_log_level_parse("DEBUG", &l), RV_OK);
  assert_int_equal(l, RV_LOG_DEBUG);
  assert_int_equal(rv_log_level_parse("Warning", &l), RV_OK);
  assert_int_equal(l, RV_LOG_WARN);
  assert_int_equal(rv_log_level_parse("off", &l), RV_OK);
  assert_int_equal(l, RV_LOG_OFF);
  assert_int_equal(rv_log_level_parse("verbose", &l), RV_EINVAL);
  assert_int_equal(rv_log_level_parse("informational", &l), RV_EINVAL);
  assert_int_equal(rv_log_level_parse("", &l), RV_EINVAL);
  assert_int_equal(rv_log_level_parse(NULL, &l), RV_EINVAL);
  assert_int_equal(l, RV_LOG_OFF); /* untouched on error */
  assert_string_equal(rv_log_level_name(RV_LOG_ERROR), "error");
  assert_string_equal(rv_log_level_name(RV_LOG_OFF), "off");
  assert_null(rv_log_level_name((rv_log_level)0));
  assert_null(rv_log_level_name((rv_log_level)99));
}

static void test_bad_arguments(void **state) {
  (void)state;
  rv_log *log = make_log(NULL, 0, 0, NULL);
  rv_log_field bad_type = RV_LOG_INT("k", 1);
  bad_type.type = (rv_log_type)99;
  rv_log_field zero;
  memset(&zero, 0, sizeof zero);
  zero.key = "z"; /* type 0 is no type */
  assert_int_equal(rv_log_write(NULL, RV_LOG_INFO, "x", NULL, 0), RV_EINVAL);
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, NULL, NULL, 0), RV_EINVAL);
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, "x", NULL, 1), RV_EINVAL);
  assert_int_equal(rv_log_info(log, "x", RV_LOG_STR(NULL, "v")), RV_EINVAL);
  assert_int_equal(rv_log_info(log, "x", RV_LOG_BYTES("k", NULL, 2)), RV_EINVAL);
  assert_int_equal(rv_log_info(log, "x", RV_LOG_STRN("k", NULL, 1)), RV_EINVAL);
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, "x", &bad_type, 1), RV_EINVAL);
  assert_int_equal(rv_log_write(log, RV_LOG_INFO, "x", &zero, 1), RV_EINVAL);
  assert_int_equal(cap.calls, 0); /* a failing call never reaches the sink */
  assert_int_equal(rv_log_info(log, "x", RV_LOG_BYTES("k", NULL, 0)), RV_OK);
  /* The sink's error comes back. */
  cap.rc = RV_EIO;
  assert_int_equal(rv_log_info(log, "x"), RV_EIO);
  cap.rc = 0;
  rv_log_destroy(log);

  rv_log_options o = {0};
  assert_int_equal(rv_log_create(NULL, &o), RV_EINVAL);
  rv_log *keep = (rv_log *)&o; /* any non-NULL value: must stay untouched */
  log = keep;
  o.level = (rv_log_level)8;
  assert_int_equal(rv_log_create(&log, &o), RV_EINVAL);
  o.level = RV_LOG_OFF; /* a log that writes nothing is fine */
  o.max_record = RV_LOG_MIN_RECORD - 1;
  assert_int_equal(rv_log_create(&log, &o), RV_EINVAL);
  o.max_record = 0;
  o.nfields = 1;
  assert_int_equal(rv_log_create(&log, &o), RV_EINVAL);
  rv_log_field nokey = RV_LOG_INT(NULL, 1);
  o.fields = &nokey;
  assert_int_equal(rv_log_create(&log, &o), RV_EINVAL);
  /* Static fields that leave no room for a record. */
  static char big[400];
  memset(big, 'x', sizeof big - 1);
  rv_log_field st = RV_LOG_STR("big", big);
  o.fields = &st;
  o.max_record = 512;
  assert_int_equal(rv_log_create(&log, &o), RV_ELIMIT);
  assert_ptr_equal(log, keep);
  o.max_record = 1024;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  rv_log_destroy(log);
  assert_int_equal(rv_log_create(&log, NULL), RV_OK); /* all defaults */
  assert_int_equal(rv_log_get_level(log), RV_LOG_INFO);
  rv_log_destroy(log);
}

/* ---- long records, truncation, allocation --------------------------------- */

/* Parse the shape of a truncated line: one line, ends with the marker. */
static void assert_truncated(const char *line, size_t len, size_t max) {
  static const char tail[] = ",\"truncated\":true}\n";
  assert_true(len <= max);
  assert_true(len >= sizeof tail - 1);
  assert_string_equal(line + len - (sizeof tail - 1), tail);
  assert_null(memchr(line, '\n', len - 1));
}

static void test_long_records(void **state) {
  (void)state;
  rv_alloc_failing f;
  const rv_alloc *a = rv_alloc_failing_init(&f, NULL, SIZE_MAX);
  rv_log *log = make_log(NULL, 0, 0, a);
  size_t base_blocks = f.live_blocks;
  size_t base_calls = f.calls;
  static char msg[5001];
  memset(msg, 'm', 5000);
  /* A short record allocates nothing. */
  assert_int_equal(rv_log_info(log, "short", RV_LOG_STR("k", "v")), RV_OK);
  assert_int_equal(f.calls, base_calls);
  /* A long one is formatted whole on the heap, then freed. */
  assert_int_equal(rv_log_info(log, msg, RV_LOG_INT("after", 1)), RV_OK);
  assert_int_equal(f.calls, base_calls + 1);
  assert_int_equal(f.live_blocks, base_blocks);
  size_t head = strlen(T "\"level\":\"info\",\"msg\":\"");
  assert_int_equal(cap.len, head + 5000 + strlen("\",\"after\":1}\n"));
  assert_memory_equal(cap.line + head, msg, 5000);
  assert_string_equal(cap.line + head + 5000, "\",\"after\":1}\n");
  /* Escapes grow a record past the stack buffer too. */
  static char ctl[600];
  memset(ctl, '\x01', sizeof ctl - 1);
  assert_int_equal(rv_log_info(log, ctl), RV_OK);
  assert_int_equal(cap.len, head + (size_t)599 * 6 + 3);
  /* If the allocation fails the record is truncated into the stack buffer. */
  f.fail_at = f.calls;
  assert_int_equal(rv_log_info(log, msg, RV_LOG_INT("after", 1)), RV_OK);
  assert_truncated(cap.line, cap.len, RV_LOG_STACK_RECORD);
  assert_int_equal(cap.len, RV_LOG_STACK_RECORD - 24 + 20);
  assert_int_equal(f.live_blocks, base_blocks);
  rv_log_destroy(log);
  assert_int_equal(f.live_blocks, 0);
  assert_int_equal(f.live_bytes, 0);
}

static void test_truncation(void **state) {
  (void)state;
  enum { MAX = 300 };
  rv_log_field st = RV_LOG_STR("svc", "s");
  rv_log *log = make_log(&st, 1, MAX, NULL);
  static char msg[2000];
  memset(msg, 'a', sizeof msg - 1);
  /* A cut message keeps the static fields; later fields are dropped. */
  assert_int_equal(rv_log_info(log, msg, RV_LOG_INT("n", 1)), RV_OK);
  assert_truncated(cap.line, cap.len, MAX);
  assert_non_null(strstr(cap.line, "\"svc\":\"s\",\"msg\":\"aaaa"));
  assert_null(strstr(cap.line, "\"n\""));
  /* Multi-byte characters and escapes are never split. */
  static char euro[3 * 400 + 1];
  static const char eur[3] = {'\xe2', '\x82', '\xac'};
  for (size_t i = 0; i < 400; i++) {
    memcpy(euro + 3 * i, eur, sizeof eur);
  }
  assert_int_equal(rv_log_info(log, euro), RV_OK);
  assert_truncated(cap.line, cap.len, MAX);
  const char *start = strstr(cap.line, "\"msg\":\"") + 7;
  const char *end = strstr(cap.line, "\",\"truncated\"");
  assert_true(end > start);
  assert_int_equal((size_t)(end - start) % 3, 0);
  memset(msg, '\x02', sizeof msg - 1);
  assert_int_equal(rv_log_info(log, msg), RV_OK);
  assert_truncated(cap.line, cap.len, MAX);
  start = strstr(cap.line, "\"msg\":\"") + 7;
  end = strstr(cap.line, "\",\"truncated\"");
  assert_int_equal((size_t)(end - start) % 6, 0);
  /* Up to `,"first":"` the line takes 79 bytes; 276 (300 - 24 reserved)
   * may be used. A field that fits stays, and a cut string keeps its key. */
  static char as[251];
  memset(as, 'a', 250);
  assert_int_equal(rv_log_info(log, "m", RV_LOG_STRN("first", as, 100), RV_LOG_INT("n", 1),
                               RV_LOG_STR("cut", as)),
                   RV_OK);
  assert_truncated(cap.line, cap.len, MAX);
  assert_non_null(strstr(cap.line, "\"n\":1,\"cut\":\"aaa"));
  assert_int_equal(cap.len, 276 + 20);
  /* A number that does not fit whole is left out whole. */
  assert_int_equal(rv_log_info(log, "m", RV_LOG_STRN("first", as, 190), RV_LOG_INT("n", 12345),
                               RV_LOG_STR("more", as)),
                   RV_OK);
  assert_truncated(cap.line, cap.len, MAX);
  assert_null(strstr(cap.line, "\"n\""));
  assert_int_equal(cap.len, 270 + 19); /* the string was whole: no closing quote added */
  /* A key that does not fit takes its field with it. */
  assert_int_equal(rv_log_info(log, "m", RV_LOG_STRN("first", as, 150), RV_LOG_BOOL(as, 1)), RV_OK);
  assert_truncated(cap.line, cap.len, MAX);
  assert_int_equal(strstr(cap.line, "\",\"truncated\"") - cap.line,
                   strstr(cap.line, "\"first\":\"") - cap.line + 9 + 150);
  rv_log_destroy(log);
}

/* Every allocation failure: create fails cleanly; write truncates. */
static void test_alloc_failures(void **state) {
  (void)state;
  rv_log_field st[] = {RV_LOG_STR("service", "api"), RV_LOG_F64("ratio", 0.25)};
  static char msg[3000];
  memset(msg, 'z', sizeof msg - 1);
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    rv_log_options o = {0};
    o.sink = capture_sink;
    o.sink_ctx = &cap;
    o.clock = fixed_clock;
    o.clock_ctx = &fixed_ns;
    o.fields = st;
    o.nfields = 2;
    o.alloc = a;
    rv_log *log = NULL;
    int rc = rv_log_create(&log, &o);
    if (rc != RV_OK) {
      assert_int_equal(rc, RV_ENOMEM);
      assert_null(log);
      assert_int_equal(f.live_blocks, 0);
      continue;
    }
    memset(&cap, 0, sizeof cap);
    assert_int_equal(rv_log_info(log, msg), RV_OK);
    assert_int_equal(cap.calls, 1);
    rv_log_destroy(log);
    assert_int_equal(f.live_blocks, 0);
    assert_int_equal(f.live_bytes, 0);
    if (f.failures == 0) {
      assert_int_equal(cap.len, strlen(T "\"level\":\"info\",\"service\":\"api\","
                                         "\"ratio\":0.25,\"msg\":\"\"}\n") +
                                    2999);
      break;
    }
    assert_truncated(cap.line, cap.len, RV_LOG_STACK_RECORD);
  }
}

/* ---- the fd sink --------------------------------------------------------- */

static void test_fd_sink(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  rv_log_options o = {0};
  o.sink = rv_log_sink_fd;
  o.sink_ctx = &p[1];
  o.sink_threadsafe = true;
  o.clock = fixed_clock;
  o.clock_ctx = &fixed_ns;
  rv_log *log;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  assert_int_equal(rv_log_info(log, "to a pipe", RV_LOG_INT("n", 1)), RV_OK);
  char buf[256];
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, T "\"level\":\"info\",\"msg\":\"to a pipe\",\"n\":1}\n");
  rv_log_destroy(log);

  /* The default sink is stderr: point fd 2 at the pipe for a moment. */
  o.sink = NULL;
  o.sink_ctx = NULL;
  assert_int_equal(rv_log_create(&log, &o), RV_OK);
  fflush(stderr);
  int saved = dup(2);
  assert_true(saved >= 0);
  assert_int_equal(dup2(p[1], 2), 2);
  int rc = rv_log_warn(log, "to stderr");
  dup2(saved, 2);
  close(saved);
  assert_int_equal(rc, RV_OK);
  n = read(p[0], buf, sizeof buf - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, T "\"level\":\"warn\",\"msg\":\"to stderr\"}\n");
  rv_log_destroy(log);

  /* Write errors come back as rivet codes: a closed descriptor, a full
   * non-blocking pipe. */
  int closed = p[1];
  close(p[0]);
  int bad = -1;
  assert_int_equal(rv_log_sink_fd(&bad, RV_LOG_INFO, "x\n", 2), RV_EIO);
  assert_int_equal(pipe(p), 0);
  assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
  static char chunk[4096];
  memset(chunk, 'c', sizeof chunk);
  rc = RV_OK;
  for (int i = 0; i < 1024 && rc == RV_OK; i++) {
    rc = rv_log_sink_fd(&p[1], RV_LOG_INFO, chunk, sizeof chunk);
  }
  assert_int_equal(rc, RV_EAGAIN);
  close(p[0]);
  close(p[1]);
  close(closed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_basic),
      cmocka_unit_test(test_static_fields),
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_numbers_comma_locale),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_levels),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_long_records),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_fd_sink),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
