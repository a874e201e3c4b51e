/* log-golden: writes a fixed set of log records to stdout, deterministically
 * (a stepping clock, fixed inputs). log-golden.py compares the output with
 * log-golden.jsonl byte for byte and parses every line with Python's json
 * module, checking the decoded values against Python's own UTF-8 decoder.
 * Each record carries a "case" field naming it; the raw inputs below are
 * repeated in log-golden.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rivet/core/err.h>
#include <rivet/core/log.h>

/* Starts at 2026-11-23T19:30:50.123456789Z and advances 1.234567891 s per
 * record, so the milliseconds, seconds and minutes all change. */
static int64_t step_clock(void *ctx) {
  int64_t *t = ctx;
  int64_t now = *t;
  *t += INT64_C(1234567891);
  return now;
}

#define S(lit) lit, sizeof(lit) - 1

static const struct {
  const char *name;
  const char *raw;
  size_t len;
} texts[] = {
    {"quotes", S("say \"hi\" \\ then / bye")},
    {"controls", S("nul\0 soh\x01 tab\t nl\n cr\r bs\b ff\f esc\x1b us\x1f del\x7f")},
    {"unicode",
     S("h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac")},
    {"invalid", S("lone\x80 two\xbf\xbf overlong\xc0\xaf surrogate\xed\xa0\x80 big\xf4\x90\x80\x80"
                  " bad\xf5\xff cut\xe2\x82 end\xf0\x9f\x98")},
};

static void emit(int *failed, int rc) {
  if (rc != RV_OK) {
    fprintf(stderr, "log-golden: rv_log_write failed: %s\n", rv_strerror(rc));
    *failed = 1;
  }
}

int main(void) {
  int failed = 0;
  int64_t now = INT64_C(1795462250123456789);
  int out = 1;
  rv_log_field statics[] = {RV_LOG_STR("service", "golden"), RV_LOG_STR("version", "0.2.0")};
  rv_log_options o = {0};
  o.level = RV_LOG_TRACE;
  o.sink = rv_log_sink_fd;
  o.sink_ctx = &out;
  o.sink_threadsafe = true;
  o.clock = step_clock;
  o.clock_ctx = &now;
  o.fields = statics;
  o.nfields = 2;
  rv_log *log;
  int rc = rv_log_create(&log, &o);
  if (rc != RV_OK) {
    fprintf(stderr, "log-golden: rv_log_create: %s\n", rv_strerror(rc));
    return 1;
  }

  emit(&failed, rv_log_info(log, "service started", RV_LOG_STR("case", "basic")));
  static const rv_log_level levels[] = {RV_LOG_TRACE, RV_LOG_DEBUG, RV_LOG_INFO,
                                        RV_LOG_WARN,  RV_LOG_ERROR, RV_LOG_FATAL};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    emit(&failed, rv_log_at(log, levels[i], "level", RV_LOG_STR("case", "level")));
  }
  emit(&failed,
       rv_log_info(log, "types", RV_LOG_STR("case", "types"), RV_LOG_STR("str", "text"),
                   RV_LOG_STR("null", NULL), RV_LOG_INT("int", -42), RV_LOG_UINT("uint", 42),
                   RV_LOG_F64("f64", 2.5), RV_LOG_BOOL("yes", 1), RV_LOG_BOOL("no", 0),
                   RV_LOG_BYTES("bytes", "\x01\xfe", 2), RV_LOG_STRN("strn", "a\0b", 3)));
  emit(&failed, rv_log_info(log, "integers", RV_LOG_STR("case", "integers"),
                            RV_LOG_INT("min", INT64_MIN), RV_LOG_INT("max", INT64_MAX),
                            RV_LOG_UINT("umax", UINT64_MAX), RV_LOG_INT("zero", 0)));
  emit(&failed, rv_log_info(log, "floats", RV_LOG_STR("case", "floats"), RV_LOG_F64("tenth", 0.1),
                            RV_LOG_F64("third", 1.0 / 3.0), RV_LOG_F64("sum", 0.1 + 0.2),
                            RV_LOG_F64("negzero", -0.0), RV_LOG_F64("big", 1e300),
                            RV_LOG_F64("tiny", 5e-324), RV_LOG_F64("max", 1.7976931348623157e308),
                            RV_LOG_F64("whole", 3.0), RV_LOG_F64("nan", NAN),
                            RV_LOG_F64("inf", INFINITY), RV_LOG_F64("ninf", -INFINITY)));
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    /* The same input as text (a field) and as bytes. The message is the
     * text up to its first NUL, which is all a C string can carry. */
    emit(&failed, rv_log_warn(log, texts[i].raw, RV_LOG_STR("case", texts[i].name),
                              RV_LOG_STRN("text", texts[i].raw, texts[i].len),
                              RV_LOG_BYTES("bytes", texts[i].raw, texts[i].len)));
  }
  unsigned char all[256];
  for (int b = 0; b < 256; b++) {
    all[b] = (unsigned char)b;
  }
  emit(&failed, rv_log_info(log, "every byte", RV_LOG_STR("case", "allbytes"),
                            RV_LOG_BYTES("bytes", all, sizeof all)));
  /* Past the stack buffer: formatted on the heap, whole. */
  static char longmsg[1501];
  for (size_t i = 0; i < sizeof longmsg - 1; i++) {
    longmsg[i] = (char)('a' + i % 26);
  }
  emit(&failed, rv_log_info(log, longmsg, RV_LOG_STR("case", "long")));
  rv_log_destroy(log);

  /* Past max_record: truncated, still one line of valid JSON. */
  o.max_record = 256;
  o.nfields = 1;
  rc = rv_log_create(&log, &o);
  if (rc != RV_OK) {
    fprintf(stderr, "log-golden: rv_log_create: %s\n", rv_strerror(rc));
    return 1;
  }
  emit(&failed, rv_log_error(log, "truncated", RV_LOG_STR("case", "truncated"),
                             RV_LOG_STR("long", longmsg), RV_LOG_INT("dropped", 1)));
  rv_log_destroy(log);
  return failed;
}
