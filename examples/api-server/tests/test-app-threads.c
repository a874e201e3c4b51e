/* test-app-threads.c: one app shared by worker threads, each with its own
 * router and store connection (as api-server runs it), while another
 * thread toggles feature flags and drains; run under ThreadSanitizer
 * (suite 'concurrent'). Bounded: a fixed number of requests per worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <stdatomic.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/net/http.h>

#include "app.h"

#define WORKERS 3
#define REQUESTS 60

typedef struct worker {
  int index;
  api_app *app;
  api_store *store;
  rv_http_router *router;
  int statuses[600];
  int bad; /* responses with an unexpected status */
} worker;

static atomic_int stop_toggling;

static int dispatch(rv_http_router *r, const char *raw, int index) {
  rv_http_parser p;
  rv_http_header hs[16];
  rv_http_request req;
  if (rv_http_parser_init(&p, hs, 16, NULL) != 0 ||
      rv_http_parse_head(&p, raw, strlen(raw), &req, NULL) != 0) {
    return -1;
  }
  rv_buf out;
  rv_buf_init(&out, NULL);
  rv_http_ctx ctx;
  rv_http_ctx_init(&ctx, &req, rv_slice_make(raw + req.head_len, strlen(raw) - req.head_len), &out);
  char peer[32];
  (void)snprintf(peer, sizeof peer, "10.0.0.%d", index);
  ctx.peer = peer;
  int status = -1;
  if (rv_http_router_dispatch(r, &ctx) == 0 && out.len > 12) {
    status = (int)strtol((const char *)out.data + 9, NULL, 10);
  }
  rv_buf_free(&out);
  return status;
}

static void *run(void *arg) {
  worker *w = arg;
  for (int i = 0; i < REQUESTS; i++) {
    char raw[512];
    char body[96];
    int n = snprintf(body, sizeof body, "{\"id\":\"w%d-%d\",\"name\":\"n\"}", w->index, i);
    (void)snprintf(raw, sizeof raw,
                   "POST /v1/devices HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n%s",
                   n, body);
    int s = dispatch(w->router, raw, w->index);
    /* 503: device_writes off right now, or the database stayed locked */
    w->bad += s != 201 && s != 503;
    (void)snprintf(raw, sizeof raw, "GET /v1/devices/w%d-%d HTTP/1.1\r\nHost: t\r\n\r\n", w->index,
                   i);
    s = dispatch(w->router, raw, w->index);
    w->bad += s != 200 && s != 404 && s != 503;
    s = dispatch(w->router, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n", w->index);
    w->bad += s != 200 && s != 503;
    if (i % 20 == 0) {
      s = dispatch(w->router, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", w->index);
      w->bad += s != 200;
    }
  }
  return NULL;
}

static void *toggle(void *arg) {
  api_app *app = arg;
  bool on = false;
  /* relaxed: a stop request, no data rides on it */
  while (!atomic_load_explicit(&stop_toggling, memory_order_relaxed)) {
    api_app_set_flag(app, API_FLAG_DEVICE_WRITES, on);
    api_app_set_draining(app, !on);
    on = !on;
    struct timespec ts = {0, 200000};
    (void)nanosleep(&ts, NULL);
  }
  api_app_set_flag(app, API_FLAG_DEVICE_WRITES, true);
  api_app_set_draining(app, false);
  return NULL;
}

static int discard(void *ctx, rv_log_level level, const char *line, size_t len) {
  (void)ctx;
  (void)level;
  (void)line;
  (void)len;
  return 0;
}

static void test_shared_app(void **state) {
  (void)state;
  char dir[] = "/tmp/test-api-app-threads-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[96];
  (void)snprintf(path, sizeof path, "%s/db.sqlite", dir);
  rv_log *log = NULL;
  rv_log_options lo = {.sink = discard, .sink_threadsafe = true};
  assert_int_equal(rv_log_create(&log, &lo), 0);
  api_config c;
  api_config_default(&c);
  c.mw_auth = false; /* the auth path is covered by test-app; here: shared state */
  api_app *app = NULL;
  assert_int_equal(api_app_create(&app, &c, NULL, log), 0);
  worker w[WORKERS];
  memset(w, 0, sizeof w);
  for (int i = 0; i < WORKERS; i++) {
    api_sqlite_options so = {.path = path, .busy_timeout_ms = 2000};
    w[i].index = i;
    w[i].app = app;
    assert_int_equal(api_store_sqlite_open(&w[i].store, &so, NULL), 0);
    assert_int_equal(api_app_router(app, w[i].store, &w[i].router), 0);
  }
  pthread_t th[WORKERS], tg;
  atomic_store_explicit(&stop_toggling, 0, memory_order_relaxed);
  assert_int_equal(pthread_create(&tg, NULL, toggle, app), 0);
  for (int i = 0; i < WORKERS; i++) {
    assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
  }
  for (int i = 0; i < WORKERS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
  }
  atomic_store_explicit(&stop_toggling, 1, memory_order_relaxed);
  assert_int_equal(pthread_join(tg, NULL), 0);
  for (int i = 0; i < WORKERS; i++) {
    assert_int_equal(w[i].bad, 0);
    /* flags back on: every worker writes again */
    char raw[256];
    (void)snprintf(raw, sizeof raw,
                   "POST /v1/devices HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                   "Content-Length: 27\r\n\r\n{\"id\":\"final-%d\",\"name\":\"n\"}",
                   i);
    assert_int_equal(dispatch(w[i].router, raw, i), 201);
  }
  /* every request was counted once */
  rv_buf page;
  rv_buf_init(&page, NULL);
  assert_int_equal(rv_metrics_expose(api_app_metrics(app), &page), 0);
  assert_int_equal(rv_buf_push(&page, 0), 0);
  const char *h = strstr((const char *)page.data,
                         "api_http_request_duration_seconds_count{route=\"/readyz\"} ");
  assert_non_null(h);
  assert_int_equal(strtol(strchr(h, '}') + 2, NULL, 10), WORKERS * REQUESTS);
  rv_buf_free(&page);
  for (int i = 0; i < WORKERS; i++) {
    api_app_router_destroy(app, w[i].router);
    api_store_close(w[i].store);
  }
  api_app_destroy(app);
  rv_log_destroy(log);
  static const char *const files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm"};
  for (size_t i = 0; i < 3; i++) {
    (void)snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    (void)unlink(path); /* -wal and -shm may be gone already */
  }
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_shared_app)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
