/* rivet-echo: the libnet echo server used by the load test and the
 * benchmarks. N worker processes (rv_prefork) share the port through
 * SO_REUSEPORT; SIGTERM/SIGINT shuts down gracefully (queued echoes are
 * delivered before the connections close).
 *
 *   echo [-h host] [-p port] [-w workers] [-i idle_ms] [-c read_chunk]
 *        [-b pool_blocks] [-H high_wm] [-L low_wm]
 *
 * Each worker prints one line of counters to stderr when it exits. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/net/prefork.h>
#include <rivet/net/server.h>

static rv_server_config g_cfg;

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
    fprintf(stderr, "echo[%u]: loop: %s\n", index, rv_strerror(rc));
    return 1;
  }
  rv_server_config cfg = g_cfg;
  cfg.user = l;
  rv_server *s;
  rc = rv_server_new(&s, l, &cfg, NULL);
  if (rc != 0) {
    fprintf(stderr, "echo[%u]: listen %s:%u: %s\n", index, cfg.host, cfg.port, rv_strerror(rc));
    rv_loop_free(l);
    return 1;
  }
  (void)rv_loop_signal_start(l, SIGTERM, on_signal, s);
  (void)rv_loop_signal_start(l, SIGINT, on_signal, s);
  rc = rv_loop_run(l);
  rv_server_stats st;
  rv_server_stats_get(s, &st);
  fprintf(stderr,
          "echo[%u]: accepted %" PRIu64 " rejected %" PRIu64 " closed %" PRIu64
          " timed_out %" PRIu64 " in %" PRIu64 " out %" PRIu64 " pressure %" PRIu64
          " heap_buffers %" PRIu64 "\n",
          index, st.accepted, st.rejected, st.closed, st.timed_out, st.bytes_in, st.bytes_out,
          st.pressure_on, st.heap_buffers);
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
  rv_prefork_config pc = {.workers = workers, .worker_main = worker, .restart_delay_ms = 100};
  rv_prefork_report rep;
  int rc = rv_prefork_run(&pc, &rep);
  fprintf(stderr, "echo: master: %s; workers started %u, restarted %u, crashed %u\n",
          rv_strerror(rc), rep.started, rep.restarts, rep.crashed);
  return rc == 0 ? 0 : 1;
}
