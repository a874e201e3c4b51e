/* handlers.c: the device and telemetry routes. */
#include "handlers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rivet/core/err.h>

/* Cursor versions (first byte): one per kind, so one kind's cursor is
 * never accepted for the other. */
enum { CURSOR_DEVICES = 1, CURSOR_TELEMETRY = 2 };

/* The :id parameter as a C string; false when it cannot name a device. */
static bool path_id(const rv_http_ctx *ctx, char out[API_ID_MAX + 1]) {
  rv_slice v;
  if (!rv_http_param_get(ctx, "id", &v) || v.len == 0 || v.len > API_ID_MAX ||
      !api_charset_ok(API_CS_ID, (const char *)v.ptr, v.len)) {
    return false;
  }
  memcpy(out, v.ptr, v.len);
  out[v.len] = '\0';
  return true;
}

static int not_found(rv_http_ctx *ctx, api_worker *w) {
  rv_slice v = {NULL, 0};
  (void)rv_http_param_get(ctx, "id", &v);
  char shown[API_ID_MAX + 1];
  size_t n = 0;
  for (size_t i = 0; i < v.len && n < API_ID_MAX; i++) {
    char ch = (char)v.ptr[i];
    if (!api_charset_ok(API_CS_ID, &ch, 1)) {
      ch = '?';
    }
    shown[n++] = ch;
  }
  shown[n] = '\0';
  return api_store_error(ctx, w, RV_ENOTFOUND, "device", shown);
}

static int flag_off(rv_http_ctx *ctx, api_worker *w, api_flag f) {
  api_err e;
  (void)api_err_set(&e, 503, "feature_disabled", "'%s' is switched off by an operator",
                    api_flag_name(f));
  return api_error(ctx, w, &e, NULL, NULL);
}

/* The common start of a handler: record the route for metrics and logs,
 * refuse while feature flag \p need is off (API_FLAG_COUNT: none), and
 * read the path's device id into \p id (NULL: the route has none). False
 * when the request has been answered; *rc is then the handler's result. */
static bool enter(rv_http_ctx *ctx, const api_route_ud *u, api_flag need, char *id, int *rc) {
  api_set_route(ctx, u);
  if (need != API_FLAG_COUNT && !api_app_flag(u->w->app, need)) {
    *rc = flag_off(ctx, u->w, need);
    return false;
  }
  if (id != NULL && !path_id(ctx, id)) {
    *rc = not_found(ctx, u->w);
    return false;
  }
  return true;
}

static int reply_device(rv_http_ctx *ctx, api_worker *w, int status, const api_device *d) {
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  api_jw_device(&jw, d);
  if (jw.err != RV_OK) {
    return jw.err;
  }
  char etag[32];
  (void)snprintf(etag, sizeof etag, "\"%lld\"", (long long)d->version);
  (void)api_begin(ctx, status);
  (void)rv_http_response_header(&ctx->res, "ETag", rv_slice_cstr(etag));
  if (status == 201) {
    char loc[16 + API_ID_MAX];
    (void)snprintf(loc, sizeof loc, "/v1/devices/%s", d->id);
    (void)rv_http_response_header(&ctx->res, "Location", rv_slice_cstr(loc));
  }
  return api_finish_json(ctx, w);
}

static int parse_status(json_t *obj, api_device *d, bool *given, api_err *e) {
  char st[16];
  int rc = api_json_string(obj, "status", "", false, 1, 15, API_CS_ID, st, e);
  if (rc < 0) {
    return rc;
  }
  *given = rc == 1;
  if (rc == 1) {
    if (strcmp(st, "active") == 0) {
      d->status = API_DEVICE_ACTIVE;
    } else if (strcmp(st, "disabled") == 0) {
      d->status = API_DEVICE_DISABLED;
    } else {
      return api_err_set(e, 400, "invalid_value", "field 'status' must be 'active' or 'disabled'");
    }
  }
  return 0;
}

/* Which fields a body gave (device_fields()). */
enum { F_NAME = 1u, F_MODEL = 2u, F_FIRMWARE = 4u, F_STATUS = 8u };

