/* memviz: the ownership rules' diagnostics. Each builder states the rule
 * broken, points at the earlier statement involved, and where one exists
 * proposes a fix that copies nothing (borrow instead of move, end a borrow
 * earlier, move a drop later, restructure scopes). */
#include <string.h>

#include "rules.h"

static const char R_MOVE[] = "a value may not be used after it has been moved";
static const char R_DDROP[] = "a value may be dropped only once";
static const char R_CONFLICT[] =
    "while a mutable borrow is live there may be no other borrow or use of its owner, and "
    "while a shared borrow is live there may be no mutable borrow";
static const char R_STALE[] = "a shared borrow may not be used after the value it borrows "
                              "was mutated";
static const char R_DANGLE[] = "a borrow may not outlive the scope of the value it borrows";
static const char R_MOVEB[] = "a value may not be moved or dropped while it is borrowed, and "
                              "nothing may be moved out of a borrow";
static const char R_LEAK[] = "with --strict, every heap block must be freed before the "
                             "script exits";
static const char R_UNINIT[] = "a variable must be assigned before it is used";
static const char R_SHARED[] = "a shared borrow gives read-only access";

void mv_stmt_text(const mv_engine *e, const mv_stmt *s, char *buf, size_t n) {
  buf[0] = '\0';
  if (!s) {
    return;
  }
  size_t len;
  const char *line = mv_program_line(e->prog, s->loc.line, &len);
  size_t st = s->loc.col ? s->loc.col - 1 : 0;
  st = st > len ? len : st;
  size_t en = st;
  bool quoted = false;
  while (en < len && (quoted || line[en] != '#')) {
    quoted = line[en] == '"' ? !quoted : quoted;
    en += line[en] == '\\' && quoted && en + 1 < len ? 2 : 1;
  }
  en = en > len ? len : en;
  while (en > st && (line[en - 1] == ' ' || line[en - 1] == '\t')) {
    en--;
  }
  snprintf(buf, n, "%.*s", (int)(en - st), line + st);
}

/* The location of a whole statement (up to its comment), for underlining. */
static mv_loc stmt_span(const mv_engine *e, const mv_stmt *s, mv_loc fallback) {
  if (!s) {
    return fallback;
  }
  char text[200];
  mv_stmt_text(e, s, text, sizeof(text));
  mv_loc loc = s->loc;
  size_t n = strlen(text);
  loc.len = n ? (uint32_t)n : 1;
  return loc;
}

/* The statement that last uses the borrow held in ref. */
static const mv_stmt *last_use(const mv_engine *e, const mv_var *ref) {
  if (ref->binding < 0) {
    return NULL;
  }
  const mv_binding *b = MV_AT(&e->prog->bindings, mv_binding, (size_t)ref->binding);
  return b ? mv_stmt_by_seq(e, b->last_use) : NULL;
}

/* A fix that puts statement `first` right before statement `then`. */
static void fix_reorder(mv_diag *g, const mv_engine *e, const mv_stmt *first, const mv_stmt *then) {
  char a[200], b[200];
  mv_stmt_text(e, first, a, sizeof(a));
  mv_stmt_text(e, then, b, sizeof(b));
  mv_diag_fix(g, 0, "%s", a);
  mv_diag_fix(g, 0, "%s", b);
}

static mv_diag *own(mv_engine *e, const char *rule, mv_loc loc, const char *rule_text,
                    const char *msg) {
  mv_diag *g = mv_diag_add(e->diags, MV_D_OWNERSHIP, rule, loc, "%s", msg);
  if (g) {
    g->rule_text = rule_text;
  }
  return g;
}

