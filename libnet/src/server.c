/* server: TCP accept, pooled reads, chained writes, watermarks, timeouts. */
#define _GNU_SOURCE
#include <rivet/net/server.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rivet/core/pool.h>

#define READ_CHUNK_MAX ((size_t)16 << 20)
#define IOV_MAX_BATCH 64
#define WBUF_MIN 1024u
#define ACCEPT_RETRY_MS 100u

enum {
  F_CLOSED = 1u << 0,   /* fd closed, on the dead list */
  F_PRESSURE = 1u << 1, /* queued output over the high watermark */
  F_EOF = 1u << 2,      /* the peer sent FIN */
  F_CLOSING = 1u << 3,  /* no more input delivered; flush, FIN, close */
  F_FIN_SENT = 1u << 4, /* shutdown(SHUT_WR) done */
  F_PENDING = 1u << 5,  /* on the pending-read list */
};

typedef struct wbuf {
  struct wbuf *next;
  size_t cap;
  size_t len;
  size_t off;
  uint8_t data[];
} wbuf;

struct rv_conn {
  rv_loop_io io;
  rv_loop_timer timer;
  rv_server *srv;
  rv_conn *prev;
  rv_conn *next;
  rv_conn *pnext; /* pending-read list */
  uint8_t *rbuf;
  wbuf *whead;
  wbuf *wtail;
  size_t queued;
  void *user;
  uint32_t rlen;
  uint32_t t_active;  /* last traffic, ms since server start */
  uint32_t t_partial; /* when the buffered partial message started waiting */
  uint32_t t_write;   /* last output progress (or when output got queued) */
  uint16_t flags;
  uint16_t paused;
};

struct rv_server {
  rv_loop *loop;
  const rv_alloc *alloc;
  rv_server_config cfg;
  rv_loop_io lio;
  int lfd;
  int spare;
  uint16_t port;
  bool shutting;
  bool shutdown_done;
  uint64_t t0;
  rv_pool pool;
  rv_conn *conns;   /* live connections */
  rv_conn *dead;    /* closed, freed by the deferred call */
  rv_conn *pending; /* need a read attempt (resumed) */
  rv_loop_deferred deferred;
  rv_loop_timer accept_retry;
  rv_loop_timer deadline;
  rv_server_stats st;
};

static uint32_t now32(const rv_server *s) { return (uint32_t)(rv_loop_now(s->loop) - s->t0); }

static void srv_deferred(rv_loop_deferred *d);
static void conn_read(rv_conn *c);
static void conn_timer(rv_loop_timer *t);

static rv_conn *conn_of_io(rv_loop_io *io) {
  /* io is the first member of an rv_conn: step back to the struct. */
  return (rv_conn *)(void *)((char *)io - offsetof(rv_conn, io));
}
static rv_conn *conn_of_timer(rv_loop_timer *t) {
  /* t is the timer member of an rv_conn. */
  return (rv_conn *)(void *)((char *)t - offsetof(rv_conn, timer));
}
static rv_server *srv_of(rv_loop_deferred *d) {
  /* d is the deferred member of an rv_server. */
  return (rv_server *)(void *)((char *)d - offsetof(rv_server, deferred));
}

void rv_server_config_default(rv_server_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->host = "127.0.0.1";
  cfg->backlog = 4096;
  cfg->idle_timeout_ms = 60000;
  cfg->slow_timeout_ms = 10000;
  cfg->write_timeout_ms = 30000;
  cfg->read_chunk = 16384;
  cfg->pool_blocks = 1024;
  cfg->high_watermark = 256u * 1024u;
  cfg->low_watermark = 64u * 1024u;
}

/* ---- read buffers ---- */

static uint8_t *buf_get(rv_server *s) {
  uint8_t *b = rv_pool_get(&s->pool);
  if (b == NULL) {
    b = rv_alloc_get(s->alloc, s->cfg.read_chunk, 16);
    if (b == NULL) {
      return NULL;
    }
    s->st.heap_buffers++;
  }
  s->st.buffers_in_use++;
  return b;
}