/* Fields of a device body; create needs id and name, patch at least one. */
static int device_fields(json_t *j, api_device *d, bool create, unsigned *given, api_err *e) {
  static const char *const create_names[] = {"id", "name", "model", "firmware", "status"};
  int rc = create ? api_json_known(j, create_names, 5, "", e)
                  : api_json_known(j, create_names + 1, 4, "", e);
  *given = 0;
  if (rc == 0 && create) {
    rc = api_json_string(j, "id", "", true, 1, API_ID_MAX, API_CS_ID, d->id, e);
  }
  if (rc >= 0) {
    rc = api_json_string(j, "name", "", create, 1, API_NAME_MAX, API_CS_TEXT, d->name, e);
    *given |= rc == 1 ? F_NAME : 0u;
  }
  if (rc >= 0) {
    rc = api_json_string(j, "model", "", false, 0, API_MODEL_MAX, API_CS_TEXT, d->model, e);
    *given |= rc == 1 ? F_MODEL : 0u;
  }
  if (rc >= 0) {
    rc =
        api_json_string(j, "firmware", "", false, 0, API_FIRMWARE_MAX, API_CS_TEXT, d->firmware, e);
    *given |= rc == 1 ? F_FIRMWARE : 0u;
  }
  bool st = false;
  if (rc >= 0) {
    rc = parse_status(j, d, &st, e);
    *given |= st ? F_STATUS : 0u;
  }
  if (rc >= 0 && !create && *given == 0) {
    rc = api_err_set(e, 400, "invalid_value",
                     "nothing to update: give name, model, firmware or status");
  }
  return rc < 0 ? rc : 0;
}

static int h_create(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  int rc;
  if (!enter(ctx, u, API_FLAG_DEVICE_WRITES, NULL, &rc)) {
    return rc;
  }
  json_t *j = NULL;
  if (api_parse_body(ctx, w, &j) != RV_OK) {
    return RV_OK;
  }
  api_device d;
  memset(&d, 0, sizeof d);
  api_err e;
  unsigned given = 0;
  rc = device_fields(j, &d, true, &given, &e);
  json_decref(j);
  if (rc != 0) {
    return api_error(ctx, w, &e, NULL, NULL);
  }
  d.created_ms = d.updated_ms = api_now_ms(w->app);
  rc = api_store_device_create(w->store, &d);
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", d.id);
  }
  return reply_device(ctx, w, 201, &d);
}

static int h_get(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  char id[API_ID_MAX + 1];
  int rc;
  if (!enter(ctx, u, API_FLAG_COUNT, id, &rc)) {
    return rc;
  }
  api_device d;
  rc = api_store_device_get(w->store, id, &d);
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", id);
  }
  return reply_device(ctx, w, 200, &d);
}

/* If-Match: "<version>" or *; 0 = no condition, -1 = malformed. */
static int64_t if_match(const rv_http_ctx *ctx) {
  rv_slice v;
  if (!rv_http_header_get(ctx->req, "If-Match", &v) || (v.len == 1 && v.ptr[0] == '*')) {
    return 0;
  }
  if (v.len < 3 || v.len > 20 || v.ptr[0] != '"' || v.ptr[v.len - 1] != '"') {
    return -1;
  }
  int64_t n = 0;
  for (size_t i = 1; i + 1 < v.len; i++) {
    if (v.ptr[i] < '0' || v.ptr[i] > '9') {
      return -1;
    }
    n = n * 10 + (v.ptr[i] - '0');
  }
  return n > 0 ? n : -1;
}

