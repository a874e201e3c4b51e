/* memviz: executing statements. The same code runs twice: first as the
 * checker (e->checking: diagnostics are recorded and execution goes on, a
 * function body is checked once at its definition with stand-in
 * arguments, calls only move or borrow their arguments), then, if the
 * script is clean, as the interpreter (calls run their bodies, each step
 * is reported to the renderer). */
#include <string.h>

#include "rules.h"

static const mv_value OPAQUE = {.kind = MV_V_OPAQUE};

/* The first live borrow of the variable with this uid (mut_only: only a
 * mutable one); returns true and fills *ref (a variable) or *pend (a call
 * argument). skip: a borrow to ignore (the one being written through). */
static bool live_borrow(mv_engine *e, uint64_t uid, bool mut_only, uint64_t skip,
                        const mv_var **ref, const mv_pending **pend) {
  *ref = NULL;
  *pend = NULL;
  for (size_t i = 0; i < rv_vec_len(&e->pending); i++) {
    const mv_pending *p = MV_AT(&e->pending, mv_pending, i);
    if (p->target == uid && (p->mut || !mut_only)) {
      *pend = p;
      return true;
    }
  }
  for (size_t i = 0; i < rv_vec_len(&e->vars); i++) {
    const mv_var *r = MV_AT(&e->vars, mv_var, i);
    if (r->v.kind == MV_V_REF && r->v.target == uid && r->uid != skip && (r->v.mut || !mut_only) &&
        mv_ref_live(e, r)) {
      *ref = r;
      return true;
    }
  }
  return false;
}

/* A variable about to be read: reports uninitialised, moved and stale
 * borrows, and reading an owner while it is mutably borrowed. */
static mv_var *check_var(mv_engine *e, int binding, mv_loc loc, bool conflicts) {
  mv_var *v = mv_var_find(e, binding);
  if (!v) {
    return NULL;
  }
  if (v->state == MV_ST_UNINIT) {
    mv_err_uninit(e, v, loc);
    return NULL;
  }
  if (v->state == MV_ST_MOVED) {
    mv_err_moved(e, v, loc);
    return NULL;
  }
  if (v->v.kind == MV_V_REF && v->stale) {
    mv_err_stale(e, v, loc);
  }
  const mv_var *r;
  const mv_pending *p;
  if (conflicts && v->v.kind != MV_V_REF && live_borrow(e, v->uid, true, 0, &r, &p)) {
    char what[120];
    snprintf(what, sizeof(what), "use `%s`", v->name);
    mv_err_conflict(e, loc, what, r, p);
  }
  return v;
}

static mv_var *read_var(mv_engine *e, int binding, mv_loc loc) {
  return check_var(e, binding, loc, true);
}

/* Moves the value out of v (it must be live). */
static mv_value move_out(mv_engine *e, mv_var *v, mv_loc loc) {
  const mv_var *r;
  const mv_pending *p;
  if (live_borrow(e, v->uid, false, 0, &r, &p)) {
    mv_err_move_borrowed(e, v, loc, false, r, p);
  }
  v->state = MV_ST_MOVED;
  v->moved_at = loc;
  v->moved_by = e->cur;
  v->moved_arg = e->cur_arg;
  v->moved_by_drop = false;
  return v->v;
}

static void ref_info(const mv_var *v, mv_refinfo *info) {
  info->owner_name = v->owner_name;
  info->borrow_at = v->borrow_at;
  info->borrow_stmt = v->borrow_stmt;
}

static mv_value eval_ref(mv_engine *e, const mv_expr *x, mv_refinfo *info) {
  bool mut = x->kind == MV_E_REFMUT;
  mv_var *v = check_var(e, x->binding, x->name_loc, false);
  if (!v) {
    return OPAQUE;
  }
  if (v->v.kind == MV_V_REF) { /* a reborrow through a borrow */
    if (mut && !v->v.mut) {
      mv_err_shared_write(e, v, x->loc);
    }
    ref_info(v, info);
    info->borrow_at = x->loc;
    info->borrow_stmt = e->cur;
    return (mv_value){.kind = MV_V_REF, .target = v->v.target, .mut = mut};
  }
  const mv_var *r;
  const mv_pending *p;
  if (live_borrow(e, v->uid, !mut, 0, &r, &p)) {
    char what[120];
    snprintf(what, sizeof(what), "borrow `%s` as %s", v->name, mut ? "mutable" : "shared");
    mv_err_conflict(e, x->loc, what, r, p);
  }
  info->owner_name = v->name;
  info->borrow_at = x->loc;
  info->borrow_stmt = e->cur;
  return (mv_value){.kind = MV_V_REF, .target = v->uid, .mut = mut};
}