static void buf_release(rv_conn *c) {
  rv_server *s = c->srv;
  if (c->rbuf == NULL) {
    return;
  }
  if (rv_pool_owns(&s->pool, c->rbuf)) {
    rv_pool_put(&s->pool, c->rbuf);
  } else {
    rv_alloc_free(s->alloc, c->rbuf, s->cfg.read_chunk);
  }
  c->rbuf = NULL;
  c->rlen = 0;
  s->st.buffers_in_use--;
}

/* ---- timers ---- */

/* The earliest time (server ms) one of c's limits may expire. */
static uint64_t conn_due(const rv_conn *c) {
  const rv_server_config *cfg = &c->srv->cfg;
  uint64_t due = UINT64_MAX;
  if (cfg->idle_timeout_ms != 0) {
    due = (uint64_t)c->t_active + cfg->idle_timeout_ms;
  }
  if (c->rlen != 0 && cfg->slow_timeout_ms != 0) {
    uint64_t d = (uint64_t)c->t_partial + cfg->slow_timeout_ms;
    due = d < due ? d : due;
  }
  if (c->queued != 0 && cfg->write_timeout_ms != 0) {
    uint64_t d = (uint64_t)c->t_write + cfg->write_timeout_ms;
    due = d < due ? d : due;
  }
  return due;
}

/* Arm c's timer for its earliest limit, unless it is armed earlier already
 * (traffic only moves limits later, so a timer firing early re-arms). */
static void conn_arm(rv_conn *c, bool force) {
  rv_server *s = c->srv;
  uint64_t due = conn_due(c);
  if (due == UINT64_MAX) {
    rv_loop_timer_stop(s->loop, &c->timer);
    return;
  }
  uint64_t abs_due = s->t0 + due;
  if (!force && rv_loop_timer_active(&c->timer) && c->timer.deadline <= abs_due) {
    return;
  }
  uint64_t now = rv_loop_now(s->loop);
  if (rv_loop_timer_start(s->loop, &c->timer, abs_due > now ? abs_due - now : 0, conn_timer) != 0) {
    /* No memory for the heap: this connection would escape its limits. */
    rv_conn_abort(c, RV_ENOMEM);
  }
}

/* ---- closing ---- */

static void conn_finish(rv_conn *c, int reason) {
  if (c->flags & F_CLOSED) {
    return;
  }
  rv_server *s = c->srv;
  c->flags |= F_CLOSED;
  int fd = c->io.fd;
  rv_loop_io_stop(s->loop, &c->io);
  (void)close(fd);
  rv_loop_timer_stop(s->loop, &c->timer);
  for (wbuf *w = c->whead; w != NULL;) {
    wbuf *n = w->next;
    rv_alloc_free(s->alloc, w, sizeof *w + w->cap);
    w = n;
  }
  s->st.queued_bytes -= c->queued;
  c->whead = c->wtail = NULL;
  c->queued = 0;
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    s->conns = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  c->prev = NULL;
  c->next = s->dead;
  s->dead = c;
  s->st.conns--;
  s->st.closed++;
  if (reason == RV_ETIMEDOUT) {
    s->st.timed_out++;
  }
  if (s->cfg.cb.on_close != NULL) {
    s->cfg.cb.on_close(c, reason, s->cfg.user);
  }
  rv_loop_defer(s->loop, &s->deferred, srv_deferred);
}

void rv_conn_abort(rv_conn *c, int reason) { conn_finish(c, reason); }

/* Output is flushed and input no longer wanted: FIN, and close once the
 * peer's FIN is in (or now, if it already is). */
static void conn_fin(rv_conn *c) {
  if (!(c->flags & F_FIN_SENT)) {
    c->flags |= F_FIN_SENT;
    (void)shutdown(c->io.fd, SHUT_WR);
  }
  if (c->flags & F_EOF) {
    conn_finish(c, 0);
  }
}

static void conn_begin_close(rv_conn *c) {
  if (c->flags & (F_CLOSED | F_CLOSING)) {
    return;
  }
  c->flags |= F_CLOSING;
  if (c->whead == NULL) {
    conn_fin(c);
  }
  if (!(c->flags & F_CLOSED)) {
    /* Read (and discard) what the peer still sends, to see its FIN. */
    c->paused = 0;
    c->flags &= (uint16_t)~F_PRESSURE;
    if (!(c->flags & F_PENDING)) {
      c->flags |= F_PENDING;
      c->pnext = c->srv->pending;
      c->srv->pending = c;
      rv_loop_defer(c->srv->loop, &c->srv->deferred, srv_deferred);
    }
  }
}

