/* memviz: the ownership engine's state: variables, frames, heap blocks and
 * events, plus the descriptions the renderers show. The statements that
 * change this state are in exec.c. */
#include <stdarg.h>
#include <string.h>

#include "mv.h"

static int index_stmts(mv_engine *e, const rv_vec *body) {
  for (size_t i = 0; i < rv_vec_len(body); i++) {
    mv_stmt *s = *MV_AT(body, mv_stmt *, i);
    if (s->seq < rv_vec_len(&e->by_seq)) {
      *MV_AT(&e->by_seq, mv_stmt *, s->seq) = s;
    }
    if (s->kind == MV_S_BLOCK || s->kind == MV_S_FN) {
      int rc = index_stmts(e, &s->body);
      if (rc != RV_OK) {
        return rc;
      }
    }
  }
  return RV_OK;
}

int mv_engine_init(mv_engine *e, mv_program *prog, mv_diags *diags, bool checking) {
  memset(e, 0, sizeof(*e));
  e->prog = prog;
  e->diags = diags;
  e->checking = checking;
  e->max_steps = MV_MAX_STEPS;
  e->next_uid = 1;
  rv_vec_init(&e->vars, sizeof(mv_var), prog->alloc);
  rv_vec_init(&e->heap, sizeof(mv_block), prog->alloc);
  rv_vec_init(&e->frames, sizeof(mv_frame), prog->alloc);
  rv_vec_init(&e->events, sizeof(mv_event), prog->alloc);
  rv_vec_init(&e->pending, sizeof(mv_pending), prog->alloc);
  rv_vec_init(&e->by_seq, sizeof(mv_stmt *), prog->alloc);
  for (uint32_t i = 0; i <= prog->nseq; i++) {
    mv_stmt *none = NULL;
    if (rv_vec_push(&e->by_seq, &none) != RV_OK) {
      return RV_ENOMEM;
    }
  }
  mv_frame main = {.fn = "main"};
  if (rv_vec_push(&e->frames, &main) != RV_OK) {
    return RV_ENOMEM;
  }
  return index_stmts(e, &prog->top);
}

void mv_engine_free(mv_engine *e) {
  rv_vec_free(&e->vars);
  rv_vec_free(&e->heap);
  rv_vec_free(&e->frames);
  rv_vec_free(&e->events);
  rv_vec_free(&e->pending);
  rv_vec_free(&e->by_seq);
}

mv_frame *mv_frame_top(mv_engine *e) {
  return MV_AT(&e->frames, mv_frame, rv_vec_len(&e->frames) - 1);
}

mv_var *mv_var_find(mv_engine *e, int binding) {
  size_t base = mv_frame_top(e)->var_base;
  for (size_t i = rv_vec_len(&e->vars); i-- > base;) {
    mv_var *v = MV_AT(&e->vars, mv_var, i);
    if (v->binding == binding && binding >= 0) {
      return v;
    }
  }
  return NULL;
}

mv_var *mv_var_uid(mv_engine *e, uint64_t uid) {
  for (size_t i = rv_vec_len(&e->vars); i-- > 0;) {
    mv_var *v = MV_AT(&e->vars, mv_var, i);
    if (v->uid == uid) {
      return v;
    }
  }
  return NULL;
}

const mv_var *mv_engine_var_by_uid(const mv_engine *e, uint64_t uid) {
  for (size_t i = rv_vec_len(&e->vars); i-- > 0;) {
    const mv_var *v = MV_AT(&e->vars, mv_var, i);
    if (v->uid == uid) {
      return v;
    }
  }
  return NULL;
}

mv_var *mv_var_new(mv_engine *e, const char *name, int binding, mv_loc decl) {
  mv_var *v = rv_vec_push_slot(&e->vars);
  if (!v) {
    e->err = e->err ? e->err : RV_ENOMEM;
    return NULL;
  }
  memset(v, 0, sizeof(*v));
  v->name = name;
  v->uid = e->next_uid++;
  v->binding = binding;
  v->frame = rv_vec_len(&e->frames) - 1;
  v->decl = decl;
  v->moved_arg = -1;
  v->state = MV_ST_UNINIT;
  return v;
}

