/**
 * \file rivet/net/router.h
 * \brief HTTP request router with path parameters, and a middleware chain.
 *
 * Routes are a method and a pattern of `/`-separated segments: a literal
 * segment matches itself, `:name` matches any one non-empty segment and
 * captures it, and a final `*name` captures the rest of the path (possibly
 * empty). When several routes match, the most specific wins: segment by
 * segment, a literal beats a parameter, which beats a wildcard. Matching is
 * on the raw path (no percent-decoding; captured values are raw too).
 *
 * Dispatch runs the middlewares in the order they were added, each deciding
 * whether to call rv_http_next() (continue) or answer itself (for example a
 * rate limiter answering 429), then the matched handler, or the built-in
 * 404 (no route) or 405 (the path exists for other methods; with `Allow`).
 *
 * Thread safety: set the router up (add, use) from one thread; after that
 * rv_http_router_dispatch() may run concurrently, each call with its own
 * ::rv_http_ctx, as long as the handlers and middlewares are thread-safe.
 * Hosted (allocates).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>
#include <rivet/net/http.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_router router: HTTP routing and middleware
 *  \{ */

/** \brief Most captures in one pattern. */
#define RV_HTTP_MAX_PARAMS 8u
/** \brief Most segments in one pattern. */
#define RV_HTTP_MAX_SEGMENTS 32u

/** \brief A router. Opaque. */
typedef struct rv_http_router rv_http_router;

/** \brief A captured path parameter: views into the pattern and the request path. */
typedef struct rv_http_param {
  rv_slice name;  /**< the name after `:` or `*` in the pattern */
  rv_slice value; /**< the captured part of the path */
} rv_http_param;

/**
 * \brief One request travelling through the router. Readable: `req`,
 *        `body`, `res`, `out`, `user`, `peer`; the rest is private.
 */
typedef struct rv_http_ctx {
  const rv_http_request *req; /**< the parsed request head */
  rv_slice body;              /**< the whole request body, assembled by the caller */
  rv_http_response res;       /**< the response writer: begin it, add fields, end it */
  struct rv_buf *out;         /**< where the response is serialised */
  void *user;                 /**< free for the caller and middlewares */
  const char *peer;           /**< the client's IP address as text ("127.0.0.1"), set by
                                   rv_http_server for the request's life; NULL when unknown */
  rv_http_param params[RV_HTTP_MAX_PARAMS]; /**< private: captures */
  size_t nparams;                           /**< private */
  const rv_http_router *router;             /**< private */
  const void *route;                        /**< private: the matched route, or NULL */
  size_t next_mw;                           /**< private: next middleware to run */
} rv_http_ctx;

/**
 * \brief A route handler: writes the response with `ctx->res`.
 * \return 0, or a negative code; if it fails before ending its response,
 *         dispatch answers 500 instead.
 */
typedef int (*rv_http_handler_fn)(rv_http_ctx *ctx, void *ud);

/**
 * \brief A middleware: does its work, then either calls rv_http_next(ctx)
 *        (and typically returns its result) or answers the request itself.
 */
typedef int (*rv_http_middleware_fn)(rv_http_ctx *ctx, void *ud);

/**
 * \brief Create an empty router.
 * \param[out] out    the router
 * \param[in]  alloc  allocator kept for its life; NULL = libc
 * \return 0, #RV_EINVAL, #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_http_router_create(rv_http_router **out, const rv_alloc *alloc);

/** \brief Free the router (NULL is allowed). \since 0.2.0 */
RV_API void rv_http_router_destroy(rv_http_router *r);

/**
 * \brief Add a route. The method and pattern are copied.
 * \param[in,out] r        the router (not during dispatch)
 * \param[in]     method   e.g. "GET" (a token; matched case-sensitively)
 * \param[in]     pattern  e.g. "/users/:id" or "/files/\*path"; starts with `/`
 * \param[in]     fn       the handler
 * \param[in]     ud       passed to \p fn
 * \return 0; #RV_EINVAL (bad method or pattern: empty parameter name,
 *         wildcard not last, more than #RV_HTTP_MAX_PARAMS captures or
 *         #RV_HTTP_MAX_SEGMENTS segments, NULL \p fn); #RV_EEXIST (same
 *         method and pattern again); #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_http_router_add(rv_http_router *r, const char *method, const char *pattern,
                              rv_http_handler_fn fn, void *ud);

/**
 * \brief Append a middleware to the chain (run in the order added).
 * \return 0, #RV_EINVAL (NULL \p fn), #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_http_router_use(rv_http_router *r, rv_http_middleware_fn fn, void *ud);

/**
 * \brief Prepare a context for one request.
 * \param[out] ctx   the context
 * \param[in]  req   the parsed head (must outlive the dispatch)
 * \param[in]  body  the request body (may be empty)
 * \param[in]  out   the buffer the response is appended to
 * \since 0.2.0
 */
RV_API void rv_http_ctx_init(rv_http_ctx *ctx, const rv_http_request *req, rv_slice body,
                             struct rv_buf *out);

/**
 * \brief Route one request: run the middlewares, then the handler (or the
 *        built-in 404/405). Afterwards a complete response is in
 *        `ctx->out` (500 when a handler failed to write one), unless even
 *        the 500 could not be written (then #RV_ENOMEM and nothing).
 * \param[in]     r    the router
 * \param[in,out] ctx  from rv_http_ctx_init()
 * \return the chain's result: 0, or the first handler or middleware error
 *         (#RV_ESTATE when a handler returned 0 without ending a response).
 * \since 0.2.0
 */
RV_API int rv_http_router_dispatch(const rv_http_router *r, rv_http_ctx *ctx);

/**
 * \brief Continue the chain: the next middleware, or the handler.
 * \param[in,out] ctx  the context a middleware was given
 * \return what the rest of the chain returned.
 * \since 0.2.0
 */
RV_API int rv_http_next(rv_http_ctx *ctx);

/**
 * \brief A captured parameter by name.
 * \param[in]  ctx    the context (during or after dispatch)
 * \param[in]  name   NUL-terminated name without `:` or `*`
 * \param[out] value  the captured bytes (a view into the request path)
 * \return true if the matched route captured \p name.
 * \since 0.2.0
 */
RV_API bool rv_http_param_get(const rv_http_ctx *ctx, const char *name, rv_slice *value);

/**
 * \brief Answer with a complete response in one call.
 * \param[in,out] ctx           the context
 * \param[in]     status        the status code
 * \param[in]     content_type  NUL-terminated value, or NULL for none
 * \param[in]     body          the body
 * \return as rv_http_response_end(); #RV_ESTATE if a response was already sent.
 * \since 0.2.0
 */
RV_API int rv_http_reply(rv_http_ctx *ctx, int status, const char *content_type, rv_slice body);

/**
 * \brief The status of the response written so far.
 * \return its status code once it has been ended, else 0.
 * \since 0.2.0
 */
RV_API int rv_http_ctx_status(const rv_http_ctx *ctx);

/** \} */

#ifdef __cplusplus
}
#endif
