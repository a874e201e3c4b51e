/* echo-event: the libevent echo server the libnet server is compared
 * against, written the way libevent's book and samples do it: an
 * evconnlistener (LEV_OPT_REUSEABLE_PORT for several workers) and a
 * bufferevent per connection whose read callback moves the input buffer
 * to the output buffer. No watermarks: the naive echo server whose output
 * queue grows without bound behind a slow reader.
 *
 *   echo-event PORT WORKERS      (SIGTERM stops every worker) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_read(struct bufferevent *bev, void *arg) {
  (void)arg;
  bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
  (void)arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    bufferevent_free(bev);
  }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg) {
  (void)sa;
  (void)len;
  (void)arg;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct event_base *base = evconnlistener_get_base(l);
  struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)sig;
  (void)what;
  event_base_loopbreak(arg);
}

static int worker(int port) {
  struct event_base *base = event_base_new();
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct evconnlistener *l = evconnlistener_new_bind(
      base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
      4096, (struct sockaddr *)&sa, sizeof sa);
  if (l == NULL) {
    perror("evconnlistener_new_bind");
    return 1;
  }
  struct event *sig = evsignal_new(base, SIGTERM, on_signal, base);
  event_add(sig, NULL);
  event_base_dispatch(base);
  event_free(sig);
  evconnlistener_free(l);
  event_base_free(base);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: echo-event PORT WORKERS\n");
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
