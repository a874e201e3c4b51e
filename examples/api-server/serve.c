/* serve.c: `api-server serve`: workers, signals and graceful shutdown.
 *
 * Start-up runs on the main thread: the log, the keystore (only to pin
 * the signing key in a JWT verifier; the keystore is destroyed right
 * after), the shared api_app, then for each worker its own loop, SQLite
 * connection, router and HTTP server on the same port (SO_REUSEPORT: the
 * kernel spreads connections across the workers' listeners). Everything is
 * built before any worker thread starts, so a failure exits cleanly with
 * nothing running. Then each worker thread runs its loop.
 *
 * The main thread blocks SIGTERM, SIGINT and SIGUSR1 before starting the
 * workers (which inherit the mask) and waits for them with sigwait().
 * On SIGTERM or SIGINT it marks the app as draining (/readyz answers 503 so
 * load balancers stop sending traffic), keeps serving for `drain_delay`
 * (a second signal cuts it short), then asks each worker, through
 * rv_loop_wake() (the loop's only thread-safe call), to shut its server
 * down: stop accepting, finish the responses already queued, close. A
 * worker whose loop fails raises SIGUSR1 so main stops the others and
 * exits 1. */
#define _GNU_SOURCE
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rivet/core/err.h>
#include <rivet/core/logbuf.h>
#include <rivet/net/http-server.h>
#include <rivet/net/loop.h>

#include "app.h"
#include "store.h"

typedef struct worker {
  const srv_config *cfg;
  unsigned idx;
  rv_loop *loop;
  api_store *store;
  rv_http_router *router;
  rv_http_server *http;
  pthread_t thread;
  bool started;
  bool shutting; /* loop thread only */
  /* Set by main before rv_loop_wake(); read by the wake callback. The
   * eventfd write/read pair already orders them, the atomic makes it
   * explicit for the memory model (and TSan). */
  atomic_bool stop_asked;
  int rc; /* rv_loop_run()'s result, read by main after pthread_join() */
} worker;

/* Every connection is closed (drained, or forced at the drain deadline). */
static void on_drained(rv_http_server *s, void *user) {
  (void)s;
  worker *w = user;
  rv_loop_stop(w->loop);
}