static mv_value eval_deref(mv_engine *e, const mv_expr *x) {
  mv_var *v = read_var(e, x->binding, x->name_loc);
  if (!v) {
    return OPAQUE;
  }
  if (v->v.kind == MV_V_REF) {
    mv_var *t = mv_var_uid(e, v->v.target);
    if (!t || t->v.kind == MV_V_OPAQUE) {
      return (mv_value){.kind = MV_V_INT};
    }
    if (t->v.kind == MV_V_INT) {
      return t->v;
    }
    mv_err_move_out_of_borrow(e, x->name, x->loc, false, v->v.mut);
    return OPAQUE;
  }
  if (v->v.kind == MV_V_HEAP) {
    const mv_block *b = mv_block_at(e, v->v.block);
    if (b && b->kind == MV_B_BOX) {
      return (mv_value){.kind = MV_V_INT, .i = b->ival};
    }
    if (b && b->kind == MV_B_RC && !b->inner) {
      return (mv_value){.kind = MV_V_INT, .i = b->ival};
    }
    if (b && b->kind == MV_B_RC) {
      mv_err_move_out_of_borrow(e, x->name, x->loc, true, false);
      return OPAQUE;
    }
    mv_err_type(e, x->loc, "a string has no single value to copy out",
                "cannot dereference a string; borrow it with `&` instead");
    return OPAQUE;
  }
  if (v->v.kind == MV_V_INT) {
    mv_err_type(e, x->loc, "an integer, not a box or a borrow", "cannot dereference an integer");
    return OPAQUE;
  }
  return (mv_value){.kind = MV_V_INT};
}

static mv_value eval_rc(mv_engine *e, const mv_expr *x) {
  mv_var *v = read_var(e, x->binding, x->name_loc);
  if (!v) {
    return OPAQUE;
  }
  if (v->v.kind == MV_V_REF) {
    mv_err_type(e, x->loc, "a borrow cannot be shared by counting",
                "cannot put a borrow into an rc");
    return OPAQUE;
  }
  mv_value in = v->v.kind == MV_V_INT ? v->v : move_out(e, v, x->name_loc);
  size_t idx = mv_block_new(e, MV_B_RC, 24);
  if (idx == SIZE_MAX) {
    return OPAQUE;
  }
  mv_block *b = mv_block_at(e, idx);
  if (in.kind == MV_V_INT) {
    b->ival = in.i;
  } else if (in.kind == MV_V_HEAP) {
    b->inner = in.block + 1;
    mv_block_at(e, in.block)->owned_by_rc = true;
  }
  return (mv_value){.kind = MV_V_HEAP, .block = idx};
}

static mv_value eval_clone(mv_engine *e, const mv_expr *x, mv_refinfo *info) {
  mv_var *v = read_var(e, x->binding, x->name_loc);
  if (!v) {
    return OPAQUE;
  }
  if (v->v.kind == MV_V_REF) {
    if (v->v.mut) {
      mv_err_type(e, x->loc, "a mutable borrow is exclusive", "cannot clone a mutable borrow");
      return OPAQUE;
    }
    ref_info(v, info);
    return v->v;
  }
  if (v->v.kind != MV_V_HEAP) {
    return v->v;
  }
  mv_block *b = mv_block_at(e, v->v.block);
  if (b->kind == MV_B_RC) {
    b->rc++;
    mv_emit(e, MV_EV_RC, b->id, "clone", "rc #%zu: count %zu -> %zu (clone %s)", b->id, b->rc - 1,
            b->rc, v->name);
    return v->v;
  }
  mv_bkind kind = b->kind;
  size_t size = b->size;
  int64_t ival = b->ival;
  const char *str = b->str;
  size_t slen = b->str_len;
  size_t idx = mv_block_new(e, kind, size);
  if (idx == SIZE_MAX) {
    return OPAQUE;
  }
  mv_block *c = mv_block_at(e, idx); /* b may have moved: mv_block_new grew the heap */
  c->ival = ival;
  c->str = str;
  c->str_len = slen;
  return (mv_value){.kind = MV_V_HEAP, .block = idx};
}

