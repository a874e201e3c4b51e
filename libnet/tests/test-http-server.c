/* test-http-server: end to end on 127.0.0.1 with curl (keep-alive, chunked
 * upload with Expect: 100-continue, 404, 431) and a raw socket
 * (pipelining, a smuggling attempt answered 400 and closed, the client's
 * address, SO_REUSEPORT, 413 before the body, slow heads and bodies). The
 * loop runs in this thread while the client runs in a child process or
 * non-blocking socket. No test asserts on timing beyond "within a bound".
 * Usage: test-net-http-server CURL */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rivet/net/http-server.h>

extern char **environ;

static const char *curl;

typedef struct fixture {
  rv_loop *loop;
  rv_http_router *router;
  rv_http_server *srv;
  uint16_t port;
} fixture;

static int h_hello(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  rv_slice name;
  assert_true(rv_http_param_get(ctx, "name", &name));
  char body[128];
  int n = snprintf(body, sizeof body, "hello %.*s", (int)name.len, (const char *)name.ptr);
  return rv_http_reply(ctx, 200, "text/plain", rv_slice_make(body, (size_t)n));
}

static char seen_peer[64];

static int h_peer(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  snprintf(seen_peer, sizeof seen_peer, "%s", ctx->peer != NULL ? ctx->peer : "(null)");
  return rv_http_reply(ctx, 200, "text/plain", rv_slice_cstr(seen_peer));
}

/* Names the server (its ud) that answered. */
static int h_who(rv_http_ctx *ctx, void *ud) {
  return rv_http_reply(ctx, 200, "text/plain", rv_slice_cstr(ud));
}

