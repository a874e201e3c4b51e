/* test-server: a server and its clients in one thread, the loop pumped
 * between client steps. Covers partial reads and writes, peer reset,
 * half-close, EMFILE, idle/slowloris/stalled-writer timeouts, backpressure,
 * shutdown with queued data, and every error rv_server_new() returns. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rivet/net/server.h>

enum { MODE_ECHO, MODE_LINES, MODE_SINK };

static struct {
  rv_loop *l;
  rv_server *s;
  int mode;
  int opens;
  int closes;
  int last_reason;
  int pressure_on;
  int pressure_off;
  int shutdowns;
  size_t data_calls;
  size_t sunk;
  rv_conn *last;
  size_t max_queued;
} T;

static uint64_t ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the loop until cond holds, at most ms of wall time. */
#define PUMP_UNTIL(cond, ms)                                                                       \
  do {                                                                                             \
    uint64_t end_ = ms_now() + (ms);                                                               \
    while (!(cond) && ms_now() < end_) {                                                           \
      assert_true(rv_loop_run_once(T.l, 5) >= 0);                                                  \
    }                                                                                              \
  } while (0)

static void on_open(rv_conn *c, void *user) {
  (void)user;
  T.opens++;
  T.last = c;
}

static size_t on_data(rv_conn *c, const uint8_t *d, size_t n, void *user) {
  (void)user;
  T.data_calls++;
  size_t used = n;
  if (T.mode == MODE_SINK) {
    T.sunk += n;
  } else if (T.mode == MODE_ECHO) {
    int rc = rv_conn_write(c, d, n);
    assert_true(rc == 0 || rc == RV_EIO);
  } else {
    const uint8_t *nl = memrchr(d, '\n', n);
    used = nl == NULL ? 0 : (size_t)(nl - d) + 1;
    if (used > 0) {
      assert_int_equal(rv_conn_write(c, d, used), 0);
    }
  }
  if (rv_conn_queued(c) > T.max_queued) {
    T.max_queued = rv_conn_queued(c);
  }
  return used;
}

static void on_pressure(rv_conn *c, bool high, void *user) {
  (void)c;
  (void)user;
  if (high) {
    T.pressure_on++;
  } else {
    T.pressure_off++;
  }
}

static void on_close(rv_conn *c, int reason, void *user) {
  (void)user;
  T.closes++;
  T.last_reason = reason;
  if (T.last == c) {
    T.last = NULL;
  }
}

static void on_shutdown(rv_server *s, void *user) {
  (void)s;
  (void)user;
  T.shutdowns++;
}

static void base_config(rv_server_config *cfg) {
  rv_server_config_default(cfg);
  cfg->cb.on_open = on_open;
  cfg->cb.on_data = on_data;
  cfg->cb.on_pressure = on_pressure;
  cfg->cb.on_close = on_close;
  cfg->cb.on_shutdown = on_shutdown;
  cfg->pool_blocks = 16;
}

static void start(const rv_server_config *cfg, int mode) {
  memset(&T, 0, sizeof T);
  T.mode = mode;
  assert_int_equal(rv_loop_new(&T.l, NULL), 0);
  assert_int_equal(rv_server_new(&T.s, T.l, cfg, NULL), 0);
  assert_true(rv_server_port(T.s) != 0);
}

static void stop(void) {
  rv_server_free(T.s);
  rv_loop_free(T.l);
}

static int cli(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(rv_server_port(T.s))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  return fd;
}

static void cli_send(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t end = ms_now() + 5000;
  while (n > 0 && ms_now() < end) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k > 0) {
      b += k;
      n -= (size_t)k;
    } else {
      assert_true(k < 0 && errno == EAGAIN);
      assert_true(rv_loop_run_once(T.l, 5) >= 0);
    }
  }
  assert_int_equal(n, 0);
}

/* Read exactly n bytes (pumping the loop); returns bytes read before EOF. */
static size_t cli_recv(int fd, void *p, size_t n, unsigned ms) {
  uint8_t *b = p;
  size_t got = 0;
  uint64_t end = ms_now() + ms;
  while (got < n && ms_now() < end) {
    ssize_t k = recv(fd, b + got, n - got, 0);
    if (k > 0) {
      got += (size_t)k;
    } else if (k == 0) {
      break;
    } else {
      assert_true(errno == EAGAIN || errno == ECONNRESET);
      if (errno == ECONNRESET) {
        break;
      }
      assert_true(rv_loop_run_once(T.l, 5) >= 0);
    }
  }
  return got;
}

