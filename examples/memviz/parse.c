/* memviz: lexer and parser. One statement per line; `#` starts a comment.
 * The grammar is in README.md. Everything allocated here lives in the
 * program's arena. Nesting is bounded (MV_MAX_NEST) so the recursive
 * descent cannot exhaust the C stack on hostile input. */
#include <string.h>

#include "mv.h"

#define MV_MAX_NEST 64
#define MV_MAX_PARAMS 16

typedef enum tok_kind {
  T_EOF,
  T_NL,
  T_IDENT,
  T_INT,
  T_STR,
  T_EQ,
  T_AMP,
  T_STAR,
  T_LP,
  T_RP,
  T_LB,
  T_RB,
  T_COMMA,
  T_COLON,
  T_BAD,
} tok_kind;

typedef struct tok {
  tok_kind kind;
  const char *p; /* text in the source */
  size_t n;
  mv_loc loc;
  int64_t ival;
  const char *bad; /* T_BAD: what was wrong */
} tok;

typedef struct parser {
  mv_program *prog;
  mv_diags *diags;
  const char *s;
  size_t len, pos;
  uint32_t line, col;
  tok t; /* current token */
  int depth;
  bool failed;
} parser;

static bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void advance_char(parser *ps) {
  ps->pos++;
  ps->col++;
}

static void lex(parser *ps) {
  tok *t = &ps->t;
  memset(t, 0, sizeof(*t));
  for (;;) {
    while (ps->pos < ps->len &&
           (ps->s[ps->pos] == ' ' || ps->s[ps->pos] == '\t' || ps->s[ps->pos] == '\r')) {
      advance_char(ps);
    }
    if (ps->pos < ps->len && ps->s[ps->pos] == '#') {
      while (ps->pos < ps->len && ps->s[ps->pos] != '\n') {
        advance_char(ps);
      }
    }
    break;
  }
  t->p = ps->s + ps->pos;
  t->loc.line = ps->line;
  t->loc.col = ps->col;
  t->loc.len = 1;
  if (ps->pos >= ps->len) {
    t->kind = T_EOF;
    return;
  }
  char c = ps->s[ps->pos];
  if (c == '\n') {
    t->kind = T_NL;
    ps->pos++;
    ps->line++;
    ps->col = 1;
    t->n = 1;
    return;
  }
  if (is_ident_start(c)) {
    size_t st = ps->pos;
    while (ps->pos < ps->len && (is_ident_start(ps->s[ps->pos]) || is_digit(ps->s[ps->pos]))) {
      advance_char(ps);
    }
    t->kind = T_IDENT;
    t->n = ps->pos - st;
    t->loc.len = (uint32_t)(t->n > 200 ? 200 : t->n);
    if (t->n > 64) {
      t->kind = T_BAD;
      t->bad = "name longer than 64 characters";
    }
    return;
  }
  if (is_digit(c) || (c == '-' && ps->pos + 1 < ps->len && is_digit(ps->s[ps->pos + 1]))) {
    size_t st = ps->pos;
    bool neg = c == '-';
    if (neg) {
      advance_char(ps);
    }
    uint64_t v = 0;
    bool big = false;
    while (ps->pos < ps->len && is_digit(ps->s[ps->pos])) {
      uint64_t d = (uint64_t)(ps->s[ps->pos] - '0');
      if (v > (UINT64_C(9223372036854775807) - d) / 10) {
        big = true;
      } else {
        v = v * 10 + d;
      }
      advance_char(ps);
    }
    t->n = ps->pos - st;
    t->loc.len = (uint32_t)(t->n > 200 ? 200 : t->n);
    if (big) {
      t->kind = T_BAD;
      t->bad = "integer does not fit in 64 bits";
      return;
    }
    t->kind = T_INT;
    t->ival = neg ? -(int64_t)v : (int64_t)v;
    return;
  }
  if (c == '"') {
    size_t st = ps->pos;
    advance_char(ps);
    while (ps->pos < ps->len && ps->s[ps->pos] != '"' && ps->s[ps->pos] != '\n') {
      if (ps->s[ps->pos] == '\\' && ps->pos + 1 < ps->len && ps->s[ps->pos + 1] != '\n') {
        advance_char(ps);
      }
      advance_char(ps);
    }
    if (ps->pos >= ps->len || ps->s[ps->pos] != '"') {
      t->kind = T_BAD;
      t->bad = "unterminated string";
      t->n = ps->pos - st;
      return;
    }
    advance_char(ps);
    t->kind = T_STR;
    t->n = ps->pos - st;
    t->loc.len = (uint32_t)(t->n > 200 ? 200 : t->n);
    return;
  }
  static const char punct[] = "=&*(){},:";
  static const tok_kind pk[] = {T_EQ, T_AMP, T_STAR, T_LP, T_RP, T_LB, T_RB, T_COMMA, T_COLON};
  const char *q = memchr(punct, c, sizeof(punct) - 1);
  advance_char(ps);
  t->n = 1;
  if (q && c != '\0') {
    t->kind = pk[q - punct];
    return;
  }
  t->kind = T_BAD;
  t->bad = "unexpected character";
}

