/* echo-uv: the libuv echo server the libnet server is compared against,
 * written the way libuv's own examples and docs do it: a buffer per read
 * from alloc_cb, one uv_write per read, the buffer freed in the write
 * callback. Several workers: fork, each with its own SO_REUSEPORT socket
 * adopted by uv_tcp_open (libuv 1.44 has no UV_TCP_REUSEPORT flag).
 *
 *   echo-uv PORT WORKERS      (SIGTERM stops every worker) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base != NULL ? suggested : 0;
}

static void on_closed(uv_handle_t *h) { free(h); }

static void on_written(uv_write_t *req, int status) {
  (void)status;
  write_req *w = (write_req *)req; /* req is the first member */
  free(w->buf.base);
  free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n > 0) {
    write_req *w = malloc(sizeof *w);
    w->buf = uv_buf_init(buf->base, (unsigned)n);
    uv_write(&w->req, s, &w->buf, 1, on_written);
    return;
  }
  free(buf->base);
  if (n < 0) {
    uv_close((uv_handle_t *)s, on_closed);
  }
}

static void on_conn(uv_stream_t *server, int status) {
  if (status < 0) {
    return;
  }
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(server->loop, c);
  if (uv_accept(server, (uv_stream_t *)c) == 0) {
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
  } else {
    uv_close((uv_handle_t *)c, on_closed);
  }
}

static void on_signal(uv_signal_t *s, int signo) {
  (void)signo;
  uv_stop(s->loop);
}

static int worker(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("bind");
    return 1;
  }
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  uv_tcp_open(&server, fd);
  int rc = uv_listen((uv_stream_t *)&server, 4096, on_conn);
  if (rc != 0) {
    fprintf(stderr, "echo-uv: listen: %s\n", uv_strerror(rc));
    return 1;
  }
  uv_signal_t sig;
  uv_signal_init(loop, &sig);
  uv_signal_start(&sig, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: echo-uv PORT WORKERS\n");
    return 2;
  }
  int port = (int)strtol(argv[1], NULL, 10);
  int n = (int)strtol(argv[2], NULL, 10);
  pid_t pids[64];
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (int i = 0; i < n && i < 64; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      sigprocmask(SIG_UNBLOCK, &set, NULL);
      _exit(worker(port));
    }
  }
  int sig;
  sigwait(&set, &sig);
  for (int i = 0; i < n && i < 64; i++) {
    kill(pids[i], SIGTERM);
    waitpid(pids[i], NULL, 0);
  }
  return 0;
}
