/* report: logstat's three outputs. Everything printed is a function of the
 * input (no timings), so golden tests can compare it byte for byte. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fmt_count(char *b, size_t cap, uint64_t v) {
  char t[32];
  int n = snprintf(t, sizeof t, "%" PRIu64, v);
  size_t k = 0;
  for (int i = 0; i < n && k + 1 < cap; i++) {
    if (i > 0 && (n - i) % 3 == 0 && k + 2 < cap)
      b[k++] = ',';
    b[k++] = t[i];
  }
  b[k] = 0;
}

static void fmt_bytes(char *b, size_t cap, uint64_t v) {
  static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double x = (double)v;
  int i = 0;
  while (x >= 1024 && i < 5) {
    x /= 1024;
    i++;
  }
  if (i == 0)
    snprintf(b, cap, "%" PRIu64 " B", v);
  else
    snprintf(b, cap, "%.2f %s", x, u[i]);
}

static void fmt_time(char *b, size_t cap, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) {
    snprintf(b, cap, "?");
    return;
  }
  strftime(b, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static uint64_t malformed(const agg *a) {
  uint64_t t = 0;
  for (int i = 1; i < RV_LOG_ERROR_COUNT; i++)
    t += a->bad[i];
  return t;
}

typedef struct rpm {
  double avg;
  uint64_t peak;
  int64_t peak_at;
  size_t n;
} rpm;

static rpm per_minute(const agg *a, minute_count *m, size_t n) {
  rpm r = {0, 0, 0, n};
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    sum += m[i].count;
    if (m[i].count > r.peak) {
      r.peak = m[i].count;
      r.peak_at = m[i].minute * 60;
    }
  }
  (void)a;
  if (n) {
    int64_t span = m[n - 1].minute - m[0].minute + 1;
    r.avg = (double)sum / (double)span;
  }
  return r;
}

int report_text(FILE *o, const report *r) {
  const agg *a = r->a;
  char b1[64], b2[64], b3[64];
  uint64_t bad = malformed(a);
  fmt_bytes(b1, sizeof b1, r->input_bytes);
  fprintf(o, "logstat: %s (%s, format: %s)\n\n", r->source, b1, r->format);
  fmt_count(b1, sizeof b1, a->lines);
  fmt_count(b2, sizeof b2, a->parsed);
  fmt_count(b3, sizeof b3, bad);
  fprintf(o, "  lines          %s (parsed %s, malformed %s = %.2f%%)\n", b1, b2, b3,
          pct(bad, a->lines));
  fmt_count(b1, sizeof b1, a->matched);
  fprintf(o, "  requests       %s%s\n", b1, a->matched != a->parsed ? " (after filters)" : "");
  fmt_bytes(b1, sizeof b1, a->bytes);
  fmt_count(b2, sizeof b2, a->bytes);
  fprintf(o, "  bytes served   %s (%s bytes)\n", b1, b2);
  if (a->tmin <= a->tmax) {
    fmt_time(b1, sizeof b1, a->tmin);
    fmt_time(b2, sizeof b2, a->tmax);
    fprintf(o, "  time span      %s .. %s UTC\n", b1, b2);
  }
  size_t nm = 0;
  minute_count *m = agg_minutes(a, &nm);
  if (!m)
    return -1;
  if (nm) {
    rpm p = per_minute(a, m, nm);
    fmt_time(b1, sizeof b1, p.peak_at);
    fmt_count(b2, sizeof b2, p.peak);
    fprintf(o, "  req/minute     avg %.1f, peak %s at %.16s UTC\n", p.avg, b2, b1);
  }
  free(m);
  if (r->shrunk)
    fprintf(o, "  WARNING        the file shrank while being read: its end was lost\n");

  fprintf(o, "\nStatus codes\n");
  uint64_t cls[10] = {0};
  for (int s = 100; s < 1000; s++)
    cls[s / 100] += a->status[s];
  for (int c = 1; c < 10; c++) {
    if (!cls[c])
      continue;
    fmt_count(b1, sizeof b1, cls[c]);
    fprintf(o, "  %dxx %14s %6.2f%%\n", c, b1, pct(cls[c], a->matched));
    for (int s = c * 100; s < c * 100 + 100; s++) {
      if (!a->status[s])
        continue;
      fmt_count(b1, sizeof b1, a->status[s]);
      int bar = (int)(pct(a->status[s], a->matched) / 2.5 + 0.5);
      fprintf(o, "    %d %12s %6.2f%%  %.*s\n", s, b1, pct(a->status[s], a->matched), bar,
              "########################################");
    }
  }

  static const char *const titles[] = {"Top paths", "Top clients"};
  for (int k = 0; k < 2; k++) {
    size_t n = 0;
    top_entry *t = agg_top(k ? a->clients : a->paths, r->top, &n);
    if (!t)
      return -1;
    fprintf(o, "\n%s\n", titles[k]);
    for (size_t i = 0; i < n; i++) {
      fmt_count(b1, sizeof b1, t[i].count);
      fprintf(o, "  %12s %6.2f%%  %.*s\n", b1, pct(t[i].count, a->matched), (int)t[i].len,
              (const char *)t[i].key);
    }
    free(t);
  }

  if (r->has_reqtime && a->rt_count) {
    fprintf(o, "\nResponse time (request_time, %s requests)\n",
            (fmt_count(b1, sizeof b1, a->rt_count), b1));
    static const double qs[] = {0.5, 0.9, 0.95, 0.99};
    static const char *const qn[] = {"p50", "p90", "p95", "p99"};
    for (int i = 0; i < 4; i++)
      fprintf(o, "  %-4s %10.3f ms\n", qn[i], (double)agg_rt_quantile(a, qs[i]) / 1000.0);
    fprintf(o, "  %-4s %10.3f ms\n", "max", (double)a->rt_max / 1000.0);
  }

  fmt_count(b1, sizeof b1, bad);
  fprintf(o, "\nMalformed lines: %s\n", b1);
  for (int e = 1; e < RV_LOG_ERROR_COUNT; e++) {
    if (!a->bad[e])
      continue;
    fmt_count(b1, sizeof b1, a->bad[e]);
    fprintf(o, "  %-16s %12s\n", rv_log_error_name((rv_log_error)e), b1);
  }
  if (r->nex) {
    fprintf(o, "  first ones:\n");
    for (size_t i = 0; i < r->nex; i++)
      fprintf(o, "    line %" PRIu64 " (%s): %s\n", r->ex_line[i], rv_log_error_name(r->ex[i].err),
              r->ex[i].text);
  }
  return ferror(o) ? -1 : 0;
}

/* JSON string: escapes quotes, backslashes, control bytes, and bytes >= 0x80
 * as \u00XX so the output is valid JSON whatever the log held. */