/* On the worker's loop thread, after main's rv_loop_wake(). */
static void wake_cb(rv_loop *l, void *user) {
  worker *w = user;
  /* acquire: pairs with main's release store, so everything main did
   * before asking (the draining flag) is visible here. */
  if (!atomic_load_explicit(&w->stop_asked, memory_order_acquire) || w->shutting) {
    return;
  }
  w->shutting = true;
  uint32_t drain = (uint32_t)w->cfg->drain_timeout_ms;
  if (rv_http_server_shutdown(w->http, drain) != RV_OK) {
    rv_loop_stop(l); /* could not arm the deadline: close at once (worker_free) */
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  w->rc = rv_loop_run(w->loop);
  if (w->rc != RV_OK) {
    /* Tell main (which waits in sigwait) that this worker died. */
    (void)kill(getpid(), SIGUSR1);
  }
  return NULL;
}

/* Build one worker; on failure everything it made is freed by worker_free(). */
static int worker_init(worker *w, api_app *app, uint16_t port, char *err) {
  const srv_config *cfg = w->cfg;
  int rc = rv_loop_new(&w->loop, NULL);
  if (rc != RV_OK) {
    (void)snprintf(err, SRV_ERR_MAX, "worker %u: event loop: %s", w->idx, rv_strerror(rc));
    return rc;
  }
  rv_loop_set_wake_cb(w->loop, wake_cb, w);
  api_sqlite_options so = {.path = cfg->db_path, .busy_timeout_ms = (unsigned)cfg->db_busy_ms};
  const char *why = NULL;
  rc = api_store_sqlite_open(&w->store, &so, &why);
  if (rc != RV_OK) {
    (void)snprintf(err, SRV_ERR_MAX, "%s: cannot open the database: %s (%s)", cfg->db_path,
                   why != NULL ? why : rv_strerror(rc), rv_err_name(rc));
    return rc;
  }
  rc = api_app_router(app, w->store, &w->router);
  if (rc != RV_OK) {
    (void)snprintf(err, SRV_ERR_MAX, "worker %u: router: %s", w->idx, rv_strerror(rc));
    return rc;
  }
  rv_http_server_config hc = {
      .host = cfg->listen_host,
      .port = port,
      .router = w->router,
      .limits =
          {
              .max_head = (size_t)cfg->max_head,
              .max_headers = (size_t)cfg->max_headers,
              .max_uri = (size_t)cfg->max_uri,
              .max_body = cfg->max_body,
              .max_trailer = rv_http_limits_default().max_trailer,
          },
      .idle_timeout_ms = (uint32_t)cfg->idle_timeout_ms,
      .max_conns = (size_t)cfg->max_conns,
      .reuseport = true,
      .body_timeout_ms = (uint32_t)cfg->body_timeout_ms,
      .slow_timeout_ms = (uint32_t)cfg->head_timeout_ms,
      .on_shutdown = on_drained,
      .shutdown_user = w,
  };
  rc = rv_http_server_new(&w->http, w->loop, &hc, NULL);
  if (rc != RV_OK) {
    (void)snprintf(err, SRV_ERR_MAX, "cannot listen on %s:%u: %s (%s)", cfg->listen_host,
                   (unsigned)port, rc == RV_EBUSY ? "address in use" : rv_strerror(rc),
                   rv_err_name(rc));
    return rc;
  }
  return RV_OK;
}

static void worker_free(worker *w, api_app *app) {
  rv_http_server_free(w->http);
  api_app_router_destroy(app, w->router);
  api_store_close(w->store);
  rv_loop_free(w->loop);
  w->http = NULL;
  w->router = NULL;
  w->store = NULL;
  w->loop = NULL;
}

/* Wait up to ms for one of the signals in *set (0 = do not wait).
 * Returns the signal, or 0 when the time ran out. */
static int wait_signal(const sigset_t *set, uint64_t ms) {
  struct timespec end;
  (void)clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += (time_t)(ms / 1000u);
  end.tv_nsec += (long)(ms % 1000u) * 1000000L;
  if (end.tv_nsec >= 1000000000L) {
    end.tv_sec++;
    end.tv_nsec -= 1000000000L;
  }
  for (;;) {
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left_ns =
        (int64_t)(end.tv_sec - now.tv_sec) * 1000000000LL + (int64_t)(end.tv_nsec - now.tv_nsec);
    if (left_ns <= 0) {
      return 0;
    }
    struct timespec ts = {(time_t)(left_ns / 1000000000LL), (long)(left_ns % 1000000000LL)};
    int sig = sigtimedwait(set, NULL, &ts);
    if (sig > 0) {
      return sig;
    }
    if (errno != EINTR && errno != EAGAIN) {
      return 0;
    }
  }
}

typedef struct serve_state {
  const srv_config *cfg;
  int log_fd;
  rv_logbuf *logbuf; /* batches log lines when log_flush_ms > 0 */
  rv_log *log;
  rv_jwt_verifier *verifier;
  api_app *app;
  worker *workers;
  size_t nworkers;
} serve_state;

static int open_log(serve_state *st, char *err) {
  const srv_config *cfg = st->cfg;
  rv_log_field fields[] = {RV_LOG_STR("service", "api-server")};
  rv_log_options lo = {.level = cfg->log_level, .fields = fields, .nfields = 1};
  if (cfg->log_file != NULL) {
    st->log_fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (st->log_fd < 0) {
      (void)snprintf(err, SRV_ERR_MAX, "%s: %s", cfg->log_file, strerror(errno));
      return RV_EIO;
    }
    lo.sink = rv_log_sink_fd;
    lo.sink_ctx = &st->log_fd;
    lo.sink_threadsafe = true;
  }
  if (cfg->log_flush_ms > 0) {
    /* An access log line per request would cost a write(2) each: batch
     * them. Created before the workers, it inherits the blocked signals. */
    rv_logbuf_options bo = {.fd = st->log_fd >= 0 ? st->log_fd : STDERR_FILENO,
                            .flush_ms = (uint32_t)cfg->log_flush_ms};
    int rc = rv_logbuf_create(&st->logbuf, &bo);
    if (rc != RV_OK) {
      (void)snprintf(err, SRV_ERR_MAX, "cannot start the log writer: %s", rv_strerror(rc));
      return rc;
    }
    lo.sink = rv_logbuf_sink;
    lo.sink_ctx = st->logbuf;
    lo.sink_threadsafe = true;
  }
  int rc = rv_log_create(&st->log, &lo);
  if (rc != RV_OK) {
    (void)snprintf(err, SRV_ERR_MAX, "cannot create the log: %s", rv_strerror(rc));
  }
  return rc;
}

/* The verifier with the signing key pinned; *code is the exit code on failure. */
static int load_keys(serve_state *st, char *err, int *code) {
  srv_pass pass;
  int rc = srv_pass_read(st->cfg, &pass, err);
  if (rc != RV_OK) {
    /* No passphrase source configured is a usage error. */
    *code = rc == RV_ENOTFOUND ? SRV_EXIT_USAGE : SRV_EXIT_RUNTIME;
    return rc;
  }
  rv_keystore *ks = NULL;
  rc = srv_keystore_load(st->cfg, &pass, &ks, err);
  srv_pass_free(&pass);
  if (rc == RV_OK) {
    rc = srv_verifier_create(st->cfg, ks, &st->verifier, err);
  }
  rv_keystore_destroy(ks);
  return rc;
}

/* Everything up to the running workers; on failure *code says how to exit. */
static int start(serve_state *st, char *err, int *code) {
  const srv_config *cfg = st->cfg;
  *code = SRV_EXIT_RUNTIME;
  int rc = open_log(st, err);
  if (rc != RV_OK) {
    return rc;
  }
  if (cfg->app.mw_auth) {
    rc = load_keys(st, err, code);
    if (rc != RV_OK) {
      return rc;
    }
  } else {
    (void)fprintf(stderr, "api-server: WARNING: authentication is OFF (auth = false / --no-auth):"
                          " anyone who can connect can read, change and delete every device\n");
    rv_log_warn(st->log, "authentication is off: every endpoint is open");
  }
  rc = api_app_create(&st->app, &cfg->app, st->verifier, st->log);
  if (rc != RV_OK) {
    (void)snprintf(err, SRV_ERR_MAX, "cannot create the app: %s (%s)", rv_strerror(rc),
                   rv_err_name(rc));
    return rc;
  }
  st->nworkers = (size_t)cfg->workers;
  st->workers = calloc(st->nworkers, sizeof *st->workers);
  if (st->workers == NULL) {
    (void)snprintf(err, SRV_ERR_MAX, "out of memory");
    return RV_ENOMEM;
  }
  uint16_t port = cfg->listen_port;
  for (size_t i = 0; i < st->nworkers; i++) {
    worker *w = &st->workers[i];
    w->cfg = cfg;
    w->idx = (unsigned)i;
    atomic_init(&w->stop_asked, false);
    rc = worker_init(w, st->app, port, err);
    if (rc != RV_OK) {
      return rc;
    }
    port = rv_http_server_port(w->http); /* port 0: the others join the chosen one */
  }
  rv_gauge *g = NULL;
  if (rv_metrics_gauge(api_app_metrics(st->app), "api_server_workers",
                       "Worker threads serving requests.", NULL, 0, &g) == RV_OK) {
    rv_gauge_set(g, (double)st->nworkers);
  }
  for (size_t i = 0; i < st->nworkers; i++) {
    worker *w = &st->workers[i];
    int e = pthread_create(&w->thread, NULL, worker_main, w);
    if (e != 0) {
      (void)snprintf(err, SRV_ERR_MAX, "cannot start worker %zu: %s", i, strerror(e));
      return RV_ENOMEM;
    }
    w->started = true;
  }
  rv_log_info(st->log, "listening", RV_LOG_STR("host", cfg->listen_host), RV_LOG_UINT("port", port),
              RV_LOG_UINT("workers", st->nworkers), RV_LOG_STR("db", cfg->db_path),
              RV_LOG_BOOL("auth", cfg->app.mw_auth));
  *code = SRV_EXIT_OK;
  return RV_OK;
}

/* Ask every started worker to shut down, join them, free everything. */
static void stop_all(serve_state *st) {
  for (size_t i = 0; i < st->nworkers; i++) {
    worker *w = &st->workers[i];
    if (w->started) {
      /* release: see wake_cb */
      atomic_store_explicit(&w->stop_asked, true, memory_order_release);
      if (rv_loop_wake(w->loop) != RV_OK) {
        rv_log_error(st->log, "cannot wake a worker", RV_LOG_UINT("worker", i));
      }
    }
  }
  for (size_t i = 0; i < st->nworkers; i++) {
    worker *w = &st->workers[i];
    if (w->started) {
      (void)pthread_join(w->thread, NULL);
      w->started = false;
    }
  }
}

int srv_serve(const srv_config *cfg) {
  serve_state st = {.cfg = cfg, .log_fd = -1};
  char err[SRV_ERR_MAX] = "";
  int code = SRV_EXIT_RUNTIME;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  /* Block before any thread exists, so every worker inherits the mask and
   * only main's sigwait() ever takes these signals. */
  (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
  (void)signal(SIGPIPE, SIG_IGN);
  if (start(&st, err, &code) != RV_OK) {
    (void)fprintf(stderr, "api-server: %s\n", err);
    if (st.log != NULL && cfg->log_file != NULL) {
      rv_log_error(st.log, "start failed", RV_LOG_STR("error", err));
    }
    goto done;
  }
  int sig = 0;
  while (sig == 0) {
    if (sigwait(&set, &sig) != 0) {
      sig = 0;
    }
  }
  if (sig == SIGUSR1) {
    rv_log_error(st.log, "a worker failed; stopping");
    code = SRV_EXIT_RUNTIME;
  } else {
    rv_log_info(st.log, "draining", RV_LOG_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
                RV_LOG_UINT("delay_ms", cfg->drain_delay_ms),
                RV_LOG_UINT("timeout_ms", cfg->drain_timeout_ms));
    api_app_set_draining(st.app, true);
    int again = wait_signal(&set, cfg->drain_delay_ms);
    if (again == SIGUSR1) {
      code = SRV_EXIT_RUNTIME;
    }
  }
  stop_all(&st);
  for (size_t i = 0; i < st.nworkers; i++) {
    if (st.workers[i].rc != RV_OK) {
      rv_log_error(st.log, "worker loop failed", RV_LOG_UINT("worker", i),
                   RV_LOG_STR("error", rv_strerror(st.workers[i].rc)));
      code = SRV_EXIT_RUNTIME;
    }
  }
  rv_log_info(st.log, "stopped", RV_LOG_INT("exit_code", code));
done:
  stop_all(&st);
  for (size_t i = 0; st.workers != NULL && i < st.nworkers; i++) {
    worker_free(&st.workers[i], st.app);
  }
  free(st.workers);
  api_app_destroy(st.app);
  rv_jwt_verifier_destroy(st.verifier);
  rv_log_destroy(st.log);
  if (rv_logbuf_destroy(st.logbuf) != RV_OK) { /* writes what is left */
    (void)fprintf(stderr, "api-server: some log lines could not be written\n");
  }
  if (st.log_fd >= 0) {
    (void)close(st.log_fd);
  }
  return code;
}