/* 0 when the peer has closed (EOF), 1 while open, -1 on reset. */
static int cli_eof(int fd, unsigned ms) {
  uint64_t end = ms_now() + ms;
  uint8_t junk[4096];
  while (ms_now() < end) {
    ssize_t k = recv(fd, junk, sizeof junk, 0);
    if (k == 0) {
      return 0;
    }
    if (k < 0 && errno == ECONNRESET) {
      return -1;
    }
    assert_true(rv_loop_run_once(T.l, 5) >= 0);
  }
  return 1;
}

static void test_new_errors(void **state) {
  (void)state;
  rv_loop *l;
  assert_int_equal(rv_loop_new(&l, NULL), 0);
  rv_server_config cfg;
  base_config(&cfg);
  rv_server *s = NULL;
  assert_int_equal(rv_server_new(NULL, l, &cfg, NULL), RV_EINVAL);
  assert_int_equal(rv_server_new(&s, NULL, &cfg, NULL), RV_EINVAL);
  assert_int_equal(rv_server_new(&s, l, NULL, NULL), RV_EINVAL);
  rv_server_config bad = cfg;
  bad.cb.on_data = NULL;
  assert_int_equal(rv_server_new(&s, l, &bad, NULL), RV_EINVAL);
  bad = cfg;
  bad.read_chunk = 0;
  assert_int_equal(rv_server_new(&s, l, &bad, NULL), RV_EINVAL);
  bad = cfg;
  bad.pool_blocks = 0;
  assert_int_equal(rv_server_new(&s, l, &bad, NULL), RV_EINVAL);
  bad = cfg;
  bad.low_watermark = bad.high_watermark;
  assert_int_equal(rv_server_new(&s, l, &bad, NULL), RV_EINVAL);
  bad = cfg;
  bad.host = "not an address";
  assert_int_equal(rv_server_new(&s, l, &bad, NULL), RV_EINVAL);
  assert_null(s);
  /* A port in use (no SO_REUSEPORT) is RV_EBUSY. */
  assert_int_equal(rv_server_new(&s, l, &cfg, NULL), 0);
  rv_server *s2 = NULL;
  bad = cfg;
  bad.port = rv_server_port(s);
  assert_int_equal(rv_server_new(&s2, l, &bad, NULL), RV_EBUSY);
  rv_server_free(s);
  rv_server_free(NULL);
  /* Every allocation failure: RV_ENOMEM, nothing leaked. */
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    int rc = rv_server_new(&s, l, &cfg, a);
    if (rc == 0) {
      rv_server_free(s);
      assert_int_equal(f.live_blocks, 0);
      break;
    }
    assert_int_equal(rc, RV_ENOMEM);
    assert_int_equal(f.live_blocks, 0);
  }
  rv_loop_free(l);
}

/* A line split over several segments is delivered once complete; the read
 * buffer is back in the pool while the connection idles. */
static void test_partial_reads(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  start(&cfg, MODE_LINES);
  int fd = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  cli_send(fd, "hel", 3);
  PUMP_UNTIL(T.data_calls == 1, 2000);
  rv_server_stats st;
  rv_server_stats_get(T.s, &st);
  assert_int_equal(st.buffers_in_use, 1); /* partial line held */
  cli_send(fd, "lo\nwor", 6);
  char buf[16] = {0};
  assert_int_equal(cli_recv(fd, buf, 6, 2000), 6);
  assert_memory_equal(buf, "hello\n", 6);
  cli_send(fd, "ld\n", 3);
  assert_int_equal(cli_recv(fd, buf, 6, 2000), 6);
  assert_memory_equal(buf, "world\n", 6);
  rv_server_stats_get(T.s, &st);
  assert_int_equal(st.buffers_in_use, 0); /* idle: no buffer */
  assert_int_equal(st.conns, 1);
  assert_int_equal(st.bytes_in, 12);
  assert_int_equal(st.bytes_out, 12);
  close(fd);
  PUMP_UNTIL(T.closes == 1, 2000);
  assert_int_equal(T.last_reason, 0);
  stop();
}

