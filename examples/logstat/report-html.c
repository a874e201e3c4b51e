/* report-html: a self-contained HTML page (inline CSS and SVG, no scripts,
 * no external resources): summary, requests over time, status mix, top
 * paths and clients, response times, malformed lines. Hovering a bar or a
 * point shows its value (SVG <title>). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

static void esc(FILE *o, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c == '&')
      fputs("&amp;", o);
    else if (c == '<')
      fputs("&lt;", o);
    else if (c == '>')
      fputs("&gt;", o);
    else if (c == '"')
      fputs("&quot;", o);
    else if (c < 0x20 || c >= 0x7f)
      fprintf(o, "&#x%02x;", c);
    else
      fputc(c, o);
  }
}

static void escs(FILE *o, const char *s) { esc(o, (const uint8_t *)s, strlen(s)); }

static void when(char *b, size_t cap, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm))
    strftime(b, cap, "%Y-%m-%d %H:%M", &tm);
  else
    snprintf(b, cap, "?");
}

static const char *const class_color[10] = {"#999",    "#4e79a7", "#59a14f", "#76b7b2", "#f28e2b",
                                            "#e15759", "#999",    "#999",    "#999",    "#999"};

static void chart_time(FILE *o, const agg *a) {
  size_t n = 0;
  minute_count *m = agg_minutes(a, &n);
  if (!m || n == 0) {
    free(m);
    fputs("<p>No timestamps.</p>\n", o);
    return;
  }
  /* At most 720 points: minutes are grouped into buckets of `per` minutes. */
  int64_t first = m[0].minute, span = m[n - 1].minute - first + 1;
  int64_t per = (span + 719) / 720;
  size_t nb = (size_t)((span + per - 1) / per);
  uint64_t *b = calloc(nb, sizeof *b);
  if (!b) {
    free(m);
    return;
  }
  uint64_t mx = 1;
  for (size_t i = 0; i < n; i++) {
    size_t k = (size_t)((m[i].minute - first) / per);
    b[k] += m[i].count;
    mx = b[k] > mx ? b[k] : mx;
  }
  const double W = 1000, H = 240, L = 60, B = 30;
  fprintf(o,
          "<svg viewBox=\"0 0 %.0f %.0f\" class=\"chart\" role=\"img\" "
          "aria-label=\"requests over time\">\n",
          W + L + 10, H + B + 10);
  fprintf(o, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", L, H + 5,
          L + W, H + 5);
  fprintf(o, "<path fill=\"#4e79a780\" stroke=\"#4e79a7\" d=\"M%.1f %.1f", L, H + 5);
  for (size_t k = 0; k < nb; k++) {
    double x = L + (nb > 1 ? W * (double)k / (double)(nb - 1) : W / 2);
    double y = 5 + H - H * (double)b[k] / (double)mx;
    fprintf(o, " L%.1f %.1f", x, y);
  }
  fprintf(o, " L%.1f %.1f Z\"/>\n", L + (nb > 1 ? W : W / 2), H + 5);
  for (size_t k = 0; k < nb; k++) {
    char t[32];
    when(t, sizeof t, (first + (int64_t)k * per) * 60);
    double x = L + (nb > 1 ? W * (double)k / (double)(nb - 1) : W / 2);
    double y = 5 + H - H * (double)b[k] / (double)mx;
    fprintf(o,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"#4e79a7\"><title>%s: %" PRIu64
            " requests</title></circle>\n",
            x, y, nb > 200 ? "1" : "2.5", t, b[k]);
  }
  char t0[32], t1[32];
  when(t0, sizeof t0, first * 60);
  when(t1, sizeof t1, m[n - 1].minute * 60);
  fprintf(o, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax\">%s</text>\n", L, H + B, t0);
  fprintf(o, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax\" text-anchor=\"end\">%s UTC</text>\n", L + W,
          H + B, t1);
  fprintf(o, "<text x=\"%.0f\" y=\"14\" class=\"ax\" text-anchor=\"end\">%" PRIu64 "</text>\n",
          L - 6, mx);
  fprintf(o, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax\" text-anchor=\"end\">0</text>\n", L - 6,
          H + 5);
  fprintf(o, "</svg>\n<p class=\"note\">Requests per %" PRId64 " minute%s (UTC).</p>\n", per,
          per == 1 ? "" : "s");
  free(b);
  free(m);
}

