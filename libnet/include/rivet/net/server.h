/**
 * \file rivet/net/server.h
 * \brief TCP server on an ::rv_loop: accept, pooled read buffers, chained
 *        writes with watermark backpressure, idle/slow-client timeouts,
 *        graceful shutdown.
 *
 * - **Accept**: `accept4(SOCK_NONBLOCK)`, `TCP_NODELAY` on every
 *   connection. One spare fd is kept open: when accept fails with `EMFILE`
 *   or `ENFILE` the server closes the spare, accepts and closes the
 *   connection at once, and reopens the spare, so a full fd table never
 *   makes the edge-triggered listener spin or stall.
 * - **Reads**: a read buffer of `read_chunk` bytes is taken from a libcore
 *   ::rv_pool when a connection becomes readable and given back as soon as
 *   the application has consumed every byte: an idle connection holds no
 *   buffer. `on_data` returns how many bytes it consumed; the rest stays
 *   buffered (a partial message) until more arrives.
 * - **Writes**: rv_conn_write() copies into the connection's output chain;
 *   the chains written during one batch of loop events are flushed after
 *   that batch (the server's deferred call), one `sendmsg()` per connection
 *   (the `writev()` of sockets, with `MSG_NOSIGNAL` so a reset peer never
 *   raises `SIGPIPE`), and what the socket does not take is sent when it
 *   becomes writable. Replies thus go out back to back after the batch's
 *   reads instead of interleaved with them, and several writes to one
 *   connection in a batch cost one system call. A connection whose queue
 *   passes the high watermark within a batch is flushed at once.
 * - **Backpressure**: when a connection's queued output passes the high
 *   watermark the server stops reading from it and calls `on_pressure(c,
 *   true)`; the application pauses whatever else feeds it (rv_conn_pause()).
 *   Once the queue drains to the low watermark, reading resumes and
 *   `on_pressure(c, false)` is called.
 * - **Timeouts**: a connection with no traffic for `idle_timeout_ms` is
 *   closed; so is one whose partial message has waited `slow_timeout_ms`
 *   for completion (slowloris: a byte a minute never completes a message),
 *   and one whose queued output made no progress for `write_timeout_ms`.
 *   One lazily re-armed loop timer per connection: traffic only updates a
 *   timestamp.
 * - **Shutdown**: rv_server_shutdown() closes the listener; every
 *   connection stops delivering input, flushes its queued output, sends FIN
 *   and is closed when the peer closes too or the deadline passes.
 *
 * Thread-safety: not thread-safe; everything runs on the loop's thread.
 * Several processes share one port through `reuseport` (see
 * `<rivet/net/prefork.h>`).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/net/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_server server: TCP server and connections
 *  \{ */

/** \brief A server. Opaque. */
typedef struct rv_server rv_server;
/** \brief A connection. Opaque; valid from `on_open` until `on_close` returns. */
typedef struct rv_conn rv_conn;

/** \brief Callbacks. All optional except `on_data`; each gets the config's `user`. */
typedef struct rv_server_callbacks {
  /** A connection was accepted. */
  void (*on_open)(rv_conn *c, void *user);
  /** Bytes arrived (\p len > 0, \p data valid only during the call).
   *  Return how many were consumed (<= \p len); the rest is kept and given
   *  again, in front of new bytes. The callback may write, pause or close
   *  any connection, including \p c. */
  size_t (*on_data)(rv_conn *c, const uint8_t *data, size_t len, void *user);
  /** Queued output of \p c crossed the high (\p high true) or back under
   *  the low watermark (false). */
  void (*on_pressure)(rv_conn *c, bool high, void *user);
  /** \p c is closed (its fd already is): \p reason is 0 (peer or
   *  application closed it), #RV_ETIMEDOUT (idle, slow or stuck writer),
   *  #RV_EIO (reset or socket error), #RV_ELIMIT (a message larger than
   *  `read_chunk`), #RV_ENOMEM (no memory for output) or #RV_ECLOSED
   *  (shutdown deadline). \p c is freed after the call returns. */
  void (*on_close)(rv_conn *c, int reason, void *user);
  /** rv_server_shutdown() finished: every connection is closed. */
  void (*on_shutdown)(rv_server *s, void *user);
} rv_server_callbacks;