/* A reply far larger than the socket buffer goes out in partial writes,
 * queued and flushed on writability, byte for byte. Also: backpressure
 * pauses reading at the high watermark and resumes below the low one. */
static void test_partial_writes_backpressure(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  cfg.high_watermark = (size_t)64 * 1024;
  cfg.low_watermark = (size_t)16 * 1024;
  cfg.read_chunk = 4096;
  start(&cfg, MODE_ECHO);
  int fd = cli();
  int small = 65536;
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  enum { TOTAL = 16 << 20 };
  uint8_t *out = malloc(TOTAL);
  uint8_t *in = malloc(TOTAL);
  assert_non_null(out);
  assert_non_null(in);
  for (size_t i = 0; i < TOTAL; i++) {
    out[i] = (uint8_t)(i * 2654435761u >> 13);
  }
  /* Send without reading until the server pushes back. */
  size_t sent = 0;
  uint64_t end = ms_now() + 5000;
  while (T.pressure_on == 0 && ms_now() < end) {
    ssize_t k = send(fd, out + sent, TOTAL - sent, MSG_NOSIGNAL);
    if (k > 0) {
      sent += (size_t)k;
    }
    assert_true(rv_loop_run_once(T.l, 1) >= 0);
  }
  assert_int_equal(T.pressure_on, 1);
  /* Reading stopped: more pumping does not grow the queue past high + chunk. */
  for (int i = 0; i < 50; i++) {
    ssize_t k = send(fd, out + sent, TOTAL - sent, MSG_NOSIGNAL);
    if (k > 0) {
      sent += (size_t)k;
    }
    assert_true(rv_loop_run_once(T.l, 1) >= 0);
  }
  assert_true(T.max_queued <= cfg.high_watermark + cfg.read_chunk);
  /* Now read everything back while sending the rest. */
  size_t got = 0;
  end = ms_now() + 20000;
  while (got < TOTAL && ms_now() < end) {
    if (sent < TOTAL) {
      ssize_t k = send(fd, out + sent, TOTAL - sent, MSG_NOSIGNAL);
      if (k > 0) {
        sent += (size_t)k;
      }
    }
    ssize_t k = recv(fd, in + got, TOTAL - got, 0);
    if (k > 0) {
      got += (size_t)k;
    }
    assert_true(rv_loop_run_once(T.l, 0) >= 0);
  }
  if (got != TOTAL) {
    rv_server_stats st;
    rv_server_stats_get(T.s, &st);
    fprintf(stderr, "sent %zu got %zu closes %d on %d off %d in %zu out %zu queued %zu\n", sent,
            got, T.closes, T.pressure_on, T.pressure_off, (size_t)st.bytes_in, (size_t)st.bytes_out,
            st.queued_bytes);
  }
  assert_int_equal(got, TOTAL);
  assert_memory_equal(in, out, TOTAL);
  assert_true(T.pressure_off >= 1);
  assert_true(T.max_queued <= cfg.high_watermark + cfg.read_chunk);
  rv_server_stats st;
  rv_server_stats_get(T.s, &st);
  assert_int_equal(st.queued_bytes, 0);
  close(fd);
  PUMP_UNTIL(T.closes == 1, 2000);
  free(out);
  free(in);
  stop();
}