void rv_conn_close(rv_conn *c) { conn_begin_close(c); }

/* ---- writing ---- */

static void set_want_write(rv_conn *c, bool on) {
  uint32_t ev = RV_LOOP_READ | (on ? RV_LOOP_WRITE : 0u);
  if (rv_loop_io_modify(c->srv->loop, &c->io, ev) != 0) {
    conn_finish(c, RV_EIO);
  }
}

static void schedule_read(rv_conn *c) {
  if (c->flags & (F_PENDING | F_CLOSED)) {
    return;
  }
  c->flags |= F_PENDING;
  c->pnext = c->srv->pending;
  c->srv->pending = c;
  rv_loop_defer(c->srv->loop, &c->srv->deferred, srv_deferred);
}

static void conn_flush(rv_conn *c) {
  rv_server *s = c->srv;
  while (c->whead != NULL) {
    struct iovec iov[IOV_MAX_BATCH];
    int n = 0;
    for (wbuf *w = c->whead; w != NULL && n < IOV_MAX_BATCH; w = w->next) {
      iov[n].iov_base = w->data + w->off;
      iov[n].iov_len = w->len - w->off;
      n++;
    }
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t k = sendmsg(c->io.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      conn_finish(c, RV_EIO);
      return;
    }
    size_t left = (size_t)k;
    c->queued -= left;
    s->st.queued_bytes -= left;
    s->st.bytes_out += left;
    c->t_write = c->t_active = now32(s);
    while (left > 0) {
      wbuf *w = c->whead;
      size_t avail = w->len - w->off;
      if (left < avail) {
        w->off += left;
        break;
      }
      left -= avail;
      c->whead = w->next;
      rv_alloc_free(s->alloc, w, sizeof *w + w->cap);
    }
    if (c->whead == NULL) {
      c->wtail = NULL;
    }
  }
  if (c->whead == NULL) {
    set_want_write(c, false);
    if (c->flags & F_CLOSED) {
      return;
    }
  }
  if ((c->flags & F_PRESSURE) && c->queued <= s->cfg.low_watermark) {
    c->flags &= (uint16_t)~F_PRESSURE;
    if (s->cfg.cb.on_pressure != NULL) {
      s->cfg.cb.on_pressure(c, false, s->cfg.user);
    }
    schedule_read(c);
  }
  if (c->whead == NULL && !(c->flags & F_CLOSED)) {
    if (c->flags & F_CLOSING) {
      conn_fin(c);
    } else if (c->flags & F_EOF) {
      conn_finish(c, 0); /* half-closed peer has all its answers */
    }
  }
}

int rv_conn_write(rv_conn *c, const void *data, size_t len) {
  if (data == NULL && len != 0) {
    return RV_EINVAL;
  }
  if (c->flags & (F_CLOSED | F_CLOSING)) {
    return RV_ECLOSED;
  }
  rv_server *s = c->srv;
  const uint8_t *p = data;
  if (len == 0) {
    return 0;
  }
  if (c->whead == NULL) {
    ssize_t k;
    do {
      k = send(c->io.fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (k < 0 && errno == EINTR);
    if (k < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        conn_finish(c, RV_EIO);
        return RV_EIO;
      }
      k = 0;
    }
    s->st.bytes_out += (size_t)k;
    p += k;
    len -= (size_t)k;
    if (len == 0) {
      return 0;
    }
  }
  wbuf *t = c->wtail;
  if (t != NULL && t->cap - t->len >= len) {
    memcpy(t->data + t->len, p, len);
    t->len += len;
  } else {
    size_t cap = len < WBUF_MIN ? WBUF_MIN : len;
    size_t bytes;
    if (__builtin_add_overflow(sizeof *t, cap, &bytes)) {
      conn_finish(c, RV_ENOMEM);
      return RV_ENOMEM;
    }
    wbuf *w = rv_alloc_get(s->alloc, bytes, _Alignof(wbuf));
    if (w == NULL) {
      conn_finish(c, RV_ENOMEM);
      return RV_ENOMEM;
    }
    w->next = NULL;
    w->cap = cap;
    w->len = len;
    w->off = 0;
    memcpy(w->data, p, len);
    if (t != NULL) {
      t->next = w;
    } else {
      c->whead = w;
    }
    c->wtail = w;
  }
  bool first = c->queued == 0;
  c->queued += len;
  s->st.queued_bytes += len;
  if (first) {
    c->t_write = now32(s);
    set_want_write(c, true);
    if (c->flags & F_CLOSED) {
      return RV_EIO;
    }
    conn_arm(c, false);
  }
  if (!(c->flags & F_PRESSURE) && c->queued > s->cfg.high_watermark) {
    c->flags |= F_PRESSURE;
    s->st.pressure_on++;
    if (s->cfg.cb.on_pressure != NULL) {
      s->cfg.cb.on_pressure(c, true, s->cfg.user);
    }
  }
  return 0;
}

/* ---- reading ---- */

static void conn_discard(rv_conn *c) {
  uint8_t junk[1024];
  for (;;) {
    ssize_t k = recv(c->io.fd, junk, sizeof junk, MSG_DONTWAIT);
    if (k > 0) {
      continue;
    }
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k == 0) {
      c->flags |= F_EOF;
      if (c->flags & F_FIN_SENT) {
        conn_finish(c, 0);
      }
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      conn_finish(c, RV_EIO);
    }
    return;
  }
}