static void chart_status(FILE *o, const agg *a) {
  if (!a->matched) {
    fputs("<p>No requests.</p>\n", o);
    return;
  }
  const double W = 1000;
  fprintf(o, "<svg viewBox=\"0 0 1010 60\" class=\"chart\" role=\"img\" "
             "aria-label=\"status mix\">\n");
  double x = 0;
  for (int s = 100; s < 1000; s++) {
    if (!a->status[s])
      continue;
    double w = W * (double)a->status[s] / (double)a->matched;
    fprintf(o,
            "<rect x=\"%.2f\" y=\"5\" width=\"%.2f\" height=\"40\" fill=\"%s\" "
            "stroke=\"#fff\" stroke-width=\"0.5\"><title>%d: %" PRIu64 " (%.2f%%)</title></rect>\n",
            x, w, class_color[s / 100], s, a->status[s],
            100.0 * (double)a->status[s] / (double)a->matched);
    if (w > 40)
      fprintf(o, "<text x=\"%.1f\" y=\"31\" class=\"lbl\">%d</text>\n", x + 4, s);
    x += w;
  }
  fputs("</svg>\n", o);
}

static void chart_top(FILE *o, const rv_map *m, size_t top, uint64_t total, const char *label) {
  size_t n = 0;
  top_entry *t = agg_top(m, top, &n);
  if (!t)
    return;
  if (!n) {
    fprintf(o, "<p>No %s.</p>\n", label);
    free(t);
    return;
  }
  const double rowh = 22, W = 600, L = 380;
  fprintf(o, "<svg viewBox=\"0 0 %.0f %.0f\" class=\"chart\" role=\"img\" aria-label=\"%s\">\n",
          L + W + 120, rowh * (double)n + 10, label);
  for (size_t i = 0; i < n; i++) {
    double w = W * (double)t[i].count / (double)t[0].count;
    double y = 5 + rowh * (double)i;
    fprintf(o, "<text x=\"%.0f\" y=\"%.1f\" class=\"lbl\" text-anchor=\"end\">", L - 8, y + 15);
    esc(o, t[i].key, t[i].len > 60 ? 60 : t[i].len);
    fprintf(o, "%s</text>\n", t[i].len > 60 ? "&#x2026;" : "");
    fprintf(o,
            "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"#59a14f\">"
            "<title>%" PRIu64 "</title></rect>\n",
            L, y, w, rowh - 4, t[i].count);
    fprintf(o, "<text x=\"%.2f\" y=\"%.1f\" class=\"lbl\">%" PRIu64 " (%.1f%%)</text>\n", L + w + 6,
            y + 15, t[i].count, total ? 100.0 * (double)t[i].count / (double)total : 0);
  }
  fputs("</svg>\n", o);
  free(t);
}