/* A peer that resets while output is queued: closed with RV_EIO. */
static void test_peer_reset(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  start(&cfg, MODE_SINK);
  int fd = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  assert_non_null(T.last);
  static uint8_t big[32 << 20];
  assert_int_equal(rv_conn_write(T.last, big, sizeof big), 0);
  assert_true(rv_conn_queued(T.last) > 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(fd); /* RST */
  PUMP_UNTIL(T.closes == 1, 2000);
  assert_int_equal(T.closes, 1);
  assert_int_equal(T.last_reason, RV_EIO);
  rv_server_stats st;
  rv_server_stats_get(T.s, &st);
  assert_int_equal(st.queued_bytes, 0);
  assert_int_equal(st.conns, 0);
  stop();
}

/* Half-close: the peer sends, shuts its write side, still gets every
 * answer, then EOF. */
static void test_half_close(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  start(&cfg, MODE_LINES);
  int fd = cli();
  cli_send(fd, "one\ntwo\nthr", 11);
  assert_int_equal(shutdown(fd, SHUT_WR), 0);
  char buf[16];
  assert_int_equal(cli_recv(fd, buf, 8, 2000), 8);
  assert_memory_equal(buf, "one\ntwo\n", 8);
  assert_int_equal(cli_eof(fd, 2000), 0);
  PUMP_UNTIL(T.closes == 1, 2000);
  assert_int_equal(T.last_reason, 0);
  close(fd);
  stop();
}

/* The fd table full: connections are shed (accepted and closed) instead of
 * stalling or spinning the loop; after fds free up, accepting resumes. */
static void test_emfile(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  start(&cfg, MODE_ECHO);
  enum { N = 8 };
  int fds[N];
  for (int i = 0; i < N; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fds[i] >= 0);
  }
  /* Every fd below the lowest free one is in use: a limit two above it
   * leaves room for exactly two accepted connections. */
  int top = fcntl(0, F_DUPFD, 0);
  assert_true(top >= 0);
  close(top);
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit lim = {.rlim_cur = (rlim_t)top + 2, .rlim_max = old.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(rv_server_port(T.s))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < N; i++) {
    int rc = connect(fds[i], (struct sockaddr *)&sa, sizeof sa);
    assert_true(rc == 0 || errno == EINPROGRESS);
  }
  rv_server_stats st;
  int iters = 0;
  uint64_t end = ms_now() + 3000;
  do {
    assert_true(rv_loop_run_once(T.l, 5) >= 0);
    iters++;
    rv_server_stats_get(T.s, &st);
  } while (st.accepted + st.rejected < N && ms_now() < end);
  assert_int_equal(st.accepted, 2);
  assert_int_equal(st.rejected, N - 2);
  /* The loop is quiet now: no spinning on the full listener. */
  int busy = 0;
  for (int i = 0; i < 20; i++) {
    busy += rv_loop_run_once(T.l, 1);
  }
  assert_true(busy <= 2);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  for (int i = 0; i < N; i++) {
    close(fds[i]);
  }
  /* Accepting works again. */
  int fd = cli();
  cli_send(fd, "x", 1);
  char c;
  assert_int_equal(cli_recv(fd, &c, 1, 2000), 1);
  close(fd);
  stop();
}

/* Idle connections are closed after idle_timeout_ms. */
static void test_idle_timeout(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  cfg.idle_timeout_ms = 100;
  start(&cfg, MODE_ECHO);
  int fd = cli();
  PUMP_UNTIL(T.closes == 1, 3000);
  assert_int_equal(T.closes, 1);
  assert_int_equal(T.last_reason, RV_ETIMEDOUT);
  assert_int_equal(cli_eof(fd, 1000), 0);
  rv_server_stats st;
  rv_server_stats_get(T.s, &st);
  assert_int_equal(st.timed_out, 1);
  close(fd);
  stop();
}

/* Slowloris: a byte every 30 ms keeps the connection from being idle, but
 * the line never completes: closed after slow_timeout_ms. */
static void test_slowloris(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  cfg.idle_timeout_ms = 1000;
  cfg.slow_timeout_ms = 300;
  start(&cfg, MODE_LINES);
  int fd = cli();
  uint64_t end = ms_now() + 5000;
  int sent = 0;
  while (T.closes == 0 && ms_now() < end) {
    if (send(fd, "a", 1, MSG_NOSIGNAL) == 1) {
      sent++;
    }
    uint64_t step = ms_now() + 30;
    while (T.closes == 0 && ms_now() < step) {
      assert_true(rv_loop_run_once(T.l, 5) >= 0);
    }
  }
  assert_int_equal(T.closes, 1);
  assert_int_equal(T.last_reason, RV_ETIMEDOUT);
  assert_true(sent >= 5); /* it kept trickling past the idle check */
  close(fd);
  stop();
}