static void jstr(FILE *o, const uint8_t *p, size_t n) {
  fputc('"', o);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\')
      fprintf(o, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      fprintf(o, "\\u%04x", c);
    else
      fputc(c, o);
  }
  fputc('"', o);
}

static void jcstr(FILE *o, const char *s) { jstr(o, (const uint8_t *)s, strlen(s)); }

int report_json(FILE *o, const report *r) {
  const agg *a = r->a;
  fprintf(o, "{\"source\":");
  jcstr(o, r->source);
  fprintf(o, ",\"format\":");
  jcstr(o, r->format);
  fprintf(o,
          ",\"input_bytes\":%" PRIu64 ",\"lines\":%" PRIu64 ",\"parsed\":%" PRIu64
          ",\"requests\":%" PRIu64 ",\"bytes_served\":%" PRIu64 ",\"shrunk\":%s",
          r->input_bytes, a->lines, a->parsed, a->matched, a->bytes, r->shrunk ? "true" : "false");
  if (a->tmin <= a->tmax)
    fprintf(o, ",\"time\":{\"first\":%" PRId64 ",\"last\":%" PRId64 "}", a->tmin, a->tmax);
  else
    fprintf(o, ",\"time\":null");
  fprintf(o, ",\"status\":{");
  bool first = true;
  for (int s = 100; s < 1000; s++)
    if (a->status[s]) {
      fprintf(o, "%s\"%d\":%" PRIu64, first ? "" : ",", s, a->status[s]);
      first = false;
    }
  fprintf(o, "}");
  static const char *const keys[] = {"top_paths", "top_clients"};
  static const char *const names[] = {"path", "client"};
  for (int k = 0; k < 2; k++) {
    size_t n = 0;
    top_entry *t = agg_top(k ? a->clients : a->paths, r->top, &n);
    if (!t)
      return -1;
    fprintf(o, ",\"%s\":[", keys[k]);
    for (size_t i = 0; i < n; i++) {
      fprintf(o, "%s{\"%s\":", i ? "," : "", names[k]);
      jstr(o, t[i].key, t[i].len);
      fprintf(o, ",\"count\":%" PRIu64 "}", t[i].count);
    }
    fprintf(o, "]");
    free(t);
  }
  size_t nm = 0;
  minute_count *m = agg_minutes(a, &nm);
  if (!m)
    return -1;
  rpm p = per_minute(a, m, nm);
  fprintf(o,
          ",\"requests_per_minute\":{\"avg\":%.3f,\"peak\":%" PRIu64 ",\"peak_at\":%" PRId64
          ",\"series\":[",
          p.avg, p.peak, p.peak_at);
  for (size_t i = 0; i < nm; i++)
    fprintf(o, "%s[%" PRId64 ",%" PRIu64 "]", i ? "," : "", m[i].minute * 60, m[i].count);
  fprintf(o, "]}");
  free(m);
  if (r->has_reqtime && a->rt_count)
    fprintf(o,
            ",\"request_time_ms\":{\"count\":%" PRIu64
            ",\"p50\":%.3f,\"p90\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
            a->rt_count, (double)agg_rt_quantile(a, 0.5) / 1000,
            (double)agg_rt_quantile(a, 0.9) / 1000, (double)agg_rt_quantile(a, 0.95) / 1000,
            (double)agg_rt_quantile(a, 0.99) / 1000, (double)a->rt_max / 1000);
  else
    fprintf(o, ",\"request_time_ms\":null");
  fprintf(o, ",\"malformed\":{\"total\":%" PRIu64, malformed(a));
  for (int e = 1; e < RV_LOG_ERROR_COUNT; e++)
    fprintf(o, ",\"%s\":%" PRIu64, rv_log_error_name((rv_log_error)e), a->bad[e]);
  fprintf(o, ",\"examples\":[");
  for (size_t i = 0; i < r->nex; i++) {
    fprintf(o, "%s{\"line\":%" PRIu64 ",\"reason\":\"%s\",\"text\":", i ? "," : "", r->ex_line[i],
            rv_log_error_name(r->ex[i].err));
    jcstr(o, r->ex[i].text);
    fprintf(o, "}");
  }
  fprintf(o, "]}}\n");
  return ferror(o) ? -1 : 0;
}
