/* test-http-server: end to end on 127.0.0.1 with curl (keep-alive, chunked
 * upload with Expect: 100-continue, 404, 431) and a raw socket
 * (pipelining, a smuggling attempt answered 400 and closed). The loop runs
 * in this thread while the client runs in a child process or non-blocking
 * socket. Usage: test-net-http-server CURL */
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

/* Send `req` on a raw socket and collect the reply until the server closes
 * or `want` bytes have come. */
static size_t raw(fixture *f, const char *req, char *buf, size_t cap, size_t want, bool *eof) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s >= 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(f->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