static bool tok_is(const tok *t, const char *kw) {
  return t->kind == T_IDENT && t->n == strlen(kw) && memcmp(t->p, kw, t->n) == 0;
}

static bool is_keyword(const tok *t) {
  static const char *const kws[] = {"let",   "box", "string", "rc",  "clone", "drop",
                                    "print", "fn",  "own",    "mut", "main"};
  for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
    if (tok_is(t, kws[i])) {
      return true;
    }
  }
  return false;
}

static const char *tok_desc(const tok *t) {
  switch (t->kind) {
  case T_EOF:
    return "end of file";
  case T_NL:
    return "end of line";
  case T_IDENT:
    return is_keyword(t) ? "keyword" : "name";
  case T_INT:
    return "integer";
  case T_STR:
    return "string";
  default:
    return "symbol";
  }
}

/* Records a syntax error at the current token and marks the parse failed.
 * Only the first error of each line is kept (the rest would be noise). */
static void syntax(parser *ps, const char *expected) {
  ps->failed = true;
  const tok *t = &ps->t;
  if (t->kind == T_BAD) {
    mv_diag *g = mv_diag_add(ps->diags, MV_D_SYNTAX, "syntax", t->loc, "%s", t->bad);
    if (g) {
      snprintf(g->label, sizeof(g->label), "%s", t->bad);
    }
    return;
  }
  mv_diag *g = mv_diag_add(ps->diags, MV_D_SYNTAX, "syntax", t->loc, "expected %s, found %s",
                           expected, tok_desc(t));
  if (g) {
    snprintf(g->label, sizeof(g->label), "expected %s", expected);
  }
}

/* Skips to the start of the next line (error recovery). */
static void skip_line(parser *ps) {
  while (ps->t.kind != T_NL && ps->t.kind != T_EOF) {
    lex(ps);
  }
  if (ps->t.kind == T_NL) {
    lex(ps);
  }
}

static const char *dup_tok(parser *ps, const tok *t) {
  return rv_arena_memdup(&ps->prog->arena, t->p, t->n);
}

/* Expects a non-keyword name; fills *name and *loc. */
static bool expect_name(parser *ps, const char **name, mv_loc *loc) {
  if (ps->t.kind != T_IDENT || is_keyword(&ps->t)) {
    syntax(ps, "a name");
    return false;
  }
  *name = dup_tok(ps, &ps->t);
  *loc = ps->t.loc;
  lex(ps);
  return *name != NULL;
}

static bool expect(parser *ps, tok_kind k, const char *what) {
  if (ps->t.kind != k) {
    syntax(ps, what);
    return false;
  }
  lex(ps);
  return true;
}

static bool end_of_stmt(parser *ps) {
  if (ps->t.kind == T_EOF) {
    return true;
  }
  return expect(ps, T_NL, "end of line");
}

/* Decodes a string literal's escapes into the arena. */
static bool string_lit(parser *ps, mv_expr *e) {
  const tok *t = &ps->t;
  char *out = rv_arena_alloc(&ps->prog->arena, t->n, 1);
  if (!out) {
    return false;
  }
  size_t n = 0;
  for (size_t i = 1; i + 1 < t->n; i++) {
    char c = t->p[i];
    if (c == '\\') {
      char d = t->p[++i];
      c = d;
      if (d == 'n') {
        c = '\n';
      } else if (d == 't') {
        c = '\t';
      }
    }
    out[n++] = c;
  }
  out[n] = '\0';
  e->str = out;
  e->str_len = n;
  return true;
}

