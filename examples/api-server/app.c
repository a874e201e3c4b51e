/* app.c: the shared app (config, flags, metrics, limiters) and the
 * per-worker routers (see app.h). */
#include "handlers.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <rivet/core/err.h>

#ifndef API_SERVER_VERSION
#define API_SERVER_VERSION "0.1.0"
#endif

void api_config_default(api_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->mw_trace = true;
  cfg->mw_access_log = true;
  cfg->mw_metrics = true;
  cfg->mw_ratelimit = true;
  cfg->mw_auth = true;
  cfg->rate_per_addr = 6000;
  cfg->rate_per_token = 3000;
  cfg->rate_max_keys = 65536;
  cfg->page_default = 50;
  cfg->page_max = 500;
  cfg->max_points = 1000;
  for (size_t i = 0; i < API_FLAG_COUNT; i++) {
    cfg->flags[i] = true;
  }
}

static const char *const FLAG_NAMES[API_FLAG_COUNT] = {"telemetry_ingest", "device_writes",
                                                       "access_log"};

const char *api_flag_name(api_flag f) {
  return (unsigned)f < API_FLAG_COUNT ? FLAG_NAMES[f] : NULL;
}

bool api_flag_parse(const char *name, size_t len, api_flag *out) {
  for (size_t i = 0; i < API_FLAG_COUNT; i++) {
    if (strlen(FLAG_NAMES[i]) == len && memcmp(FLAG_NAMES[i], name, len) == 0) {
      *out = (api_flag)i;
      return true;
    }
  }
  return false;
}

