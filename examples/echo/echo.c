/* rivet-echo: the libnet echo server used by the load test and the
 * benchmarks. N worker processes (rv_prefork) share the port through
 * SO_REUSEPORT; SIGTERM/SIGINT shuts down gracefully (queued echoes are
 * delivered before the connections close).
 *
 *   echo [-h host] [-p port] [-w workers] [-i idle_ms] [-c read_chunk]
 *        [-b pool_blocks] [-H high_wm] [-L low_wm]
 *
 * Logs JSON lines (rivet-core log) to stderr; each worker logs its counters
 * when it exits. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/core/log.h>
#include <rivet/net/prefork.h>
#include <rivet/net/server.h>

static rv_server_config g_cfg;
static rv_log *g_log;

static size_t on_data(rv_conn *c, const uint8_t *d, size_t n, void *user) {
  (void)user;
  /* Echo everything; on error the server has closed the connection. */
  (void)rv_conn_write(c, d, n);
  return n;
}

static void on_shutdown(rv_server *s, void *user) {
  (void)s;
  rv_loop_stop(user);
}

static void on_signal(rv_loop *l, int signo, void *user) {
  (void)l;
  (void)signo;
  (void)rv_server_shutdown(user, 5000);
}

static int worker(unsigned index, void *user) {
  (void)user;
  rv_loop *l;
  int rc = rv_loop_new(&l, NULL);
  if (rc != 0) {
    (void)rv_log_error(g_log, "loop", RV_LOG_UINT("worker", index),
                       RV_LOG_STR("error", rv_strerror(rc)));
    return 1;
  }
  rv_server_config cfg = g_cfg;
  cfg.user = l;
  rv_server *s;
  rc = rv_server_new(&s, l, &cfg, NULL);
  if (rc != 0) {
    (void)rv_log_error(g_log, "listen failed", RV_LOG_UINT("worker", index),
                       RV_LOG_STR("host", cfg.host), RV_LOG_UINT("port", cfg.port),
                       RV_LOG_STR("error", rv_strerror(rc)));
    rv_loop_free(l);
    return 1;
  }
  (void)rv_loop_signal_start(l, SIGTERM, on_signal, s);
  (void)rv_loop_signal_start(l, SIGINT, on_signal, s);
  rc = rv_loop_run(l);
  rv_server_stats st;
  rv_server_stats_get(s, &st);
  (void)rv_log_info(g_log, "worker exit", RV_LOG_UINT("worker", index),
                    RV_LOG_UINT("accepted", st.accepted), RV_LOG_UINT("rejected", st.rejected),
                    RV_LOG_UINT("closed", st.closed), RV_LOG_UINT("timed_out", st.timed_out),
                    RV_LOG_UINT("bytes_in", st.bytes_in), RV_LOG_UINT("bytes_out", st.bytes_out),
                    RV_LOG_UINT("pressure", st.pressure_on),
                    RV_LOG_UINT("heap_buffers", st.heap_buffers));
  rv_server_free(s);
  rv_loop_free(l);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  rv_server_config_default(&g_cfg);
  g_cfg.reuseport = true;
  g_cfg.port = 7000;
  g_cfg.idle_timeout_ms = 120000;
  g_cfg.read_chunk = 4096;
  g_cfg.pool_blocks = 4096;
  g_cfg.cb.on_data = on_data;
  g_cfg.cb.on_shutdown = on_shutdown;
  unsigned workers = 1;
  int opt;
  while ((opt = getopt(argc, argv, "h:p:w:i:c:b:H:L:")) != -1) {
    switch (opt) {
    case 'h':
      g_cfg.host = optarg;
      break;
    case 'p':
      g_cfg.port = (uint16_t)strtoul(optarg, NULL, 10);
      break;
    case 'w':
      workers = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'i':
      g_cfg.idle_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
      break;
    case 'c':
      g_cfg.read_chunk = strtoul(optarg, NULL, 10);
      break;
    case 'b':
      g_cfg.pool_blocks = strtoul(optarg, NULL, 10);
      break;
    case 'H':
      g_cfg.high_watermark = strtoul(optarg, NULL, 10);
      break;
    case 'L':
      g_cfg.low_watermark = strtoul(optarg, NULL, 10);
      break;
    default:
      fprintf(stderr,
              "usage: %s [-h host] [-p port] [-w workers] [-i idle_ms] [-c read_chunk] "
              "[-b pool_blocks] [-H high_wm] [-L low_wm]\n",
              argv[0]);
      return 2;
    }
  }
  rv_log_field app = RV_LOG_STR("app", "echo");
  rv_log_options lo = {.fields = &app, .nfields = 1};
  if (rv_log_create(&g_log, &lo) != 0) {
    fprintf(stderr, "echo: cannot create the log\n");
    return 1;
  }
  (void)rv_log_info(g_log, "starting", RV_LOG_STR("host", g_cfg.host),
                    RV_LOG_UINT("port", g_cfg.port), RV_LOG_UINT("workers", workers));
  rv_prefork_config pc = {.workers = workers, .worker_main = worker, .restart_delay_ms = 100};
  rv_prefork_report rep;
  int rc = rv_prefork_run(&pc, &rep);
  (void)rv_log_info(g_log, "master exit", RV_LOG_STR("result", rv_err_name(rc)),
                    RV_LOG_UINT("started", rep.started), RV_LOG_UINT("restarts", rep.restarts),
                    RV_LOG_UINT("crashed", rep.crashed));
  rv_log_destroy(g_log);
  return rc == 0 ? 0 : 1;
}