/* The call `s` written with argument i borrowed instead of moved. */
static void call_with_borrow(const mv_stmt *s, int arg, char *buf, size_t n) {
  size_t o = 0;
  int w = snprintf(buf, n, "%s(", s->name);
  o = w > 0 ? (size_t)w : 0;
  for (size_t i = 0; i < rv_vec_len(&s->args) && o < n; i++) {
    const mv_expr *a = MV_AT(&s->args, mv_expr, i);
    const char *pre = a->kind == MV_E_REF ? "&" : a->kind == MV_E_REFMUT ? "&mut " : "";
    if ((int)i == arg) {
      pre = "&";
    }
    if (a->kind == MV_E_INT) {
      w = snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)a->ival);
    } else {
      w = snprintf(buf + o, n - o, "%s%s%s", i ? ", " : "", pre, a->name);
    }
    o += w > 0 ? (size_t)w : 0;
  }
  if (o < n) {
    snprintf(buf + o, n - o, ")");
  }
}

void mv_err_moved(mv_engine *e, const mv_var *v, mv_loc loc) {
  char msg[200];
  snprintf(msg, sizeof(msg), "use of %s value `%s`", v->moved_by_drop ? "dropped" : "moved",
           v->name);
  mv_diag *g = own(e, "use-after-move", loc, R_MOVE, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "value used here after %s",
           v->moved_by_drop ? "drop" : "move");
  mv_diag_note(g, v->moved_by_drop ? stmt_span(e, v->moved_by, v->moved_at) : v->moved_at,
               "`%s` was %s here", v->name, v->moved_by_drop ? "dropped" : "moved");
  const mv_stmt *m = v->moved_by;
  if (!m) {
    return;
  }
  if ((m->kind == MV_S_LET || m->kind == MV_S_ASSIGN) && m->e.kind == MV_E_NAME) {
    mv_diag_help(g, "borrow instead of moving (nothing is copied):");
    mv_diag_fix(g, m->loc.line, "%s%s = &%s", m->kind == MV_S_LET ? "let " : "", m->name, v->name);
  } else if (m->kind == MV_S_CALL && m->fn && v->moved_arg >= 0) {
    const mv_param *p = MV_AT(&m->fn->params, mv_param, (size_t)v->moved_arg);
    char call[200];
    call_with_borrow(m, v->moved_arg, call, sizeof(call));
    mv_diag_help(g,
                 "if `%s` only reads `%s`, let it borrow: declare `%s: &` and pass `&%s`:", m->name,
                 p ? p->name : "?", p ? p->name : "?", v->name);
    mv_diag_fix(g, m->loc.line, "%s", call);
  } else if (m->kind == MV_S_DROP) {
    mv_diag_help(g, "move `drop(%s)` after this use:", v->name);
    fix_reorder(g, e, e->cur, m);
  } else {
    mv_diag_help(g, "use `%s` before it is moved:", v->name);
    fix_reorder(g, e, e->cur, m);
  }
}

void mv_err_double_drop(mv_engine *e, const mv_var *v, mv_loc loc) {
  char msg[200];
  snprintf(msg, sizeof(msg), "`%s` is dropped twice", v->name);
  mv_diag *g = own(e, "double-drop", stmt_span(e, e->cur, loc), R_DDROP, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "second drop here");
  mv_diag_note(g, stmt_span(e, v->moved_by, v->moved_at), "`%s` was already dropped here", v->name);
  mv_diag_help(g, "delete this line: the first `drop(%s)` already freed it", v->name);
}

void mv_err_uninit(mv_engine *e, const mv_var *v, mv_loc loc) {
  char msg[200];
  snprintf(msg, sizeof(msg), "`%s` is used before it is assigned", v->name);
  mv_diag *g = own(e, "uninit", loc, R_UNINIT, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "used here, never assigned");
  mv_diag_note(g, v->decl, "`%s` is declared here without a value", v->name);
}

