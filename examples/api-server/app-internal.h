/* app-internal.h: the api-server app's private state, shared by app.c,
 * handlers.c and mw.c. Not part of the app.h contract. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include <rivet/net/ratelimit.h>
#include <rivet/net/trace.h>

#include "app.h"
#include "json.h"

/** Routes, in registration order; API_R_UNMATCHED labels everything else. */
typedef enum api_route_id {
  API_R_HEALTHZ = 0,
  API_R_READYZ,
  API_R_METRICS,
  API_R_INFO,
  API_R_DEV_LIST,
  API_R_DEV_CREATE,
  API_R_DEV_GET,
  API_R_DEV_PATCH,
  API_R_DEV_DELETE,
  API_R_TEL_POST,
  API_R_TEL_GET,
  API_R_FLAGS_GET,
  API_R_FLAGS_PUT,
  API_R_UNMATCHED,
  API_R_COUNT,
} api_route_id;

/** Methods tracked as metric labels (anything else is "other"). */
#define API_METHODS 8
/** Distinct statuses cached per (route, method). */
#define API_STATUS_SLOTS 16
/** Entries of each worker's verified-token cache. */
#define API_TOKEN_CACHE 64
/** Longest token kept in that cache (longer ones are verified every time). */
#define API_TOKEN_CACHED_MAX 512
/** Longest `sub` / `jti` kept for logging and rate limiting. */
#define API_CLAIM_MAX 128

/** Scope bits. */
enum { API_SCOPE_READ = 1u, API_SCOPE_WRITE = 2u, API_SCOPE_ADMIN = 4u };

/** Auth failure reasons (metric label values). */
enum { API_AUTH_MISSING = 0, API_AUTH_INVALID, API_AUTH_SCOPE, API_AUTH_REASONS };

/** One cached requests_total series: status 0 = free slot. */
typedef struct api_status_slot {
  _Atomic int status;
  _Atomic(rv_counter *) counter;
} api_status_slot;

struct api_worker;

/** The shared app. */
struct api_app {
  api_config cfg;
  const rv_alloc *alloc;
  const rv_jwt_verifier *verifier;
  rv_log *log;
  rv_metrics *metrics;
  rv_ratelimit *rl_addr, *rl_token;
  atomic_bool flags[API_FLAG_COUNT];
  atomic_bool draining;
  rv_histogram *latency[API_R_COUNT];
  api_status_slot requests[API_R_COUNT][API_METHODS][API_STATUS_SLOTS];
  rv_gauge *in_flight;
  rv_counter *rl_rejected[2]; /* addr, token */
  rv_counter *auth_fail[API_AUTH_REASONS];
  rv_counter *store_busy, *store_errors, *points_total, *flag_changes, *token_cache_hits;
  char info[192]; /* the /v1/info body */
  size_t info_len;
  pthread_mutex_t mu; /* guards workers */
  struct api_worker *workers;
};

/** A verified token remembered by one worker (see mw.c for why it is safe). */
typedef struct api_token_entry {
  uint64_t hash;                    /* keyed SipHash-2-4 of the whole token: picks the slot */
  int64_t exp;                      /* the token's exp (Unix seconds); 0 = free */
  size_t len;                       /* bytes of token */
  char token[API_TOKEN_CACHED_MAX]; /* the verified token itself, compared in full */
  unsigned scopes;
  char sub[API_CLAIM_MAX + 1];
  char jti[API_CLAIM_MAX + 1];
} api_token_entry;

/** A route's handler ud: the worker and which route. */
typedef struct api_route_ud {
  struct api_worker *w;
  api_route_id id;
} api_route_ud;

/** One worker's state, owned with its router. */
typedef struct api_worker {
  api_app *app;
  api_store *store;
  rv_http_router *router;
  struct api_worker *next;
  rv_buf json;      /* response body scratch, reused */
  api_device *devs; /* page_max entries */
  api_point *pts;   /* max(page_max, max_points) entries */
  size_t npts;
  uint64_t rng[4];       /* xoshiro256** state for span ids */
  uint8_t cache_key[16]; /* crypto_shorthash_KEYBYTES */
  api_token_entry cache[API_TOKEN_CACHE];
  api_route_ud routes[API_R_COUNT];
} api_worker;

/** Per-request state, on the stack of the first middleware (ctx->user). */
typedef struct api_req {
  api_worker *w;
  api_route_id route;
  uint64_t start_ns;
  bool traced;
  char request_id[RV_TRACE_ID_LEN + 1];
  char traceparent[RV_TRACEPARENT_LEN + 1];
  bool has_rl;
  rv_ratelimit_result rl;
  bool has_sub;
  char sub[API_CLAIM_MAX + 1];
  char jti[API_CLAIM_MAX + 1];
  unsigned scopes;
} api_req;

/* app.c */
uint64_t api_mono_ns(void);
int64_t api_now_ms(const api_app *app);
int api_route_method_index(rv_slice method);
rv_counter *api_requests_counter(api_app *app, api_route_id route, rv_slice method, int status);
const char *api_route_pattern(api_route_id id);
const char *api_route_method(api_route_id id);

/* handlers.c: responses */
/** Begin a response with the request's common fields (X-Request-Id,
 *  traceparent, RateLimit-*). */
int api_begin(rv_http_ctx *ctx, int status);
/** Content-Type: application/json and w->json as the body; end. */
int api_finish_json(rv_http_ctx *ctx, api_worker *w);
/** A JSON error response; \p hname / \p hval: one extra field, or NULL. */
int api_error(rv_http_ctx *ctx, api_worker *w, const api_err *e, const char *hname,
              const char *hval);
/** api_error() from a status, code and fixed message. */
int api_error_simple(rv_http_ctx *ctx, api_worker *w, int status, const char *code,
                     const char *msg);
int api_route_fallback(rv_http_ctx *ctx, void *ud);
rv_http_handler_fn api_handler(api_route_id id);

/* mw.c */
int api_mw_core(rv_http_ctx *ctx, void *ud);
int api_mw_trace(rv_http_ctx *ctx, void *ud);
int api_mw_access_log(rv_http_ctx *ctx, void *ud);
int api_mw_metrics(rv_http_ctx *ctx, void *ud);
int api_mw_rl_addr(rv_http_ctx *ctx, void *ud);
int api_mw_auth(rv_http_ctx *ctx, void *ud);
int api_mw_rl_token(rv_http_ctx *ctx, void *ud);
void api_worker_seed(api_worker *w);