uint64_t api_mono_ns(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

int64_t api_now_ms(const api_app *app) {
  if (app->cfg.clock_ms != NULL) {
    return app->cfg.clock_ms(app->cfg.clock_ctx);
  }
  struct timespec ts;
  (void)clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- routes -------------------------------------------------------------- */

typedef struct route_def {
  const char *method;
  const char *pattern;
} route_def;

static const route_def ROUTES[API_R_UNMATCHED] = {
    [API_R_HEALTHZ] = {"GET", "/healthz"},
    [API_R_READYZ] = {"GET", "/readyz"},
    [API_R_METRICS] = {"GET", "/metrics"},
    [API_R_INFO] = {"GET", "/v1/info"},
    [API_R_DEV_LIST] = {"GET", "/v1/devices"},
    [API_R_DEV_CREATE] = {"POST", "/v1/devices"},
    [API_R_DEV_GET] = {"GET", "/v1/devices/:id"},
    [API_R_DEV_PATCH] = {"PATCH", "/v1/devices/:id"},
    [API_R_DEV_DELETE] = {"DELETE", "/v1/devices/:id"},
    [API_R_TEL_POST] = {"POST", "/v1/devices/:id/telemetry"},
    [API_R_TEL_GET] = {"GET", "/v1/devices/:id/telemetry"},
    [API_R_FLAGS_GET] = {"GET", "/v1/admin/flags"},
    [API_R_FLAGS_PUT] = {"PUT", "/v1/admin/flags"},
};

/* Methods with a catch-all route answering JSON 404/405 (others get the
 * router's plain-text ones). Same order as the metric method labels. */
static const char *const METHODS[API_METHODS] = {"GET",   "HEAD",   "POST",    "PUT",
                                                 "PATCH", "DELETE", "OPTIONS", "other"};

const char *api_route_pattern(api_route_id id) {
  return id < API_R_UNMATCHED ? ROUTES[id].pattern : "unmatched";
}

const char *api_route_method(api_route_id id) {
  return id < API_R_UNMATCHED ? ROUTES[id].method : NULL;
}

int api_route_method_index(rv_slice method) {
  for (int i = 0; i < API_METHODS - 1; i++) {
    size_t n = strlen(METHODS[i]);
    if (method.len == n && memcmp(method.ptr, METHODS[i], n) == 0) {
      return i;
    }
  }
  return API_METHODS - 1;
}

rv_counter *api_requests_counter(api_app *app, api_route_id route, rv_slice method, int status) {
  int mi = api_route_method_index(method);
  api_status_slot *slots = app->requests[route][mi];
  for (size_t i = 0; i < API_STATUS_SLOTS; i++) {
    /* acquire: pairs with the release store below, so a seen status has
     * its counter published unless that store has not happened yet. */
    int s = atomic_load_explicit(&slots[i].status, memory_order_acquire);
    if (s == status) {
      rv_counter *c = atomic_load_explicit(&slots[i].counter, memory_order_acquire);
      if (c != NULL) {
        return c;
      }
      break; /* being published by another thread: look it up below */
    }
    if (s == 0) {
      break;
    }
  }
  char st[12];
  (void)snprintf(st, sizeof st, "%d", status);
  const char *labels[] = {"route", api_route_pattern(route), "method", METHODS[mi], "status", st};
  rv_counter *c = NULL;
  if (rv_metrics_counter(app->metrics, "api_http_requests_total", "HTTP requests answered", labels,
                         3, &c) != RV_OK) {
    return NULL;
  }
  for (size_t i = 0; i < API_STATUS_SLOTS; i++) {
    int expect = 0;
    /* acq_rel: claim a free slot; failure's acquire reads its owner. */
    if (atomic_compare_exchange_strong_explicit(&slots[i].status, &expect, status,
                                                memory_order_acq_rel, memory_order_acquire)) {
      /* release: publish the handle for readers that saw the status. */
      atomic_store_explicit(&slots[i].counter, c, memory_order_release);
      break;
    }
    if (expect == status) {
      break; /* another thread claimed it for the same status */
    }
  }
  return c;
}

/* ---- app ----------------------------------------------------------------- */

static int register_metrics(api_app *a) {
  static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                  0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
  int rc = RV_OK;
  for (size_t i = 0; i < API_R_COUNT && rc == RV_OK; i++) {
    const char *labels[] = {"route", api_route_pattern((api_route_id)i)};
    rc = rv_metrics_histogram(a->metrics, "api_http_request_duration_seconds",
                              "Time from the request's dispatch to its response", labels, 1, bounds,
                              sizeof bounds / sizeof bounds[0], &a->latency[i]);
  }
  if (rc == RV_OK) {
    rc = rv_metrics_gauge(a->metrics, "api_http_requests_in_flight", "Requests being served", NULL,
                          0, &a->in_flight);
  }
  static const char *const limiters[2] = {"address", "token"};
  for (size_t i = 0; i < 2 && rc == RV_OK; i++) {
    const char *labels[] = {"limiter", limiters[i]};
    rc = rv_metrics_counter(a->metrics, "api_ratelimit_rejected_total",
                            "Requests refused by a rate limiter", labels, 1, &a->rl_rejected[i]);
  }
  static const char *const reasons[API_AUTH_REASONS] = {"missing", "invalid", "insufficient_scope"};
  for (size_t i = 0; i < API_AUTH_REASONS && rc == RV_OK; i++) {
    const char *labels[] = {"reason", reasons[i]};
    rc = rv_metrics_counter(a->metrics, "api_auth_failures_total", "Requests refused by auth",
                            labels, 1, &a->auth_fail[i]);
  }
  if (rc == RV_OK) {
    rc = rv_metrics_counter(a->metrics, "api_store_busy_total",
                            "Requests answered 503 because the database was locked", NULL, 0,
                            &a->store_busy);
  }
  if (rc == RV_OK) {
    rc = rv_metrics_counter(a->metrics, "api_store_errors_total",
                            "Requests answered 500 because of a storage error", NULL, 0,
                            &a->store_errors);
  }
  if (rc == RV_OK) {
    rc = rv_metrics_counter(a->metrics, "api_telemetry_points_total", "Telemetry points accepted",
                            NULL, 0, &a->points_total);
  }
  if (rc == RV_OK) {
    rc = rv_metrics_counter(a->metrics, "api_flag_changes_total",
                            "Feature flag changes made through the admin API", NULL, 0,
                            &a->flag_changes);
  }
  if (rc == RV_OK) {
    rc = rv_metrics_counter(a->metrics, "api_token_cache_hits_total",
                            "Bearer tokens found in a worker's verified-token cache", NULL, 0,
                            &a->token_cache_hits);
  }
  return rc == RV_EEXIST ? RV_EINVAL : rc;
}

static bool config_ok(const api_config *c, const rv_jwt_verifier *verifier) {
  return c->rate_per_addr >= 1 && c->rate_per_token >= 1 && c->rate_max_keys >= 1 &&
         c->page_default >= 1 && c->page_max >= c->page_default && c->page_max <= 100000 &&
         c->max_points >= 1 && c->max_points <= 1000 && (verifier != NULL || !c->mw_auth) &&
         c->rate_per_addr <= UINT64_C(60000000000) && c->rate_per_token <= UINT64_C(60000000000);
}

int api_app_create(api_app **out, const api_config *cfg, const rv_jwt_verifier *verifier,
                   rv_log *log) {
  if (out == NULL || cfg == NULL || !config_ok(cfg, verifier)) {
    return RV_EINVAL;
  }
  if (sodium_init() < 0) {
    return RV_EIO; /* no system random source for ids and the token cache key */
  }
  api_app *a = rv_alloc_get(cfg->alloc, sizeof *a, _Alignof(api_app));
  if (a == NULL) {
    return RV_ENOMEM;
  }
  memset(a, 0, sizeof *a);
  a->cfg = *cfg;
  a->alloc = cfg->alloc;
  a->verifier = verifier;
  a->log = log;
  for (size_t i = 0; i < API_FLAG_COUNT; i++) {
    atomic_init(&a->flags[i], cfg->flags[i]);
  }
  atomic_init(&a->draining, false);
  for (size_t r = 0; r < API_R_COUNT; r++) {
    for (size_t m = 0; m < API_METHODS; m++) {
      for (size_t s = 0; s < API_STATUS_SLOTS; s++) {
        atomic_init(&a->requests[r][m][s].status, 0);
        atomic_init(&a->requests[r][m][s].counter, NULL);
      }
    }
  }
  int n = snprintf(a->info, sizeof a->info,
                   "{\"name\":\"rivet api-server\",\"version\":\"%s\",\"api\":\"v1\","
                   "\"docs\":\"/v1/devices, /v1/admin/flags, /metrics\"}",
                   API_SERVER_VERSION);
  a->info_len = (size_t)n;
  int rc = pthread_mutex_init(&a->mu, NULL) == 0 ? RV_OK : RV_ENOMEM;
  if (rc != RV_OK) {
    rv_alloc_free(a->alloc, a, sizeof *a);
    return rc;
  }
  rc = rv_metrics_create(&a->metrics, a->alloc);
  if (rc == RV_OK) {
    rc = register_metrics(a);
  }
  rv_ratelimit_config rl = {0};
  rl.period_ns = UINT64_C(60000000000);
  rl.max_keys = cfg->rate_max_keys;
  rl.alloc = a->alloc;
  if (rc == RV_OK) {
    rl.limit = cfg->rate_per_addr;
    rc = rv_ratelimit_create(&a->rl_addr, &rl);
  }
  if (rc == RV_OK) {
    rl.limit = cfg->rate_per_token;
    rc = rv_ratelimit_create(&a->rl_token, &rl);
  }
  if (rc != RV_OK) {
    api_app_destroy(a);
    return rc;
  }
  *out = a;
  return RV_OK;
}

static void worker_free(api_worker *w) {
  api_app *a = w->app;
  size_t ndevs = a->cfg.page_max;
  rv_buf_free(&w->json);
  rv_alloc_free(a->alloc, w->devs, ndevs * sizeof *w->devs);
  rv_alloc_free(a->alloc, w->pts, w->npts * sizeof *w->pts);
  rv_alloc_free(a->alloc, w, sizeof *w);
}

void api_app_destroy(api_app *app) {
  if (app == NULL) {
    return;
  }
  while (app->workers != NULL) {
    api_worker *w = app->workers;
    app->workers = w->next;
    worker_free(w);
  }
  rv_ratelimit_destroy(app->rl_token);
  rv_ratelimit_destroy(app->rl_addr);
  rv_metrics_destroy(app->metrics);
  (void)pthread_mutex_destroy(&app->mu);
  rv_alloc_free(app->alloc, app, sizeof *app);
}

static int build_router(api_worker *w) {
  api_app *a = w->app;
  const api_config *c = &a->cfg;
  rv_http_router *r = w->router;
  bool any = c->mw_trace || c->mw_access_log || c->mw_metrics || c->mw_ratelimit || c->mw_auth;
  int rc = RV_OK;
  if (any) {
    rc = rv_http_router_use(r, api_mw_core, w);
  }
  if (rc == RV_OK && c->mw_trace) {
    rc = rv_http_router_use(r, api_mw_trace, w);
  }
  if (rc == RV_OK && c->mw_access_log) {
    rc = rv_http_router_use(r, api_mw_access_log, w);
  }
  if (rc == RV_OK && c->mw_metrics) {
    rc = rv_http_router_use(r, api_mw_metrics, w);
  }
  if (rc == RV_OK && c->mw_ratelimit) {
    rc = rv_http_router_use(r, api_mw_rl_addr, w);
  }
  if (rc == RV_OK && c->mw_auth) {
    rc = rv_http_router_use(r, api_mw_auth, w);
  }
  if (rc == RV_OK && c->mw_ratelimit) {
    rc = rv_http_router_use(r, api_mw_rl_token, w);
  }
  for (size_t i = 0; i < API_R_UNMATCHED && rc == RV_OK; i++) {
    w->routes[i].w = w;
    w->routes[i].id = (api_route_id)i;
    rc = rv_http_router_add(r, ROUTES[i].method, ROUTES[i].pattern, api_handler((api_route_id)i),
                            &w->routes[i]);
  }
  w->routes[API_R_UNMATCHED].w = w;
  w->routes[API_R_UNMATCHED].id = API_R_UNMATCHED;
  for (size_t i = 0; i < API_METHODS - 1 && rc == RV_OK; i++) {
    rc = rv_http_router_add(r, METHODS[i], "/*rest", api_route_fallback,
                            &w->routes[API_R_UNMATCHED]);
  }
  return rc;
}

int api_app_router(api_app *app, api_store *store, rv_http_router **out) {
  if (app == NULL || store == NULL || out == NULL) {
    return RV_EINVAL;
  }
  api_worker *w = rv_alloc_get(app->alloc, sizeof *w, _Alignof(api_worker));
  if (w == NULL) {
    return RV_ENOMEM;
  }
  memset(w, 0, sizeof *w);
  w->app = app;
  w->store = store;
  rv_buf_init(&w->json, app->alloc);
  w->npts = app->cfg.page_max > app->cfg.max_points ? app->cfg.page_max : app->cfg.max_points;
  w->devs = rv_alloc_array(app->alloc, app->cfg.page_max, sizeof *w->devs, _Alignof(api_device));
  w->pts = rv_alloc_array(app->alloc, w->npts, sizeof *w->pts, _Alignof(api_point));
  int rc = w->devs != NULL && w->pts != NULL ? RV_OK : RV_ENOMEM;
  if (rc == RV_OK) {
    rc = rv_buf_reserve(&w->json, 4096);
  }
  if (rc == RV_OK) {
    rc = rv_http_router_create(&w->router, app->alloc);
  }
  if (rc == RV_OK) {
    rc = build_router(w);
  }
  if (rc != RV_OK) {
    rv_http_router_destroy(w->router);
    worker_free(w);
    return rc == RV_EEXIST ? RV_EINVAL : rc;
  }
  api_worker_seed(w);
  (void)pthread_mutex_lock(&app->mu);
  w->next = app->workers;
  app->workers = w;
  (void)pthread_mutex_unlock(&app->mu);
  *out = w->router;
  return RV_OK;
}

void api_app_router_destroy(api_app *app, rv_http_router *router) {
  if (app == NULL || router == NULL) {
    return;
  }
  api_worker *found = NULL;
  (void)pthread_mutex_lock(&app->mu);
  for (api_worker **p = &app->workers; *p != NULL; p = &(*p)->next) {
    if ((*p)->router == router) {
      found = *p;
      *p = found->next;
      break;
    }
  }
  (void)pthread_mutex_unlock(&app->mu);
  rv_http_router_destroy(router);
  if (found != NULL) {
    worker_free(found);
  }
}

void api_app_set_draining(api_app *app, bool draining) {
  /* relaxed: an independent flag; readers need no other memory with it. */
  atomic_store_explicit(&app->draining, draining, memory_order_relaxed);
}

bool api_app_flag(const api_app *app, api_flag f) {
  if ((unsigned)f >= API_FLAG_COUNT) {
    return false;
  }
  /* relaxed: each flag is independent and guards no other data. */
  return atomic_load_explicit(&app->flags[f], memory_order_relaxed);
}

void api_app_set_flag(api_app *app, api_flag f, bool on) {
  if ((unsigned)f < API_FLAG_COUNT) {
    /* relaxed: see api_app_flag(). */
    atomic_store_explicit(&app->flags[f], on, memory_order_relaxed);
  }
}

rv_metrics *api_app_metrics(api_app *app) { return app != NULL ? app->metrics : NULL; }
