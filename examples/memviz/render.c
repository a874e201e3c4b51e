/* memviz: the text and JSON renderings of a step. */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "mv.h"

static const char *ev_kind(mv_ekind k) {
  switch (k) {
  case MV_EV_FREE:
    return "free";
  case MV_EV_PRINT:
    return "print";
  case MV_EV_CALL:
    return "call";
  case MV_EV_RETURN:
    return "return";
  case MV_EV_LEAK:
    return "leak";
  case MV_EV_RC:
    return "rc";
  }
  return "?";
}

int mv_render_text_step(void *ctx, const mv_engine *e, uint32_t line, const char *label) {
  const mv_text_ctx *t = ctx;
  FILE *o = t->out;
  const char *b = t->color ? "\033[1m" : "", *dim = t->color ? "\033[2m" : "";
  const char *red = t->color ? "\033[31m" : "", *grn = t->color ? "\033[32m" : "";
  const char *yel = t->color ? "\033[33m" : "", *cyn = t->color ? "\033[36m" : "";
  const char *off = t->color ? "\033[0m" : "";
  if (line) {
    fprintf(o, "%s== step %zu, line %u: %s%s\n", b, e->steps, line, label, off);
  } else {
    fprintf(o, "%s== step %zu: %s%s\n", b, e->steps, label, off);
  }
  fprintf(o, "  stack:\n");
  for (size_t f = 0; f < rv_vec_len(&e->frames); f++) {
    const mv_frame *fr = MV_AT(&e->frames, mv_frame, f);
    fprintf(o, "    %s%s%s\n", cyn, fr->fn, off);
    for (size_t i = fr->var_base; i < rv_vec_len(&e->vars); i++) {
      const mv_var *v = MV_AT(&e->vars, mv_var, i);
      if (v->frame != f) {
        continue;
      }
      char val[80], st[80];
      mv_var_describe(e, v, val, sizeof(val), st, sizeof(st));
      const char *c = v->state != MV_ST_LIVE ? red : v->v.kind == MV_V_REF ? yel : grn;
      fprintf(o, "      %-8s %-12s %s%s%s\n", v->name, val, c, st, off);
    }
  }
  fprintf(o, "  heap:");
  size_t live = 0;
  for (size_t i = 0; i < rv_vec_len(&e->heap); i++) {
    const mv_block *bl = MV_AT(&e->heap, mv_block, i);
    if (bl->freed) {
      continue;
    }
    char val[120], own[120];
    mv_block_describe(e, bl, val, sizeof(val));
    fprintf(o, "%s    #%-3zu %-6s %4zu B  %-12s ", live ? "" : "\n", bl->id,
            mv_block_kind_name(bl->kind), bl->size, val);
    if (bl->kind == MV_B_RC) {
      mv_engine_block_owner(e, i, own, sizeof(own));
      fprintf(o, "rc=%zu (%s)\n", bl->rc, own);
    } else {
      mv_engine_block_owner(e, i, own, sizeof(own));
      fprintf(o, "owner: %s\n", own[0] ? own : "-");
    }
    live++;
  }
  if (!live) {
    fprintf(o, " %s(empty)%s\n", dim, off);
  }
  for (size_t i = 0; i < rv_vec_len(&e->events); i++) {
    const mv_event *ev = MV_AT(&e->events, mv_event, i);
    const char *c = ev->kind == MV_EV_FREE || ev->kind == MV_EV_LEAK ? yel : cyn;
    fprintf(o, "  %s%s: %s%s\n", c, ev_kind(ev->kind), ev->text, off);
  }
  fputc('\n', o);
  return ferror(o) ? RV_EIO : RV_OK;
}

int mv_json_str(rv_buf *buf, const char *s, size_t n) {
  int rc = rv_buf_push(buf, '"');
  for (size_t i = 0; i < n && rc == RV_OK; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      rc = rv_buf_append(buf, esc, 2);
    } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
      /* <, > and & escaped too, so the JSON can sit inside an HTML <script>. */
      char esc[8];
      snprintf(esc, sizeof(esc), "\\u%04x", c);
      rc = rv_buf_append(buf, esc, 6);
    } else {
      rc = rv_buf_push(buf, c);
    }
  }
  return rc == RV_OK ? rv_buf_push(buf, '"') : rc;
}

static int put(rv_buf *b, const char *s) { return rv_buf_append(b, s, strlen(s)); }