int report_html(FILE *o, const report *r) {
  const agg *a = r->a;
  uint64_t bad = 0;
  for (int e = 1; e < RV_LOG_ERROR_COUNT; e++)
    bad += a->bad[e];
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>logstat: ", o);
  escs(o, r->source);
  fputs("</title>\n<style>\n"
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\n"
        "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}\n"
        ".cards{display:flex;flex-wrap:wrap;gap:12px}\n"
        ".card{background:#f4f6f8;border-radius:6px;padding:10px 16px;min-width:150px}\n"
        ".card b{display:block;font-size:1.4em}\n"
        ".chart{width:100%;height:auto}.ax,.lbl{font-size:12px;fill:#333}\n"
        "table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right}\n"
        "td.k{text-align:left;font-family:monospace}.note{color:#666;font-size:.9em}\n"
        "</style></head><body>\n<h1>logstat: ",
        o);
  escs(o, r->source);
  fputs("</h1>\n<p class=\"note\">format: ", o);
  escs(o, r->format);
  fputs("</p>\n<div class=\"cards\">\n", o);
  fprintf(o, "<div class=\"card\">lines<b>%" PRIu64 "</b></div>\n", a->lines);
  fprintf(o, "<div class=\"card\">requests<b>%" PRIu64 "</b></div>\n", a->matched);
  fprintf(o, "<div class=\"card\">malformed<b>%" PRIu64 "</b></div>\n", bad);
  fprintf(o, "<div class=\"card\">bytes served<b>%.2f MiB</b></div>\n",
          (double)a->bytes / 1048576.0);
  if (a->tmin <= a->tmax) {
    char t0[32], t1[32];
    when(t0, sizeof t0, a->tmin);
    when(t1, sizeof t1, a->tmax);
    fprintf(o, "<div class=\"card\">time span (UTC)<b style=\"font-size:1em\">%s<br>%s</b></div>\n",
            t0, t1);
  }
  if (r->has_reqtime && a->rt_count)
    fprintf(o, "<div class=\"card\">p99 response<b>%.1f ms</b></div>\n",
            (double)agg_rt_quantile(a, 0.99) / 1000);
  fputs("</div>\n", o);
  if (r->shrunk)
    fputs("<p><b>Warning:</b> the file shrank while it was read; its end was lost.</p>\n", o);
  fputs("<h2>Requests over time</h2>\n", o);
  chart_time(o, a);
  fputs("<h2>Status mix</h2>\n", o);
  chart_status(o, a);
  fputs("<table><tr><th>status</th><th>requests</th><th>share</th></tr>\n", o);
  for (int s = 100; s < 1000; s++)
    if (a->status[s])
      fprintf(o,
              "<tr><td class=\"k\"><span style=\"color:%s\">&#x25A0;</span> %d</td><td>%" PRIu64
              "</td><td>%.2f%%</td></tr>\n",
              class_color[s / 100], s, a->status[s],
              100.0 * (double)a->status[s] / (double)(a->matched ? a->matched : 1));
  fputs("</table>\n<h2>Top paths</h2>\n", o);
  chart_top(o, a->paths, r->top, a->matched, "paths");
  fputs("<h2>Top clients</h2>\n", o);
  chart_top(o, a->clients, r->top, a->matched, "clients");
  if (r->has_reqtime && a->rt_count) {
    fputs("<h2>Response time</h2>\n<table><tr><th>p50</th><th>p90</th><th>p95</th><th>p99</th>"
          "<th>max</th></tr><tr>",
          o);
    static const double qs[] = {0.5, 0.9, 0.95, 0.99};
    for (int i = 0; i < 4; i++)
      fprintf(o, "<td>%.3f ms</td>", (double)agg_rt_quantile(a, qs[i]) / 1000);
    fprintf(o, "<td>%.3f ms</td></tr></table>\n", (double)a->rt_max / 1000);
  }
  fprintf(o, "<h2>Malformed lines (%" PRIu64 ")</h2>\n<table>", bad);
  for (int e = 1; e < RV_LOG_ERROR_COUNT; e++)
    if (a->bad[e])
      fprintf(o, "<tr><td class=\"k\">%s</td><td>%" PRIu64 "</td></tr>\n",
              rv_log_error_name((rv_log_error)e), a->bad[e]);
  fputs("</table>\n", o);
  if (r->nex) {
    fputs("<table><tr><th>line</th><th class=\"k\">reason</th><th class=\"k\">text</th></tr>\n", o);
    for (size_t i = 0; i < r->nex; i++) {
      fprintf(o, "<tr><td>%" PRIu64 "</td><td class=\"k\">%s</td><td class=\"k\">", r->ex_line[i],
              rv_log_error_name(r->ex[i].err));
      escs(o, r->ex[i].text);
      fputs("</td></tr>\n", o);
    }
    fputs("</table>\n", o);
  }
  fputs("<p class=\"note\">Generated by rivet logstat.</p>\n</body></html>\n", o);
  return ferror(o) ? -1 : 0;
}