static int h_patch(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  char id[API_ID_MAX + 1];
  int rc;
  if (!enter(ctx, u, API_FLAG_DEVICE_WRITES, id, &rc)) {
    return rc;
  }
  int64_t expect = if_match(ctx);
  if (expect < 0) {
    return api_error_simple(ctx, w, 400, "invalid_header",
                            "If-Match must be a quoted version (\"3\") or *");
  }
  json_t *j = NULL;
  if (api_parse_body(ctx, w, &j) != RV_OK) {
    return RV_OK;
  }
  api_device patch, d;
  memset(&patch, 0, sizeof patch);
  api_err e;
  unsigned given = 0;
  rc = device_fields(j, &patch, false, &given, &e);
  json_decref(j);
  if (rc != 0) {
    return api_error(ctx, w, &e, NULL, NULL);
  }
  /* Without If-Match, retry a lost race a few times (read, modify, write
   * conditional on the version read): no update is ever lost. */
  for (int attempt = 0;; attempt++) {
    rc = api_store_device_get(w->store, id, &d);
    if (rc != RV_OK) {
      return api_store_error(ctx, w, rc, "device", id);
    }
    if (expect > 0 && d.version != expect) {
      return api_store_error(ctx, w, RV_ESTATE, "device", id);
    }
    if (given & F_NAME) {
      memcpy(d.name, patch.name, sizeof d.name);
    }
    if (given & F_MODEL) {
      memcpy(d.model, patch.model, sizeof d.model);
    }
    if (given & F_FIRMWARE) {
      memcpy(d.firmware, patch.firmware, sizeof d.firmware);
    }
    if (given & F_STATUS) {
      d.status = patch.status;
    }
    d.updated_ms = api_now_ms(w->app);
    rc = api_store_device_update(w->store, &d, d.version);
    if (rc != RV_ESTATE || expect > 0 || attempt == 3) {
      break;
    }
  }
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", id);
  }
  return reply_device(ctx, w, 200, &d);
}

static int h_delete(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  char id[API_ID_MAX + 1];
  int rc;
  if (!enter(ctx, u, API_FLAG_DEVICE_WRITES, id, &rc)) {
    return rc;
  }
  rc = api_store_device_delete(w->store, id);
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", id);
  }
  (void)api_begin(ctx, 204);
  return rv_http_response_end(&ctx->res, rv_slice_make(NULL, 0));
}

static int h_list(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  const api_config *c = &w->app->cfg;
  api_set_route(ctx, u);
  static const char *const names[] = {"limit", "cursor"};
  api_qv q[2];
  api_err e;
  size_t limit = 0;
  if (api_query(ctx, names, q, 2, &e) != 0 ||
      api_query_limit(&q[0], c->page_default, c->page_max, &limit, &e) != 0) {
    return api_error(ctx, w, &e, NULL, NULL);
  }
  char after[API_ID_MAX + 1];
  if (q[1].set) {
    uint8_t raw[API_ID_MAX + 1];
    size_t n = 0;
    if (!api_b64url_decode(q[1].buf, q[1].len, raw, sizeof raw, &n) || n < 2 ||
        raw[0] != CURSOR_DEVICES || !api_charset_ok(API_CS_ID, (const char *)raw + 1, n - 1)) {
      return api_error_simple(ctx, w, 400, "bad_cursor", "the cursor is not one this API gave");
    }
    memcpy(after, raw + 1, n - 1);
    after[n - 1] = '\0';
  }
  size_t n = 0;
  bool more = false;
  int rc = api_store_device_list(w->store, q[1].set ? after : NULL, limit, w->devs, &n, &more);
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", "");
  }
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  api_jw_lit(&jw, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    if (i > 0) {
      api_jw_lit(&jw, ",");
    }
    api_jw_device(&jw, &w->devs[i]);
  }
  api_jw_lit(&jw, "],\"next_cursor\":");
  if (more && n > 0) {
    uint8_t raw[API_ID_MAX + 1];
    size_t idl = strlen(w->devs[n - 1].id);
    raw[0] = CURSOR_DEVICES;
    memcpy(raw + 1, w->devs[n - 1].id, idl);
    char cur[4 * (API_ID_MAX + 3) / 3 + 4];
    size_t cl = api_b64url_encode(raw, idl + 1, cur);
    api_jw_str(&jw, cur, cl);
  } else {
    api_jw_lit(&jw, "null");
  }
  api_jw_lit(&jw, "}");
  if (jw.err != RV_OK) {
    return jw.err;
  }
  (void)api_begin(ctx, 200);
  return api_finish_json(ctx, w);
}

/* ---- telemetry ----------------------------------------------------------- */

