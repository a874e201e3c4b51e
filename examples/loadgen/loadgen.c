/* loadgen: open N TCP connections to an echo server from several processes
 * and source addresses, hold them, send timestamped messages, and measure
 * throughput, latency percentiles and delivery. Stops by itself.
 *
 *   loadgen [-h host] [-p port] [-c conns] [-P procs] [-a naddrs] [-d secs]
 *           [-r rate] [-q depth] [-m size] [-S bytes_per_s] [-B] [-k cmd]
 *
 *   -c conns   total connections (default 100)
 *   -P procs   processes (each holds conns/procs; keep each under the fd limit)
 *   -a naddrs  source addresses 127.0.0.2 .. 127.0.0.(1+naddrs) (default 1);
 *              one address reaches a port with at most ~28k connections
 *   -d secs    how long to hold the connections and send (default 5)
 *   -r rate    open loop: total messages per second over all connections
 *   -q depth   closed loop (when -r is 0): messages in flight per connection
 *   -m size    message bytes, >= 16 (default 32)
 *   -S bps     read at most this many bytes per second per connection
 *   -B         blast: send as fast as the socket takes it (with -S: a slow
 *              reader that should trigger the server's backpressure)
 *   -k secs    after this many seconds of sending, run `kill -TERM $LOADGEN_KILL`
 *              (graceful-shutdown test: every echo received must be intact)
 *
 * Prints one `loadgen:` line of key=value results. Exit status 0 when every
 * connection was established and (without -B/-k) every message came back. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NBUCKETS 512
#define MAX_PROCS 64

typedef struct result {
  uint64_t established;
  uint64_t failed;
  uint64_t closed_early;
  uint64_t sent;
  uint64_t received;
  uint64_t corrupt;
  uint64_t truncated; /* EOF in the middle of an echoed message */
  uint64_t bytes_rx;
  uint64_t connect_ns; /* first connect to last established */
  uint64_t hist[NBUCKETS];
} result;

typedef struct conn {
  int fd;
  bool up;
  bool dead;
  uint32_t inflight;
  uint32_t rxlen;
  uint64_t budget; /* slow reads: bytes allowed now */
  uint8_t rx[];    /* msg_size bytes */
} conn;

static struct {
  const char *host;
  uint16_t port;
  unsigned conns, procs, naddrs, secs, depth, msg;
  uint64_t rate, slow;
  bool blast;
  unsigned kill_after;
} O = {"127.0.0.1", 7000, 100, 1, 1, 5, 1, 32, 0, 0, false, 0};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned bucket(uint64_t us) {
  if (us < 64) {
    return (unsigned)us;
  }
  unsigned lg = 63u - (unsigned)__builtin_clzll(us);
  unsigned idx = 64u + 16u * (lg - 6u) + (unsigned)((us >> (lg - 4u)) & 15u);
  return idx < NBUCKETS ? idx : NBUCKETS - 1;
}

static uint64_t bucket_value(unsigned idx) {
  if (idx < 64) {
    return idx;
  }
  unsigned lg = (idx - 64u) / 16u + 6u;
  uint64_t sub = (idx - 64u) % 16u;
  return ((16u + sub) << (lg - 4u)) + ((uint64_t)1 << (lg - 4u)) / 2u;
}

static conn **C;

static void send_msgs(conn *c, unsigned n, result *r) {
  uint8_t buf[4096];
  unsigned per = sizeof buf / O.msg;
  while (n > 0 && !c->dead) {
    unsigned k = n < per ? n : per;
    uint64_t t = now_ns();
    for (unsigned i = 0; i < k; i++) {
      uint8_t *m = buf + (size_t)i * O.msg;
      memcpy(m, &t, 8);
      memset(m + 8, 'a' + (int)(i % 26), O.msg - 8);
    }
    ssize_t w = send(c->fd, buf, (size_t)k * O.msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN) {
        c->dead = true;
      }
      return; /* open loop: a full socket drops this tick's messages */
    }
    /* A partial write of a message would desync the stream: the rest is
     * sent blocking-by-retry (rare: only when the socket buffer fills). */
    size_t done = (size_t)w;
    while (done % O.msg != 0) {
      ssize_t x = send(c->fd, buf + done, O.msg - done % O.msg, MSG_NOSIGNAL);
      if (x > 0) {
        done += (size_t)x;
      } else if (x < 0 && errno != EAGAIN) {
        c->dead = true;
        return;
      }
    }
    unsigned sent = (unsigned)(done / O.msg);
    c->inflight += sent;
    r->sent += sent;
    n -= sent;
    if (sent < k) {
      return;
    }
  }
}

