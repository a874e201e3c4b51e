/* respond.c: response helpers shared by the handlers and middlewares, and
 * the small routes (health, readiness, metrics, info, flags, fallback). */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include <rivet/core/err.h>

int api_begin(rv_http_ctx *ctx, int status) {
  int rc = rv_http_response_begin(&ctx->res, ctx->out, status);
  const api_req *r = ctx->user;
  if (rc != RV_OK || r == NULL) {
    return rc;
  }
  if (r->traced) {
    (void)rv_http_response_header(&ctx->res, "X-Request-Id",
                                  rv_slice_make(r->request_id, RV_TRACE_ID_LEN));
    (void)rv_http_response_header(&ctx->res, "traceparent",
                                  rv_slice_make(r->traceparent, RV_TRACEPARENT_LEN));
  }
  if (r->has_rl) {
    (void)rv_ratelimit_write_headers(&ctx->res, &r->rl);
  }
  return ctx->res.error; /* sticky: also reported by end */
}

int api_finish_json(rv_http_ctx *ctx, api_worker *w) {
  (void)rv_http_response_header(&ctx->res, "Content-Type", rv_slice_cstr("application/json"));
  return rv_http_response_end(&ctx->res, rv_buf_slice(&w->json));
}

int api_error(rv_http_ctx *ctx, api_worker *w, const api_err *e, const char *hname,
              const char *hval) {
  const api_req *r = ctx->user;
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  api_jw_lit(&jw, "{\"error\":{\"code\":");
  api_jw_cstr(&jw, e->code);
  api_jw_lit(&jw, ",\"message\":");
  api_jw_cstr(&jw, e->msg);
  if (r != NULL && r->traced) {
    api_jw_lit(&jw, ",\"request_id\":");
    api_jw_cstr(&jw, r->request_id);
  }
  api_jw_lit(&jw, "}}");
  if (jw.err != RV_OK) {
    return jw.err;
  }
  (void)api_begin(ctx, e->status);
  if (hname != NULL) {
    (void)rv_http_response_header(&ctx->res, hname, rv_slice_cstr(hval));
  }
  return api_finish_json(ctx, w);
}

int api_error_simple(rv_http_ctx *ctx, api_worker *w, int status, const char *code,
                     const char *msg) {
  api_err e;
  (void)api_err_set(&e, status, code, "%s", msg);
  return api_error(ctx, w, &e, NULL, NULL);
}

/* Log a request's failure with its request id and the error's name. */
void api_log_error(rv_http_ctx *ctx, api_worker *w, const char *msg, int rc) {
  const api_req *r = ctx->user;
  if (w->app->log == NULL) {
    return;
  }
  const char *rid = r != NULL && r->traced ? r->request_id : NULL;
  rv_log_field f[3] = {
      RV_LOG_STR("request_id", rid), RV_LOG_STR("error", rv_err_name(rc)),
      RV_LOG_STR("route", api_route_pattern(r != NULL ? r->route : API_R_UNMATCHED))};
  (void)rv_log_write(w->app->log, RV_LOG_ERROR, msg, f, 3);
}

int api_store_error(rv_http_ctx *ctx, api_worker *w, int rc, const char *what, const char *id) {
  api_err e;
  switch (rc) {
  case RV_ENOTFOUND:
    (void)api_err_set(&e, 404, "not_found", "%s '%s' not found", what, id);
    return api_error(ctx, w, &e, NULL, NULL);
  case RV_EEXIST:
    (void)api_err_set(&e, 409, "conflict", "%s '%s' already exists", what, id);
    return api_error(ctx, w, &e, NULL, NULL);
  case RV_ESTATE:
    (void)api_err_set(&e, 412, "precondition_failed", "%s '%s' has another version", what, id);
    return api_error(ctx, w, &e, NULL, NULL);
  case RV_EBUSY:
    rv_counter_add(w->app->store_busy, 1);
    api_log_error(ctx, w, "database busy: answered 503", rc);
    (void)api_err_set(&e, 503, "busy", "the database is busy; retry shortly");
    return api_error(ctx, w, &e, "Retry-After", "1");
  default:
    rv_counter_add(w->app->store_errors, 1);
    api_log_error(ctx, w, "storage error", rc);
    (void)api_err_set(&e, 500, "internal", "internal error");
    return api_error(ctx, w, &e, NULL, NULL);
  }
}