/** \brief Server settings; start from rv_server_config_default(). */
typedef struct rv_server_config {
  const char *host;          /**< IPv4 address to bind ("127.0.0.1"; NULL = any) */
  uint16_t port;             /**< port; 0 picks one (see rv_server_port()) */
  int backlog;               /**< listen() backlog */
  bool reuseport;            /**< set `SO_REUSEPORT` (several processes, one port) */
  uint32_t idle_timeout_ms;  /**< close after this long without traffic; 0 = never */
  uint32_t slow_timeout_ms;  /**< close if a partial message waits this long; 0 = never */
  uint32_t write_timeout_ms; /**< close if queued output stalls this long; 0 = never */
  size_t read_chunk;         /**< read buffer bytes (the largest message) */
  size_t pool_blocks;        /**< read buffers in the pool (the heap is used past it) */
  size_t high_watermark;     /**< queued output bytes that pause reading */
  size_t low_watermark;      /**< queued output bytes that resume it (< high) */
  size_t max_conns;          /**< connections beyond this are closed at accept; 0 = no limit */
  rv_server_callbacks cb;    /**< callbacks */
  void *user;                /**< passed to every callback */
} rv_server_config;

/** \brief Counters (rv_server_stats()). */
typedef struct rv_server_stats {
  uint64_t accepted;     /**< connections accepted */
  uint64_t rejected;     /**< connections closed at accept (EMFILE, max_conns) */
  uint64_t closed;       /**< connections closed */
  uint64_t timed_out;    /**< of which by a timeout */
  uint64_t bytes_in;     /**< bytes read */
  uint64_t bytes_out;    /**< bytes written */
  uint64_t pressure_on;  /**< high-watermark crossings */
  uint64_t heap_buffers; /**< read buffers taken from the heap (pool empty) */
  size_t conns;          /**< connections open now */
  size_t buffers_in_use; /**< read buffers held now */
  size_t queued_bytes;   /**< output bytes queued now, all connections */
} rv_server_stats;

/**
 * \brief Fill \p cfg with defaults: 127.0.0.1, port 0, backlog 4096, idle
 *        60 s, slow 10 s, write 30 s, 16 KiB reads, 1024 pooled buffers,
 *        watermarks 256 KiB / 64 KiB, no connection limit, no callbacks.
 * \param[out] cfg  the config
 * \since 0.1.0
 */
RV_API void rv_server_config_default(rv_server_config *cfg);

/**
 * \brief Bind, listen and start accepting on \p l.
 * \param[out] out  the server
 * \param[in] l     the loop (must outlive the server)
 * \param[in] cfg   settings (copied; `host` is not kept)
 * \param[in] a     allocator for the server, connections, output and the
 *                  buffer pool; NULL = libc
 * \return 0, #RV_EINVAL (NULL, no `on_data`, a bad host, `read_chunk` 0 or
 *         over 16 MiB, `pool_blocks` 0, low >= high watermark), #RV_ENOMEM, #RV_EBUSY if the
 *         port is in use, or the mapped errno of socket()/bind()/listen().
 * \since 0.1.0
 */
RV_API int rv_server_new(rv_server **out, rv_loop *l, const rv_server_config *cfg,
                         const rv_alloc *a);

/**
 * \brief Close every connection at once (`on_close` with #RV_ECLOSED) and
 *        free the server. NULL is a no-op. Not from inside a callback.
 * \param[in] s  the server
 * \since 0.1.0
 */
RV_API void rv_server_free(rv_server *s);

/**
 * \brief The bound port.
 * \param[in] s  the server
 * \return the port in host order
 * \since 0.1.0
 */
RV_API uint16_t rv_server_port(const rv_server *s);

