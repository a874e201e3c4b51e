/* libFuzzer harness for logparse: the first byte picks a format (or, with
 * its high bit, the first line becomes a format string to compile), the
 * second picks where the input is split between two feeds; every line is
 * parsed by the streaming parser and again on its own, and the two must
 * agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/perf/logparse.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const formats[] = {
    "combined",
    "common",
    "$remote_addr [$time_iso8601] \"$request\" $status $bytes_sent $request_time "
    "\"$http_user_agent\"",
    "$msec $status $request_uri $request_time ${host}",
};

typedef struct check {
  const rv_logformat *f;
  uint64_t ok;
} check;

static int on_ok(void *ctx, const rv_log_record *r) {
  check *c = ctx;
  c->ok++;
  /* Every slice lies inside the line it came from: touch its bytes. */
  volatile uint8_t sink = 0;
  for (int i = 0; i < RV_LOG_FIELD_COUNT; i++)
    for (size_t k = 0; k < r->f[i].len; k++)
      sink ^= r->f[i].ptr[k];
  (void)sink;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  rv_logformat *f = NULL;
  size_t skip = 2;
  if (data[0] & 0x80) {
    const uint8_t *nl = memchr(data + 2, '\n', size - 2);
    size_t n = nl ? (size_t)(nl - data - 2) : size - 2;
    char *fmt = malloc(n + 1);
    if (!fmt)
      return 0;
    memcpy(fmt, data + 2, n);
    fmt[n] = 0;
    int rc = rv_logformat_compile(&f, fmt, NULL, NULL);
    free(fmt);
    if (rc != 0)
      return 0;
    skip = nl ? (size_t)(nl - data) + 1 : size;
  } else if (rv_logformat_compile(&f, formats[data[0] % 4], NULL, NULL) != 0) {
    abort();
  }
  const uint8_t *in = data + skip;
  size_t n = size - skip;
  size_t split = n ? data[1] % (n + 1) : 0;
  rv_logparse *p = NULL;
  if (rv_logparse_create(&p, f, &(rv_logparse_config){.max_line = 512}) != 0)
    abort();
  check c = {f, 0};
  rv_logparse_feed(p, in, split, on_ok, NULL, &c);
  rv_logparse_feed(p, in + split, n - split, on_ok, NULL, &c);
  rv_logparse_finish(p, on_ok, NULL, &c);
  /* Same lines, parsed one by one. */
  uint64_t ok = 0, lines = 0;
  size_t pos = 0;
  while (pos < n) {
    const uint8_t *nl = memchr(in + pos, '\n', n - pos);
    size_t len = nl ? (size_t)(nl - in - pos) : n - pos;
    rv_log_record r;
    lines++;
    if (len <= 512 && rv_log_parse_line(f, in + pos, len, &r) == RV_LOG_OK)
      ok++;
    pos += len + 1;
  }
  if (ok != c.ok || lines != rv_logparse_lines(p) ||
      rv_logparse_malformed(p, RV_LOG_OK) != lines - ok)
    abort();
  rv_logparse_destroy(p);
  rv_logformat_free(f);
  return 0;
}
