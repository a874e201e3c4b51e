/* server: TCP accept (spare fd for EMFILE), listening socket, graceful
 * shutdown. Connection I/O is in conn.c. */
#define _GNU_SOURCE
#include "server-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_RETRY_MS 100u

void rv_server_config_default(rv_server_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->host = "127.0.0.1";
  cfg->backlog = 4096;
  cfg->idle_timeout_ms = 60000;
  cfg->slow_timeout_ms = 10000;
  cfg->write_timeout_ms = 30000;
  cfg->read_chunk = 16384;
  cfg->pool_blocks = 1024;
  cfg->high_watermark = (size_t)256 * 1024;
  cfg->low_watermark = (size_t)64 * 1024;
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
