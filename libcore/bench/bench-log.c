/* bench-log: the logging hot path.
 *
 * What a C programmer would otherwise write, in the same run: one
 * snprintf()/fprintf() with a JSON-shaped format string, the time from
 * clock_gettime() + gmtime_r() + strftime(). That baseline does not escape
 * its strings (a quote in a value breaks the line), so it is the cheapest
 * thing that produces the same line for well-behaved input; rv_log_write()
 * escapes every string and checks every field.
 *
 * Groups (one operation = one record of a message and four fields):
 *   - "format": the line built in memory, handed to a sink that only looks
 *     at it (snprintf vs rv_log_write with a counting sink);
 *   - "format, no double": the same without the double field, whose
 *     shortest round-trip formatting (glibc printf + strtod) dominates the
 *     line above;
 *   - "to /dev/null": one write(2) per line (fprintf on a line-buffered
 *     FILE vs rv_log_sink_fd);
 *   - "filtered": a record below the level (an if around fprintf vs
 *     rv_log_debug on an info log).
 * Every call's result is checked and the memory sink counts the bytes it
 * was given, so no variant can skip its work unnoticed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

#define PATH "/api/v1/items"
#define MSG "request served"

typedef struct ctx {
  size_t records; /* per repetition */
  rv_log *mem;    /* counting sink */
  rv_log *null;   /* rv_log_sink_fd on /dev/null */
  rv_log *quiet;  /* level info, used at debug */
  FILE *devnull;  /* line-buffered */
  int min_level;  /* for the baseline filter */
  size_t bytes;   /* counted by the sink */
  int failed;
} ctx;

static int count_sink(void *arg, rv_log_level level, const char *line, size_t len) {
  (void)level;
  ctx *c = arg;
  rv_bench_do_not_optimize(line);
  c->bytes += len;
  return RV_OK;
}

/* The baseline's time: what most hand-written loggers do. */
static size_t now_rfc3339(char *out, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  int m = snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return n + (size_t)m;
}

static const char baseline_fmt[] =
    "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"%s\",\"path\":\"%s\",\"status\":%d,"
    "\"latency\":%.17g,\"ok\":%s}\n";

static void run_snprintf(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    char t[40];
    char line[1024];
    now_rfc3339(t, sizeof t);
    int n = snprintf(line, sizeof line, baseline_fmt, t, MSG, PATH, 200, 0.0123 + (double)i,
                     i % 2 ? "true" : "false");
    if (n <= 0) {
      c->failed = 1;
    }
    count_sink(c, RV_LOG_INFO, line, (size_t)n);
  }
}

static const char int_fmt[] = "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"%s\",\"path\":\"%s\","
                              "\"status\":%d,\"bytes\":%zu,\"ok\":%s}\n";

static void run_snprintf_int(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    char t[40];
    char line[1024];
    now_rfc3339(t, sizeof t);
    int n = snprintf(line, sizeof line, int_fmt, t, MSG, PATH, 200, i, i % 2 ? "true" : "false");
    if (n <= 0) {
      c->failed = 1;
    }
    count_sink(c, RV_LOG_INFO, line, (size_t)n);
  }
}

static void run_rv_log_int(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    if (rv_log_info(c->mem, MSG, RV_LOG_STR("path", PATH), RV_LOG_INT("status", 200),
                    RV_LOG_UINT("bytes", i), RV_LOG_BOOL("ok", i % 2)) != RV_OK) {
      c->failed = 1;
    }
  }
}

static int log_one(rv_log *log, size_t i) {
  return rv_log_info(log, MSG, RV_LOG_STR("path", PATH), RV_LOG_INT("status", 200),
                     RV_LOG_F64("latency", 0.0123 + (double)i), RV_LOG_BOOL("ok", i % 2));
}

static void run_rv_log_mem(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    if (log_one(c->mem, i) != RV_OK) {
      c->failed = 1;
    }
  }
}

static void run_fprintf(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    char t[40];
    now_rfc3339(t, sizeof t);
    if (fprintf(c->devnull, baseline_fmt, t, MSG, PATH, 200, 0.0123 + (double)i,
                i % 2 ? "true" : "false") <= 0) {
      c->failed = 1;
    }
  }
}

static void run_rv_log_fd(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    if (log_one(c->null, i) != RV_OK) {
      c->failed = 1;
    }
  }
}