void mv_err_conflict(mv_engine *e, mv_loc loc, const char *what, const mv_var *ref,
                     const mv_pending *pend) {
  bool rmut = ref ? ref->v.mut : pend->mut;
  char msg[200];
  snprintf(msg, sizeof(msg), "cannot %s because it is also borrowed as %s", what,
           rmut ? "mutable" : "shared");
  mv_diag *g = own(e, "borrow-conflict", loc, R_CONFLICT, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "%s here", what);
  if (!ref) {
    mv_diag_note(g, pend->at, "the other borrow is passed here and lives for the whole call");
    mv_diag_help(g, "pass a single borrow; a function that needs to write can also read");
    return;
  }
  mv_diag_note(g, ref->borrow_at, "`%s` borrows `%s` here", ref->name,
               ref->owner_name ? ref->owner_name : "?");
  const mv_stmt *u = last_use(e, ref);
  if (u) {
    mv_diag_note(g, stmt_span(e, u, u->loc), "the borrow is used again here, so it is still live");
    mv_diag_help(g, "end the borrow earlier: make this use of `%s` its last, before line %u:",
                 ref->name, loc.line);
    fix_reorder(g, e, u, e->cur);
  }
}

void mv_err_stale(mv_engine *e, mv_var *ref, mv_loc loc) {
  char msg[200];
  const char *owner = ref->owner_name ? ref->owner_name : "?";
  snprintf(msg, sizeof(msg), "shared borrow `%s` used after `%s` was mutated", ref->name, owner);
  mv_diag *g = own(e, "use-after-mutation", loc, R_STALE, msg);
  ref->stale = false;
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "borrow used here, after the mutation");
  mv_diag_note(g, stmt_span(e, ref->stale_stmt, ref->stale_at),
               "`%s` is mutated here while `%s` borrows it", owner, ref->name);
  mv_diag_note(g, ref->borrow_at, "`%s` borrows `%s` here", ref->name, owner);
  if (ref->stale_stmt) {
    mv_diag_help(g, "end the borrow earlier: use `%s` before `%s` is mutated:", ref->name, owner);
    fix_reorder(g, e, e->cur, ref->stale_stmt);
  }
}

void mv_err_dangling(mv_engine *e, const mv_var *owner, const mv_var *ref, mv_loc end,
                     const mv_stmt *block) {
  char msg[200];
  snprintf(msg, sizeof(msg), "`%s` does not live long enough", owner->name);
  mv_diag *g = own(e, "dangling-borrow", ref->borrow_at, R_DANGLE, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "borrowed value does not live long enough");
  mv_diag_note(g, end, "`%s` is dropped here, at the end of its scope, while still borrowed",
               owner->name);
  const mv_stmt *u = last_use(e, ref);
  if (u) {
    mv_diag_note(g, stmt_span(e, u, u->loc), "the borrow `%s` is used later here", ref->name);
  }
  if (block && owner->decl_stmt) {
    mv_diag_help(g,
                 "restructure the scopes: declare `%s` before the block, so it lives as "
                 "long as `%s`:",
                 owner->name, ref->name);
    char a[200];
    mv_stmt_text(e, owner->decl_stmt, a, sizeof(a));
    mv_diag_fix(g, 0, "%s", a);
    mv_diag_fix(g, 0, "{");
  } else if (!block) {
    mv_diag_help(g, "a borrow of a function's local cannot leave the function; move the "
                    "value out instead (take `own` parameters)");
  }
}