static int parse_point(json_t *p, size_t i, api_point *out, api_err *e) {
  static const char *const names[] = {"ts", "metric", "value"};
  char where[32];
  (void)snprintf(where, sizeof where, "points[%zu]", i);
  if (!json_is_object(p)) {
    return api_err_set(e, 400, "invalid_type", "'%s' must be an object", where);
  }
  int rc = api_json_known(p, names, 3, where, e);
  if (rc == 0) {
    rc =
        api_json_string(p, "metric", where, true, 1, API_METRIC_MAX, API_CS_METRIC, out->metric, e);
  }
  if (rc < 0) {
    return rc;
  }
  json_t *ts = json_object_get(p, "ts");
  if (ts == NULL) {
    return api_err_set(e, 400, "missing_field", "field '%s.ts' is required", where);
  }
  if (json_is_integer(ts)) {
    json_int_t v = json_integer_value(ts);
    if (v < API_TS_MIN || v > API_TS_MAX) {
      return api_err_set(e, 400, "invalid_value", "field '%s.ts' is out of range", where);
    }
    out->ts_ms = (int64_t)v;
  } else if (json_is_string(ts)) {
    if (!api_ts_parse(json_string_value(ts), json_string_length(ts), &out->ts_ms)) {
      return api_err_set(e, 400, "invalid_value",
                         "field '%s.ts' must be an RFC 3339 timestamp or Unix ms", where);
    }
  } else {
    return api_err_set(e, 400, "invalid_type", "field '%s.ts' must be a string or an integer",
                       where);
  }
  json_t *v = json_object_get(p, "value");
  if (v == NULL) {
    return api_err_set(e, 400, "missing_field", "field '%s.value' is required", where);
  }
  if (!json_is_number(v)) {
    return api_err_set(e, 400, "invalid_type", "field '%s.value' must be a number", where);
  }
  out->value = json_number_value(v);
  if (!isfinite(out->value)) {
    return api_err_set(e, 400, "invalid_value", "field '%s.value' must be finite", where);
  }
  out->seq = 0;
  return 0;
}

static int h_ingest(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  char id[API_ID_MAX + 1];
  int rc;
  if (!enter(ctx, u, API_FLAG_TELEMETRY_INGEST, id, &rc)) {
    return rc;
  }
  json_t *j = NULL;
  if (api_parse_body(ctx, w, &j) != RV_OK) {
    return RV_OK;
  }
  static const char *const names[] = {"points"};
  api_err e;
  rc = api_json_known(j, names, 1, "", &e);
  json_t *pts = json_object_get(j, "points");
  size_t n = 0;
  if (rc == 0 && pts == NULL) {
    rc = api_err_set(&e, 400, "missing_field", "field 'points' is required");
  } else if (rc == 0 && !json_is_array(pts)) {
    rc = api_err_set(&e, 400, "invalid_type", "field 'points' must be an array");
  } else if (rc == 0) {
    n = json_array_size(pts);
    if (n < 1 || n > w->app->cfg.max_points) {
      rc = api_err_set(&e, 400, "invalid_value", "'points' must hold 1 to %zu points",
                       w->app->cfg.max_points);
    }
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = parse_point(json_array_get(pts, i), i, &w->pts[i], &e);
  }
  json_decref(j);
  if (rc != 0) {
    return api_error(ctx, w, &e, NULL, NULL);
  }
  rc = api_store_telemetry_append(w->store, id, w->pts, n);
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", id);
  }
  rv_counter_add(w->app->points_total, n);
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  api_jw_lit(&jw, "{\"accepted\":");
  api_jw_i64(&jw, (int64_t)n);
  api_jw_lit(&jw, "}");
  if (jw.err != RV_OK) {
    return jw.err;
  }
  (void)api_begin(ctx, 202);
  return api_finish_json(ctx, w);
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | p[i];
  }
  return v;
}