static mv_value eval(mv_engine *e, const mv_expr *x, mv_refinfo *info) {
  memset(info, 0, sizeof(*info));
  switch (x->kind) {
  case MV_E_INT:
    return (mv_value){.kind = MV_V_INT, .i = x->ival};
  case MV_E_BOX:
  case MV_E_STRING: {
    bool box = x->kind == MV_E_BOX;
    size_t idx = mv_block_new(e, box ? MV_B_BOX : MV_B_STRING, box ? 8 : x->str_len);
    if (idx == SIZE_MAX) {
      return OPAQUE;
    }
    mv_block *b = mv_block_at(e, idx);
    b->ival = x->ival;
    b->str = x->str;
    b->str_len = x->str_len;
    return (mv_value){.kind = MV_V_HEAP, .block = idx};
  }
  case MV_E_NAME: {
    mv_var *v = read_var(e, x->binding, x->name_loc);
    if (!v) {
      return OPAQUE;
    }
    if (v->v.kind == MV_V_INT || (v->v.kind == MV_V_REF && !v->v.mut)) {
      ref_info(v, info);
      return v->v; /* a copy */
    }
    ref_info(v, info);
    return move_out(e, v, x->name_loc);
  }
  case MV_E_REF:
  case MV_E_REFMUT:
    return eval_ref(e, x, info);
  case MV_E_RC:
    return eval_rc(e, x);
  case MV_E_CLONE:
    return eval_clone(e, x, info);
  case MV_E_DEREF:
    return eval_deref(e, x);
  }
  return OPAQUE;
}

/* A write to owner: shared borrows still live become stale (using them
 * later is an error); a live mutable borrow other than `via` conflicts.
 * A write through a mutable borrow (via != 0) marks nothing stale: that
 * borrow could only be taken while no shared one was live, or its taking
 * was already reported. */
static void mutate(mv_engine *e, mv_var *owner, mv_loc loc, uint64_t via) {
  const mv_var *r;
  const mv_pending *p;
  if (live_borrow(e, owner->uid, true, via, &r, &p)) {
    char what[120];
    snprintf(what, sizeof(what), "assign to `%s`", owner->name);
    mv_err_conflict(e, loc, what, r, p);
  }
  for (size_t i = 0; i < rv_vec_len(&e->vars) && via == 0; i++) {
    mv_var *s = MV_AT(&e->vars, mv_var, i);
    if (s->v.kind == MV_V_REF && !s->v.mut && s->v.target == owner->uid && mv_ref_live(e, s)) {
      s->stale = true;
      s->stale_at = loc;
      s->stale_stmt = e->cur;
    }
  }
}

static void set_value(mv_var *v, mv_value val, const mv_refinfo *info) {
  v->v = val;
  v->state = MV_ST_LIVE;
  v->stale = false;
  v->owner_name = info->owner_name;
  v->borrow_at = info->borrow_at;
  v->borrow_stmt = info->borrow_stmt;
}

/* Replaces what t holds with val; the old value is dropped. */
static void store(mv_engine *e, mv_var *t, mv_value val, const mv_refinfo *info) {
  if (t->state == MV_ST_LIVE && val.kind == MV_V_INT && t->v.kind == MV_V_HEAP) {
    mv_block *b = mv_block_at(e, t->v.block);
    if (b->kind == MV_B_BOX) {
      b->ival = val.i;
      return;
    }
  }
  if (t->state == MV_ST_LIVE) {
    char who[96];
    snprintf(who, sizeof(who), "`%s` was overwritten", t->name);
    mv_value_drop(e, &t->v, who, "overwritten");
  }
  set_value(t, val, info);
}

static int exec_list(mv_engine *e, const rv_vec *body);

/* Drops the variables from index mark up, newest first, and removes them.
 * block: the block ending (NULL at a function's end). */
static void scope_end(mv_engine *e, size_t mark, mv_loc end, const mv_stmt *block, const char *fn) {
  for (size_t i = rv_vec_len(&e->vars); i-- > mark;) {
    mv_var *v = MV_AT(&e->vars, mv_var, i);
    if (v->state != MV_ST_LIVE || v->v.kind == MV_V_REF) {
      continue;
    }
    const mv_var *r;
    const mv_pending *p;
    if (live_borrow(e, v->uid, false, 0, &r, &p) && r) {
      mv_err_dangling(e, v, r, end, block);
    }
    char who[96];
    if (block) {
      snprintf(who, sizeof(who), "`%s` went out of scope", v->name);
    } else {
      snprintf(who, sizeof(who), "`%s` went out of scope when %s returned", v->name, fn);
    }
    mv_value_drop(e, &v->v, who, "scope end");
  }
  e->vars.len = mark;
}

