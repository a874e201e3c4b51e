/**
 * \file rivet/net/metrics.h
 * \brief Counters, gauges and histograms with Prometheus text exposition.
 *
 * A registry holds metric families (a name, a help text, a type); each
 * family holds series that differ by their labels. Registering returns a
 * handle to one series; updating a handle is lock-free (atomics) and may
 * happen from any thread. rv_metrics_expose() writes the Prometheus text
 * format, version 0.0.4: per family a `# HELP` and a `# TYPE` line, then
 * its series in registration order; label values escape `\`, `"` and
 * newline; histograms give cumulative `_bucket{le="..."}` lines ending with
 * `le="+Inf"`, then `_sum` and `_count`.
 *
 * Thread safety: every function is thread-safe. Handles stay valid until
 * rv_metrics_destroy(). Under concurrent updates an exposition is a
 * snapshot per value, not across values (a histogram's `_count` always
 * equals its `+Inf` bucket; `_sum` may include an observation whose bucket
 * is not yet counted). Hosted.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_metrics metrics: counters, gauges, histograms, Prometheus text
 *  \{ */

/** \brief A registry. Opaque. */
typedef struct rv_metrics rv_metrics;
/** \brief A counter series (monotonic, unsigned). Opaque. */
typedef struct rv_counter rv_counter;
/** \brief A gauge series (a double that goes up and down). Opaque. */
typedef struct rv_gauge rv_gauge;
/** \brief A histogram series. Opaque. */
typedef struct rv_histogram rv_histogram;

/**
 * \brief Create an empty registry.
 * \param[out] out    the registry
 * \param[in]  alloc  allocator kept for its life; NULL = libc
 * \return 0, #RV_EINVAL, #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_metrics_create(rv_metrics **out, const rv_alloc *alloc);

/** \brief Free the registry and every handle it gave out (NULL allowed). \since 0.2.0 */
RV_API void rv_metrics_destroy(rv_metrics *m);

/**
 * \brief Register (or find) a counter series.
 *
 * Registering the same name and labels again returns the same handle.
 * \param[in]  m        the registry
 * \param[in]  name     metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`
 * \param[in]  help     help text (any UTF-8; the family's first one is kept)
 * \param[in]  labels   \p nlabels name/value pairs: `{"method", "GET", ...}`;
 *                      names `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with
 *                      `__`, not repeated; NULL only with 0
 * \param[in]  nlabels  number of pairs
 * \param[out] out      the handle
 * \return 0; #RV_EINVAL (bad name, label name or NULL); #RV_EEXIST (the
 *         name is a family of another type); #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_metrics_counter(rv_metrics *m, const char *name, const char *help,
                              const char *const *labels, size_t nlabels, rv_counter **out);

/**
 * \brief Register (or find) a gauge series. Parameters and errors as
 *        rv_metrics_counter().
 * \since 0.2.0
 */
RV_API int rv_metrics_gauge(rv_metrics *m, const char *name, const char *help,
                            const char *const *labels, size_t nlabels, rv_gauge **out);

/**
 * \brief Register (or find) a histogram series.
 *
 * Parameters and errors as rv_metrics_counter(), plus: the label `le` is
 * reserved (#RV_EINVAL); \p bounds are the buckets' upper bounds, finite
 * and strictly increasing (the `+Inf` bucket is implicit), copied; every
 * series of a family must use the same bounds (#RV_EINVAL otherwise).
 * \param[in]  m        the registry
 * \param[in]  name     metric name
 * \param[in]  help     help text
 * \param[in]  labels   name/value pairs
 * \param[in]  nlabels  number of pairs
 * \param[in]  bounds   upper bounds (NULL only with 0)
 * \param[in]  nbounds  their number (at most 64)
 * \param[out] out      the handle
 * \return as above.
 * \since 0.2.0
 */
RV_API int rv_metrics_histogram(rv_metrics *m, const char *name, const char *help,
                                const char *const *labels, size_t nlabels, const double *bounds,
                                size_t nbounds, rv_histogram **out);

/** \brief Add \p n to a counter (relaxed atomic add; wraps at 2^64). \since 0.2.0 */
RV_API void rv_counter_add(rv_counter *c, uint64_t n);
/** \brief A counter's value. \since 0.2.0 */
RV_API uint64_t rv_counter_value(const rv_counter *c);
/** \brief Set a gauge. \since 0.2.0 */
RV_API void rv_gauge_set(rv_gauge *g, double v);
/** \brief Add \p d (may be negative) to a gauge (atomic). \since 0.2.0 */
RV_API void rv_gauge_add(rv_gauge *g, double d);
/** \brief A gauge's value. \since 0.2.0 */
RV_API double rv_gauge_value(const rv_gauge *g);
/** \brief Record one observation (atomic). \since 0.2.0 */
RV_API void rv_histogram_observe(rv_histogram *h, double v);
/** \brief Observations so far. \since 0.2.0 */
RV_API uint64_t rv_histogram_count(const rv_histogram *h);

/**
 * \brief Append the Prometheus text exposition (0.0.4) of every family.
 *
 * Serve it with `Content-Type: text/plain; version=0.0.4; charset=utf-8`.
 * \param[in]     m    the registry
 * \param[in,out] out  buffer to append to; on error cut back to its length
 *                     before the call
 * \return 0, #RV_EINVAL, #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_metrics_expose(rv_metrics *m, rv_buf *out);

/** \brief The Content-Type of rv_metrics_expose()'s output. */
#define RV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/** \} */

#ifdef __cplusplus
}
#endif