/* Fill q from the query string; on failure e is set. */
static int range_query(rv_http_ctx *ctx, api_worker *w, api_range *q, char *metric, api_err *e) {
  static const char *const names[] = {"from", "to", "metric", "limit", "cursor"};
  api_qv v[5];
  const api_config *c = &w->app->cfg;
  memset(q, 0, sizeof *q);
  if (api_query(ctx, names, v, 5, e) != 0 ||
      api_query_limit(&v[3], c->page_default, c->page_max, &q->limit, e) != 0) {
    return RV_EMALFORMED;
  }
  if (!v[0].set) {
    return api_err_set(e, 400, "missing_parameter", "query parameter 'from' is required");
  }
  if (!api_ts_parse_any(v[0].buf, v[0].len, &q->from_ms)) {
    return api_err_set(e, 400, "invalid_parameter", "'from' must be RFC 3339 or Unix ms");
  }
  q->to_ms = api_now_ms(w->app);
  if (v[1].set && !api_ts_parse_any(v[1].buf, v[1].len, &q->to_ms)) {
    return api_err_set(e, 400, "invalid_parameter", "'to' must be RFC 3339 or Unix ms");
  }
  if (q->from_ms >= q->to_ms) {
    return api_err_set(e, 400, "invalid_parameter", "'from' must be before 'to'");
  }
  if (v[2].set) {
    if (v[2].len < 1 || v[2].len > API_METRIC_MAX ||
        !api_charset_ok(API_CS_METRIC, v[2].buf, v[2].len)) {
      return api_err_set(e, 400, "invalid_parameter", "'metric' must match [A-Za-z0-9_.]{1,64}");
    }
    memcpy(metric, v[2].buf, v[2].len + 1);
    q->metric = metric;
  }
  if (v[4].set) {
    uint8_t raw[17];
    size_t n = 0;
    if (!api_b64url_decode(v[4].buf, v[4].len, raw, sizeof raw, &n) || n != 17 ||
        raw[0] != CURSOR_TELEMETRY) {
      return api_err_set(e, 400, "bad_cursor", "the cursor is not one this API gave");
    }
    q->has_after = true;
    q->after_ts = (int64_t)get_be64(raw + 1);
    q->after_seq = (int64_t)get_be64(raw + 9);
  }
  return 0;
}

static int h_range(rv_http_ctx *ctx, void *ud) {
  const api_route_ud *u = ud;
  api_worker *w = u->w;
  char id[API_ID_MAX + 1];
  int rc;
  if (!enter(ctx, u, API_FLAG_COUNT, id, &rc)) {
    return rc;
  }
  api_range q;
  char metric[API_METRIC_MAX + 1];
  api_err e;
  if (range_query(ctx, w, &q, metric, &e) != 0) {
    return api_error(ctx, w, &e, NULL, NULL);
  }
  size_t n = 0;
  bool more = false;
  rc = api_store_telemetry_range(w->store, id, &q, w->pts, &n, &more);
  if (rc != RV_OK) {
    return api_store_error(ctx, w, rc, "device", id);
  }
  rv_buf_clear(&w->json);
  api_jw jw = {&w->json, 0};
  api_jw_lit(&jw, "{\"points\":[");
  for (size_t i = 0; i < n; i++) {
    api_jw_lit(&jw, i > 0 ? ",{\"ts\":" : "{\"ts\":");
    api_jw_ts(&jw, w->pts[i].ts_ms);
    api_jw_lit(&jw, ",\"metric\":");
    api_jw_cstr(&jw, w->pts[i].metric);
    api_jw_lit(&jw, ",\"value\":");
    api_jw_f64(&jw, w->pts[i].value);
    api_jw_lit(&jw, "}");
  }
  api_jw_lit(&jw, "],\"next_cursor\":");
  if (more && n > 0) {
    uint8_t raw[17];
    raw[0] = CURSOR_TELEMETRY;
    put_be64(raw + 1, (uint64_t)w->pts[n - 1].ts_ms);
    put_be64(raw + 9, (uint64_t)w->pts[n - 1].seq);
    char cur[32];
    size_t cl = api_b64url_encode(raw, sizeof raw, cur);
    api_jw_str(&jw, cur, cl);
  } else {
    api_jw_lit(&jw, "null");
  }
  api_jw_lit(&jw, "}");
  if (jw.err != RV_OK) {
    return jw.err;
  }
  (void)api_begin(ctx, 200);
  return api_finish_json(ctx, w);
}

rv_http_handler_fn api_device_handler(api_route_id id) {
  switch (id) {
  case API_R_DEV_LIST:
    return h_list;
  case API_R_DEV_CREATE:
    return h_create;
  case API_R_DEV_GET:
    return h_get;
  case API_R_DEV_PATCH:
    return h_patch;
  case API_R_DEV_DELETE:
    return h_delete;
  case API_R_TEL_POST:
    return h_ingest;
  case API_R_TEL_GET:
  default:
    return h_range;
  }
}