static int putf(rv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int putf(rv_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0) {
    return RV_EINVAL;
  }
  return rv_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static int kv(rv_buf *b, const char *key, const char *val, bool comma) {
  int rc = putf(b, "%s\"%s\":", comma ? "," : "", key);
  return rc == RV_OK ? mv_json_str(b, val, strlen(val)) : rc;
}

static int json_var(rv_buf *b, const mv_engine *e, const mv_var *v) {
  char val[80], st[80];
  mv_var_describe(e, v, val, sizeof(val), st, sizeof(st));
  static const char *const kinds[] = {"uninit", "int", "heap", "ref", "value"};
  int rc = putf(b, "{\"uid\":%" PRIu64 ",", v->uid);
  rc = rc ? rc : kv(b, "name", v->name, false);
  rc = rc ? rc : kv(b, "kind", kinds[v->v.kind], true);
  rc = rc ? rc : kv(b, "value", val, true);
  rc = rc ? rc : kv(b, "state", st, true);
  if (rc == RV_OK && v->state == MV_ST_LIVE && v->v.kind == MV_V_HEAP) {
    const mv_block *bl = mv_block_at(e, v->v.block);
    rc = putf(b, ",\"block\":%zu", bl ? bl->id : 0);
  }
  if (rc == RV_OK && v->state == MV_ST_LIVE && v->v.kind == MV_V_REF) {
    rc = putf(b, ",\"target\":%" PRIu64 ",\"mut\":%s", v->v.target, v->v.mut ? "true" : "false");
  }
  return rc ? rc : put(b, "}");
}

int mv_json_step(rv_buf *b, const mv_engine *e, uint32_t line, const char *label) {
  int rc = putf(b, "{\"step\":%zu,\"line\":%u,", e->steps, line);
  rc = rc ? rc : kv(b, "label", label, false);
  rc = rc ? rc : put(b, ",\"stack\":[");
  for (size_t f = 0; f < rv_vec_len(&e->frames) && rc == RV_OK; f++) {
    const mv_frame *fr = MV_AT(&e->frames, mv_frame, f);
    rc = put(b, f ? ",{" : "{");
    rc = rc ? rc : kv(b, "frame", fr->fn, false);
    rc = rc ? rc : put(b, ",\"vars\":[");
    bool first = true;
    for (size_t i = fr->var_base; i < rv_vec_len(&e->vars) && rc == RV_OK; i++) {
      const mv_var *v = MV_AT(&e->vars, mv_var, i);
      if (v->frame != f) {
        continue;
      }
      rc = first ? RV_OK : put(b, ",");
      rc = rc ? rc : json_var(b, e, v);
      first = false;
    }
    rc = rc ? rc : put(b, "]}");
  }
  rc = rc ? rc : put(b, "],\"heap\":[");
  bool first = true;
  for (size_t i = 0; i < rv_vec_len(&e->heap) && rc == RV_OK; i++) {
    const mv_block *bl = MV_AT(&e->heap, mv_block, i);
    if (bl->freed) {
      continue;
    }
    char val[120], own[120];
    mv_block_describe(e, bl, val, sizeof(val));
    mv_engine_block_owner(e, i, own, sizeof(own));
    rc = putf(b, "%s{\"id\":%zu,\"size\":%zu,\"rc\":%zu", first ? "" : ",", bl->id, bl->size,
              bl->kind == MV_B_RC ? bl->rc : 0);
    rc = rc ? rc : kv(b, "kind", mv_block_kind_name(bl->kind), true);
    rc = rc ? rc : kv(b, "value", val, true);
    rc = rc ? rc : kv(b, "owner", own, true);
    if (rc == RV_OK && bl->inner) {
      rc = putf(b, ",\"inner\":%zu", mv_block_at(e, bl->inner - 1)->id);
    }
    rc = rc ? rc : put(b, "}");
    first = false;
  }
  rc = rc ? rc : put(b, "],\"events\":[");
  for (size_t i = 0; i < rv_vec_len(&e->events) && rc == RV_OK; i++) {
    const mv_event *ev = MV_AT(&e->events, mv_event, i);
    rc = put(b, i ? ",{" : "{");
    rc = rc ? rc : kv(b, "kind", ev_kind(ev->kind), false);
    if (rc == RV_OK && ev->block) {
      rc = putf(b, ",\"block\":%zu", ev->block);
    }
    rc = rc ? rc : kv(b, "reason", ev->reason ? ev->reason : "", true);
    rc = rc ? rc : kv(b, "text", ev->text, true);
    rc = rc ? rc : put(b, "}");
  }
  return rc ? rc : put(b, "]}");
}

int mv_render_json_step(void *ctx, const mv_engine *e, uint32_t line, const char *label) {
  FILE *o = ctx;
  rv_buf b;
  rv_buf_init(&b, NULL);
  int rc = mv_json_step(&b, e, line, label);
  if (rc == RV_OK) {
    fwrite(b.data, 1, b.len, o);
    fputc('\n', o);
    rc = ferror(o) ? RV_EIO : RV_OK;
  }
  rv_buf_free(&b);
  return rc;
}

int mv_render_html_step(void *ctx, const mv_engine *e, uint32_t line, const char *label) {
  mv_html_ctx *h = ctx;
  int rc = h->n ? rv_buf_push(&h->steps, ',') : RV_OK;
  rc = rc ? rc : mv_json_step(&h->steps, e, line, label);
  h->n++;
  return rc;
}
