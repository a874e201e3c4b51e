/* bench-dispatch.c: what each middleware of the api-server costs per
 * request, in process (no sockets): `GET /v1/info` dispatched through the
 * router of api_app_router() with every middleware off (the raw route, the
 * baseline), with one middleware on at a time, and with all of them on.
 * The access log goes to /dev/null through the default fd sink (one
 * write(2) per request, as in production); the bearer token is an HS256
 * JWT, verified once and then found in the worker's token cache, as for a
 * client reusing its token. Network and HTTP parsing costs are not in
 * these numbers: the wrk benchmark against nginx (api-main) has those. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rivet/core/err.h>
#include <rivet/net/http.h>
#include <rivet/perf/bench.h>

#include "app.h"

typedef struct bcase {
  const char *name;
  api_app *app;
  rv_http_router *router;
  rv_http_request req;
  rv_http_header hs[8];
  char raw[1024];
  rv_buf out;
  uint64_t ops;
} bcase;

static void run(void *ctx) {
  bcase *c = ctx;
  for (uint64_t i = 0; i < c->ops; i++) {
    rv_buf_clear(&c->out);
    rv_http_ctx hc;
    rv_http_ctx_init(&hc, &c->req, rv_slice_make(NULL, 0), &c->out);
    hc.peer = "127.0.0.1";
    (void)rv_http_router_dispatch(c->router, &hc);
    rv_bench_escape(c->out.data);
  }
}

static const uint8_t KEY[32] = "bench-key-bench-key-bench-key-32";

int main(int argc, char **argv) {
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "api-server", argc, argv, NULL) != 0) {
    return 2;
  }
  int rc = 1, devnull = open("/dev/null", O_WRONLY | O_APPEND);
  rv_log *log = NULL;
  rv_jwt_verifier *ver = NULL;
  api_store *store = NULL;
  char dir[] = "/tmp/bench-api-dispatch-XXXXXX", path[96];
  static bcase cases[7];
  rv_log_options lo = {.sink = rv_log_sink_fd, .sink_ctx = &devnull};
  rv_jwt_config jc = {.issuer = "rivet-api", .audience = "rivet-devices", .secmem_flags = 3};
  if (devnull < 0 || mkdtemp(dir) == NULL || rv_log_create(&log, &lo) != 0 ||
      rv_jwt_verifier_create(&ver, &jc) != 0 ||
      rv_jwt_verifier_add_key(ver, "k.v1", RV_JWT_HS256, KEY, sizeof KEY) != 0) {
    (void)fprintf(stderr, "bench-dispatch: setup failed\n");
    goto done;
  }
  (void)snprintf(path, sizeof path, "%s/db.sqlite", dir);
  api_sqlite_options so = {.path = path};
  if (api_store_sqlite_open(&store, &so, NULL) != 0) {
    goto done;
  }
  char claims[256], tok[512];
  size_t tl = 0;
  long long now = (long long)time(NULL);
  (void)snprintf(claims, sizeof claims,
                 "{\"iss\":\"rivet-api\",\"aud\":\"rivet-devices\",\"sub\":\"bench\","
                 "\"jti\":\"b1\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"read\"}",
                 now, now + 86400);
  if (rv_jwt_sign(RV_JWT_HS256, "k.v1", KEY, sizeof KEY, claims, strlen(claims), tok, sizeof tok,
                  &tl) != 0) {
    goto done;
  }
  static const char *const names[] = {"raw",       "trace",    "access_log", "metrics",
                                      "ratelimit", "auth+jwt", "all"};
  uint64_t ops = rv_bench_pick(b, 20000, 200);
  for (size_t i = 0; i < 7; i++) {
    bcase *c = &cases[i];
    api_config cfg;
    api_config_default(&cfg);
    cfg.rate_per_addr = cfg.rate_per_token = UINT64_C(60000000000); /* never the limit */
    cfg.mw_trace = i == 1 || i == 6;
    cfg.mw_access_log = i == 2 || i == 6;
    cfg.mw_metrics = i == 3 || i == 6;
    cfg.mw_ratelimit = i == 4 || i == 6;
    cfg.mw_auth = i == 5 || i == 6;
    c->name = names[i];
    c->ops = ops;
    rv_buf_init(&c->out, NULL);
    if (api_app_create(&c->app, &cfg, ver, log) != 0 ||
        api_app_router(c->app, store, &c->router) != 0) {
      goto done;
    }
    int n =
        snprintf(c->raw, sizeof c->raw,
                 "GET /v1/info HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n", tok);
    rv_http_parser p;
    if (rv_http_parser_init(&p, c->hs, 8, NULL) != 0 ||
        rv_http_parse_head(&p, c->raw, (size_t)n, &c->req, NULL) != 0) {
      goto done;
    }
    {
      uint64_t keep = c->ops;
      c->ops = 1;
      run(c); /* every variant must answer 200 with the same body */
      c->ops = keep;
      if (c->out.len < 12 || memcmp(c->out.data, "HTTP/1.1 200", 12) != 0) {
        (void)fprintf(stderr, "bench-dispatch: case %s did not answer 200\n", c->name);
        goto done;
      }
    }
    rv_bench_case bc = {.name = c->name,
                        .group = "GET /v1/info",
                        .fn = run,
                        .ctx = c,
                        .ops = ops,
                        .baseline = i == 0};
    if (rv_bench_add(b, &bc) != 0) {
      goto done;
    }
  }
  rc = rv_bench_run(b) == 0 ? 0 : 1;
done:
  for (size_t i = 0; i < 7; i++) { /* unset entries are zero: no-ops */
    api_app_router_destroy(cases[i].app, cases[i].router);
    api_app_destroy(cases[i].app);
    rv_buf_free(&cases[i].out);
  }
  api_store_close(store);
  rv_jwt_verifier_destroy(ver);
  rv_log_destroy(log);
  (void)snprintf(path, sizeof path, "%s/db.sqlite", dir);
  (void)unlink(path);
  (void)rmdir(dir);
  if (devnull >= 0) {
    (void)close(devnull);
  }
  rv_bench_destroy(b);
  return rc;
}