static void set_span(mv_loc *loc, mv_loc start, const tok *last) {
  *loc = start;
  if (last->loc.line == start.line && last->loc.col >= start.col) {
    loc->len = last->loc.col - start.col + last->loc.len;
  }
}

static bool parse_expr(parser *ps, mv_expr *e) {
  memset(e, 0, sizeof(*e));
  e->binding = -1;
  mv_loc start = ps->t.loc;
  tok last;
  if (ps->t.kind == T_INT) {
    e->kind = MV_E_INT;
    e->ival = ps->t.ival;
    e->loc = ps->t.loc;
    lex(ps);
    return true;
  }
  if (tok_is(&ps->t, "box")) {
    lex(ps);
    if (ps->t.kind != T_INT) {
      syntax(ps, "an integer after `box`");
      return false;
    }
    e->kind = MV_E_BOX;
    e->ival = ps->t.ival;
    set_span(&e->loc, start, &ps->t);
    lex(ps);
    return true;
  }
  if (tok_is(&ps->t, "string")) {
    lex(ps);
    if (ps->t.kind != T_STR) {
      syntax(ps, "a string literal after `string`");
      return false;
    }
    e->kind = MV_E_STRING;
    set_span(&e->loc, start, &ps->t);
    if (!string_lit(ps, e)) {
      return false;
    }
    lex(ps);
    return true;
  }
  if (ps->t.kind == T_AMP) {
    lex(ps);
    e->kind = MV_E_REF;
    if (tok_is(&ps->t, "mut")) {
      e->kind = MV_E_REFMUT;
      lex(ps);
    }
  } else if (ps->t.kind == T_STAR) {
    e->kind = MV_E_DEREF;
    lex(ps);
  } else if (tok_is(&ps->t, "rc")) {
    e->kind = MV_E_RC;
    lex(ps);
  } else if (tok_is(&ps->t, "clone")) {
    e->kind = MV_E_CLONE;
    lex(ps);
  } else {
    e->kind = MV_E_NAME;
  }
  last = ps->t;
  if (!expect_name(ps, &e->name, &e->name_loc)) {
    return false;
  }
  set_span(&e->loc, start, &last);
  return true;
}

static int parse_block(parser *ps, rv_vec *body, mv_loc *end_loc, bool top);

static bool parse_params(parser *ps, mv_stmt *s) {
  rv_vec_init(&s->params, sizeof(mv_param), rv_arena_allocator(&ps->prog->arena));
  if (!expect(ps, T_LP, "`(`")) {
    return false;
  }
  while (ps->t.kind != T_RP) {
    mv_param pm = {.binding = -1};
    if (!expect_name(ps, &pm.name, &pm.loc) || !expect(ps, T_COLON, "`:` and a mode")) {
      return false;
    }
    if (tok_is(&ps->t, "own")) {
      pm.mode = MV_P_OWN;
      lex(ps);
    } else if (ps->t.kind == T_AMP) {
      lex(ps);
      pm.mode = MV_P_REF;
      if (tok_is(&ps->t, "mut")) {
        pm.mode = MV_P_REFMUT;
        lex(ps);
      }
    } else {
      syntax(ps, "`own`, `&` or `&mut`");
      return false;
    }
    if (rv_vec_len(&s->params) >= MV_MAX_PARAMS) {
      syntax(ps, "at most 16 parameters, not more");
      return false;
    }
    if (rv_vec_push(&s->params, &pm) != RV_OK) {
      return false;
    }
    if (ps->t.kind != T_COMMA) {
      break;
    }
    lex(ps);
  }
  return expect(ps, T_RP, "`,` or `)`");
}