static void run_filtered_if(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    /* volatile-free but opaque: min_level is read through the context. */
    if (RV_LOG_DEBUG >= c->min_level) {
      char t[40];
      now_rfc3339(t, sizeof t);
      fprintf(c->devnull, baseline_fmt, t, MSG, PATH, 200, 0.0, "true");
    }
    rv_bench_do_not_optimize(c);
  }
}

static void run_filtered_rv(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->records; i++) {
    if (rv_log_debug(c->quiet, MSG, RV_LOG_STR("path", PATH), RV_LOG_INT("status", 200),
                     RV_LOG_F64("latency", 0.0123), RV_LOG_BOOL("ok", 1)) != RV_OK) {
      c->failed = 1;
    }
  }
}

static int make_log(rv_log **out, rv_log_sink_fn sink, void *sink_ctx) {
  rv_log_options o = {0};
  o.sink = sink;
  o.sink_ctx = sink_ctx;
  o.sink_threadsafe = true; /* one thread here: no mutex, as for the baseline */
  return rv_log_create(out, &o);
}

int main(int argc, char **argv) {
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "log", argc, argv, NULL) != RV_OK) {
    return 2;
  }
  int status = 1;
  int fd = -1;
  ctx c;
  memset(&c, 0, sizeof c);
  c.records = rv_bench_pick(b, 2000, 100);
  c.min_level = RV_LOG_INFO;
  fd = open("/dev/null", O_WRONLY);
  c.devnull = fdopen(dup(fd), "w");
  if (fd < 0 || !c.devnull || setvbuf(c.devnull, NULL, _IOLBF, 4096) != 0) {
    fprintf(stderr, "bench-log: cannot open /dev/null\n");
    goto fail;
  }
  if (make_log(&c.mem, count_sink, &c) != RV_OK ||
      make_log(&c.null, rv_log_sink_fd, &fd) != RV_OK ||
      make_log(&c.quiet, count_sink, &c) != RV_OK) {
    fprintf(stderr, "bench-log: cannot create the logs\n");
    goto fail;
  }
  uint64_t ops = c.records;
  const rv_bench_case cases[] = {
      {.name = "snprintf",
       .group = "format",
       .fn = run_snprintf,
       .ctx = &c,
       .ops = ops,
       .baseline = true},
      {.name = "rv_log_write", .group = "format", .fn = run_rv_log_mem, .ctx = &c, .ops = ops},
      {.name = "snprintf",
       .group = "format, no double",
       .fn = run_snprintf_int,
       .ctx = &c,
       .ops = ops,
       .baseline = true},
      {.name = "rv_log_write",
       .group = "format, no double",
       .fn = run_rv_log_int,
       .ctx = &c,
       .ops = ops},
      {.name = "fprintf",
       .group = "to /dev/null",
       .fn = run_fprintf,
       .ctx = &c,
       .ops = ops,
       .baseline = true},
      {.name = "rv_log_sink_fd",
       .group = "to /dev/null",
       .fn = run_rv_log_fd,
       .ctx = &c,
       .ops = ops},
      {.name = "if+fprintf",
       .group = "filtered",
       .fn = run_filtered_if,
       .ctx = &c,
       .ops = ops,
       .baseline = true},
      {.name = "rv_log_debug", .group = "filtered", .fn = run_filtered_rv, .ctx = &c, .ops = ops},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = rv_bench_add(b, &cases[i]);
    if (rc != RV_OK) {
      fprintf(stderr, "bench-log: cannot add '%s': %s\n", cases[i].name, rv_strerror(rc));
      goto fail;
    }
  }
  int rc = rv_bench_run(b);
  if (rc != RV_OK) {
    fprintf(stderr, "bench-log: %s\n", rv_strerror(rc));
    goto fail;
  }
  if (c.failed || c.bytes == 0) {
    fprintf(stderr, "bench-log: a variant failed\n");
    goto fail;
  }
  status = 0;
fail:
  rv_log_destroy(c.mem);
  rv_log_destroy(c.null);
  rv_log_destroy(c.quiet);
  if (c.devnull) {
    fclose(c.devnull);
  }
  if (fd >= 0) {
    close(fd);
  }
  rv_bench_destroy(b);
  return status;
}
