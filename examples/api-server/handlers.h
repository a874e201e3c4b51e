/* handlers.h: helpers shared by respond.c, handlers.c and mw.c (private). */
#pragma once

#include "app-internal.h"

/** One decoded query parameter. */
typedef struct api_qv {
  bool set;
  size_t len;
  char buf[256];
} api_qv;

/** Decode the query string: each key must be one of \p names (400
 *  `unknown_parameter`), at most once; values are percent-decoded. */
int api_query(const rv_http_ctx *ctx, const char *const *names, api_qv *vals, size_t n, api_err *e);
/** A `limit` value: \p def when absent, else 1..\p max (400 `invalid_parameter`). */
int api_query_limit(const api_qv *v, size_t def, size_t max, size_t *out, api_err *e);
/** True when Content-Type is application/json (parameters allowed). */
bool api_json_content(const rv_http_ctx *ctx);
/** Check Content-Type and parse the body as an object; on failure the
 *  error response (415 or 400) is written and RV_EMALFORMED returned. */
int api_parse_body(rv_http_ctx *ctx, api_worker *w, json_t **out);
/** Answer a store error: 404, 409, 412, 503 + Retry-After, else 500 (logged). */
int api_store_error(rv_http_ctx *ctx, api_worker *w, int rc, const char *what, const char *id);
/** Log an error line about this request (request id, error name). */
void api_log_error(rv_http_ctx *ctx, api_worker *w, const char *msg, int rc);
/** Record which route matched (for metrics). */
void api_set_route(rv_http_ctx *ctx, const api_route_ud *ud);
/** The handler of a device or telemetry route. */
rv_http_handler_fn api_device_handler(api_route_id id);