static void conn_read(rv_conn *c) {
  rv_server *s = c->srv;
  const size_t chunk = s->cfg.read_chunk;
  for (;;) {
    if (c->flags & (F_CLOSED | F_EOF)) {
      return;
    }
    if (c->flags & F_CLOSING) {
      buf_release(c);
      conn_discard(c);
      return;
    }
    if ((c->flags & F_PRESSURE) || c->paused != 0) {
      return;
    }
    if (c->rbuf == NULL) {
      c->rbuf = buf_get(s);
      if (c->rbuf == NULL) {
        conn_finish(c, RV_ENOMEM);
        return;
      }
    }
    ssize_t k = recv(c->io.fd, c->rbuf + c->rlen, chunk - c->rlen, MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (c->rlen == 0) {
          buf_release(c); /* idle connections hold no buffer */
        }
        return;
      }
      conn_finish(c, RV_EIO);
      return;
    }
    if (k == 0) {
      c->flags |= F_EOF;
      buf_release(c); /* a partial message can never complete now */
      if (c->whead == NULL) {
        conn_finish(c, 0);
      }
      return;
    }
    s->st.bytes_in += (size_t)k;
    uint32_t now = now32(s);
    c->t_active = now;
    bool was_empty = c->rlen == 0;
    c->rlen += (uint32_t)k;
    size_t used = s->cfg.cb.on_data(c, c->rbuf, c->rlen, s->cfg.user);
    if (c->flags & (F_CLOSED | F_CLOSING)) {
      buf_release(c);
      if (!(c->flags & F_CLOSED)) {
        continue; /* discard the rest and watch for the peer's FIN */
      }
      return;
    }
    if (used >= c->rlen) {
      buf_release(c);
      continue;
    }
    if (used > 0) {
      memmove(c->rbuf, c->rbuf + used, c->rlen - used);
      c->rlen -= (uint32_t)used;
    }
    if (used > 0 || was_empty) {
      c->t_partial = now;
      conn_arm(c, false);
    }
    if (c->rlen == chunk) {
      conn_finish(c, RV_ELIMIT); /* one message larger than a read buffer */
      return;
    }
  }
}

static void conn_io(rv_loop_io *io, uint32_t ev) {
  rv_conn *c = conn_of_io(io);
  if ((ev & RV_LOOP_WRITE) && c->whead != NULL) {
    conn_flush(c);
  }
  if ((ev & RV_LOOP_READ) && !(c->flags & F_CLOSED)) {
    conn_read(c);
  }
}

static void conn_timer(rv_loop_timer *t) {
  rv_conn *c = conn_of_timer(t);
  rv_server *s = c->srv;
  uint64_t due = conn_due(c);
  if (due <= (uint64_t)now32(s)) {
    conn_finish(c, RV_ETIMEDOUT);
    return;
  }
  conn_arm(c, true);
}

void rv_conn_pause(rv_conn *c) {
  if (c->paused < UINT16_MAX) {
    c->paused++;
  }
}

