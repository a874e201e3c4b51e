/**
 * \file rivet/core/logbuf.h
 * \brief A batching log sink: lines are copied into memory and written to a
 *        file descriptor by a background thread, so logging a line costs a
 *        copy under a short lock instead of a `write(2)`.
 *
 * Use it as the sink of an ::rv_log (rv_log_options::sink =
 * rv_logbuf_sink, sink_ctx = the ::rv_logbuf, sink_threadsafe = true) where
 * many lines are logged per second, such as a server's access log.
 *
 * **Order and batching.** Lines are written in the order the sink received
 * them, whole, never interleaved. The writer thread writes a batch when the
 * oldest unwritten line has waited `flush_ms`, when half the capacity is
 * used, when a line at `urgent_level` or above arrives (errors reach the
 * file promptly), on rv_logbuf_flush() and on rv_logbuf_destroy().
 *
 * **Back-pressure, not loss.** When `capacity` bytes are waiting, the sink
 * blocks until the writer has made room: a log that cannot keep up slows
 * its producers rather than dropping lines. A line longer than `capacity`
 * is refused (#RV_ELIMIT) — give the buffer at least the log's
 * rv_log_options::max_record bytes.
 *
 * **Write errors.** If `write(2)` fails (disk full, a closed pipe), the
 * batch being written is dropped and counted (rv_logbuf_get_stats()), and the
 * error is returned once by the next sink call or rv_logbuf_flush(), so the
 * program learns of it; later batches are tried again normally. Blocking
 * producers forever on a full disk would take a server down with its log.
 *
 * Thread-safety: rv_logbuf_sink(), rv_logbuf_flush() and rv_logbuf_get_stats()
 * may be called from any thread; create and destroy from one. The writer
 * thread inherits the caller's signal mask (block signals first if the
 * program waits for them with sigwait or a signalfd).
 * Hosted only (a thread, a mutex, `write(2)`).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/core/log.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_logbuf logbuf: a batching log sink with a writer thread
 *  \{ */

/** \brief A batching sink. Opaque. */
typedef struct rv_logbuf rv_logbuf;

/** \brief Default capacity: 1 MiB. */
#define RV_LOGBUF_CAPACITY_DEFAULT (1u << 20)
/** \brief Smallest capacity accepted. */
#define RV_LOGBUF_CAPACITY_MIN 256u
/** \brief Default longest wait of a line before it is written, ms. */
#define RV_LOGBUF_FLUSH_MS_DEFAULT 100u

/** \brief Options. Zero-initialise, then set `fd` and what else you need. */
typedef struct rv_logbuf_options {
  int fd;                    /**< where lines go; not owned, must stay open until destroy */
  size_t capacity;           /**< bytes waiting before producers block; 0 = default */
  uint32_t flush_ms;         /**< longest a line waits; 0 = default, at most 60000 */
  rv_log_level urgent_level; /**< lines at this level or above are written at once;
                                  0 = #RV_LOG_ERROR */
  const rv_alloc *alloc;     /**< for the two buffers; NULL = libc */
} rv_logbuf_options;

/** \brief Counters (rv_logbuf_get_stats()). */
typedef struct rv_logbuf_stats {
  uint64_t lines;         /**< lines accepted by the sink */
  uint64_t bytes;         /**< their bytes */
  uint64_t writes;        /**< batches written (successful write sequences) */
  uint64_t waits;         /**< times a producer blocked on a full buffer */
  uint64_t dropped_bytes; /**< bytes of batches lost to write errors */
} rv_logbuf_stats;

/**
 * \brief Allocate the buffers and start the writer thread.
 * \param[out] out   receives the sink (unchanged on failure)
 * \param[in]  opts  options (copied)
 * \return 0; #RV_EINVAL (NULL argument, negative fd, capacity below
 *         #RV_LOGBUF_CAPACITY_MIN, flush_ms above 60000, a bad level);
 *         #RV_ENOMEM; or the mapped error of pthread_create().
 * \since 0.2.0
 */
RV_API int rv_logbuf_create(rv_logbuf **out, const rv_logbuf_options *opts);

/**
 * \brief Flush everything, stop the writer thread and free the sink. No
 *        other call may run concurrently or follow.
 * \param[in] b  the sink, or NULL (then 0)
 * \return 0, or the last write error not yet reported.
 * \since 0.2.0
 */
RV_API int rv_logbuf_destroy(rv_logbuf *b);

/**
 * \brief The sink function (::rv_log_sink_fn): copy one line in.
 * \param[in] ctx    the ::rv_logbuf
 * \param[in] level  the line's level (urgent lines wake the writer)
 * \param[in] line   the bytes (copied before the call returns)
 * \param[in] len    their number
 * \return 0; #RV_EINVAL (NULL \p ctx or \p line with \p len > 0);
 *         #RV_ELIMIT (longer than the capacity: nothing copied); or a write
 *         error not yet reported (the line itself was accepted).
 * \since 0.2.0
 */
RV_API int rv_logbuf_sink(void *ctx, rv_log_level level, const char *line, size_t len);

/**
 * \brief Wait until every line accepted before the call has been written
 *        (or dropped by a write error).
 * \param[in] b  the sink
 * \return 0, #RV_EINVAL, or a write error not yet reported.
 * \since 0.2.0
 */
RV_API int rv_logbuf_flush(rv_logbuf *b);

/**
 * \brief Read the counters.
 * \param[in]  b    the sink
 * \param[out] out  the counters
 * \since 0.2.0
 */
RV_API void rv_logbuf_get_stats(rv_logbuf *b, rv_logbuf_stats *out);

/** \} */

#ifdef __cplusplus
}
#endif
