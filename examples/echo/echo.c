/* rivet-echo: the libnet echo server used by the load test and the
 * benchmarks. N worker processes (rv_prefork) share the port through
 * SO_REUSEPORT; SIGTERM/SIGINT shuts down gracefully (queued echoes are
 * delivered before the connections close).
 *
 *   echo [-h host] [-p port] [-w workers] [-i idle_ms] [-c read_chunk]
 *        [-b pool_blocks] [-H high_wm] [-L low_wm] [--help]
 *
 * `echo --help` lists every flag with its default; see README.md.
 * Logs JSON lines (rivet-core log) to stderr: each worker logs the port it
 * listens on when it starts and its counters when it exits. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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
  (void)rv_log_info(g_log, "listening", RV_LOG_UINT("worker", index), RV_LOG_STR("host", cfg.host),
                    RV_LOG_UINT("port", rv_server_port(s)));
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

static void usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [-h host] [-p port] [-w workers] [-i idle_ms] [-c read_chunk]\n"
          "       [-b pool_blocks] [-H high_wm] [-L low_wm] [--help]\n"
          "\n"
          "Echo server on libnet (rv_loop + rv_server), run by rv_prefork workers\n"
          "sharing the port (SO_REUSEPORT). SIGTERM/SIGINT stops it gracefully.\n"
          "Logs JSON lines to stderr.\n"
          "\n"
          "  -h host         IPv4 address to listen on (default 127.0.0.1)\n"
          "  -p port         TCP port, 0..65535; 0 = a free port, logged by each\n"
          "                  worker in its \"listening\" line (default 7000)\n"
          "  -w workers      worker processes, 1..1024 (default 1)\n"
          "  -i idle_ms      close a connection idle this many milliseconds;\n"
          "                  0 = never (default 120000)\n"
          "  -c read_chunk   read buffer bytes per read, 1..16777216 (default 4096)\n"
          "  -b pool_blocks  pooled read buffers per worker, >= 1 (default 4096)\n"
          "  -H high_wm      queued output bytes per connection that pause its\n"
          "                  reads, >= 1 (default %zu)\n"
          "  -L low_wm       queued output bytes that resume them, < high_wm\n"
          "                  (default %zu)\n"
          "  --help          print this help and exit\n",
          prog, g_cfg.high_watermark, g_cfg.low_watermark);
}

/* Parses a decimal number in [lo, hi] for flag -`flag`; on error prints the
 * reason and the usage to stderr and returns false. */
static bool parse_num(const char *prog, int flag, const char *s, unsigned long long lo,
                      unsigned long long hi, unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  /* strtoull accepts a leading '-' and negates: reject any sign. */
  bool digits = s[0] >= '0' && s[0] <= '9';
  if (!digits || end == s || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    fprintf(stderr, "%s: -%c: invalid value '%s' (expected a number in %llu..%llu)\n", prog, flag,
            s, lo, hi);
    usage(stderr, prog);
    return false;
  }
  *out = v;
  return true;
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
  const char *prog = "echo";
  static const struct option longopts[] = {{"help", no_argument, NULL, 'Z'}, {NULL, 0, NULL, 0}};
  opterr = 0; /* the messages below name the flag and add the usage */
  int opt;
  while ((opt = getopt_long(argc, argv, ":h:p:w:i:c:b:H:L:", longopts, NULL)) != -1) {
    unsigned long long v = 0;
    bool ok = true;
    switch (opt) {
    case 'Z':
      usage(stdout, prog);
      return 0;
    case 'h':
      g_cfg.host = optarg;
      break;
    case 'p':
      ok = parse_num(prog, opt, optarg, 0, 65535, &v);
      g_cfg.port = (uint16_t)v;
      break;
    case 'w':
      ok = parse_num(prog, opt, optarg, 1, 1024, &v);
      workers = (unsigned)v;
      break;
    case 'i':
      ok = parse_num(prog, opt, optarg, 0, UINT32_MAX, &v);
      g_cfg.idle_timeout_ms = (uint32_t)v;
      break;
    case 'c':
      ok = parse_num(prog, opt, optarg, 1, 16ull * 1024 * 1024, &v);
      g_cfg.read_chunk = (size_t)v;
      break;
    case 'b':
      ok = parse_num(prog, opt, optarg, 1, SIZE_MAX / 2, &v);
      g_cfg.pool_blocks = (size_t)v;
      break;
    case 'H':
      ok = parse_num(prog, opt, optarg, 1, SIZE_MAX / 2, &v);
      g_cfg.high_watermark = (size_t)v;
      break;
    case 'L':
      ok = parse_num(prog, opt, optarg, 0, SIZE_MAX / 2, &v);
      g_cfg.low_watermark = (size_t)v;
      break;
    case ':':
      fprintf(stderr, "%s: option -%c needs a value\n", prog, optopt);
      usage(stderr, prog);
      return 2;
    default:
      if (optopt != 0) {
        fprintf(stderr, "%s: unknown option -%c\n", prog, optopt);
      } else {
        fprintf(stderr, "%s: unknown option %s\n", prog, argv[optind - 1]);
      }
      usage(stderr, prog);
      return 2;
    }
    if (!ok) {
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
    usage(stderr, prog);
    return 2;
  }
  if (g_cfg.low_watermark >= g_cfg.high_watermark) {
    fprintf(stderr, "%s: -L: low watermark %zu must be below the high watermark -H %zu\n", prog,
            g_cfg.low_watermark, g_cfg.high_watermark);
    usage(stderr, prog);
    return 2;
  }
  struct in_addr ia;
  if (inet_pton(AF_INET, g_cfg.host, &ia) != 1) {
    fprintf(stderr, "%s: -h: '%s' is not an IPv4 address\n", prog, g_cfg.host);
    usage(stderr, prog);
    return 2;
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