static int h_echo(rv_http_ctx *ctx, void *ud) {
  (void)ud;
  return rv_http_reply(ctx, 200, "application/octet-stream", ctx->body);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(rv_loop_new(&f->loop, NULL), RV_OK);
  assert_int_equal(rv_http_router_create(&f->router, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(f->router, "GET", "/hello/:name", h_hello, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(f->router, "POST", "/echo", h_echo, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(f->router, "GET", "/peer", h_peer, NULL), RV_OK);
  rv_http_server_config c = {0};
  c.host = "127.0.0.1";
  c.router = f->router;
  c.limits = rv_http_limits_default();
  c.limits.max_head = 4096;
  assert_int_equal(rv_http_server_new(&f->srv, f->loop, &c, NULL), RV_OK);
  f->port = rv_http_server_port(f->srv);
  assert_true(f->port != 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rv_http_server_free(f->srv);
  rv_http_router_destroy(f->router);
  rv_loop_free(f->loop);
  free(f);
  return 0;
}

/* Run curl with `args` (NULL-terminated) while the loop serves; returns
 * what curl wrote to stdout. */
static char *run_curl(fixture *f, const char *const *args) {
  char path[] = "/tmp/rivet-curl-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  char *argv[32];
  size_t n = 0;
  argv[n++] = (char *)curl;
  static const char *const common[] = {"-s", "--max-time", "20", "--noproxy", "*"};
  for (size_t i = 0; i < 5; i++) {
    argv[n++] = (char *)common[i];
  }
  for (size_t i = 0; args[i] != NULL; i++) {
    argv[n++] = (char *)args[i];
  }
  argv[n] = NULL;
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, curl, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  for (int i = 0; i < 3000; i++) { /* at most ~30 s */
    rv_loop_run_once(f->loop, 10);
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      break;
    }
    assert_int_equal(r, 0);
  }
  assert_true(WIFEXITED(st));
  off_t size = lseek(fd, 0, SEEK_END);
  assert_true(size >= 0);
  char *out = calloc(1, (size_t)size + 1);
  assert_non_null(out);
  assert_int_equal(pread(fd, out, (size_t)size, 0), size);
  close(fd);
  unlink(path);
  return out;
}

static void url(fixture *f, char *buf, size_t cap, const char *path) {
  snprintf(buf, cap, "http://127.0.0.1:%u%s", (unsigned)f->port, path);
}

static void test_keepalive(void **state) {
  fixture *f = *state;
  char u1[128], u2[128];
  url(f, u1, sizeof u1, "/hello/world");
  url(f, u2, sizeof u2, "/hello/again");
  const char *args[] = {"-w", " %{http_code} %{num_connects}\n", u1, u2, NULL};
  char *out = run_curl(f, args);
  /* Two responses, one connection (the second reused it). */
  assert_string_equal(out, "hello world 200 1\nhello again 200 0\n");
  free(out);
}

static void test_chunked_upload(void **state) {
  fixture *f = *state;
  char u[128];
  url(f, u, sizeof u, "/echo");
  char body[3000];
  for (size_t i = 0; i < sizeof body - 1; i++) {
    body[i] = (char)('a' + i % 26);
  }
  body[sizeof body - 1] = '\0';
  const char *args[] = {
      "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue", "--data-binary", body, u,
      NULL};
  char *out = run_curl(f, args);
  assert_string_equal(out, body);
  free(out);
}

static void test_errors(void **state) {
  fixture *f = *state;
  char u[128];
  url(f, u, sizeof u, "/nope");
  const char *a404[] = {"-o", "/dev/null", "-w", "%{http_code}", u, NULL};
  char *out = run_curl(f, a404);
  assert_string_equal(out, "404");
  free(out);
  url(f, u, sizeof u, "/hello/x");
  const char *a405[] = {"-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", u, NULL};
  out = run_curl(f, a405);
  assert_string_equal(out, "405");
  free(out);
  static char big[5000] = "X-Big: ";
  memset(big + 7, 'a', sizeof big - 8);
  const char *a431[] = {"-o", "/dev/null", "-w", "%{http_code}", "-H", big, u, NULL};
  out = run_curl(f, a431);
  assert_string_equal(out, "431");
  free(out);
}

static int dial(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s >= 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
  return s;
}

/* Send `req` on a raw socket and collect the reply until the server closes
 * or `want` bytes have come. */
static size_t raw(fixture *f, const char *req, char *buf, size_t cap, size_t want, bool *eof) {
  int s = dial(f->port);
  assert_int_equal(send(s, req, strlen(req), 0), (ssize_t)strlen(req));
  size_t got = 0;
  *eof = false;
  for (int i = 0; i < 2000 && !*eof && got < want; i++) {
    rv_loop_run_once(f->loop, 10);
    ssize_t r = recv(s, buf + got, cap - 1 - got, MSG_DONTWAIT);
    if (r > 0) {
      got += (size_t)r;
    } else if (r == 0) {
      *eof = true;
    } else {
      assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }
  buf[got] = '\0';
  close(s);
  return got;
}

static void test_raw_pipelining(void **state) {
  fixture *f = *state;
  char buf[4096];
  bool eof;
  const char *two = "GET /hello/one HTTP/1.1\r\nHost: a\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
                    "GET /hello/three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  raw(f, two, buf, sizeof buf, sizeof buf, &eof);
  assert_true(eof); /* closed after the third (Connection: close) */
  char *one = strstr(buf, "hello one");
  char *xyz = strstr(buf, "\r\n\r\nxyz");
  char *three = strstr(buf, "hello three");
  assert_non_null(one);
  assert_non_null(xyz);
  assert_non_null(three);
  assert_true(one < xyz && xyz < three); /* in request order */
  /* Smuggling attempt: 400, Connection: close, and nothing after it runs. */
  const char *smuggle = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello/evil HTTP/1.1\r\n"
                        "Host: a\r\n\r\n";
  raw(f, smuggle, buf, sizeof buf, sizeof buf, &eof);
  assert_true(eof);
  assert_memory_equal(buf, "HTTP/1.1 400 Bad Request\r\n", 26);
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  assert_null(strstr(buf, "evil"));
  /* HTTP/1.0 without keep-alive: answered, then closed. */
  raw(f, "GET /hello/old HTTP/1.0\r\n\r\n", buf, sizeof buf, sizeof buf, &eof);
  assert_true(eof);
  assert_non_null(strstr(buf, "hello old"));
}

static void test_peer(void **state) {
  fixture *f = *state;
  char buf[1024];
  bool eof;
  seen_peer[0] = '\0';
  raw(f, "GET /peer HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof buf, sizeof buf,
      &eof);
  assert_true(eof);
  assert_string_equal(seen_peer, "127.0.0.1");
  assert_non_null(strstr(buf, "\r\n\r\n127.0.0.1"));
}

static rv_http_server *start(fixture *f, rv_http_router *r, uint16_t port, bool reuseport,
                             int *rc) {
  rv_http_server_config c = {0};
  c.router = r;
  c.port = port;
  c.reuseport = reuseport;
  rv_http_server *s = NULL;
  *rc = rv_http_server_new(&s, f->loop, &c, NULL);
  return s;
}

/* Two servers with SO_REUSEPORT on one port: the kernel spreads
 * connections by their addresses, so across enough connections (each a new
 * source port) both answer. 200 all landing on one server has probability
 * 2^-199. Without reuseport the second bind is refused. */
static void test_reuseport(void **state) {
  fixture *f = *state;
  rv_http_router *ra, *rb;
  assert_int_equal(rv_http_router_create(&ra, NULL), RV_OK);
  assert_int_equal(rv_http_router_create(&rb, NULL), RV_OK);
  assert_int_equal(rv_http_router_add(ra, "GET", "/who", h_who, "server-a"), RV_OK);
  assert_int_equal(rv_http_router_add(rb, "GET", "/who", h_who, "server-b"), RV_OK);
  int rc;
  rv_http_server *a = start(f, ra, 0, true, &rc);
  assert_int_equal(rc, RV_OK);
  uint16_t port = rv_http_server_port(a);
  rv_http_server *b = start(f, rb, port, true, &rc);
  assert_int_equal(rc, RV_OK);
  assert_int_equal(rv_http_server_port(b), port);
  fixture g = *f;
  g.port = port;
  bool saw_a = false, saw_b = false;
  for (int i = 0; i < 200 && !(saw_a && saw_b); i++) {
    char buf[1024];
    bool eof;
    raw(&g, "GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof buf,
        sizeof buf, &eof);
    assert_true(eof);
    saw_a = saw_a || strstr(buf, "server-a") != NULL;
    saw_b = saw_b || strstr(buf, "server-b") != NULL;
  }
  assert_true(saw_a);
  assert_true(saw_b);
  /* A third server without reuseport cannot join; nor can one on a port
   * held without reuseport. */
  assert_null(start(f, ra, port, false, &rc));
  assert_int_equal(rc, RV_EBUSY);
  rv_http_server_free(b);
  rv_http_server_free(a);
  rv_http_server *plain = start(f, ra, 0, false, &rc);
  assert_int_equal(rc, RV_OK);
  assert_null(start(f, rb, rv_http_server_port(plain), false, &rc));
  assert_int_equal(rc, RV_EBUSY);
  assert_null(start(f, rb, rv_http_server_port(plain), true, &rc));
  assert_int_equal(rc, RV_EBUSY);
  rv_http_server_free(plain);
  rv_http_router_destroy(ra);
  rv_http_router_destroy(rb);
}

/* A server on f's loop with f's router and the given limits/timeouts. */
static void restart(fixture *f, const rv_http_server_config *tweak) {
  rv_http_server_free(f->srv);
  rv_http_server_config c = *tweak;
  c.router = f->router;
  assert_int_equal(rv_http_server_new(&f->srv, f->loop, &c, NULL), RV_OK);
  f->port = rv_http_server_port(f->srv);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Send `first`, then one byte of `drip` every ~20 ms (cycling) while
 * serving, until the server closes or `bound_ms` passes. Returns what came
 * back; *eof says whether the server closed. */
static size_t dribble(fixture *f, const char *first, const char *drip, char *buf, size_t cap,
                      uint64_t bound_ms, bool *eof) {
  int s = dial(f->port);
  assert_int_equal(send(s, first, strlen(first), 0), (ssize_t)strlen(first));
  size_t got = 0, di = 0;
  *eof = false;
  uint64_t end = now_ms() + bound_ms, next = 0;
  while (!*eof && now_ms() < end) {
    rv_loop_run_once(f->loop, 5);
    if (now_ms() >= next) {
      /* The server may have closed already: ignore EPIPE/ECONNRESET. */
      (void)send(s, drip + di, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      di = drip[di + 1] != '\0' ? di + 1 : 0;
      next = now_ms() + 20;
    }
    ssize_t r = recv(s, buf + got, cap - 1 - got, MSG_DONTWAIT);
    if (r > 0) {
      got += (size_t)r;
    } else if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      *eof = true;
    } else {
      assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }
  buf[got] = '\0';
  close(s);
  return got;
}

/* A body that never completes gets 408 and the connection closes, though
 * bytes keep arriving (Content-Length and chunked). */
static void test_slow_body(void **state) {
  fixture *f = *state;
  rv_http_server_config c = {0};
  c.body_timeout_ms = 200;
  restart(f, &c);
  char buf[4096];
  bool eof;
  dribble(f, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n", "abcdefgh", buf,
          sizeof buf, 20000, &eof);
  assert_true(eof);
  assert_memory_equal(buf, "HTTP/1.1 408 Request Timeout\r\n", 30);
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  dribble(f, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n",
          buf, sizeof buf, 20000, &eof);
  assert_true(eof);
  assert_memory_equal(buf, "HTTP/1.1 408 Request Timeout\r\n", 30);
  /* A body that completes in time is answered, and the deadline does not
   * follow the connection to its next request. */
  raw(f,
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"
      "GET /hello/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      buf, sizeof buf, sizeof buf, &eof);
  assert_true(eof);
  assert_non_null(strstr(buf, "\r\n\r\nok"));
  assert_non_null(strstr(buf, "hello x"));
  assert_null(strstr(buf, "408"));
  /* A connection freed with its body deadline armed disarms it (ASan would
   * see the loop touch a freed timer otherwise). The default deadline
   * (30 s) cannot expire while the test looks. */
  c.body_timeout_ms = 0;
  restart(f, &c);
  assert_int_equal(rv_loop_timer_count(f->loop), 0);
  int s = dial(f->port);
  const char *head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab";
  assert_int_equal(send(s, head, strlen(head), 0), (ssize_t)strlen(head));
  /* Two timers once the head is parsed: the connection's and the body's
   * (the earlier connections are gone: their clients closed). */
  for (int i = 0; i < 2000 && rv_loop_timer_count(f->loop) != 2; i++) {
    rv_loop_run_once(f->loop, 10);
  }
  assert_int_equal(rv_loop_timer_count(f->loop), 2);
  rv_http_server_free(f->srv);
  f->srv = NULL;
  assert_int_equal(rv_loop_timer_count(f->loop), 0);
  close(s);
}

/* A head trickling in a byte at a time is cut by slow_timeout_ms. */
static void test_slow_head(void **state) {
  fixture *f = *state;
  rv_http_server_config c = {0};
  c.slow_timeout_ms = 200;
  restart(f, &c);
  char buf[1024];
  bool eof;
  size_t got =
      dribble(f, "GET /hello/x HTTP/1.1\r\n", "X-Slow: aaaa\r\n", buf, sizeof buf, 20000, &eof);
  assert_true(eof);
  assert_int_equal(got, 0); /* closed without an answer */
}

/* 413: a declared Content-Length over max_body is refused before any body
 * byte is sent; a chunked body is refused once its sum passes the limit. */
static void test_body_limit(void **state) {
  fixture *f = *state;
  rv_http_server_config c = {0};
  c.limits = rv_http_limits_default();
  c.limits.max_body = 1000;
  restart(f, &c);
  char buf[4096];
  bool eof;
  raw(f, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", buf, sizeof buf,
      sizeof buf, &eof);
  assert_true(eof);
  assert_memory_equal(buf, "HTTP/1.1 413 Content Too Large\r\n", 32);
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  /* 600 + 600 > 1000: the second chunk's size line is enough. */
  static char chunked[2048];
  int n = snprintf(chunked, sizeof chunked,
                   "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "258\r\n%0600d\r\n258\r\n",
                   0);
  assert_true(n > 0 && (size_t)n < sizeof chunked);
  raw(f, chunked, buf, sizeof buf, sizeof buf, &eof);
  assert_true(eof);
  assert_memory_equal(buf, "HTTP/1.1 413 Content Too Large\r\n", 32);
  /* At the limit exactly: accepted (and answered although the body ends
   * exactly where the bytes do, with nothing after it). */
  static char exact[2048];
  n = snprintf(exact, sizeof exact,
               "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n"
               "Connection: close\r\n\r\n%01000d",
               0);
  assert_true(n > 0 && (size_t)n < sizeof exact);
  raw(f, exact, buf, sizeof buf, sizeof buf, &eof);
  assert_true(eof);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
}

/* Serve until `buf` (already holding *got bytes) contains `want`, or the
 * bound passes. */
static bool read_until(fixture *f, int s, char *buf, size_t cap, size_t *got, const char *want) {
  for (int i = 0; i < 2000 && strstr(buf, want) == NULL; i++) {
    rv_loop_run_once(f->loop, 10);
    ssize_t r = recv(s, buf + *got, cap - 1 - *got, MSG_DONTWAIT);
    if (r > 0) {
      *got += (size_t)r;
      buf[*got] = '\0';
    } else if (r == 0) {
      break;
    }
  }
  return strstr(buf, want) != NULL;
}

/* Responses to pipelined requests leave in request order, and a 100
 * Continue comes after the responses before it. */
static void test_continue_order(void **state) {
  fixture *f = *state;
  int s = dial(f->port);
  const char *req = "GET /hello/first HTTP/1.1\r\nHost: a\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                    "Content-Length: 3\r\n\r\n";
  assert_int_equal(send(s, req, strlen(req), 0), (ssize_t)strlen(req));
  char buf[4096] = "";
  size_t got = 0;
  assert_true(read_until(f, s, buf, sizeof buf, &got, "HTTP/1.1 100 Continue\r\n\r\n"));
  char *first = strstr(buf, "hello first");
  assert_non_null(first);
  assert_true(first < strstr(buf, "100 Continue"));
  assert_int_equal(send(s, "abc", 3, 0), 3);
  assert_true(read_until(f, s, buf, sizeof buf, &got, "\r\n\r\nabc"));
  close(s);
}

static void test_config_errors(void **state) {
  fixture *f = *state;
  rv_http_server *s;
  rv_http_server_config c = {0};
  assert_int_equal(rv_http_server_new(&s, f->loop, &c, NULL), RV_EINVAL); /* no router */
  assert_int_equal(rv_http_server_new(NULL, f->loop, &c, NULL), RV_EINVAL);
  c.router = f->router;
  c.limits.max_head = 10; /* others zero: invalid */
  assert_int_equal(rv_http_server_new(&s, f->loop, &c, NULL), RV_EINVAL);
  c.limits = rv_http_limits_default();
  c.host = "127.0.0.1";
  c.port = f->port; /* taken */
  assert_int_equal(rv_http_server_new(&s, f->loop, &c, NULL), RV_EBUSY);
  rv_http_server_free(NULL);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CURL\n", argv[0]);
    return 2;
  }
  curl = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chunked_upload, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_raw_pipelining, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_peer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_continue_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reuseport, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_head, setup, teardown),
      cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