void mv_err_move_borrowed(mv_engine *e, const mv_var *owner, mv_loc loc, bool is_drop,
                          const mv_var *ref, const mv_pending *pend) {
  char msg[200];
  if (is_drop) {
    snprintf(msg, sizeof(msg), "cannot drop `%s` while it is borrowed", owner->name);
  } else {
    snprintf(msg, sizeof(msg), "cannot move out of `%s` because it is borrowed", owner->name);
  }
  mv_diag *g =
      own(e, "move-while-borrowed", is_drop ? stmt_span(e, e->cur, loc) : loc, R_MOVEB, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "%s of `%s` here", is_drop ? "drop" : "move", owner->name);
  if (!ref) {
    mv_diag_note(g, pend->at, "`%s` is borrowed here for the whole call", owner->name);
    return;
  }
  mv_diag_note(g, ref->borrow_at, "`%s` borrows `%s` here", ref->name, owner->name);
  const mv_stmt *u = last_use(e, ref);
  if (u) {
    mv_diag_note(g, stmt_span(e, u, u->loc), "the borrow is used later here");
  }
  const mv_stmt *s = e->cur;
  if (is_drop && u) {
    mv_diag_help(g, "move `drop(%s)` later, after the last use of `%s`:", owner->name, ref->name);
    fix_reorder(g, e, u, s);
  } else if (s && (s->kind == MV_S_LET || s->kind == MV_S_ASSIGN) && s->e.kind == MV_E_NAME) {
    mv_diag_help(g, "borrow instead of moving (nothing is copied):");
    mv_diag_fix(g, s->loc.line, "%s%s = &%s", s->kind == MV_S_LET ? "let " : "", s->name,
                owner->name);
  } else if (u) {
    mv_diag_help(g,
                 "end the borrow earlier: use `%s` for the last time before the move:", ref->name);
    fix_reorder(g, e, u, s);
  }
}

void mv_err_move_out_of_borrow(mv_engine *e, const char *name, mv_loc loc, bool via_rc, bool mut) {
  char msg[200];
  if (via_rc) {
    snprintf(msg, sizeof(msg), "cannot move out of `*%s`: an rc value is shared", name);
  } else {
    snprintf(msg, sizeof(msg), "cannot move out of `*%s`, which is behind a %s borrow", name,
             mut ? "mutable" : "shared");
  }
  mv_diag *g = own(e, "move-out-of-borrow", loc, R_MOVEB, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "move out of `*%s` here", name);
  const mv_stmt *s = e->cur;
  if (s && s->kind == MV_S_LET && (via_rc || !mut)) {
    mv_diag_help(g, "keep borrowing instead (nothing is copied):");
    mv_diag_fix(g, s->loc.line, "let %s = %s%s", s->name, via_rc ? "&" : "", name);
  }
}

void mv_err_shared_write(mv_engine *e, const mv_var *ref, mv_loc loc) {
  char msg[200];
  snprintf(msg, sizeof(msg), "cannot assign through `%s`, a shared borrow", ref->name);
  mv_diag *g = own(e, "write-through-shared", loc, R_SHARED, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "`%s` is a shared borrow: its target is read-only",
           ref->name);
  mv_diag_note(g, ref->borrow_at, "`%s` borrows `%s` here", ref->name,
               ref->owner_name ? ref->owner_name : "?");
  const mv_stmt *b = ref->borrow_stmt;
  if (b && b->kind == MV_S_LET && b->e.kind == MV_E_REF) {
    mv_diag_help(g, "borrow mutably:");
    mv_diag_fix(g, b->loc.line, "let %s = &mut %s", b->name, b->e.name);
  }
}

void mv_err_leak(mv_engine *e, const mv_var *v, const mv_block *b) {
  char msg[200];
  snprintf(msg, sizeof(msg), "heap block #%zu (%s, %zu B) owned by `%s` is never freed", b->id,
           mv_block_kind_name(b->kind), b->size, v->name);
  mv_diag *g = own(e, "leak", v->decl, R_LEAK, msg);
  if (!g) {
    return;
  }
  snprintf(g->label, sizeof(g->label), "`%s` still owns it when the script exits", v->name);
  mv_diag_help(g, "drop it when done (or declare `%s` inside a `{ }` scope):", v->name);
  mv_diag_fix(g, 0, "drop(%s)", v->name);
}

void mv_err_type(mv_engine *e, mv_loc loc, const char *label, const char *msg) {
  mv_diag *g = mv_diag_add(e->diags, MV_D_NAME, "type", loc, "%s", msg);
  if (g) {
    snprintf(g->label, sizeof(g->label), "%s", label);
  }
}