void api_set_route(rv_http_ctx *ctx, const api_route_ud *ud) {
  api_req *r = ctx->user;
  if (r != NULL) {
    r->route = ud->id;
  }
}

bool api_json_content(const rv_http_ctx *ctx) {
  rv_slice v;
  if (!rv_http_header_get(ctx->req, "Content-Type", &v)) {
    return false;
  }
  size_t n = 0;
  while (n < v.len && v.ptr[n] != ';') {
    n++;
  }
  while (n > 0 && (v.ptr[n - 1] == ' ' || v.ptr[n - 1] == '\t')) {
    n--;
  }
  static const char want[] = "application/json";
  if (n != sizeof want - 1) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = v.ptr[i];
    if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)want[i]) {
      return false;
    }
  }
  return true;
}

int api_parse_body(rv_http_ctx *ctx, api_worker *w, json_t **out) {
  api_err e;
  if (!api_json_content(ctx)) {
    (void)api_err_set(&e, 415, "unsupported_media_type", "Content-Type must be application/json");
    (void)api_error(ctx, w, &e, NULL, NULL);
    return RV_EMALFORMED;
  }
  if (api_json_parse_object(ctx->body, out, &e) != 0) {
    (void)api_error(ctx, w, &e, NULL, NULL);
    return RV_EMALFORMED;
  }
  return RV_OK;
}