static bool parse_args(parser *ps, mv_stmt *s) {
  rv_vec_init(&s->args, sizeof(mv_expr), rv_arena_allocator(&ps->prog->arena));
  lex(ps); /* ( */
  while (ps->t.kind != T_RP) {
    mv_expr e;
    if (!parse_expr(ps, &e)) {
      return false;
    }
    if (e.kind != MV_E_NAME && e.kind != MV_E_REF && e.kind != MV_E_REFMUT && e.kind != MV_E_INT) {
      ps->failed = true;
      mv_diag *g = mv_diag_add(ps->diags, MV_D_SYNTAX, "syntax", e.loc,
                               "expected an argument: a name, `&name`, `&mut name` or an integer");
      if (g) {
        snprintf(g->label, sizeof(g->label), "not allowed as an argument");
      }
      return false;
    }
    if (rv_vec_len(&s->args) >= MV_MAX_PARAMS) {
      syntax(ps, "at most 16 arguments, not more");
      return false;
    }
    if (rv_vec_push(&s->args, &e) != RV_OK) {
      return false;
    }
    if (ps->t.kind != T_COMMA) {
      break;
    }
    lex(ps);
  }
  return expect(ps, T_RP, "`,` or `)`");
}

/* Parses one statement; returns 1 on success, 0 on a syntax error (the
 * line is skipped), -1 when out of memory. *out is NULL for blank lines. */
static int parse_stmt(parser *ps, mv_stmt **out) {
  *out = NULL;
  if (ps->t.kind == T_NL) {
    lex(ps);
    return 1;
  }
  mv_stmt *s = rv_arena_alloc(&ps->prog->arena, sizeof(*s), 0);
  if (!s) {
    return -1;
  }
  memset(s, 0, sizeof(*s));
  s->binding = -1;
  s->loc = ps->t.loc;
  tok first = ps->t;
  bool ok = false;
  if (tok_is(&first, "let")) {
    lex(ps);
    s->kind = MV_S_LET;
    if (expect_name(ps, &s->name, &s->name_loc)) {
      if (ps->t.kind == T_EQ) {
        lex(ps);
        s->has_init = true;
        ok = parse_expr(ps, &s->e);
      } else {
        ok = true;
      }
    }
  } else if (tok_is(&first, "print") || tok_is(&first, "drop")) {
    bool is_drop = tok_is(&first, "drop");
    s->kind = is_drop ? MV_S_DROP : MV_S_PRINT;
    lex(ps);
    ok = (!is_drop || expect(ps, T_LP, "`(`")) && expect_name(ps, &s->name, &s->name_loc) &&
         (!is_drop || expect(ps, T_RP, "`)`"));
  } else if (first.kind == T_STAR) {
    lex(ps);
    s->kind = MV_S_STORE;
    ok =
        expect_name(ps, &s->name, &s->name_loc) && expect(ps, T_EQ, "`=`") && parse_expr(ps, &s->e);
  } else if (first.kind == T_LB || tok_is(&first, "fn")) {
    if (ps->depth >= MV_MAX_NEST) {
      syntax(ps, "less nesting (more than 64 levels)");
      skip_line(ps);
      return 0;
    }
    lex(ps);
    if (first.kind == T_LB) {
      s->kind = MV_S_BLOCK;
    } else {
      s->kind = MV_S_FN;
      if (!expect_name(ps, &s->name, &s->name_loc) || !parse_params(ps, s) ||
          !expect(ps, T_LB, "`{`")) {
        skip_line(ps);
        return 0;
      }
    }
    if (!expect(ps, T_NL, "end of line after `{`")) {
      skip_line(ps);
      return 0;
    }
    ps->depth++;
    int r = parse_block(ps, &s->body, &s->end_loc, false);
    ps->depth--;
    if (r < 0) {
      return -1;
    }
    *out = s;
    return 1;
  } else if (first.kind == T_IDENT && !is_keyword(&first)) {
    s->name = dup_tok(ps, &first);
    s->name_loc = first.loc;
    lex(ps);
    if (!s->name) {
      return -1;
    }
    if (ps->t.kind == T_LP) {
      s->kind = MV_S_CALL;
      ok = parse_args(ps, s);
    } else {
      s->kind = MV_S_ASSIGN;
      ok = expect(ps, T_EQ, "`=` or `(`") && parse_expr(ps, &s->e);
    }
  } else {
    syntax(ps, "a statement (let, print, drop, fn, a call, an assignment, `{`)");
  }
  if (ok && end_of_stmt(ps)) {
    *out = s;
    return 1;
  }
  skip_line(ps);
  return 0;
}