size_t mv_block_new(mv_engine *e, mv_bkind kind, size_t size) {
  mv_block *b = rv_vec_push_slot(&e->heap);
  if (!b) {
    e->err = e->err ? e->err : RV_ENOMEM;
    return SIZE_MAX;
  }
  memset(b, 0, sizeof(*b));
  b->id = rv_vec_len(&e->heap);
  b->kind = kind;
  b->size = size;
  b->rc = 1;
  return b->id - 1;
}

mv_block *mv_block_at(const mv_engine *e, size_t index) {
  return index < rv_vec_len(&e->heap) ? MV_AT(&e->heap, mv_block, index) : NULL;
}

const mv_stmt *mv_stmt_by_seq(const mv_engine *e, uint32_t seq) {
  return seq < rv_vec_len(&e->by_seq) ? *MV_AT(&e->by_seq, mv_stmt *, seq) : NULL;
}

bool mv_ref_live(const mv_engine *e, const mv_var *ref) {
  if (ref->state != MV_ST_LIVE || ref->v.kind != MV_V_REF) {
    return false;
  }
  if (ref->binding < 0) {
    return true; /* a caller's place seen from a function being checked */
  }
  const mv_binding *b = MV_AT(&e->prog->bindings, mv_binding, (size_t)ref->binding);
  const mv_frame *f = MV_AT(&e->frames, mv_frame, ref->frame);
  return b && f && b->last_use > f->cur_seq;
}

void mv_emit(mv_engine *e, mv_ekind kind, size_t block, const char *reason, const char *fmt, ...) {
  if (e->checking) {
    return;
  }
  mv_event *ev = rv_vec_push_slot(&e->events);
  if (!ev) {
    e->err = e->err ? e->err : RV_ENOMEM;
    return;
  }
  ev->kind = kind;
  ev->block = block;
  ev->reason = reason;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
  va_end(ap);
}

const char *mv_block_kind_name(mv_bkind k) {
  return k == MV_B_BOX ? "box" : k == MV_B_STRING ? "string" : "rc";
}

static void block_free(mv_engine *e, size_t index, const char *who, const char *reason) {
  mv_block *b = mv_block_at(e, index);
  if (!b || b->freed) {
    return;
  }
  b->freed = true;
  mv_emit(e, MV_EV_FREE, b->id, reason, "free #%zu (%s, %zu B): %s (%s)", b->id,
          mv_block_kind_name(b->kind), b->size, reason, who);
  if (b->inner) {
    size_t inner = b->inner - 1;
    char why[64];
    snprintf(why, sizeof(why), "its owner rc #%zu was freed", b->id);
    block_free(e, inner, why, "owner freed");
  }
}

void mv_value_drop(mv_engine *e, const mv_value *v, const char *who, const char *reason) {
  if (v->kind != MV_V_HEAP) {
    return;
  }
  mv_block *b = mv_block_at(e, v->block);
  if (!b || b->freed) {
    return;
  }
  if (b->kind == MV_B_RC && b->rc > 1) {
    b->rc--;
    mv_emit(e, MV_EV_RC, b->id, reason, "rc #%zu: count %zu -> %zu (%s)", b->id, b->rc + 1, b->rc,
            who);
    return;
  }
  if (b->kind == MV_B_RC) {
    b->rc = 0;
    char why[96];
    snprintf(why, sizeof(why), "%s; last reference gone", who);
    block_free(e, v->block, why, reason);
    return;
  }
  block_free(e, v->block, who, reason);
}

int mv_step(mv_engine *e, uint32_t line, const char *label) {
  int rc = RV_OK;
  if (!e->checking) {
    if (++e->steps > e->max_steps) {
      return RV_ELIMIT;
    }
    if (e->on_step) {
      rc = e->on_step(e->ctx, e, line, label);
    }
  }
  rv_vec_clear(&e->events);
  return rc;
}