static void exec_print(mv_engine *e, const mv_stmt *s) {
  mv_var *v = read_var(e, s->binding, s->name_loc);
  if (!v || e->checking) {
    return;
  }
  const mv_var *t = v;
  if (v->v.kind == MV_V_REF) {
    t = mv_var_uid(e, v->v.target);
  }
  char val[160] = "?";
  if (t && t->v.kind == MV_V_INT) {
    snprintf(val, sizeof(val), "%lld", (long long)t->v.i);
  } else if (t && t->v.kind == MV_V_HEAP) {
    mv_block_describe(e, mv_block_at(e, t->v.block), val, sizeof(val));
  }
  mv_emit(e, MV_EV_PRINT, 0, "print", "%s%s = %s", v->v.kind == MV_V_REF ? "*" : "", s->name, val);
}

static void exec_drop(mv_engine *e, const mv_stmt *s) {
  mv_var *v = mv_var_find(e, s->binding);
  if (!v) {
    return;
  }
  if (v->state == MV_ST_UNINIT) {
    mv_err_uninit(e, v, s->name_loc);
    return;
  }
  if (v->state == MV_ST_MOVED) {
    if (v->moved_by_drop) {
      mv_err_double_drop(e, v, s->loc);
    } else {
      mv_err_moved(e, v, s->name_loc);
    }
    return;
  }
  const mv_var *r;
  const mv_pending *p;
  if (v->v.kind != MV_V_REF && live_borrow(e, v->uid, false, 0, &r, &p)) {
    mv_err_move_borrowed(e, v, s->loc, true, r, p);
  }
  char who[96];
  snprintf(who, sizeof(who), "drop(%s)", v->name);
  mv_value_drop(e, &v->v, who, "explicit drop");
  v->state = MV_ST_MOVED;
  v->moved_by_drop = true;
  v->moved_at = s->loc;
  v->moved_by = s;
  v->moved_arg = -1;
}

static void exec_store(mv_engine *e, const mv_stmt *s) {
  mv_refinfo info;
  mv_value val = eval(e, &s->e, &info);
  mv_var *x = read_var(e, s->binding, s->name_loc);
  if (!x) {
    return;
  }
  if (x->v.kind == MV_V_REF) {
    if (!x->v.mut) {
      mv_err_shared_write(e, x, s->loc);
    }
    mv_var *t = mv_var_uid(e, x->v.target);
    if (t) {
      mutate(e, t, s->loc, x->uid);
      store(e, t, val, &info);
    }
    return;
  }
  if (x->v.kind == MV_V_HEAP && mv_block_at(e, x->v.block)->kind == MV_B_BOX &&
      val.kind == MV_V_INT) {
    mutate(e, x, s->loc, 0);
    mv_block_at(e, x->v.block)->ival = val.i;
    return;
  }
  if (x->v.kind != MV_V_OPAQUE) {
    mv_err_type(e, s->loc, "only a box of an integer or a borrow can be written through",
                "cannot assign through this value");
  }
}

