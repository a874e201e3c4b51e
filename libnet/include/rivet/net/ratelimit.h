/**
 * \file rivet/net/ratelimit.h
 * \brief Per-key rate limiting with GCRA, and its HTTP headers.
 *
 * The generic cell rate algorithm keeps one timestamp per key, the
 * theoretical arrival time (TAT): with `limit` requests per `period`, each
 * request advances the TAT by `period / limit`, and a request is allowed
 * while the TAT stays within `period` of now. That allows a burst of `limit`
 * requests, then one every `period / limit`, with no timers and O(1) work.
 *
 * Keys are byte strings (a client address, an API key) kept in a libcore
 * ::rv_map. The number of keys is bounded (`max_keys`): a key whose TAT has
 * passed is equivalent to an absent one, so such keys are swept when the
 * table is full; if it is still full, the check fails with #RV_EFULL and the
 * caller chooses to fail open or closed.
 *
 * Headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the quota is full
 * again), and on refusal `Retry-After` (seconds until a request would be
 * allowed, at least 1).
 *
 * Thread-safe (one mutex). Hosted.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>
#include <rivet/net/http.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_ratelimit ratelimit: GCRA per key
 *  \{ */

/** \brief A clock returning nanoseconds from any fixed origin, never going back. */
typedef uint64_t (*rv_ratelimit_clock_fn)(void *ctx);

/** \brief Limiter configuration. Zero-initialise, then set the fields. */
typedef struct rv_ratelimit_config {
  uint64_t limit;              /**< requests per period (the burst), ≥ 1 */
  uint64_t period_ns;          /**< the period in ns, ≥ limit */
  size_t max_keys;             /**< most keys tracked at once, ≥ 1 */
  rv_ratelimit_clock_fn clock; /**< NULL = CLOCK_MONOTONIC */
  void *clock_ctx;             /**< passed to clock */
  const rv_alloc *alloc;       /**< NULL = libc */
} rv_ratelimit_config;

/** \brief The outcome of one check. All fields readable. */
typedef struct rv_ratelimit_result {
  bool allowed;           /**< the request may proceed */
  uint64_t limit;         /**< the configured limit */
  uint64_t remaining;     /**< requests still allowed right now */
  uint64_t reset_s;       /**< seconds (rounded up) until the quota is full again */
  uint64_t retry_after_s; /**< when refused: seconds (rounded up, ≥ 1) to wait; else 0 */
} rv_ratelimit_result;

/** \brief A limiter. Opaque. */
typedef struct rv_ratelimit rv_ratelimit;

/**
 * \brief Create a limiter.
 * \param[out] out  the limiter
 * \param[in]  cfg  the configuration (copied)
 * \return 0, #RV_EINVAL (zero limit or keys, period shorter than limit ns),
 *         #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_ratelimit_create(rv_ratelimit **out, const rv_ratelimit_config *cfg);

/** \brief Free a limiter (NULL allowed). \since 0.2.0 */
RV_API void rv_ratelimit_destroy(rv_ratelimit *rl);

/**
 * \brief Count one request for \p key and say whether it is allowed.
 * \param[in]  rl   the limiter
 * \param[in]  key  key bytes (NULL only with 0)
 * \param[in]  len  their number
 * \param[out] res  the outcome (filled on 0)
 * \return 0 (see `res->allowed`), #RV_EINVAL, #RV_EFULL (max_keys keys are
 *         all active: nothing was counted), #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_ratelimit_check(rv_ratelimit *rl, const void *key, size_t len,
                              rv_ratelimit_result *res);

/** \brief Keys tracked now. \since 0.2.0 */
RV_API size_t rv_ratelimit_keys(rv_ratelimit *rl);

/**
 * \brief Add the `RateLimit-*` fields (and `Retry-After` when refused) to a
 *        response being written.
 * \param[in,out] r    a begun response
 * \param[in]     res  the outcome of rv_ratelimit_check()
 * \return as rv_http_response_header().
 * \since 0.2.0
 */
RV_API int rv_ratelimit_write_headers(rv_http_response *r, const rv_ratelimit_result *res);

/** \} */

#ifdef __cplusplus
}
#endif