/* Statements up to the matching `}` (or end of file at top level). */
static int parse_block(parser *ps, rv_vec *body, mv_loc *end_loc, bool top) {
  rv_vec_init(body, sizeof(mv_stmt *), rv_arena_allocator(&ps->prog->arena));
  for (;;) {
    if (ps->t.kind == T_EOF) {
      if (!top) {
        syntax(ps, "`}` to close the block");
      }
      return 0;
    }
    if (ps->t.kind == T_RB) {
      if (top) {
        syntax(ps, "a statement (this `}` has no matching `{`)");
        skip_line(ps);
        continue;
      }
      *end_loc = ps->t.loc;
      lex(ps);
      if (!end_of_stmt(ps)) {
        skip_line(ps);
      }
      return 0;
    }
    mv_stmt *s;
    int r = parse_stmt(ps, &s);
    if (r < 0) {
      return -1;
    }
    if (s && rv_vec_push(body, &s) != RV_OK) {
      return -1;
    }
  }
}

static void free_partial(mv_program *p) {
  rv_vec_free(&p->lines);
  rv_vec_free(&p->bindings);
}

void mv_program_free(mv_program *p) {
  free_partial(p);
  rv_arena_free(&p->arena);
  memset(p, 0, sizeof(*p));
}

const char *mv_program_line(const mv_program *p, uint32_t n, size_t *len) {
  *len = 0;
  if (n == 0 || n > rv_vec_len(&p->lines)) {
    return "";
  }
  size_t st = *MV_AT(&p->lines, size_t, n - 1);
  size_t en = st;
  while (en < p->src_len && p->src[en] != '\n') {
    en++;
  }
  if (en > st && p->src[en - 1] == '\r') {
    en--;
  }
  *len = en - st;
  return p->src + st;
}

int mv_parse(mv_program *p, const char *src, size_t len, mv_diags *diags, const rv_alloc *alloc) {
  memset(p, 0, sizeof(*p));
  p->alloc = alloc;
  rv_vec_init(&p->lines, sizeof(size_t), alloc);
  rv_vec_init(&p->bindings, sizeof(mv_binding), alloc);
  if (rv_arena_init(&p->arena, alloc, 0) != RV_OK) {
    return RV_ENOMEM;
  }
  char *copy = rv_arena_memdup(&p->arena, len ? src : "", len);
  if (!copy) {
    return RV_ENOMEM;
  }
  p->src = copy;
  p->src_len = len;
  size_t zero = 0;
  if (rv_vec_push(&p->lines, &zero) != RV_OK) {
    return RV_ENOMEM;
  }
  for (size_t i = 0; i < len; i++) {
    if (copy[i] == '\n') {
      size_t next = i + 1;
      if (rv_vec_push(&p->lines, &next) != RV_OK) {
        return RV_ENOMEM;
      }
    }
  }
  /* NUL bytes would cut diagnostics short: reject them up front. */
  const char *nul = memchr(copy, '\0', len);
  parser ps = {.prog = p, .diags = diags, .s = copy, .len = len, .line = 1, .col = 1};
  if (nul) {
    size_t off = (size_t)(nul - copy);
    uint32_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
      line = copy[i] == '\n' ? line + 1 : line;
      col = copy[i] == '\n' ? 1 : col + 1;
    }
    mv_loc loc = {line, col, 1};
    mv_diag *g = mv_diag_add(diags, MV_D_SYNTAX, "syntax", loc, "NUL byte in the script");
    if (g) {
      snprintf(g->label, sizeof(g->label), "not text");
    }
    return RV_EMALFORMED;
  }
  lex(&ps);
  mv_loc end;
  if (parse_block(&ps, &p->top, &end, true) < 0) {
    return RV_ENOMEM;
  }
  if (diags->oom) {
    return RV_ENOMEM;
  }
  return ps.failed ? RV_EMALFORMED : RV_OK;
}
