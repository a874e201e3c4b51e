/* app.h: the device-registry HTTP API: routes, handlers and middleware.
 *
 * One ::api_app is shared by every worker thread: it holds the policy
 * (config), the JWT verifier, the rate limiters, the metrics registry, the
 * log and the runtime feature flags, all thread-safe. Each worker builds its
 * own router with api_app_router() around its own ::api_store connection
 * (stores are not thread-safe), and serves it with rv_http_server.
 *
 * Middleware order (each can be switched off in ::api_config, which is
 * what the benchmark's "raw" run does): trace (traceparent in/out, request
 * id) -> access log (one JSON line per request, at the end) -> metrics
 * (requests by route/method/status, latency histogram, in flight) -> rate
 * limit per client address -> JWT bearer auth with scopes -> rate limit
 * per token -> handler.
 *
 * Routes (JSON in and out; errors are `{"error":{"code":"...","message":"...",
 * "request_id":"..."}}`):
 *   GET    /healthz                       liveness (no auth)
 *   GET    /readyz                        readiness: store ping + not draining (no auth)
 *   GET    /metrics                       Prometheus text 0.0.4 (no auth)
 *   GET    /v1/info                       small static JSON document (scope read)
 *   GET    /v1/devices?limit=&cursor=     list, cursor pagination (read)
 *   POST   /v1/devices                    create (write) -> 201 + Location
 *   GET    /v1/devices/:id                fetch (read)
 *   PATCH  /v1/devices/:id                update some fields (write)
 *   DELETE /v1/devices/:id                delete with its telemetry (write) -> 204
 *   POST   /v1/devices/:id/telemetry      ingest points (write) -> 202
 *   GET    /v1/devices/:id/telemetry?from=&to=&metric=&limit=&cursor=  range (read)
 *   GET    /v1/admin/flags                feature flags (admin)
 *   PUT    /v1/admin/flags                set some flags (admin)
 * Any other path answers a JSON 404, and a known path with another method a
 * JSON 405 with `Allow` (for GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS;
 * other methods get the router's plain-text 405). HEAD is not served.
 *
 * Auth: the verifier given to api_app_create() checks signature, `exp`,
 * `nbf`, `iss` and `aud` with its own policy; the app also requires `sub`,
 * `jti` and `iat` and reads `scope` (space-separated read|write|admin;
 * admin implies write, write implies read). Each worker caches tokens it
 * verified until their `exp` (mw.c explains why that is safe).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/log.h>
#include <rivet/net/metrics.h>
#include <rivet/net/router.h>
#include <rivet/sec/jwt.h>

#include "store.h"

/** Runtime feature flags (toggled by an admin through PUT /v1/admin/flags). */
typedef enum api_flag {
  API_FLAG_TELEMETRY_INGEST = 0, /**< "telemetry_ingest": off -> POST telemetry answers 503 */
  API_FLAG_DEVICE_WRITES = 1,    /**< "device_writes": off -> device create/update/delete 503 */
  API_FLAG_ACCESS_LOG = 2,       /**< "access_log": off -> no access log lines (errors still) */
  API_FLAG_COUNT = 3,
} api_flag;

/** The app's policy. api_config_default() fills the defaults. Strings are
 *  borrowed: they must outlive the app. */
typedef struct api_config {
  /* middleware switches (all true by default) */
  bool mw_trace;
  bool mw_access_log;
  bool mw_metrics;
  bool mw_ratelimit;
  bool mw_auth;
  /* rate limits: requests per minute (burst = the same number) */
  uint64_t rate_per_addr;  /**< per client address; default 6000 */
  uint64_t rate_per_token; /**< per token (its `jti`); default 3000 */
  size_t rate_max_keys;    /**< keys tracked per limiter; default 65536 */
  /* pages */
  size_t page_default; /**< default `limit`; 50 */
  size_t page_max;     /**< largest `limit`; 500 */
  size_t max_points;   /**< most telemetry points per ingest request; 1000 */
  /* feature flags' initial values (all true by default) */
  bool flags[API_FLAG_COUNT];
  /* memory and time (for tests; NULL = the defaults) */
  const rv_alloc *alloc;          /**< the app's and routers' memory (not jansson's); NULL = libc;
                                       must outlive the app */
  int64_t (*clock_ms)(void *ctx); /**< wall clock in Unix ms (timestamps, `to` default, token
                                       cache expiry); NULL = CLOCK_REALTIME */
  void *clock_ctx;                /**< passed to clock_ms */
} api_config;

/** Fill \p cfg with the defaults above. */
void api_config_default(api_config *cfg);

/** The name of a flag ("telemetry_ingest", ...), or NULL. */
const char *api_flag_name(api_flag f);
/** Parse a flag name; false if unknown. */
bool api_flag_parse(const char *name, size_t len, api_flag *out);

typedef struct api_app api_app;

/**
 * Create the shared app.
 * \param verifier  JWT verifier with its keys pinned (borrowed, must outlive
 *                  the app); may be NULL only when cfg->mw_auth is false
 * \param log       where access and error logs go (borrowed); NULL = none
 * \return 0, #RV_EINVAL (bad config: zero rates, page_default > page_max,
 *         max_points outside 1..1000, no verifier with mw_auth), #RV_ENOMEM,
 *         #RV_EIO (libsodium could not initialise: no random source).
 */
int api_app_create(api_app **out, const api_config *cfg, const rv_jwt_verifier *verifier,
                   rv_log *log);
/** Free the app (NULL allowed). Routers built from it must be destroyed
 *  first (api_app_router_destroy()); the per-worker state of any router
 *  still listed is freed here (the router itself is not). */
void api_app_destroy(api_app *app);

/**
 * Build a router for one worker: every route and middleware above, the
 * handlers using \p store (borrowed; it must outlive the router, and only
 * this worker's thread may dispatch on the router).
 * \return 0, #RV_EINVAL, #RV_ENOMEM.
 */
int api_app_router(api_app *app, api_store *store, rv_http_router **out);

/** Destroy a router built by api_app_router() and its per-worker state
 *  (buffers, token cache). NULL allowed. Use this, not
 *  rv_http_router_destroy(), which would leave the worker state behind
 *  until api_app_destroy(). */
void api_app_router_destroy(api_app *app, rv_http_router *router);

/** Readiness: /readyz answers 503 after api_app_set_draining(app, true). Thread-safe. */
void api_app_set_draining(api_app *app, bool draining);

/** Read or set a feature flag. Thread-safe (atomics). */
bool api_app_flag(const api_app *app, api_flag f);
void api_app_set_flag(api_app *app, api_flag f, bool on);

/** The metrics registry (owned by the app), for extra series such as the
 *  server's connection gauges. */
rv_metrics *api_app_metrics(api_app *app);