static void blast(conn *c) {
  static uint8_t junk[65536];
  while (!c->dead) {
    ssize_t w = send(c->fd, junk, sizeof junk, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN) {
        c->dead = true;
      }
      return;
    }
  }
}

/* Read what is there (or what the slow-read budget allows). */
static void on_readable(conn *c, result *r, bool sending) {
  uint8_t buf[16384];
  for (;;) {
    size_t want = sizeof buf;
    if (O.slow != 0) {
      if (c->budget == 0) {
        return;
      }
      want = c->budget < want ? (size_t)c->budget : want;
    }
    ssize_t k = recv(c->fd, buf, want, 0);
    if (k == 0 || (k < 0 && errno != EAGAIN)) {
      if (!c->dead) {
        r->closed_early++;
        if (c->rxlen != 0 || k < 0) {
          r->truncated++;
        }
      }
      c->dead = true;
      return;
    }
    if (k < 0) {
      return;
    }
    r->bytes_rx += (uint64_t)k;
    if (O.slow != 0) {
      c->budget -= (uint64_t)k;
    }
    if (O.blast) {
      continue;
    }
    uint64_t t = now_ns();
    for (ssize_t i = 0; i < k; i++) {
      c->rx[c->rxlen++] = buf[i];
      if (c->rxlen < O.msg) {
        continue;
      }
      c->rxlen = 0;
      uint64_t t0;
      memcpy(&t0, c->rx, 8);
      bool ok = t0 <= t && c->rx[8] >= 'a' && c->rx[8] <= 'z';
      for (unsigned j = 9; ok && j < O.msg; j++) {
        ok = c->rx[j] == c->rx[8];
      }
      if (!ok) {
        r->corrupt++;
        continue;
      }
      r->received++;
      c->inflight--;
      r->hist[bucket((t - t0) / 1000u)]++;
      if (sending && O.rate == 0) {
        send_msgs(c, 1, r);
      }
    }
  }
}