static int exec_fn_body(mv_engine *e, const mv_stmt *fn, const mv_value *vals,
                        const mv_refinfo *infos, const mv_stmt *call) {
  if (rv_vec_len(&e->frames) >= MV_MAX_DEPTH) {
    return RV_ELIMIT;
  }
  mv_frame f = {.fn = fn->name, .var_base = rv_vec_len(&e->vars), .cur_seq = fn->seq};
  if (rv_vec_push(&e->frames, &f) != RV_OK) {
    return RV_ENOMEM;
  }
  int rc = RV_OK;
  size_t np = rv_vec_len(&fn->params);
  uint64_t stand_in[16] = {0};
  if (e->checking) { /* stand-ins for the caller's places the borrows point at */
    for (size_t i = 0; i < np; i++) {
      mv_var *c = mv_var_new(e, "(caller)", -1, fn->name_loc);
      if (!c) {
        rc = RV_ENOMEM;
        goto out;
      }
      set_value(c, OPAQUE, &(mv_refinfo){0});
      stand_in[i] = c->uid;
    }
  }
  for (size_t i = 0; i < np; i++) {
    const mv_param *pm = MV_AT(&fn->params, mv_param, i);
    mv_var *v = mv_var_new(e, pm->name, pm->binding, pm->loc);
    if (!v) {
      rc = RV_ENOMEM;
      goto out;
    }
    if (e->checking || !vals || !infos) {
      mv_value val = OPAQUE;
      mv_refinfo info = {.owner_name = "(caller's value)", .borrow_at = pm->loc};
      if (pm->mode != MV_P_OWN) {
        val = (mv_value){.kind = MV_V_REF, .target = stand_in[i], .mut = pm->mode == MV_P_REFMUT};
      }
      set_value(v, val, &info);
    } else {
      set_value(v, vals[i], &infos[i]);
    }
  }
  if (!e->checking) {
    mv_emit(e, MV_EV_CALL, 0, "call", "enter %s", fn->name);
    char label[200];
    mv_stmt_text(e, call, label, sizeof(label));
    rc = mv_step(e, call ? call->loc.line : fn->loc.line, label);
    if (rc != RV_OK) {
      goto out;
    }
  }
  rc = exec_list(e, &fn->body);
  if (rc != RV_OK) {
    goto out;
  }
  mv_frame_top(e)->cur_seq = fn->end_seq;
  scope_end(e, mv_frame_top(e)->var_base, fn->end_loc, NULL, fn->name);
  if (!e->checking) {
    mv_emit(e, MV_EV_RETURN, 0, "return", "return from %s", fn->name);
    char label[160];
    snprintf(label, sizeof(label), "end of fn %s", fn->name);
    rc = mv_step(e, fn->end_loc.line, label);
  }
out:
  e->vars.len = f.var_base;
  e->frames.len--;
  return rc;
}

static int exec_call(mv_engine *e, const mv_stmt *s) {
  mv_value vals[16] = {0};
  mv_refinfo infos[16] = {0};
  size_t n = rv_vec_len(&s->args);
  if (!s->fn || n != rv_vec_len(&s->fn->params) || n > 16) {
    return RV_OK; /* reported by the resolver */
  }
  rv_vec_clear(&e->pending);
  for (size_t i = 0; i < n; i++) {
    const mv_expr *a = MV_AT(&s->args, mv_expr, i);
    const mv_param *pm = MV_AT(&s->fn->params, mv_param, i);
    e->cur_arg = (int)i;
    if (pm->mode != MV_P_OWN) {
      bool mut = pm->mode == MV_P_REFMUT;
      const mv_var *v = a->kind == MV_E_NAME ? mv_var_find(e, a->binding) : NULL;
      bool ok = mut ? a->kind == MV_E_REFMUT : a->kind == MV_E_REF;
      ok = ok || (v && v->state == MV_ST_LIVE && v->v.kind == MV_V_REF && (v->v.mut || !mut));
      if (!ok) {
        char msg[200];
        snprintf(msg, sizeof(msg), "`%s` borrows its parameter `%s`: pass `%s%s`", s->name,
                 pm->name, mut ? "&mut " : "&", a->name ? a->name : "x");
        mv_err_type(e, a->loc, mut ? "expected `&mut`" : "expected `&`", msg);
      }
    }
    if (pm->mode == MV_P_REFMUT && a->kind == MV_E_NAME) { /* reborrow, not a move */
      mv_var *v = read_var(e, a->binding, a->name_loc);
      vals[i] = v ? v->v : OPAQUE;
      memset(&infos[i], 0, sizeof(infos[i]));
      if (v) {
        ref_info(v, &infos[i]);
      }
    } else {
      vals[i] = eval(e, a, &infos[i]);
    }
    if (vals[i].kind == MV_V_REF) {
      mv_pending p = {.target = vals[i].target, .mut = vals[i].mut, .at = a->loc};
      if (rv_vec_push(&e->pending, &p) != RV_OK) {
        return RV_ENOMEM;
      }
    }
  }
  e->cur_arg = -1;
  rv_vec_clear(&e->pending);
  if (e->checking) {
    return RV_OK; /* the body was checked at its definition */
  }
  return exec_fn_body(e, s->fn, vals, infos, s);
}