void mv_engine_block_owner(const mv_engine *e, size_t index, char *buf, size_t n) {
  const mv_block *b = mv_block_at(e, index);
  buf[0] = '\0';
  if (!b) {
    return;
  }
  if (b->owned_by_rc) {
    for (size_t i = 0; i < rv_vec_len(&e->heap); i++) {
      const mv_block *o = mv_block_at(e, i);
      if (!o->freed && o->inner == index + 1) {
        snprintf(buf, n, "rc #%zu", o->id);
        return;
      }
    }
  }
  size_t used = 0;
  for (size_t i = 0; i < rv_vec_len(&e->vars); i++) {
    const mv_var *v = MV_AT(&e->vars, mv_var, i);
    if (v->state == MV_ST_LIVE && v->v.kind == MV_V_HEAP && v->v.block == index) {
      const mv_frame *f = MV_AT(&e->frames, mv_frame, v->frame);
      int w = snprintf(buf + used, n - used, "%s%s%s%s", used ? ", " : "", v->frame ? f->fn : "",
                       v->frame ? "::" : "", v->name);
      if (w < 0 || (size_t)w >= n - used) {
        return;
      }
      used += (size_t)w;
    }
  }
}

static void quote(char *buf, size_t n, const char *s, size_t len) {
  size_t o = 0;
  if (n < 8) {
    buf[0] = '\0';
    return;
  }
  buf[o++] = '"';
  for (size_t i = 0; i < len && o + 6 < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)c;
    } else if (c == '\n') {
      buf[o++] = '\\';
      buf[o++] = 'n';
    } else if (c < 0x20 || c == 0x7f) {
      buf[o++] = '?';
    } else {
      buf[o++] = (char)c;
    }
  }
  buf[o++] = '"';
  buf[o] = '\0';
}

void mv_block_describe(const mv_engine *e, const mv_block *b, char *buf, size_t n) {
  if (b->kind == MV_B_STRING) {
    quote(buf, n, b->str ? b->str : "", b->str_len);
  } else if (b->kind == MV_B_RC && b->inner) {
    const mv_block *in = mv_block_at(e, b->inner - 1);
    snprintf(buf, n, "%s #%zu", in ? mv_block_kind_name(in->kind) : "?", in ? in->id : 0);
  } else {
    snprintf(buf, n, "%lld", (long long)b->ival);
  }
}

void mv_var_describe(const mv_engine *e, const mv_var *v, char *val, size_t nval, char *state,
                     size_t nstate) {
  val[0] = '\0';
  if (v->state == MV_ST_MOVED) {
    snprintf(val, nval, "-");
    snprintf(state, nstate, "%s (line %u)", v->moved_by_drop ? "dropped" : "moved-from",
             v->moved_at.line);
    return;
  }
  switch (v->v.kind) {
  case MV_V_INT:
    snprintf(val, nval, "%lld", (long long)v->v.i);
    break;
  case MV_V_HEAP: {
    const mv_block *b = mv_block_at(e, v->v.block);
    snprintf(val, nval, "%s #%zu", b ? mv_block_kind_name(b->kind) : "?", b ? b->id : 0);
    break;
  }
  case MV_V_REF:
    snprintf(val, nval, "&%s%s", v->v.mut ? "mut " : "", v->owner_name ? v->owner_name : "?");
    break;
  case MV_V_OPAQUE:
    snprintf(val, nval, "(value)");
    break;
  case MV_V_UNINIT:
    snprintf(val, nval, "-");
    break;
  }
  if (v->state == MV_ST_UNINIT) {
    snprintf(state, nstate, "uninitialised");
    return;
  }
  if (v->state == MV_ST_MOVED) {
    snprintf(state, nstate, "%s (line %u)", v->moved_by_drop ? "dropped" : "moved-from",
             v->moved_at.line);
    return;
  }
  if (v->v.kind == MV_V_REF) {
    const mv_var *t = mv_engine_var_by_uid(e, v->v.target);
    snprintf(state, nstate, "%s%s", v->v.mut ? "mutable borrow" : "shared borrow",
             !t                  ? " (dangling)"
             : mv_ref_live(e, v) ? ""
                                 : " (not used again)");
    return;
  }
  /* An owner: say who borrows it right now. */
  size_t shared = 0, mut = 0;
  for (size_t i = 0; i < rv_vec_len(&e->vars); i++) {
    const mv_var *r = MV_AT(&e->vars, mv_var, i);
    if (r->v.target == v->uid && mv_ref_live(e, r)) {
      if (r->v.mut) {
        mut++;
      } else {
        shared++;
      }
    }
  }
  if (mut) {
    snprintf(state, nstate, "owned, borrowed mutably");
  } else if (shared) {
    snprintf(state, nstate, "owned, borrowed shared (%zu)", shared);
  } else {
    snprintf(state, nstate, "owned");
  }
}
