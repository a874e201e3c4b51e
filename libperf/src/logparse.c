/* logparse: streaming over chunks (lines split between chunks, line
 * numbers, malformed-line counts). One line is parsed in logformat.c. */
#include <rivet/perf/logparse.h>
#include <rivet/perf/scan.h>

#include <string.h>

#include "logparse-internal.h"
#include "scan-internal.h"

#define DEFAULT_MAX_LINE ((size_t)64 << 10)

struct rv_logparse {
  const rv_logformat *fmt;
  const rv_alloc *alloc;
  size_t max_line;
  uint64_t first_line;
  uint64_t next_line;
  uint64_t bad[RV_LOG_ERROR_COUNT];
  uint8_t *part; /* a line split between feeds (max_line bytes) */
  size_t part_len;
  bool part_open; /* a split line is pending */
  bool part_long; /* ... and it is already too long */
};

int rv_logparse_create(rv_logparse **out, const rv_logformat *fmt, const rv_logparse_config *cfg) {
  if (!fmt || !out)
    return RV_EINVAL;
  rv_logparse_config def = {0};
  if (!cfg)
    cfg = &def;
  rv_logparse *p = rv_alloc_get(cfg->alloc, sizeof *p, _Alignof(rv_logparse));
  if (!p)
    return RV_ENOMEM;
  memset(p, 0, sizeof *p);
  p->fmt = fmt;
  p->alloc = cfg->alloc;
  p->max_line = cfg->max_line ? cfg->max_line : DEFAULT_MAX_LINE;
  p->part = rv_alloc_get(p->alloc, p->max_line, 1);
  if (!p->part) {
    rv_alloc_free(p->alloc, p, sizeof *p);
    return RV_ENOMEM;
  }
  rv_logparse_reset(p, cfg->first_line);
  *out = p;
  return 0;
}

void rv_logparse_destroy(rv_logparse *p) {
  if (!p)
    return;
  rv_alloc_free(p->alloc, p->part, p->max_line);
  rv_alloc_free(p->alloc, p, sizeof *p);
}

void rv_logparse_reset(rv_logparse *p, uint64_t first_line) {
  p->next_line = p->first_line = first_line ? first_line : 1;
  memset(p->bad, 0, sizeof p->bad);
  p->part_len = 0;
  p->part_open = p->part_long = false;
}

static int line(rv_logparse *p, const uint8_t *s, size_t n, bool too_long, rv_logparse_ok_fn ok,
                rv_logparse_bad_fn bad, void *ctx) {
  uint64_t no = p->next_line++;
  rv_log_record r;
  rv_log_error e =
      too_long || n > p->max_line ? RV_LOG_ETOOLONG : rv_log_parse_line(p->fmt, s, n, &r);
  if (e != RV_LOG_OK) {
    p->bad[e]++;
    if (bad)
      bad(ctx, no, e, s, n < p->max_line ? n : p->max_line);
    return 0;
  }
  r.line = no;
  return ok ? ok(ctx, &r) : 0;
}

static void stash(rv_logparse *p, const uint8_t *s, size_t n) {
  p->part_open = true;
  if (p->part_long || n > p->max_line - p->part_len) {
    p->part_long = true; /* keep the first bytes for the report, drop the rest */
    size_t room = p->max_line - p->part_len;
    memcpy(p->part + p->part_len, s, n < room ? n : room);
    p->part_len += n < room ? n : room;
    return;
  }
  memcpy(p->part + p->part_len, s, n);
  p->part_len += n;
}

int rv_logparse_feed(rv_logparse *p, const void *data, size_t len, rv_logparse_ok_fn ok,
                     rv_logparse_bad_fn bad, void *ctx) {
  const uint8_t *d = data;
  const rv_scan_ops *sc = rv_scan_ops_active();
  size_t pos = 0;
  if (len == 0)
    return 0;
  if (p->part_open) {
    size_t nl = sc->byte(d, len, '\n');
    stash(p, d, nl);
    if (nl == len)
      return 0;
    bool lg = p->part_long;
    p->part_open = p->part_long = false;
    size_t pl = p->part_len;
    p->part_len = 0;
    int rc = line(p, p->part, pl, lg, ok, bad, ctx);
    if (rc)
      return rc;
    pos = nl + 1;
  }
  while (pos < len) {
    size_t nl = sc->byte(d + pos, len - pos, '\n');
    if (nl == len - pos) {
      stash(p, d + pos, nl);
      break;
    }
    int rc = line(p, d + pos, nl, false, ok, bad, ctx);
    if (rc)
      return rc;
    pos += nl + 1;
  }
  return 0;
}

int rv_logparse_finish(rv_logparse *p, rv_logparse_ok_fn ok, rv_logparse_bad_fn bad, void *ctx) {
  if (!p->part_open)
    return 0;
  bool lg = p->part_long;
  size_t pl = p->part_len;
  p->part_open = p->part_long = false;
  p->part_len = 0;
  return line(p, p->part, pl, lg, ok, bad, ctx);
}

uint64_t rv_logparse_lines(const rv_logparse *p) { return p->next_line - p->first_line; }

uint64_t rv_logparse_malformed(const rv_logparse *p, rv_log_error e) {
  if (e == RV_LOG_OK) {
    uint64_t t = 0;
    for (int i = 1; i < RV_LOG_ERROR_COUNT; i++)
      t += p->bad[i];
    return t;
  }
  return (unsigned)e < RV_LOG_ERROR_COUNT ? p->bad[e] : 0;
}