static int exec_stmt(mv_engine *e, const mv_stmt *s) {
  mv_frame_top(e)->cur_seq = s->seq;
  e->cur = s;
  e->cur_arg = -1;
  size_t ndiags = rv_vec_len(&e->diags->list);
  mv_refinfo info = {0};
  int rc = RV_OK;
  switch (s->kind) {
  case MV_S_LET: {
    mv_value val = {.kind = MV_V_UNINIT};
    if (s->has_init) {
      val = eval(e, &s->e, &info);
    }
    mv_var *v = mv_var_new(e, s->name, s->binding, s->name_loc);
    if (!v) {
      return RV_ENOMEM;
    }
    v->decl_stmt = s;
    if (s->has_init) {
      set_value(v, val, &info);
    }
    break;
  }
  case MV_S_ASSIGN: {
    mv_value val = eval(e, &s->e, &info);
    mv_var *t = mv_var_find(e, s->binding);
    if (t) {
      if (t->state == MV_ST_LIVE && t->v.kind != MV_V_REF) {
        mutate(e, t, s->loc, 0);
      }
      store(e, t, val, &info);
    }
    break;
  }
  case MV_S_STORE:
    exec_store(e, s);
    break;
  case MV_S_PRINT:
    exec_print(e, s);
    break;
  case MV_S_DROP:
    exec_drop(e, s);
    break;
  case MV_S_BLOCK: {
    size_t mark = rv_vec_len(&e->vars);
    rc = exec_list(e, &s->body);
    if (rc != RV_OK) {
      return rc;
    }
    mv_frame_top(e)->cur_seq = s->end_seq;
    e->cur = s;
    scope_end(e, mark, s->end_loc, s, NULL);
    char label[80];
    snprintf(label, sizeof(label), "} end of the scope opened on line %u", s->loc.line);
    return mv_step(e, s->end_loc.line, label);
  }
  case MV_S_FN:
    if (e->checking) {
      return exec_fn_body(e, s, NULL, NULL, NULL);
    }
    return RV_OK;
  case MV_S_CALL:
    rc = exec_call(e, s);
    if (rc != RV_OK) {
      return rc;
    }
    break;
  }
  if (e->err) {
    return e->err;
  }
  if (!e->checking && rv_vec_len(&e->diags->list) > ndiags) {
    return RV_EMALFORMED; /* a run-time type error */
  }
  if (s->kind == MV_S_CALL && !e->checking) {
    return RV_OK; /* the call's steps were shown from inside */
  }
  char label[200];
  mv_stmt_text(e, s, label, sizeof(label));
  return mv_step(e, s->loc.line, label);
}

static int exec_list(mv_engine *e, const rv_vec *body) {
  for (size_t i = 0; i < rv_vec_len(body); i++) {
    int rc = exec_stmt(e, *MV_AT(body, mv_stmt *, i));
    if (rc != RV_OK) {
      return rc;
    }
  }
  return RV_OK;
}

/* At exit: what the top level still owns is leaked. */
static void at_exit(mv_engine *e) {
  for (size_t i = 0; i < rv_vec_len(&e->vars); i++) {
    const mv_var *v = MV_AT(&e->vars, mv_var, i);
    if (v->state != MV_ST_LIVE || v->v.kind != MV_V_HEAP) {
      continue;
    }
    const mv_block *b = mv_block_at(e, v->v.block);
    if (!b || b->freed) {
      continue;
    }
    if (e->checking) {
      if (e->strict) {
        mv_err_leak(e, v, b);
      }
    } else {
      mv_emit(e, MV_EV_LEAK, b->id, "leak", "leak: #%zu (%s, %zu B) still owned by `%s` at exit",
              b->id, mv_block_kind_name(b->kind), b->size, v->name);
    }
  }
}

int mv_check(mv_program *prog, mv_diags *diags, bool strict) {
  mv_engine e;
  int rc = mv_engine_init(&e, prog, diags, true);
  e.strict = strict;
  if (rc == RV_OK) {
    rc = exec_list(&e, &prog->top);
  }
  if (rc == RV_OK) {
    at_exit(&e);
    rc = e.err;
  }
  mv_engine_free(&e);
  if (rc == RV_OK && diags->oom) {
    rc = RV_ENOMEM;
  }
  return rc != RV_OK ? rc : rv_vec_len(&diags->list) ? RV_EMALFORMED : RV_OK;
}

int mv_run(mv_program *prog, mv_diags *diags, mv_step_fn on_step, void *ctx) {
  mv_engine e;
  int rc = mv_engine_init(&e, prog, diags, false);
  e.on_step = on_step;
  e.ctx = ctx;
  if (rc == RV_OK) {
    rc = exec_list(&e, &prog->top);
  }
  if (rc == RV_OK) {
    e.cur = NULL;
    at_exit(&e);
    rc = e.err ? e.err : mv_step(&e, 0, "exit");
  }
  mv_engine_free(&e);
  return rc;
}
