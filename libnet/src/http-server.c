/* http-server: glue between the TCP server's on_data and the sans-I/O
 * parser, the router and the response writer. */
#include <rivet/net/http-server.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <rivet/net/server.h>

#define MAX_FIELDS 128u
/* Responses of pipelined requests are sent together up to this many bytes. */
#define OUT_BATCH ((size_t)64 * 1024)

struct rv_http_server {
  const rv_alloc *alloc;
  rv_loop *loop;
  rv_server *tcp;
  const rv_http_router *router;
  rv_http_limits limits;
  uint32_t body_timeout_ms;
  void (*on_shutdown)(rv_http_server *s, void *user);
  void *shutdown_user;
};

enum { PH_HEAD = 0, PH_BODY = 1, PH_CLOSING = 2 };

/* Per connection: the stream parser, a copy of the current head while its
 * body is read (so body bytes can be consumed while the head's views stay
 * valid), the body, the output, and the body deadline. A request without
 * a body is answered straight from the read buffer: no copy. */
typedef struct hconn {
  rv_http_server *srv;
  rv_conn *conn;
  int phase;
  bool busy;                /* inside on_data or the timer: on_close must not free yet */
  bool closed;              /* on_close ran (the server calls it synchronously) */
  rv_loop_timer body_timer; /* armed only while a body is being read */
  rv_http_parser p;
  rv_http_header fields[MAX_FIELDS];
  rv_http_request req;         /* the head whose body is being read (views into head) */
  char peer[INET6_ADDRSTRLEN]; /* the client's address, "" when unknown */
  uint8_t *head;               /* limits.max_head bytes, allocated on the first body */
  rv_buf body;
  rv_buf out;
} hconn;

static void hconn_free(hconn *h) {
  const rv_alloc *a = h->srv->alloc;
  rv_loop_timer_stop(h->srv->loop, &h->body_timer);
  rv_buf_free(&h->body);
  rv_buf_free(&h->out);
  if (h->head != NULL) {
    rv_alloc_free(a, h->head, h->srv->limits.max_head);
  }
  rv_alloc_free(a, h, sizeof *h);
}

/* The client's address as text, for rate limits and logs by address. */
static void set_peer(hconn *h, int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  h->peer[0] = '\0';
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
    return;
  }
  /* The casts follow ss_family: sockaddr_storage is sized and aligned for both. */
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)&ss)->sin_addr, h->peer, sizeof h->peer);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&ss)->sin6_addr, h->peer, sizeof h->peer);
  }
}

static void on_open(rv_conn *c, void *user) {
  rv_http_server *s = user;
  hconn *h = rv_alloc_get(s->alloc, sizeof *h, _Alignof(hconn));
  if (h == NULL) {
    rv_conn_abort(c, RV_ENOMEM);
    return;
  }
  memset(h, 0, sizeof *h);
  h->srv = s;
  h->conn = c;
  rv_buf_init(&h->body, s->alloc);
  rv_buf_init(&h->out, s->alloc);
  rv_loop_timer_init(&h->body_timer);
  if (rv_http_parser_init(&h->p, h->fields, MAX_FIELDS, &s->limits) != RV_OK) {
    hconn_free(h);
    rv_conn_abort(c, RV_ENOMEM);
    return;
  }
  set_peer(h, rv_conn_fd(c));
  rv_conn_set_user(c, h);
}

static void on_close(rv_conn *c, int reason, void *user) {
  (void)reason;
  (void)user;
  hconn *h = rv_conn_user(c);
  if (h != NULL) {
    h->closed = true;
    h->phase = PH_CLOSING;
    if (!h->busy) {
      hconn_free(h);
    }
  }
}

/* Send what is in h->out; close after it when asked. */
static void flush(hconn *h, bool close) {
  int rc = h->out.len > 0 ? rv_conn_write(h->conn, h->out.data, h->out.len) : RV_OK;
  h->out.len = 0;
  if (rc != RV_OK) {
    h->phase = PH_CLOSING; /* the server has closed it already */
    return;
  }
  if (close) {
    h->phase = PH_CLOSING;
    rv_conn_close(h->conn);
  }
}

/* Answer with `status` and Connection: close, after the responses already
 * waiting in h->out (pipelined requests are answered in order). */
static void reject(hconn *h, int status) {
  if (rv_http_write_error(&h->out, status) != RV_OK) {
    h->phase = PH_CLOSING;
    rv_conn_abort(h->conn, RV_ENOMEM);
    return;
  }
  flush(h, true);
}