/**
 * \brief Graceful shutdown: stop accepting; stop delivering input; let
 *        queued output drain, then FIN and close each connection; force
 *        the rest closed (#RV_ECLOSED) after \p deadline_ms. `on_shutdown`
 *        runs when the last connection is gone (from a deferred call, also
 *        when there were none).
 * \param[in] s            the server
 * \param[in] deadline_ms  the longest drain
 * \return 0, #RV_ESTATE if already shutting down, or #RV_ENOMEM if the
 *         deadline timer could not be armed (nothing changed).
 * \since 0.1.0
 */
RV_API int rv_server_shutdown(rv_server *s, uint32_t deadline_ms);

/**
 * \brief Read the counters.
 * \param[in] s    the server
 * \param[out] out the snapshot
 * \since 0.1.0
 */
RV_API void rv_server_stats_get(const rv_server *s, rv_server_stats *out);

/**
 * \brief Queue \p len bytes (copied) for the peer.
 * \param[in] c     the connection
 * \param[in] data  the bytes; NULL only if \p len is 0
 * \param[in] len   byte count
 * \return 0, #RV_EINVAL (NULL data), #RV_ECLOSED if \p c is closing or
 *         shutting down its output, #RV_ENOMEM if the copy could not be
 *         allocated (the connection is then closed with #RV_ENOMEM), or
 *         #RV_EIO if the write took the queue past the high watermark, so
 *         it was flushed at once, and the peer had reset (the connection
 *         is then closed). Otherwise the bytes are sent after the current
 *         batch of loop events, and a reset found then closes the
 *         connection with #RV_EIO (`on_close`).
 * \since 0.1.0
 */
RV_API int rv_conn_write(rv_conn *c, const void *data, size_t len);

/**
 * \brief Close \p c after its queued output is flushed (FIN, then close on
 *        the peer's FIN or the write timeout). Idempotent.
 * \param[in] c  the connection
 * \since 0.1.0
 */
RV_API void rv_conn_close(rv_conn *c);

/**
 * \brief Close \p c now, dropping queued output; `on_close` gets \p reason.
 * \param[in] c       the connection
 * \param[in] reason  0 or a negative `RV_E*` code
 * \since 0.1.0
 */
RV_API void rv_conn_abort(rv_conn *c, int reason);

/**
 * \brief Stop reading from \p c (application backpressure: e.g. because
 *        a connection \p c feeds is over its high watermark). Counted:
 *        every pause needs one rv_conn_resume().
 * \param[in] c  the connection
 * \since 0.1.0
 */
RV_API void rv_conn_pause(rv_conn *c);

/**
 * \brief Undo one rv_conn_pause(); reading restarts (from a deferred call)
 *        when no pause is left.
 * \param[in] c  the connection
 * \since 0.1.0
 */
RV_API void rv_conn_resume(rv_conn *c);

/**
 * \brief Output bytes queued on \p c (not yet accepted by the kernel).
 * \param[in] c  the connection
 * \return the byte count
 * \since 0.1.0
 */
RV_API size_t rv_conn_queued(const rv_conn *c);

/**
 * \brief Attach an application pointer to \p c.
 * \param[in] c     the connection
 * \param[in] user  any pointer
 * \since 0.1.0
 */
RV_API void rv_conn_set_user(rv_conn *c, void *user);

/**
 * \brief The pointer from rv_conn_set_user() (NULL initially).
 * \param[in] c  the connection
 * \return the pointer
 * \since 0.1.0
 */
RV_API void *rv_conn_user(const rv_conn *c);

/**
 * \brief The connection's socket fd (for getpeername() and the like; do
 *        not read, write or close it).
 * \param[in] c  the connection
 * \return the fd
 * \since 0.1.0
 */
RV_API int rv_conn_fd(const rv_conn *c);

/**
 * \brief The server \p c belongs to.
 * \param[in] c  the connection
 * \return the server
 * \since 0.1.0
 */
RV_API rv_server *rv_conn_server(const rv_conn *c);

/** \} */

#ifdef __cplusplus
}
#endif
