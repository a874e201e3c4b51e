/* conn: one connection's reads (pooled buffers), chained writes,
 * watermarks, timeouts and closing. Accepting and the server's lifetime
 * are in server.c. */
#define _GNU_SOURCE
#include "server-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void conn_read(rv_conn *c, bool greedy);
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
void conn_arm(rv_conn *c, bool force) {
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

void conn_finish(rv_conn *c, int reason) {
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

void conn_begin_close(rv_conn *c) {
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

/* Sends queued output until it is all sent or the socket is full. Returns
 * RV_EIO if that failed (c is then closed with RV_EIO), else 0 (c may have
 * been closed normally: a closing or half-closed peer's output done). */
static int conn_flush(rv_conn *c) {
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
      return RV_EIO;
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
      return RV_EIO;
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
  return 0;
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
  if (first && !(c->flags & F_FLUSHQ)) {
    /* Sent after the current batch of events (srv_deferred): the replies
     * of a batch go out back to back, not interleaved with its reads. */
    c->t_write = now32(s);
    c->flags |= F_FLUSHQ;
    c->fnext = NULL;
    if (s->flusht != NULL) {
      s->flusht->fnext = c;
    } else {
      s->flushq = c;
    }
    s->flusht = c;
    rv_loop_defer(s->loop, &s->deferred, srv_deferred);
  }
  if ((c->flags & F_FLUSHQ) && c->queued > s->cfg.high_watermark) {
    /* Not tried yet this batch: send now rather than report pressure for
     * output the socket may well take. */
    if (conn_flush(c) != 0) {
      return RV_EIO;
    }
    if (c->flags & F_CLOSED) {
      return 0; /* all sent to a half-closed peer, now closed */
    }
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

/* Read and deliver until the socket is drained. Not greedy: a short read
 * (fewer bytes than asked for) means the receive queue was empty, so stop
 * there instead of paying one more recv() for EAGAIN; bytes arriving later
 * raise a new edge. Greedy (the peer hung up, or a deferred read after a
 * pause, whose edge may be spent): read until EAGAIN or EOF. */
static void conn_read(rv_conn *c, bool greedy) {
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
    size_t want = chunk - c->rlen;
    ssize_t k = recv(c->io.fd, c->rbuf + c->rlen, want, MSG_DONTWAIT);
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
    bool drained = !greedy && (size_t)k < want;
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
      if (drained) {
        return;
      }
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
    if (drained) {
      return;
    }
  }
}

void conn_io(rv_loop_io *io, uint32_t ev) {
  rv_conn *c = conn_of_io(io);
  if ((ev & RV_LOOP_WRITE) && c->whead != NULL) {
    (void)conn_flush(c);
  }
  if ((ev & RV_LOOP_READ) && !(c->flags & F_CLOSED)) {
    conn_read(c, (ev & RV_LOOP_HUP) != 0);
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

void srv_reap(rv_server *s) {
  while (s->dead != NULL) {
    rv_conn *c = s->dead;
    s->dead = c->next;
    buf_release(c);
    rv_alloc_free(s->alloc, c, sizeof *c);
  }
}

void srv_deferred(rv_loop_deferred *d) {
  rv_server *s = srv_of(d);
  while (s->flushq != NULL) {
    rv_conn *c = s->flushq;
    s->flushq = c->fnext;
    if (s->flushq == NULL) {
      s->flusht = NULL;
    }
    c->flags &= (uint16_t)~F_FLUSHQ;
    if (!(c->flags & F_CLOSED) && c->whead != NULL) {
      (void)conn_flush(c);
      if (c->whead != NULL && !(c->flags & F_CLOSED)) {
        set_want_write(c, true);
        if (!(c->flags & F_CLOSED)) {
          conn_arm(c, false);
        }
      }
    }
  }
  while (s->pending != NULL) {
    rv_conn *c = s->pending;
    s->pending = c->pnext;
    c->flags &= (uint16_t)~F_PENDING;
    conn_read(c, true);
  }
  if (s->flushq == NULL) {
    /* Else those reads queued output (this call runs again at once), and
     * a connection on the flush list must outlive it: reap then. */
    srv_reap(s);
  }
  if (s->shutting && s->st.conns == 0 && !s->shutdown_done) {
    s->shutdown_done = true;
    rv_loop_timer_stop(s->loop, &s->deadline);
    if (s->cfg.cb.on_shutdown != NULL) {
      s->cfg.cb.on_shutdown(s, s->cfg.user);
    }
  }
}