/* Route a complete request; its body is in h->body. The response waits in
 * h->out: process() sends every response of one read with one write (so
 * pipelined requests cost one send), or sooner when OUT_BATCH is reached
 * or the connection is to close. */
static void respond(hconn *h, const rv_http_request *req) {
  rv_http_ctx ctx;
  rv_http_ctx_init(&ctx, req, rv_slice_make(h->body.data, h->body.len), &h->out);
  ctx.peer = h->peer[0] != '\0' ? h->peer : NULL;
  size_t start = h->out.len;
  int rc = rv_http_router_dispatch(h->srv->router, &ctx);
  if (rc == RV_ENOMEM && h->out.len == start) {
    h->phase = PH_CLOSING; /* not even the 500 fitted */
    rv_conn_abort(h->conn, RV_ENOMEM);
    return;
  }
  h->body.len = 0;
  bool close = !req->keep_alive || ctx.res.close;
  if (close || h->out.len >= OUT_BATCH) {
    flush(h, close);
  }
}

/* Move a view from the read buffer (base) into the head copy. */
static void rebase(rv_slice *v, const uint8_t *base, const uint8_t *copy) {
  if (v->ptr != NULL) {
    /* v points into base[0, head_len], which was copied to copy[0, head_len]. */
    v->ptr = copy + (v->ptr - base);
  }
}

/* The head at data[0, req->head_len) has a body to wait for: copy it into
 * h->head and move the request's views there, so they outlive the read
 * buffer. The field array is the parser's, untouched until the next head. */
static int keep_head(hconn *h, const uint8_t *data, const rv_http_request *req) {
  if (h->head == NULL) {
    h->head = rv_alloc_get(h->srv->alloc, h->srv->limits.max_head, 1);
    if (h->head == NULL) {
      return RV_ENOMEM;
    }
  }
  memcpy(h->head, data, req->head_len);
  h->req = *req;
  rebase(&h->req.method, data, h->head);
  rebase(&h->req.target, data, h->head);
  rebase(&h->req.path, data, h->head);
  rebase(&h->req.query, data, h->head);
  for (size_t i = 0; i < h->req.nheaders; i++) {
    rebase(&h->req.headers[i].name, data, h->head);
    rebase(&h->req.headers[i].value, data, h->head);
  }
  return RV_OK;
}

static void body_timeout(rv_loop_timer *t) {
  /* t is the body_timer member of an hconn. */
  hconn *h = (hconn *)(void *)((char *)t - offsetof(hconn, body_timer));
  if (h->phase != PH_BODY) {
    return;
  }
  h->busy = true;
  reject(h, 408); /* a slow body: Request Timeout, Connection: close */
  h->busy = false;
  if (h->closed) {
    hconn_free(h);
  }
}

/* Parse and answer what `data` holds; returns the bytes consumed. */
static size_t process(hconn *h, const uint8_t *data, size_t len) {
  size_t off = 0;
  /* In a body, go on with no bytes left too: a Content-Length body that
   * ends exactly at the end of `data` is completed by one more call. */
  while ((off < len || h->phase == PH_BODY) && h->phase != PH_CLOSING) {
    if (h->phase == PH_HEAD) {
      rv_http_request req;
      int rc = rv_http_parse_head(&h->p, data + off, len - off, &req, NULL);
      if (rc == RV_EAGAIN) {
        break; /* the server keeps the partial head */
      }
      if (rc != RV_OK) {
        reject(h, rv_http_parser_status(&h->p));
        return len;
      }
      if (req.framing == RV_HTTP_BODY_NONE) {
        off += req.head_len;
        respond(h, &req); /* the views point into data: valid during on_data */
        continue;
      }
      if (keep_head(h, data + off, &req) != RV_OK) {
        reject(h, 500);
        return len;
      }
      off += req.head_len;
      if (rv_loop_timer_start(h->srv->loop, &h->body_timer, h->srv->body_timeout_ms,
                              body_timeout) != RV_OK) {
        reject(h, 500);
        return len;
      }
      if (req.expect_continue &&
          rv_buf_append(&h->out, RV_HTTP_CONTINUE, sizeof RV_HTTP_CONTINUE - 1) != RV_OK) {
        reject(h, 500);
        return len;
      }
      h->phase = PH_BODY;
      continue;
    }
    size_t used = 0;
    rv_slice piece;
    int rc = rv_http_parse_body(&h->p, data + off, len - off, &used, &piece, NULL);
    off += used;
    if (rc == RV_EAGAIN) {
      break;
    }
    if (rc != RV_OK) {
      reject(h, rv_http_parser_status(&h->p));
      return len;
    }
    if (piece.len > 0) {
      if (rv_buf_append(&h->body, piece.ptr, piece.len) != RV_OK) {
        reject(h, 500);
        return len;
      }
    } else {
      rv_loop_timer_stop(h->srv->loop, &h->body_timer);
      h->phase = PH_HEAD;
      respond(h, &h->req);
    }
  }
  if (h->phase == PH_CLOSING) {
    return len;
  }
  if (h->out.len > 0) {
    flush(h, false); /* every response of this read in one write */
  }
  return h->phase == PH_CLOSING ? len : off;
}

