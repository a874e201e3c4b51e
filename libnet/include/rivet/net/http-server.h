/**
 * \file rivet/net/http-server.h
 * \brief An HTTP/1.1 server: the sans-I/O parser and a router on the libnet
 *        TCP server.
 *
 * Each connection runs the parser over the bytes the TCP server delivers:
 * a partial head stays in the server's read buffer until it completes (so
 * the server's slow-client timeout applies to it); a complete head is
 * copied into the connection's own storage, and body bytes are decoded and
 * copied as they arrive, so a request's body can be larger than one read.
 * Complete requests are routed in order (pipelining: responses go out in
 * request order), `Expect: 100-continue` is answered before the body is
 * read, and the connection is kept open unless the request or HTTP/1.0
 * says otherwise. A request the parser rejects gets its status (400, 413,
 * 414, 417, 431, 501, 505) with `Connection: close`, then the connection
 * closes. A body larger than `limits.max_body` is refused with 413 before
 * it is read when `Content-Length` declares it, and as soon as the decoded
 * size passes the limit when it is chunked.
 *
 * **Slow clients.** A head that has not completed `slow_timeout_ms` after
 * its first byte arrived closes the connection (the TCP server's slow-client
 * timeout: bytes trickling in do not extend it). A body that has not
 * completed `body_timeout_ms` after its head was parsed gets
 * `408 Request Timeout` with `Connection: close`, and the connection closes,
 * however steadily the client keeps sending bytes. A request without a body
 * is answered straight from the read buffer; a head with a body is copied
 * once into the connection's storage.
 *
 * Thread safety: everything runs on the loop's thread, as for the TCP
 * server; the router must not change while the server runs. Hosted.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/net/http.h>
#include <rivet/net/loop.h>
#include <rivet/net/router.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_http_server http-server: HTTP/1.1 on the TCP server
 *  \{ */

/** \brief The body deadline when the config's `body_timeout_ms` is 0: 30 s. */
#define RV_HTTP_BODY_TIMEOUT_DEFAULT_MS 30000u

/** \brief An HTTP server. Opaque. */
typedef struct rv_http_server rv_http_server;

/** \brief Settings. Zero-initialise, then set at least `router`. */
typedef struct rv_http_server_config {
  const char *host;             /**< IPv4 address; NULL = 127.0.0.1 */
  uint16_t port;                /**< 0 picks one (rv_http_server_port()) */
  const rv_http_router *router; /**< routes every request; must outlive the server */
  rv_http_limits limits;        /**< all zero = rv_http_limits_default(); `max_body` is the largest
                                     request body (default 1 MiB), else 413 */
  uint32_t idle_timeout_ms;     /**< 0 = the TCP server's default (60 s) */
  size_t max_conns;             /**< 0 = no limit */
  bool reuseport;               /**< set `SO_REUSEPORT`: several servers (threads or processes)
                                     listen on one port and the kernel spreads connections */
  uint32_t body_timeout_ms;     /**< a request body must be complete this long after its
                                     head was parsed, else 408 and close;
                                     0 = #RV_HTTP_BODY_TIMEOUT_DEFAULT_MS (30 s) \since 0.2.0 */
  uint32_t slow_timeout_ms;     /**< a partial head must complete this long after its first
                                     byte, else the connection closes; 0 = the TCP
                                     server's default (10 s) \since 0.2.0 */
  /** called on the loop's thread once rv_http_server_shutdown() has closed
   *  every connection (drained or forced at the deadline); NULL = none.
   *  Do not free the server from inside it (stop the loop, free after).
   *  \since 0.2.0 */
  void (*on_shutdown)(rv_http_server *s, void *user);
  void *shutdown_user; /**< passed to `on_shutdown` */
} rv_http_server_config;

/**
 * \brief Listen and serve on \p l.
 * \param[out] out  the server
 * \param[in]  l    the loop (must outlive the server)
 * \param[in]  cfg  settings (copied)
 * \param[in]  a    allocator for everything; NULL = libc
 * \return 0, #RV_EINVAL (NULL argument or router, bad limits), #RV_ENOMEM,
 *         #RV_EBUSY (port in use), or the TCP server's error.
 * \since 0.2.0
 */
RV_API int rv_http_server_new(rv_http_server **out, rv_loop *l, const rv_http_server_config *cfg,
                              const rv_alloc *a);

/** \brief Close every connection and free the server (NULL allowed). \since 0.2.0 */
RV_API void rv_http_server_free(rv_http_server *s);

/** \brief The bound port. \since 0.2.0 */
RV_API uint16_t rv_http_server_port(const rv_http_server *s);

/**
 * \brief Graceful shutdown (see rv_server_shutdown()).
 * \param[in] s            the server
 * \param[in] deadline_ms  the longest drain
 * \return as rv_server_shutdown().
 * \since 0.2.0
 */
RV_API int rv_http_server_shutdown(rv_http_server *s, uint32_t deadline_ms);

/** \} */

#ifdef __cplusplus
}
#endif
