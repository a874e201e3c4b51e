/* server-internal.h: what server.c (accept, lifetime) and conn.c
 * (connection I/O) share. Not installed. */
#pragma once

#include <rivet/core/pool.h>
#include <rivet/net/server.h>

#define READ_CHUNK_MAX ((size_t)16 << 20)
#define IOV_MAX_BATCH 64
#define WBUF_MIN 1024u

enum {
  F_CLOSED = 1u << 0,   /* fd closed, on the dead list */
  F_PRESSURE = 1u << 1, /* queued output over the high watermark */
  F_EOF = 1u << 2,      /* the peer sent FIN */
  F_CLOSING = 1u << 3,  /* no more input delivered; flush, FIN, close */
  F_FIN_SENT = 1u << 4, /* shutdown(SHUT_WR) done */
  F_PENDING = 1u << 5,  /* on the pending-read list */
  F_FLUSHQ = 1u << 6,   /* on the flush list: output sent after the batch */
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
  rv_conn *fnext; /* flush list */
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
  rv_conn *flushq;  /* output queued this batch, sent by the deferred call, */
  rv_conn *flusht;  /* in the order it was queued (flushq's tail) */
  rv_loop_deferred deferred;
  rv_loop_timer accept_retry;
  rv_loop_timer deadline;
  rv_server_stats st;
};

static inline uint32_t now32(const rv_server *s) {
  return (uint32_t)(rv_loop_now(s->loop) - s->t0);
}

/* conn.c */
void conn_io(rv_loop_io *io, uint32_t ev);
void conn_arm(rv_conn *c, bool force);
void conn_finish(rv_conn *c, int reason);
void conn_begin_close(rv_conn *c);
void srv_deferred(rv_loop_deferred *d);
void srv_reap(rv_server *s);