static size_t on_data(rv_conn *c, const uint8_t *data, size_t len, void *user) {
  (void)user;
  hconn *h = rv_conn_user(c);
  h->busy = true;
  size_t used = process(h, data, len);
  h->busy = false;
  if (h->closed) {
    hconn_free(h); /* on_close ran during the call */
    return len;
  }
  return used;
}

/* The TCP server closed its last connection after rv_server_shutdown(). */
static void on_tcp_shutdown(rv_server *tcp, void *user) {
  (void)tcp;
  rv_http_server *s = user;
  if (s->on_shutdown != NULL) {
    s->on_shutdown(s, s->shutdown_user);
  }
}

int rv_http_server_new(rv_http_server **out, rv_loop *l, const rv_http_server_config *cfg,
                       const rv_alloc *a) {
  if (out == NULL || l == NULL || cfg == NULL || cfg->router == NULL) {
    return RV_EINVAL;
  }
  rv_http_limits lim = cfg->limits;
  static const rv_http_limits zero;
  if (memcmp(&lim, &zero, sizeof lim) == 0) {
    lim = rv_http_limits_default();
  }
  rv_http_header probe[1];
  rv_http_parser pp;
  if (rv_http_parser_init(&pp, probe, 1, &lim) != RV_OK) {
    return RV_EINVAL;
  }
  rv_http_server *s = rv_alloc_get(a, sizeof *s, _Alignof(rv_http_server));
  if (s == NULL) {
    return RV_ENOMEM;
  }
  memset(s, 0, sizeof *s);
  s->alloc = a;
  s->loop = l;
  s->router = cfg->router;
  s->limits = lim;
  s->body_timeout_ms =
      cfg->body_timeout_ms != 0 ? cfg->body_timeout_ms : RV_HTTP_BODY_TIMEOUT_DEFAULT_MS;
  rv_server_config sc;
  rv_server_config_default(&sc);
  if (cfg->host != NULL) {
    sc.host = cfg->host;
  }
  sc.port = cfg->port;
  if (cfg->idle_timeout_ms != 0) {
    sc.idle_timeout_ms = cfg->idle_timeout_ms;
  }
  if (cfg->slow_timeout_ms != 0) {
    sc.slow_timeout_ms = cfg->slow_timeout_ms;
  }
  sc.max_conns = cfg->max_conns;
  sc.reuseport = cfg->reuseport;
  /* A partial head waits in the read buffer: it must hold max_head + 1
   * bytes so the parser, not the TCP server, answers an oversized head. */
  if (sc.read_chunk <= lim.max_head) {
    sc.read_chunk = lim.max_head + 1;
  }
  sc.cb.on_open = on_open;
  sc.cb.on_data = on_data;
  sc.cb.on_close = on_close;
  sc.cb.on_shutdown = on_tcp_shutdown;
  s->on_shutdown = cfg->on_shutdown;
  s->shutdown_user = cfg->shutdown_user;
  sc.user = s;
  int rc = rv_server_new(&s->tcp, l, &sc, a);
  if (rc != RV_OK) {
    rv_alloc_free(a, s, sizeof *s);
    return rc;
  }
  *out = s;
  return RV_OK;
}

void rv_http_server_free(rv_http_server *s) {
  if (s == NULL) {
    return;
  }
  rv_server_free(s->tcp);
  rv_alloc_free(s->alloc, s, sizeof *s);
}

uint16_t rv_http_server_port(const rv_http_server *s) { return rv_server_port(s->tcp); }

int rv_http_server_shutdown(rv_http_server *s, uint32_t deadline_ms) {
  return rv_server_shutdown(s->tcp, deadline_ms);
}