void rv_conn_resume(rv_conn *c) {
  if (c->paused == 0) {
    return;
  }
  c->paused--;
  if (c->paused == 0) {
    schedule_read(c);
  }
}

size_t rv_conn_queued(const rv_conn *c) { return c->queued; }
void rv_conn_set_user(rv_conn *c, void *user) { c->user = user; }
void *rv_conn_user(const rv_conn *c) { return c->user; }
int rv_conn_fd(const rv_conn *c) { return c->io.fd; }
rv_server *rv_conn_server(const rv_conn *c) { return c->srv; }

/* ---- deferred work: resumed reads, freeing closed connections ---- */

static void srv_reap(rv_server *s) {
  while (s->dead != NULL) {
    rv_conn *c = s->dead;
    s->dead = c->next;
    buf_release(c);
    rv_alloc_free(s->alloc, c, sizeof *c);
  }
}

static void srv_deferred(rv_loop_deferred *d) {
  rv_server *s = srv_of(d);
  while (s->pending != NULL) {
    rv_conn *c = s->pending;
    s->pending = c->pnext;
    c->flags &= (uint16_t)~F_PENDING;
    conn_read(c);
  }
  srv_reap(s);
  if (s->shutting && s->st.conns == 0 && !s->shutdown_done) {
    s->shutdown_done = true;
    rv_loop_timer_stop(s->loop, &s->deadline);
    if (s->cfg.cb.on_shutdown != NULL) {
      s->cfg.cb.on_shutdown(s, s->cfg.user);
    }
  }
}

/* ---- accepting ---- */

static void srv_accept(rv_loop_io *io, uint32_t ev);

static void accept_retry(rv_loop_timer *t) {
  /* t is the accept_retry member of an rv_server. */
  rv_server *s = (rv_server *)(void *)((char *)t - offsetof(rv_server, accept_retry));
  srv_accept(&s->lio, RV_LOOP_READ);
}

/* The fd table is full: close the spare, take the connection off the
 * queue and close it, then take the spare back. Without this an
 * edge-triggered listener would stop hearing about new connections, and a
 * level-triggered one would spin. */
static bool srv_shed(rv_server *s) {
  if (s->spare < 0) {
    return false;
  }
  close(s->spare);
  int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    s->st.rejected++;
  }
  s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

static void srv_accept(rv_loop_io *io, uint32_t ev) {
  (void)ev;
  /* io is the lio member of an rv_server. */
  rv_server *s = (rv_server *)(void *)((char *)io - offsetof(rv_server, lio));
  while (s->lfd >= 0) {
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      }
      if ((errno == EMFILE || errno == ENFILE) && srv_shed(s)) {
        continue;
      }
      /* Out of memory/buffers, or no spare: retry soon, since the edge
       * that told us about the waiting connections is spent. */
      (void)rv_loop_timer_start(s->loop, &s->accept_retry, ACCEPT_RETRY_MS, accept_retry);
      return;
    }
    if (s->cfg.max_conns != 0 && s->st.conns >= s->cfg.max_conns) {
      close(fd);
      s->st.rejected++;
      continue;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rv_conn *c = rv_alloc_get(s->alloc, sizeof *c, _Alignof(rv_conn));
    if (c == NULL) {
      close(fd);
      s->st.rejected++;
      continue;
    }
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->t_active = now32(s);
    if (rv_loop_io_start(s->loop, &c->io, fd, RV_LOOP_READ, conn_io) != 0) {
      rv_alloc_free(s->alloc, c, sizeof *c);
      close(fd);
      s->st.rejected++;
      continue;
    }
    c->next = s->conns;
    if (s->conns != NULL) {
      s->conns->prev = c;
    }
    s->conns = c;
    s->st.conns++;
    s->st.accepted++;
    conn_arm(c, true);
    if (!(c->flags & F_CLOSED) && s->cfg.cb.on_open != NULL) {
      s->cfg.cb.on_open(c, s->cfg.user);
    }
  }
}

/* ---- server lifetime ---- */

