/* http-info-server: the smallest useful rivet HTTP server, for benchmarking
 * libnet's HTTP path against nginx (bench/tools/httpbench.py).
 *
 * N threads, each with its own loop, router and rv_http_server bound with
 * SO_REUSEPORT to the same port (the kernel spreads connections), one
 * route: GET /v1/info returning a fixed ~100-byte JSON document (the same
 * body httpbench.py gives nginx). SIGINT/SIGTERM stop every loop; the
 * threads are joined and everything is freed.
 *
 * Usage: http-info-server --port PORT [--threads N] */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/net/http-server.h>

#define MAX_THREADS 64

static const char BODY[] = "{\"service\":\"rivet-api\",\"version\":\"0.2.0\",\"status\":\"ok\","
                           "\"region\":\"local\",\"devices\":42,\"uptime_s\":86400}";

typedef struct worker {
  pthread_t thread;
  rv_loop *loop;
  rv_http_router *router;
  rv_http_server *srv;
} worker;

static atomic_bool stopping;

static int h_info(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  return rv_http_reply(ctx, 200, "application/json", rv_slice_make(BODY, sizeof BODY - 1));
}

static void on_wake(rv_loop *l, void *user) {
  (void)user;
  /* Acquire pairs with the release in main(): set before the wake. */
  if (atomic_load_explicit(&stopping, memory_order_acquire)) {
    rv_loop_stop(l);
  }
}

static void *run(void *arg) {
  worker *w = arg;
  int rc = rv_loop_run(w->loop);
  if (rc != 0) {
    fprintf(stderr, "http-info-server: loop: %s\n", rv_strerror(rc));
  }
  return NULL;
}

static int setup(worker *w, uint16_t port) {
  int rc = rv_loop_new(&w->loop, NULL);
  if (rc == 0) {
    rv_loop_set_wake_cb(w->loop, on_wake, NULL);
    rc = rv_http_router_create(&w->router, NULL);
  }
  if (rc == 0) {
    rc = rv_http_router_add(w->router, "GET", "/v1/info", h_info, NULL);
  }
  if (rc == 0) {
    rv_http_server_config c = {0};
    c.host = "127.0.0.1";
    c.port = port;
    c.router = w->router;
    c.reuseport = true;
    rc = rv_http_server_new(&w->srv, w->loop, &c, NULL);
  }
  return rc;
}

static void teardown(worker *w) {
  rv_http_server_free(w->srv);
  rv_http_router_destroy(w->router);
  rv_loop_free(w->loop);
}

int main(int argc, char **argv) {
  long port = -1, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) {
      port = strtol(argv[i + 1], NULL, 10);
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = strtol(argv[i + 1], NULL, 10);
    } else {
      port = -1;
      break;
    }
  }
  if (port < 1 || port > 65535 || threads < 1 || threads > MAX_THREADS || argc % 2 != 1) {
    fprintf(stderr, "usage: %s --port PORT [--threads N (1..%d)]\n", argv[0], MAX_THREADS);
    return 2;
  }
  /* Every thread inherits the blocked mask; only sigwait() below sees them. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  static worker ws[MAX_THREADS];
  int started = 0, status = 0;
  for (long i = 0; i < threads; i++) {
    int rc = setup(&ws[i], (uint16_t)port);
    if (rc != 0) {
      fprintf(stderr, "http-info-server: port %ld: %s\n", port, rv_strerror(rc));
      teardown(&ws[i]);
      status = 1;
      break;
    }
    rc = pthread_create(&ws[i].thread, NULL, run, &ws[i]);
    if (rc != 0) {
      fprintf(stderr, "http-info-server: pthread_create: %s\n", strerror(rc));
      teardown(&ws[i]);
      status = 1;
      break;
    }
    started++;
  }
  if (status == 0) {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
  }
  /* Release: a loop woken below must see the flag (acquire in on_wake). */
  atomic_store_explicit(&stopping, true, memory_order_release);
  for (int i = 0; i < started; i++) {
    (void)rv_loop_wake(ws[i].loop);
    pthread_join(ws[i].thread, NULL);
    teardown(&ws[i]);
  }
  return status;
}