/* A reader that never reads: output stalls, closed after write_timeout_ms. */
static void test_write_stall(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  cfg.write_timeout_ms = 200;
  start(&cfg, MODE_SINK);
  int fd = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  static uint8_t big[32 << 20];
  assert_int_equal(rv_conn_write(T.last, big, sizeof big), 0);
  PUMP_UNTIL(T.closes == 1, 5000);
  assert_int_equal(T.last_reason, RV_ETIMEDOUT);
  close(fd);
  stop();
}

/* A message longer than a read buffer is refused with RV_ELIMIT. */
static void test_message_too_large(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  cfg.read_chunk = 64;
  start(&cfg, MODE_LINES);
  int fd = cli();
  char line[100];
  memset(line, 'z', sizeof line);
  cli_send(fd, line, sizeof line);
  PUMP_UNTIL(T.closes == 1, 2000);
  assert_int_equal(T.last_reason, RV_ELIMIT);
  close(fd);
  stop();
}

/* Graceful shutdown: queued output reaches a client that reads late; a
 * client that never reads is cut at the deadline; new connections refused. */
static void test_shutdown_with_queued(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  start(&cfg, MODE_SINK);
  int a = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  rv_conn *ca = T.last;
  int b = cli();
  PUMP_UNTIL(T.opens == 2, 2000);
  rv_conn *cb = T.last;
  enum { BIG = 2 << 20 };
  uint8_t *out = malloc(BIG);
  uint8_t *in = malloc(BIG);
  for (size_t i = 0; i < BIG; i++) {
    out[i] = (uint8_t)(i * 7 + 1);
  }
  assert_int_equal(rv_conn_write(ca, out, BIG), 0);
  assert_int_equal(rv_conn_write(cb, out, BIG), 0);
  assert_int_equal(rv_server_shutdown(T.s, 1500), 0);
  assert_int_equal(rv_server_shutdown(T.s, 1500), RV_ESTATE);
  assert_int_equal(rv_conn_write(ca, "x", 1), RV_ECLOSED);
  assert_int_equal(cli_recv(a, in, BIG, 5000), BIG);
  assert_memory_equal(in, out, BIG);
  assert_int_equal(cli_eof(a, 2000), 0);
  close(a);
  PUMP_UNTIL(T.shutdowns == 1, 5000);
  assert_int_equal(T.shutdowns, 1);
  assert_int_equal(T.closes, 2);
  assert_int_equal(T.last_reason, RV_ECLOSED); /* b, at the deadline */
  /* The listener is gone. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(rv_server_port(T.s))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), -1);
  close(fd);
  close(b);
  free(out);
  free(in);
  stop();
}

/* Shutdown with no connections reports at once; rv_conn_close() flushes
 * and closes; pause holds input back until resume. */
static void test_close_pause_misc(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  cfg.max_conns = 1;
  start(&cfg, MODE_ECHO);
  int fd = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  rv_conn *c = T.last;
  int extra = cli(); /* over max_conns: closed at accept */
  assert_int_equal(cli_eof(extra, 2000), 0);
  close(extra);
  rv_conn_set_user(c, &fd);
  assert_ptr_equal(rv_conn_user(c), &fd);
  assert_ptr_equal(rv_conn_server(c), T.s);
  assert_true(rv_conn_fd(c) >= 0);
  assert_int_equal(rv_conn_write(c, NULL, 1), RV_EINVAL);
  assert_int_equal(rv_conn_write(c, NULL, 0), 0);
  rv_conn_pause(c);
  rv_conn_pause(c);
  cli_send(fd, "abc", 3);
  for (int i = 0; i < 10; i++) {
    assert_true(rv_loop_run_once(T.l, 2) >= 0);
  }
  assert_int_equal(T.data_calls, 0);
  rv_conn_resume(c);
  for (int i = 0; i < 10; i++) {
    assert_true(rv_loop_run_once(T.l, 2) >= 0);
  }
  assert_int_equal(T.data_calls, 0);
  rv_conn_resume(c);
  rv_conn_resume(c); /* extra resume: no-op */
  char buf[3];
  assert_int_equal(cli_recv(fd, buf, 3, 2000), 3);
  assert_memory_equal(buf, "abc", 3);
  assert_int_equal(rv_conn_write(c, "bye", 3), 0);
  rv_conn_close(c);
  rv_conn_close(c);
  assert_int_equal(rv_conn_write(c, "x", 1), RV_ECLOSED);
  assert_int_equal(cli_recv(fd, buf, 3, 2000), 3);
  assert_memory_equal(buf, "bye", 3);
  assert_int_equal(cli_eof(fd, 2000), 0);
  close(fd);
  PUMP_UNTIL(T.closes == 1, 2000);
  assert_int_equal(T.last_reason, 0);
  assert_int_equal(rv_server_shutdown(T.s, 1000), 0);
  PUMP_UNTIL(T.shutdowns == 1, 2000);
  assert_int_equal(T.shutdowns, 1);
  rv_server_stats st;
  rv_server_stats_get(T.s, &st);
  assert_int_equal(st.rejected, 1);
  stop();
}

/* Output that cannot be allocated closes the connection with RV_ENOMEM. */
static void test_write_enomem(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  memset(&T, 0, sizeof T);
  T.mode = MODE_SINK;
  assert_int_equal(rv_loop_new(&T.l, NULL), 0);
  rv_alloc_failing f;
  const rv_alloc *a = rv_alloc_failing_init(&f, NULL, SIZE_MAX);
  assert_int_equal(rv_server_new(&T.s, T.l, &cfg, a), 0);
  int fd = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  f.fail_at = f.calls; /* the next allocation fails */
  static uint8_t big[4 << 20];
  assert_int_equal(rv_conn_write(T.last, big, sizeof big), RV_ENOMEM);
  PUMP_UNTIL(T.closes == 1, 2000);
  assert_int_equal(T.last_reason, RV_ENOMEM);
  f.fail_at = SIZE_MAX;
  close(fd);
  rv_server_free(T.s);
  assert_int_equal(f.live_blocks, 0);
  rv_loop_free(T.l);
}

/* A write to a peer that has reset (before the loop saw it) is accepted
 * (sent after the batch); one that passes the high watermark flushes at
 * once, is RV_EIO and closes the connection; shutdown without memory for its timer is RV_ENOMEM. */
static void test_write_eio_shutdown_enomem(void **state) {
  (void)state;
  rv_server_config cfg;
  base_config(&cfg);
  memset(&T, 0, sizeof T);
  T.mode = MODE_SINK;
  rv_alloc_failing f;
  const rv_alloc *a = rv_alloc_failing_init(&f, NULL, SIZE_MAX);
  assert_int_equal(rv_loop_new(&T.l, a), 0);
  assert_int_equal(rv_server_new(&T.s, T.l, &cfg, NULL), 0);
  f.fail_at = f.calls; /* the loop's timer heap cannot grow */
  assert_int_equal(rv_server_shutdown(T.s, 1000), RV_ENOMEM);
  f.fail_at = SIZE_MAX;
  int fd = cli();
  PUMP_UNTIL(T.opens == 1, 2000);
  rv_conn *c = T.last;
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(fd); /* RST; the loop does not run before the writes */
  usleep(20000);
  assert_int_equal(rv_conn_write(c, "x", 1), 0);
  assert_int_equal(T.closes, 0);
  /* Past the high watermark the write flushes at once and sees the reset. */
  static uint8_t big[300 * 1024];
  assert_int_equal(rv_conn_write(c, big, sizeof big), RV_EIO);
  assert_int_equal(T.closes, 1);
  assert_int_equal(T.last_reason, RV_EIO);
  PUMP_UNTIL(false, 20); /* the deferred free runs */
  stop();
  assert_int_equal(f.live_blocks, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_errors),
      cmocka_unit_test(test_partial_reads),
      cmocka_unit_test(test_partial_writes_backpressure),
      cmocka_unit_test(test_peer_reset),
      cmocka_unit_test(test_half_close),
      cmocka_unit_test(test_emfile),
      cmocka_unit_test(test_idle_timeout),
      cmocka_unit_test(test_slowloris),
      cmocka_unit_test(test_write_stall),
      cmocka_unit_test(test_message_too_large),
      cmocka_unit_test(test_shutdown_with_queued),
      cmocka_unit_test(test_close_pause_misc),
      cmocka_unit_test(test_write_enomem),
      cmocka_unit_test(test_write_eio_shutdown_enomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
