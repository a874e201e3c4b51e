/* memviz: name resolution. Every use of a name is tied to the binding it
 * refers to, statements get pre-order numbers, and each binding records the
 * number of its last use: the engine's borrow liveness ("is this borrow
 * used again later?") is a comparison of those numbers, the same
 * non-lexical rule rustc applies to straight-line code.
 *
 * A function body sees its parameters and the functions defined before it,
 * not the caller's variables. A function is bound after its body, so it
 * cannot call itself: scripts always terminate. */
#include <string.h>

#include "mv.h"

typedef struct resolver {
  mv_program *p;
  mv_diags *diags;
  rv_vec scope;   /* int: binding ids visible, innermost last */
  size_t barrier; /* scope entries below this are the caller's: only functions */
  uint32_t seq;
  bool failed;
} resolver;

static mv_binding *binding(resolver *r, int id) {
  return MV_AT(&r->p->bindings, mv_binding, (size_t)id);
}

static int declare(resolver *r, const char *name, mv_loc loc, mv_stmt *fn) {
  mv_binding b = {.name = name, .decl = loc, .is_fn = fn != NULL, .fn = fn};
  int id = (int)rv_vec_len(&r->p->bindings);
  if (rv_vec_push(&r->p->bindings, &b) != RV_OK || rv_vec_push(&r->scope, &id) != RV_OK) {
    return -2;
  }
  return id;
}

static int lookup(resolver *r, const char *name) {
  for (size_t i = rv_vec_len(&r->scope); i-- > 0;) {
    int id = *MV_AT(&r->scope, int, i);
    const mv_binding *b = binding(r, id);
    if (i < r->barrier && !b->is_fn) {
      continue;
    }
    if (strcmp(b->name, name) == 0) {
      return id;
    }
  }
  return -1;
}

static void name_error(resolver *r, mv_loc loc, const char *label, const char *what,
                       const char *name) {
  r->failed = true;
  mv_diag *g = mv_diag_add(r->diags, MV_D_NAME, "name", loc, "%s `%s`", what, name);
  if (g) {
    snprintf(g->label, sizeof(g->label), "%s", label);
  }
}

/* Resolves a use of a variable; returns its binding or -1. */
static int use_var(resolver *r, const char *name, mv_loc loc) {
  int id = lookup(r, name);
  if (id < 0) {
    name_error(r, loc, "not found in this scope", "cannot find value", name);
    return -1;
  }
  mv_binding *b = binding(r, id);
  if (b->is_fn) {
    name_error(r, loc, "a function, not a value", "expected a value, found function", name);
    return -1;
  }
  b->last_use = r->seq > b->last_use ? r->seq : b->last_use;
  return id;
}

static void resolve_expr(resolver *r, mv_expr *e) {
  if (e->name) {
    e->binding = use_var(r, e->name, e->name_loc);
  }
}

static int resolve_list(resolver *r, rv_vec *body);

static int resolve_stmt(resolver *r, mv_stmt *s) {
  s->seq = ++r->seq;
  switch (s->kind) {
  case MV_S_LET:
    if (s->has_init) {
      resolve_expr(r, &s->e);
    }
    s->binding = declare(r, s->name, s->name_loc, NULL);
    return s->binding == -2 ? RV_ENOMEM : RV_OK;
  case MV_S_ASSIGN:
  case MV_S_STORE:
    resolve_expr(r, &s->e);
    s->binding = use_var(r, s->name, s->name_loc);
    return RV_OK;
  case MV_S_PRINT:
  case MV_S_DROP:
    s->binding = use_var(r, s->name, s->name_loc);
    return RV_OK;
  case MV_S_BLOCK: {
    size_t mark = rv_vec_len(&r->scope);
    int rc = resolve_list(r, &s->body);
    s->end_seq = ++r->seq;
    r->scope.len = mark;
    return rc;
  }
  case MV_S_FN: {
    size_t mark = rv_vec_len(&r->scope);
    size_t saved = r->barrier;
    r->barrier = mark;
    for (size_t i = 0; i < rv_vec_len(&s->params); i++) {
      mv_param *pm = MV_AT(&s->params, mv_param, i);
      for (size_t j = 0; j < i; j++) {
        if (strcmp(MV_AT(&s->params, mv_param, j)->name, pm->name) == 0) {
          name_error(r, pm->loc, "used twice", "parameter declared twice:", pm->name);
        }
      }
      pm->binding = declare(r, pm->name, pm->loc, NULL);
      if (pm->binding == -2) {
        return RV_ENOMEM;
      }
    }
    int rc = resolve_list(r, &s->body);
    s->end_seq = ++r->seq;
    r->scope.len = mark;
    r->barrier = saved;
    if (rc != RV_OK) {
      return rc;
    }
    s->binding = declare(r, s->name, s->name_loc, s);
    return s->binding == -2 ? RV_ENOMEM : RV_OK;
  }
  case MV_S_CALL: {
    for (size_t i = 0; i < rv_vec_len(&s->args); i++) {
      resolve_expr(r, MV_AT(&s->args, mv_expr, i));
    }
    int id = lookup(r, s->name);
    if (id < 0) {
      name_error(r, s->name_loc, "not found above this call", "cannot find function", s->name);
      return RV_OK;
    }
    mv_binding *b = binding(r, id);
    if (!b->is_fn) {
      name_error(r, s->name_loc, "a variable, not a function",
                 "expected a function, found variable", s->name);
      return RV_OK;
    }
    s->binding = id;
    s->fn = b->fn;
    size_t want = rv_vec_len(&s->fn->params), got = rv_vec_len(&s->args);
    if (want != got) {
      r->failed = true;
      mv_diag *g = mv_diag_add(r->diags, MV_D_NAME, "arguments", s->name_loc,
                               "`%s` takes %zu argument%s but %zu %s given", s->name, want,
                               want == 1 ? "" : "s", got, got == 1 ? "was" : "were");
      if (g) {
        snprintf(g->label, sizeof(g->label), "wrong number of arguments");
        mv_diag_note(g, s->fn->name_loc, "`%s` is defined here", s->name);
      }
    }
    return RV_OK;
  }
  }
  return RV_OK;
}

static int resolve_list(resolver *r, rv_vec *body) {
  for (size_t i = 0; i < rv_vec_len(body); i++) {
    int rc = resolve_stmt(r, *MV_AT(body, mv_stmt *, i));
    if (rc != RV_OK) {
      return rc;
    }
  }
  return RV_OK;
}

int mv_resolve(mv_program *p, mv_diags *diags) {
  resolver r = {.p = p, .diags = diags};
  rv_vec_init(&r.scope, sizeof(int), p->alloc);
  int rc = resolve_list(&r, &p->top);
  p->nseq = ++r.seq;
  rv_vec_free(&r.scope);
  if (rc != RV_OK || diags->oom) {
    return RV_ENOMEM;
  }
  return r.failed ? RV_EMALFORMED : RV_OK;
}