static int run_proc(unsigned idx, unsigned nconns, result *r) {
  memset(r, 0, sizeof *r);
  int ep = epoll_create1(0);
  if (ep < 0) {
    perror("epoll_create1");
    return 1;
  }
  C = calloc(nconns, sizeof(conn *));
  if (C == NULL) {
    perror("calloc");
    return 1;
  }
  for (unsigned i = 0; i < nconns; i++) {
    C[i] = calloc(1, sizeof(conn) + O.msg);
    if (C[i] == NULL) {
      perror("calloc");
      return 1;
    }
    C[i]->fd = -1;
    C[i]->dead = true; /* until its connect() is issued */
  }
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(O.port)};
  inet_pton(AF_INET, O.host, &dst.sin_addr);
  uint64_t t_start = now_ns();
  unsigned opened = 0;
  unsigned pending = 0;
  struct epoll_event evs[512];
  /* Connect with at most 1000 handshakes in flight (SYN backlog). */
  uint64_t connect_deadline = t_start + 60ull * 1000000000u;
  while ((opened < nconns || pending > 0) && now_ns() < connect_deadline) {
    while (opened < nconns && pending < 1000) {
      conn *c = C[opened];
      c->dead = false;
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c->fd < 0) {
        c->dead = true;
        r->failed++;
        opened++;
        continue;
      }
      int one = 1;
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      unsigned a = (idx * nconns + opened) % O.naddrs;
      struct sockaddr_in src = {.sin_family = AF_INET};
      src.sin_addr.s_addr = htonl(0x7f000002u + a);
      if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0 ||
          (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        close(c->fd);
        c->fd = -1;
        c->dead = true;
        r->failed++;
        opened++;
        continue;
      }
      struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = opened};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      opened++;
      pending++;
    }
    int n = epoll_wait(ep, evs, 512, 100);
    for (int i = 0; i < n; i++) {
      conn *c = C[evs[i].data.u32];
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
      pending--;
      if (err != 0) {
        c->dead = true;
        r->failed++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        continue;
      }
      c->up = true;
      r->established++;
      struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
  }
  r->connect_ns = now_ns() - t_start;
  r->failed += nconns - opened; /* never tried: the connect phase timed out */
  /* Hold and send. */
  uint64_t t0 = now_ns();
  uint64_t t_end = t0 + (uint64_t)O.secs * 1000000000u;
  uint64_t per_proc_rate = O.rate / O.procs;
  uint64_t due_sent = 0;
  unsigned rr = 0;
  uint64_t last_budget = t0;
  if (O.rate == 0 && !O.blast) {
    for (unsigned i = 0; i < nconns; i++) {
      if (C[i]->up && !C[i]->dead) {
        send_msgs(C[i], O.depth, r);
      }
    }
  }
  bool killed = false;
  for (;;) {
    uint64_t t = now_ns();
    bool sending = t < t_end;
    if (!sending) {
      uint64_t infl = r->sent - r->received - r->corrupt;
      if (O.blast || infl == 0 || t > t_end + 5000000000ull) {
        break; /* drained, or 5 s of grace passed */
      }
    }
    if (O.kill_after != 0 && idx == 0 && !killed && t >= t0 + O.kill_after * 1000000000ull) {
      const char *pid = getenv("LOADGEN_KILL");
      if (pid != NULL) {
        kill((pid_t)strtol(pid, NULL, 10), SIGTERM);
      }
      killed = true;
    }
    if (O.slow != 0 && t - last_budget >= 10000000u) {
      uint64_t add = O.slow * (t - last_budget) / 1000000000u;
      last_budget = t;
      for (unsigned i = 0; i < nconns; i++) {
        C[i]->budget = add;
        if (C[i]->up) {
          on_readable(C[i], r, sending);
        }
      }
    }
    if (sending && O.blast) {
      for (unsigned i = 0; i < nconns; i++) {
        if (C[i]->up) {
          blast(C[i]);
        }
      }
    } else if (sending && per_proc_rate != 0) {
      uint64_t want = per_proc_rate * (t - t0) / 1000000000u;
      unsigned guard = 0;
      while (due_sent < want && guard++ < nconns) {
        conn *c = C[rr++ % nconns];
        if (c->up && !c->dead) {
          send_msgs(c, 1, r);
        }
        due_sent++;
      }
    }
    int n = epoll_wait(ep, evs, 512, O.blast ? 0 : 1);
    for (int i = 0; i < n; i++) {
      conn *c = C[evs[i].data.u32];
      if (O.slow == 0) {
        on_readable(c, r, sending);
      }
      if (c->dead && c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      }
    }
  }
  for (unsigned i = 0; i < nconns; i++) {
    if (C[i]->fd >= 0) {
      close(C[i]->fd);
    }
    free(C[i]);
  }
  free(C);
  close(ep);
  return 0;
}