static int listen_socket(rv_server *s, const rv_server_config *cfg) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
  if (cfg->host == NULL) {
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
    return RV_EINVAL;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return rv_err_from_errno(errno);
  }
  int one = 1;
  int rc = 0;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (cfg->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    rc = rv_err_from_errno(errno);
    goto fail;
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    rc = errno == EADDRINUSE ? RV_EBUSY : rv_err_from_errno(errno);
    goto fail;
  }
  if (listen(fd, cfg->backlog > 0 ? cfg->backlog : 128) != 0) {
    rc = rv_err_from_errno(errno);
    goto fail;
  }
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    rc = rv_err_from_errno(errno);
    goto fail;
  }
  s->port = ntohs(sa.sin_port);
  s->lfd = fd;
  return 0;
fail:
  close(fd);
  return rc;
}

int rv_server_new(rv_server **out, rv_loop *l, const rv_server_config *cfg, const rv_alloc *a) {
  if (out == NULL) {
    return RV_EINVAL;
  }
  *out = NULL;
  if (l == NULL || cfg == NULL || cfg->cb.on_data == NULL || cfg->read_chunk == 0 ||
      cfg->read_chunk > READ_CHUNK_MAX || cfg->pool_blocks == 0 ||
      cfg->low_watermark >= cfg->high_watermark) {
    return RV_EINVAL;
  }
  rv_server *s = rv_alloc_get(a, sizeof *s, _Alignof(rv_server));
  if (s == NULL) {
    return RV_ENOMEM;
  }
  memset(s, 0, sizeof *s);
  s->loop = l;
  s->alloc = a;
  s->cfg = *cfg;
  s->cfg.host = NULL;
  s->lfd = -1;
  s->spare = -1;
  s->t0 = rv_loop_now(l);
  int rc = 0;
  bool pool_ok = false;
  rc = rv_pool_init(&s->pool, a, cfg->read_chunk, cfg->pool_blocks);
  if (rc != 0) {
    goto fail;
  }
  pool_ok = true;
  s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (s->spare < 0) {
    rc = rv_err_from_errno(errno);
    goto fail;
  }
  rc = listen_socket(s, cfg);
  if (rc != 0) {
    goto fail;
  }
  rc = rv_loop_io_start(l, &s->lio, s->lfd, RV_LOOP_READ, srv_accept);
  if (rc != 0) {
    goto fail;
  }
  *out = s;
  return 0;
fail:
  if (s->lfd >= 0) {
    close(s->lfd);
  }
  if (s->spare >= 0) {
    close(s->spare);
  }
  if (pool_ok) {
    rv_pool_free(&s->pool);
  }
  rv_alloc_free(a, s, sizeof *s);
  return rc;
}

static void srv_close_listener(rv_server *s) {
  if (s->lfd >= 0) {
    rv_loop_io_stop(s->loop, &s->lio);
    close(s->lfd);
    s->lfd = -1;
  }
  rv_loop_timer_stop(s->loop, &s->accept_retry);
}

void rv_server_free(rv_server *s) {
  if (s == NULL) {
    return;
  }
  srv_close_listener(s);
  while (s->conns != NULL) {
    conn_finish(s->conns, RV_ECLOSED);
  }
  s->pending = NULL;
  srv_reap(s);
  rv_loop_defer_cancel(s->loop, &s->deferred);
  rv_loop_timer_stop(s->loop, &s->deadline);
  if (s->spare >= 0) {
    close(s->spare);
  }
  rv_pool_free(&s->pool);
  rv_alloc_free(s->alloc, s, sizeof *s);
}

static void srv_deadline(rv_loop_timer *t) {
  /* t is the deadline member of an rv_server. */
  rv_server *s = (rv_server *)(void *)((char *)t - offsetof(rv_server, deadline));
  while (s->conns != NULL) {
    conn_finish(s->conns, RV_ECLOSED);
  }
}

int rv_server_shutdown(rv_server *s, uint32_t deadline_ms) {
  if (s->shutting) {
    return RV_ESTATE;
  }
  int rc = rv_loop_timer_start(s->loop, &s->deadline, deadline_ms, srv_deadline);
  if (rc != 0) {
    return rc;
  }
  s->shutting = true;
  srv_close_listener(s);
  for (rv_conn *c = s->conns, *n; c != NULL; c = n) {
    n = c->next;
    conn_begin_close(c);
  }
  rv_loop_defer(s->loop, &s->deferred, srv_deferred);
  return 0;
}

uint16_t rv_server_port(const rv_server *s) { return s->port; }

void rv_server_stats_get(const rv_server *s, rv_server_stats *out) { *out = s->st; }
