/* memviz: storing and printing diagnostics in the style of rustc:
 *
 *   error[use-after-move]: use of moved value `a`
 *    --> move.rv:4:7
 *     |
 *   4 | print a
 *     |       ^ value used here after move
 *     |
 *   note: `a` was moved here
 *    --> move.rv:2:9
 *     |
 *   2 | let b = a
 *     |         -
 *     = rule: a value may not be used after it has been moved
 *   help: borrow instead of moving (nothing is copied)
 *     |
 *   2 | let b = &a
 */
#include <stdarg.h>
#include <string.h>

#include "mv.h"

#define MV_MAX_DIAGS 100

void mv_diags_init(mv_diags *d, const rv_alloc *alloc) {
  memset(d, 0, sizeof(*d));
  rv_vec_init(&d->list, sizeof(mv_diag), alloc);
}

void mv_diags_free(mv_diags *d) { rv_vec_free(&d->list); }

mv_diag *mv_diag_add(mv_diags *d, mv_diag_class cls, const char *rule, mv_loc loc, const char *fmt,
                     ...) {
  for (size_t i = 0; i < rv_vec_len(&d->list); i++) {
    const mv_diag *o = MV_AT(&d->list, mv_diag, i);
    if (strcmp(o->rule, rule) == 0 && o->loc.line == loc.line && o->loc.col == loc.col) {
      return NULL;
    }
  }
  if (rv_vec_len(&d->list) >= MV_MAX_DIAGS) {
    return NULL;
  }
  mv_diag *g = rv_vec_push_slot(&d->list);
  if (!g) {
    d->oom = true;
    return NULL;
  }
  memset(g, 0, sizeof(*g));
  g->cls = cls;
  g->rule = rule;
  g->loc = loc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
  va_end(ap);
  return g;
}

void mv_diag_note(mv_diag *g, mv_loc loc, const char *fmt, ...) {
  if (!g || g->nnotes >= MV_MAX_NOTES) {
    return;
  }
  mv_note *n = &g->notes[g->nnotes++];
  n->loc = loc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(n->text, sizeof(n->text), fmt, ap);
  va_end(ap);
}

void mv_diag_help(mv_diag *g, const char *fmt, ...) {
  if (!g) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->help, sizeof(g->help), fmt, ap);
  va_end(ap);
}

void mv_diag_fix(mv_diag *g, uint32_t line, const char *fmt, ...) {
  if (!g || g->nfix >= MV_MAX_FIX) {
    return;
  }
  mv_fix_line *f = &g->fix[g->nfix++];
  f->line = line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->text, sizeof(f->text), fmt, ap);
  va_end(ap);
}

int mv_diags_exit_code(const mv_diags *d) {
  int code = 0;
  for (size_t i = 0; i < rv_vec_len(&d->list); i++) {
    const mv_diag *g = MV_AT(&d->list, mv_diag, i);
    int c = g->cls == MV_D_OWNERSHIP ? 1 : 2;
    code = c > code ? c : code;
  }
  return code;
}

/* Colours: only on a terminal. */
typedef struct pal {
  const char *err, *note, *help, *blue, *bold, *off;
} pal;

static pal palette(bool color) {
  pal p = {"", "", "", "", "", ""};
  if (color) {
    p = (pal){"\033[1;31m", "\033[1;32m", "\033[1;36m", "\033[1;34m", "\033[1m", "\033[0m"};
  }
  return p;
}

static int digits(uint32_t n) {
  int d = 1;
  while (n >= 10) {
    n /= 10;
    d++;
  }
  return d;
}

/* Prints one source line with a marker under loc. Tabs keep their width
 * by being echoed in the marker line. */
static void snippet(FILE *out, const mv_program *p, mv_loc loc, int w, char mark, const char *label,
                    const char *color, const pal *c) {
  size_t len;
  const char *line = mv_program_line(p, loc.line, &len);
  fprintf(out, "%s%*u |%s %.*s\n", c->blue, w, loc.line, c->off, (int)len, line);
  fprintf(out, "%s%*s |%s ", c->blue, w, "", c->off);
  for (uint32_t i = 1; i < loc.col && i <= len; i++) {
    fputc(line[i - 1] == '\t' ? '\t' : ' ', out);
  }
  fputs(color, out);
  uint32_t n = loc.len ? loc.len : 1;
  for (uint32_t i = 0; i < n; i++) {
    fputc(mark, out);
  }
  if (label && label[0]) {
    fprintf(out, " %s", label);
  }
  fprintf(out, "%s\n", c->off);
}

void mv_diags_print(FILE *out, const mv_diags *d, const mv_program *p, const char *file,
                    bool color) {
  pal c = palette(color);
  size_t nerr = rv_vec_len(&d->list);
  for (size_t i = 0; i < nerr; i++) {
    const mv_diag *g = MV_AT(&d->list, mv_diag, i);
    uint32_t maxline = g->loc.line;
    for (size_t k = 0; k < g->nnotes; k++) {
      maxline = g->notes[k].loc.line > maxline ? g->notes[k].loc.line : maxline;
    }
    for (size_t k = 0; k < g->nfix; k++) {
      maxline = g->fix[k].line > maxline ? g->fix[k].line : maxline;
    }
    int w = digits(maxline);
    fprintf(out, "%serror[%s]%s%s: %s%s\n", c.err, g->rule, c.off, c.bold, g->msg, c.off);
    fprintf(out, "%*s%s-->%s %s:%u:%u\n", w, "", c.blue, c.off, file, g->loc.line, g->loc.col);
    fprintf(out, "%s%*s |%s\n", c.blue, w, "", c.off);
    snippet(out, p, g->loc, w, '^', g->label, c.err, &c);
    for (size_t k = 0; k < g->nnotes; k++) {
      const mv_note *n = &g->notes[k];
      fprintf(out, "%snote%s: %s\n", c.note, c.off, n->text);
      fprintf(out, "%*s%s-->%s %s:%u:%u\n", w, "", c.blue, c.off, file, n->loc.line, n->loc.col);
      fprintf(out, "%s%*s |%s\n", c.blue, w, "", c.off);
      snippet(out, p, n->loc, w, '-', "", c.blue, &c);
    }
    if (g->rule_text) {
      fprintf(out, "%s%*s =%s %srule%s: %s\n", c.blue, w, "", c.off, c.bold, c.off, g->rule_text);
    }
    if (g->help[0]) {
      fprintf(out, "%shelp%s: %s\n", c.help, c.off, g->help);
      for (size_t k = 0; k < g->nfix; k++) {
        const mv_fix_line *f = &g->fix[k];
        if (f->line) {
          fprintf(out, "%s%*u |%s %s%s%s\n", c.blue, w, f->line, c.off, c.help, f->text, c.off);
        } else {
          fprintf(out, "%s%*s |%s %s%s%s\n", c.blue, w, "", c.off, c.help, f->text, c.off);
        }
      }
    }
    fputc('\n', out);
  }
  if (nerr) {
    int code = mv_diags_exit_code(d);
    fprintf(out, "%serror%s: %s: %zu %s error%s\n", c.err, c.off, file, nerr,
            code == 1 ? "ownership" : "script", nerr == 1 ? "" : "s");
  }
}