static uint64_t pct(const result *r, double p) {
  uint64_t total = 0;
  for (unsigned i = 0; i < NBUCKETS; i++) {
    total += r->hist[i];
  }
  uint64_t want = (uint64_t)((double)total * p);
  uint64_t acc = 0;
  for (unsigned i = 0; i < NBUCKETS; i++) {
    acc += r->hist[i];
    if (acc > want) {
      return bucket_value(i);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  int opt;
  while ((opt = getopt(argc, argv, "h:p:c:P:a:d:r:q:m:S:Bk:")) != -1) {
    unsigned long v = optarg != NULL ? strtoul(optarg, NULL, 10) : 0;
    switch (opt) {
    case 'h':
      O.host = optarg;
      break;
    case 'p':
      O.port = (uint16_t)v;
      break;
    case 'c':
      O.conns = (unsigned)v;
      break;
    case 'P':
      O.procs = (unsigned)v;
      break;
    case 'a':
      O.naddrs = (unsigned)v;
      break;
    case 'd':
      O.secs = (unsigned)v;
      break;
    case 'r':
      O.rate = v;
      break;
    case 'q':
      O.depth = (unsigned)v;
      break;
    case 'm':
      O.msg = (unsigned)v;
      break;
    case 'S':
      O.slow = v;
      break;
    case 'B':
      O.blast = true;
      break;
    case 'k':
      O.kill_after = (unsigned)v;
      break;
    default:
      fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
      return 2;
    }
  }
  if (O.procs == 0 || O.procs > MAX_PROCS || O.conns < O.procs || O.naddrs == 0 || O.naddrs > 250 ||
      O.msg < 16 || O.msg > 4096 || O.depth == 0) {
    fprintf(stderr, "loadgen: bad arguments\n");
    return 2;
  }
  /* Stop by itself, whatever happens: connect (<= 60 s), hold, 5 s drain. */
  alarm(O.secs + 90);
  int pipes[MAX_PROCS];
  pid_t pids[MAX_PROCS];
  for (unsigned i = 0; i < O.procs; i++) {
    int p[2];
    if (pipe(p) != 0) {
      perror("pipe");
      return 1;
    }
    unsigned n = O.conns / O.procs + (i < O.conns % O.procs ? 1 : 0);
    pids[i] = fork();
    if (pids[i] == 0) {
      close(p[0]);
      static result r;
      int rc = run_proc(i, n, &r);
      const char *b = (const char *)&r;
      size_t left = sizeof r;
      while (left > 0) {
        ssize_t w = write(p[1], b, left);
        if (w <= 0) {
          _exit(1);
        }
        b += w;
        left -= (size_t)w;
      }
      _exit(rc);
    }
    close(p[1]);
    pipes[i] = p[0];
  }
  static result tot;
  static result one;
  uint64_t connect_ns = 0;
  for (unsigned i = 0; i < O.procs; i++) {
    char *b = (char *)&one;
    size_t got = 0;
    while (got < sizeof one) {
      ssize_t k = read(pipes[i], b + got, sizeof one - got);
      if (k <= 0) {
        break;
      }
      got += (size_t)k;
    }
    waitpid(pids[i], NULL, 0);
    if (got != sizeof one) {
      fprintf(stderr, "loadgen: process %u died\n", i);
      return 1;
    }
    tot.established += one.established;
    tot.failed += one.failed;
    tot.closed_early += one.closed_early;
    tot.sent += one.sent;
    tot.received += one.received;
    tot.corrupt += one.corrupt;
    tot.truncated += one.truncated;
    tot.bytes_rx += one.bytes_rx;
    connect_ns = one.connect_ns > connect_ns ? one.connect_ns : connect_ns;
    for (unsigned j = 0; j < NBUCKETS; j++) {
      tot.hist[j] += one.hist[j];
    }
  }
  double secs = O.secs > 0 ? (double)O.secs : 1.0;
  printf("loadgen: conns=%" PRIu64 " failed=%" PRIu64 " closed_early=%" PRIu64
         " connect_rate=%.0f/s sent=%" PRIu64 " received=%" PRIu64 " lost=%" PRIu64
         " corrupt=%" PRIu64 " truncated=%" PRIu64
         " msgs_per_s=%.0f rx_MB_per_s=%.2f p50_us=%" PRIu64 " p99_us=%" PRIu64 " p999_us=%" PRIu64
         "\n",
         tot.established, tot.failed, tot.closed_early,
         connect_ns != 0 ? (double)tot.established / ((double)connect_ns / 1e9) : 0.0, tot.sent,
         tot.received, tot.sent - tot.received - tot.corrupt, tot.corrupt, tot.truncated,
         (double)tot.received / secs, (double)tot.bytes_rx / secs / 1e6, pct(&tot, 0.50),
         pct(&tot, 0.99), pct(&tot, 0.999));
  bool ok = tot.established == O.conns && tot.corrupt == 0 && tot.truncated == 0;
  if (!O.blast && O.kill_after == 0) {
    ok = ok && tot.received == tot.sent && tot.closed_early == 0;
  }
  return ok ? 0 : 1;
}
