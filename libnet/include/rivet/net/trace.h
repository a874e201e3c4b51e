/**
 * \file rivet/net/trace.h
 * \brief W3C Trace Context `traceparent` and request ids for log lines.
 *
 * A server parses the incoming `traceparent` (rv_trace_parse()); if it is
 * absent or invalid it starts a new trace (rv_trace_new()). Either way it
 * gives the request its own span (rv_trace_child()), sends that span's
 * `traceparent` onwards (rv_trace_format()), and puts the request id
 * (rv_trace_request_id(): trace id and span id) on every log line about the
 * request (rv_trace_log_field()).
 *
 * Only version `00` is produced. Parsing follows the Trace Context
 * specification: lowercase hex only, all-zero trace or span ids are
 * invalid, version `ff` is invalid, and a higher version is parsed as 00
 * when what follows the first 55 characters starts with `-`.
 *
 * Ids come from a per-thread xoshiro256** generator seeded from getrandom(2)
 * (and reseeded in a forked child): unique, cheap (no system call per id),
 * not secret — never use a trace id to authorise anything.
 * Hosted. Thread-safe: the only shared state is the fork generation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/core/log.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_trace trace: W3C traceparent and request ids
 *  \{ */

/** \brief Characters of a version-00 `traceparent` value. */
#define RV_TRACEPARENT_LEN 55u
/** \brief Characters of a request id: 32 hex, `-`, 16 hex. */
#define RV_TRACE_ID_LEN 49u
/** \brief The `sampled` bit of rv_trace_ctx::flags. */
#define RV_TRACE_SAMPLED 0x01u

/** \brief A trace context. All fields are readable and writable. */
typedef struct rv_trace_ctx {
  uint8_t trace_id[16]; /**< the trace (never all zero when valid) */
  uint8_t span_id[8];   /**< the parent-id / span (never all zero when valid) */
  uint8_t flags;        /**< trace-flags (#RV_TRACE_SAMPLED) */
} rv_trace_ctx;

/**
 * \brief Parse a `traceparent` field value.
 * \param[in]  s    the value (NULL only with 0)
 * \param[in]  len  its length
 * \param[out] out  the context, filled only on success
 * \return 0, #RV_EMALFORMED (syntax, uppercase hex, all-zero ids, version
 *         ff), #RV_EUNSUPPORTED (version 00 with trailing data).
 * \since 0.2.0
 */
RV_API int rv_trace_parse(const char *s, size_t len, rv_trace_ctx *out);

/**
 * \brief Format as a version-00 `traceparent` value.
 * \param[in]  ctx  the context
 * \param[out] out  #RV_TRACEPARENT_LEN + 1 bytes: the value, NUL-terminated
 * \since 0.2.0
 */
RV_API void rv_trace_format(const rv_trace_ctx *ctx, char out[RV_TRACEPARENT_LEN + 1]);

/**
 * \brief Start a new trace: random trace and span ids, \p flags.
 * \param[out] out    the context
 * \param[in]  flags  trace-flags for it
 * \return 0, or #RV_EIO if the system random source failed.
 * \since 0.2.0
 */
RV_API int rv_trace_new(rv_trace_ctx *out, uint8_t flags);

/**
 * \brief A child span: same trace and flags, a new random span id.
 * \param[in]  parent  the incoming context
 * \param[out] out     the child (may alias \p parent)
 * \return 0, or #RV_EIO.
 * \since 0.2.0
 */
RV_API int rv_trace_child(const rv_trace_ctx *parent, rv_trace_ctx *out);

/**
 * \brief The request id: `<trace-id>-<span-id>` in lowercase hex.
 * \param[in]  ctx  the context
 * \param[out] out  #RV_TRACE_ID_LEN + 1 bytes, NUL-terminated
 * \since 0.2.0
 */
RV_API void rv_trace_request_id(const rv_trace_ctx *ctx, char out[RV_TRACE_ID_LEN + 1]);

/**
 * \brief A log field `request_id` for rv_log_write().
 * \param[in] id  the id from rv_trace_request_id(); must outlive the log call
 * \return the field.
 * \since 0.2.0
 */
RV_API rv_log_field rv_trace_log_field(const char *id);

/**
 * \brief Write a log record with the request id as its first field.
 * \param[in] log      the log
 * \param[in] level    the level
 * \param[in] id       the request id (rv_trace_request_id())
 * \param[in] msg      the message
 * \param[in] fields   more fields (NULL only with 0)
 * \param[in] nfields  their number (at most 15)
 * \return as rv_log_write(), or #RV_EINVAL for more than 15 fields.
 * \since 0.2.0
 */
RV_API int rv_trace_log(rv_log *log, rv_log_level level, const char *id, const char *msg,
                        const rv_log_field *fields, size_t nfields);

/** \} */

#ifdef __cplusplus
}
#endif