static int hex(uint8_t c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int api_query(const rv_http_ctx *ctx, const char *const *names, api_qv *vals, size_t n,
              api_err *e) {
  for (size_t i = 0; i < n; i++) {
    vals[i].set = false;
    vals[i].len = 0;
  }
  rv_slice q = ctx->req->query, pair;
  while (q.len > 0) {
    (void)rv_slice_split(&q, '&', &pair);
    if (pair.len == 0) {
      continue;
    }
    rv_slice key = pair, val = {NULL, 0};
    ptrdiff_t eq = rv_slice_find(pair, '=');
    if (eq >= 0) {
      key.len = (size_t)eq;
      val = rv_slice_make(pair.ptr + eq + 1, pair.len - (size_t)eq - 1);
    }
    size_t k = 0;
    while (k < n && !(strlen(names[k]) == key.len && memcmp(names[k], key.ptr, key.len) == 0)) {
      k++;
    }
    if (k == n) {
      char shown[33]; /* raw URL bytes: quote only safe ones */
      size_t sl = key.len < 32 ? key.len : 32;
      for (size_t i = 0; i < sl; i++) {
        char ch = (char)key.ptr[i];
        if (!api_charset_ok(API_CS_ID, &ch, 1)) {
          ch = '?';
        }
        shown[i] = ch;
      }
      shown[sl] = '\0';
      return api_err_set(e, 400, "unknown_parameter", "unknown query parameter '%s'", shown);
    }
    if (vals[k].set) {
      return api_err_set(e, 400, "invalid_parameter", "query parameter '%s' given twice", names[k]);
    }
    size_t o = 0;
    for (size_t i = 0; i < val.len; i++) {
      int c = val.ptr[i];
      if (c == '%') {
        int hi = i + 2 < val.len ? hex(val.ptr[i + 1]) : -1;
        int lo = hi >= 0 ? hex(val.ptr[i + 2]) : -1;
        if (lo < 0) {
          return api_err_set(e, 400, "invalid_parameter", "bad percent-encoding in '%s'", names[k]);
        }
        c = hi * 16 + lo;
        i += 2;
      }
      if (o == sizeof vals[k].buf - 1) {
        return api_err_set(e, 400, "invalid_parameter", "query parameter '%s' is too long",
                           names[k]);
      }
      vals[k].buf[o++] = (char)c;
    }
    vals[k].buf[o] = '\0';
    vals[k].len = o;
    vals[k].set = true;
  }
  return 0;
}

int api_query_limit(const api_qv *v, size_t def, size_t max, size_t *out, api_err *e) {
  if (!v->set) {
    *out = def;
    return 0;
  }
  size_t n = 0;
  bool ok = v->len > 0 && v->len <= 9;
  for (size_t i = 0; i < v->len && ok; i++) {
    ok = v->buf[i] >= '0' && v->buf[i] <= '9';
    n = n * 10 + (size_t)(v->buf[i] - '0');
  }
  if (!ok || n < 1 || n > max) {
    return api_err_set(e, 400, "invalid_parameter", "limit must be an integer from 1 to %zu", max);
  }
  *out = n;
  return 0;
}

/* ---- small routes -------------------------------------------------------- */

static int h_healthz(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_set_route(ctx, u);
  rv_buf_clear(&u->w->json);
  api_jw jw = {&u->w->json, 0};
  api_jw_lit(&jw, "{\"status\":\"ok\"}");
  (void)api_begin(ctx, 200);
  return jw.err != RV_OK ? jw.err : api_finish_json(ctx, u->w);
}

static int h_readyz(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  api_set_route(ctx, u);
  /* relaxed: see api_app_set_draining(). */
  bool draining = atomic_load_explicit(&w->app->draining, memory_order_relaxed);
  const char *state = "ready";
  int status = 200;
  if (draining) {
    state = "draining";
    status = 503;
  } else {
    int rc = api_store_ping(w->store);
    if (rc != RV_OK) {
      state = rc == RV_EBUSY ? "busy" : "unavailable";
      status = 503;
      if (rc != RV_EBUSY) {
        api_log_error(ctx, w, "readiness: store ping failed", rc);
      }
    }
  }
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  api_jw_lit(&jw, "{\"status\":");
  api_jw_cstr(&jw, state);
  api_jw_lit(&jw, "}");
  (void)api_begin(ctx, status);
  if (status == 503) {
    (void)rv_http_response_header(&ctx->res, "Retry-After", rv_slice_cstr("1"));
  }
  return jw.err != RV_OK ? jw.err : api_finish_json(ctx, w);
}

static int h_metrics(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_set_route(ctx, u);
  rv_buf_clear(&u->w->json);
  int rc = rv_metrics_expose(u->w->app->metrics, &u->w->json);
  if (rc != RV_OK) {
    return rc;
  }
  (void)api_begin(ctx, 200);
  (void)rv_http_response_header(&ctx->res, "Content-Type", rv_slice_cstr(RV_METRICS_CONTENT_TYPE));
  return rv_http_response_end(&ctx->res, rv_buf_slice(&u->w->json));
}

static int h_info(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  const api_app *a = u->w->app;
  if (ctx->user == NULL) {
    /* The raw route: no middleware state, one precomputed body. */
    return rv_http_reply(ctx, 200, "application/json", rv_slice_make(a->info, a->info_len));
  }
  api_set_route(ctx, u);
  (void)api_begin(ctx, 200);
  (void)rv_http_response_header(&ctx->res, "Content-Type", rv_slice_cstr("application/json"));
  return rv_http_response_end(&ctx->res, rv_slice_make(a->info, a->info_len));
}

static int write_flags(api_worker *w) {
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  for (size_t i = 0; i < API_FLAG_COUNT; i++) {
    api_jw_lit(&jw, i == 0 ? "{" : ",");
    api_jw_cstr(&jw, api_flag_name((api_flag)i));
    api_jw_lit(&jw, api_app_flag(w->app, (api_flag)i) ? ":true" : ":false");
  }
  api_jw_lit(&jw, "}");
  return jw.err;
}

static int h_flags_get(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_set_route(ctx, u);
  int rc = write_flags(u->w);
  if (rc != RV_OK) {
    return rc;
  }
  (void)api_begin(ctx, 200);
  return api_finish_json(ctx, u->w);
}

static int h_flags_put(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  api_set_route(ctx, u);
  json_t *j = NULL;
  if (api_parse_body(ctx, w, &j) != RV_OK) {
    return RV_OK;
  }
  bool set[API_FLAG_COUNT] = {false}, val[API_FLAG_COUNT] = {false};
  api_err e;
  const char *key;
  json_t *v;
  int bad = 0;
  json_object_foreach(j, key, v) {
    api_flag f;
    if (!api_flag_parse(key, strlen(key), &f)) {
      bad = api_err_set(&e, 400, "unknown_field", "unknown flag (known: %s, %s, %s)",
                        api_flag_name(API_FLAG_TELEMETRY_INGEST),
                        api_flag_name(API_FLAG_DEVICE_WRITES), api_flag_name(API_FLAG_ACCESS_LOG));
      break;
    }
    if (!json_is_boolean(v)) {
      bad = api_err_set(&e, 400, "invalid_type", "flag '%s' must be true or false", key);
      break;
    }
    set[f] = true;
    val[f] = json_is_true(v);
  }
  json_decref(j);
  if (bad != 0) {
    return api_error(ctx, w, &e, NULL, NULL);
  }
  const api_req *r = ctx->user;
  for (size_t i = 0; i < API_FLAG_COUNT; i++) {
    if (!set[i]) {
      continue;
    }
    bool old = api_app_flag(w->app, (api_flag)i);
    api_app_set_flag(w->app, (api_flag)i, val[i]);
    rv_counter_add(w->app->flag_changes, 1);
    if (w->app->log != NULL) {
      rv_log_field f[5] = {RV_LOG_STR("request_id", r != NULL && r->traced ? r->request_id : NULL),
                           RV_LOG_STR("flag", api_flag_name((api_flag)i)), RV_LOG_BOOL("old", old),
                           RV_LOG_BOOL("new", val[i]),
                           RV_LOG_STR("sub", r != NULL && r->has_sub ? r->sub : NULL)};
      (void)rv_log_write(w->app->log, RV_LOG_INFO, "feature flag set", f, 5);
    }
  }
  int rc = write_flags(w);
  if (rc != RV_OK) {
    return rc;
  }
  (void)api_begin(ctx, 200);
  return api_finish_json(ctx, w);
}

/* Does the path match one of our patterns (literal and :param segments)? */
static bool pattern_match(const char *pat, rv_slice path) {
  size_t pi = 0;
  const char *p = pat;
  while (*p == '/') {
    if (pi >= path.len || path.ptr[pi] != '/') {
      return false;
    }
    p++;
    pi++;
    const char *pe = p;
    while (*pe != '\0' && *pe != '/') {
      pe++;
    }
    size_t s = pi;
    while (pi < path.len && path.ptr[pi] != '/') {
      pi++;
    }
    if (*p == ':') {
      if (pi == s) {
        return false;
      }
    } else if ((size_t)(pe - p) != pi - s || memcmp(p, path.ptr + s, pi - s) != 0) {
      return false;
    }
    p = pe;
  }
  return *p == '\0' && pi == path.len;
}

int api_route_fallback(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_set_route(ctx, u);
  char allow[96];
  size_t alen = 0;
  for (size_t i = 0; i < API_R_UNMATCHED; i++) {
    if (!pattern_match(api_route_pattern((api_route_id)i), ctx->req->path)) {
      continue;
    }
    const char *m = api_route_method((api_route_id)i);
    size_t ml = strlen(m);
    if (alen + ml + 2 < sizeof allow) {
      if (alen > 0) {
        allow[alen++] = ',';
        allow[alen++] = ' ';
      }
      memcpy(allow + alen, m, ml);
      alen += ml;
    }
  }
  allow[alen] = '\0';
  api_err e;
  if (alen == 0) {
    (void)api_err_set(&e, 404, "not_found", "no such resource");
    return api_error(ctx, u->w, &e, NULL, NULL);
  }
  (void)api_err_set(&e, 405, "method_not_allowed", "allowed methods: %s", allow);
  return api_error(ctx, u->w, &e, "Allow", allow);
}

rv_http_handler_fn api_handler(api_route_id id) {
  switch (id) {
  case API_R_HEALTHZ:
    return h_healthz;
  case API_R_READYZ:
    return h_readyz;
  case API_R_METRICS:
    return h_metrics;
  case API_R_INFO:
    return h_info;
  case API_R_FLAGS_GET:
    return h_flags_get;
  case API_R_FLAGS_PUT:
    return h_flags_put;
  default:
    return api_device_handler(id);
  }
}
