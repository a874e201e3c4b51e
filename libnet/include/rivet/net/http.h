/**
 * \file rivet/net/http.h
 * \brief HTTP/1.1 request parser (sans-I/O) and response writer.
 *
 * The parser never reads a socket: the caller appends received bytes to its
 * own connection buffer and hands the parser that buffer. It has two halves:
 *
 * - rv_http_parse_head() takes the buffer that starts at the request and
 *   returns ::RV_EAGAIN until the whole head (request line, fields, empty
 *   line) is in. It remembers how far it has scanned, so feeding the head one
 *   byte at a time costs O(n) in total. The request's method, target and
 *   fields are zero-copy views into that buffer.
 * - rv_http_parse_body() then decodes the body (Content-Length or chunked)
 *   from whatever bytes follow, in pieces of any size, yielding views of the
 *   payload bytes (chunk framing removed) and ending with an empty piece.
 *
 * After the body ends the parser is ready for the next request on the same
 * connection (keep-alive, pipelining): the bytes after the last consumed one
 * are the next request's head.
 *
 * **Strictness** (request smuggling defences, RFC 9112 §11.2): a request with
 * both Content-Length and Transfer-Encoding, with Content-Length values that
 * differ, with a transfer coding list not ending in a single `chunked`, with
 * obs-fold (a field line starting with SP/HTAB), whitespace before a field's
 * colon, a bare CR, a NUL or other control byte, or a non-token byte in a
 * method or field name is rejected with 400. **Bare LF policy:** every line of
 * the head, every chunk-size line and every trailer line must end in CRLF; a
 * LF not preceded by CR is rejected (400). RFC 9112 §2.2 allows a recipient
 * to accept a bare LF, but doing so lets a front end and back end disagree on
 * where a line ends, so rivet does not. Empty lines (CRLF) before a request
 * line are skipped (RFC 9112 §2.2) and count toward the head limit.
 *
 * Every error is sticky: the parser stays failed until rv_http_parser_init()
 * is called again, and rv_http_parser_status() gives the status code the
 * server should answer with before closing the connection (400, 413, 414,
 * 417, 431, 501 or 505).
 *
 * Freestanding: yes (the parser; the response writer uses ::rv_buf, which
 * allocates through its ::rv_alloc). Not thread-safe: one parser per
 * connection.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_http http: HTTP/1.1 parser and response writer
 *  \{ */

/** \brief The final response line of `Expect: 100-continue`, to send before reading the body. */
#define RV_HTTP_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

/** \brief Limits the parser enforces; see rv_http_limits_default(). */
typedef struct rv_http_limits {
  size_t max_head;    /**< bytes of the head (request line, fields, CRLFs): else 431 */
  size_t max_headers; /**< number of fields: else 431 */
  size_t max_uri;     /**< bytes of the request target: else 414 */
  uint64_t max_body;  /**< bytes of decoded body: else 413 */
  size_t max_trailer; /**< bytes of one chunk-size line, and of the last one plus the
                           trailer section: else 431 */
} rv_http_limits;

/**
 * \brief The defaults: 8 KiB head, 64 fields, 4 KiB target, 1 MiB body,
 *        4 KiB of trailers.
 * \since 0.2.0
 */
RV_API rv_http_limits rv_http_limits_default(void);

/** \brief One field line: zero-copy views of its name and of its value
 *  without leading and trailing whitespace. */
typedef struct rv_http_header {
  rv_slice name;  /**< the field name as sent (compare case-insensitively) */
  rv_slice value; /**< the field value, OWS trimmed (may be empty) */
} rv_http_header;

/** \brief How the request body is framed. */
typedef enum rv_http_framing {
  RV_HTTP_BODY_NONE = 0,    /**< no body (neither Content-Length nor Transfer-Encoding) */
  RV_HTTP_BODY_LENGTH = 1,  /**< `Content-Length` bytes */
  RV_HTTP_BODY_CHUNKED = 2, /**< `Transfer-Encoding: chunked` */
} rv_http_framing;

/**
 * \brief A parsed request head. All fields are readable; every ::rv_slice
 *        points into the buffer given to rv_http_parse_head() and stays
 *        valid while that buffer's bytes do (not across a realloc of it).
 */
typedef struct rv_http_request {
  rv_slice method;         /**< e.g. "GET" (case-sensitive token) */
  rv_slice target;         /**< the request target as sent */
  rv_slice path;           /**< target up to `?` (origin-form), else the target */
  rv_slice query;          /**< after `?`, without it; empty if none */
  int version_minor;       /**< 0 or 1 (HTTP/1.0, HTTP/1.1) */
  rv_http_header *headers; /**< the caller's array given to rv_http_parser_init() */
  size_t nheaders;         /**< fields in headers */
  rv_http_framing framing; /**< how the body is framed */
  uint64_t content_length; /**< with #RV_HTTP_BODY_LENGTH */
  bool keep_alive;         /**< the connection may carry another request after this one */
  bool expect_continue;    /**< `Expect: 100-continue`: send #RV_HTTP_CONTINUE first */
  size_t head_len;         /**< bytes of the head, leading empty lines included */
} rv_http_request;

/** \brief Parser state. Fields are private; use the functions. */
typedef struct rv_http_parser {
  rv_http_limits limits;   /**< private */
  rv_http_header *headers; /**< private: caller storage */
  size_t max_headers;      /**< private: entries in headers */
  size_t scanned;          /**< private: head bytes already scanned */
  size_t line_start;       /**< private: offset where the current head line starts */
  size_t lines;            /**< private: non-empty head lines seen */
  size_t sp1;              /**< private: 1 + offset of the request line's first SP, or 0 */
  size_t sp2;              /**< private: 1 + offset of its second SP, or 0 */
  uint64_t body_left;      /**< private: bytes left in the body or chunk */
  uint64_t body_total;     /**< private: decoded body bytes so far */
  size_t extra;            /**< private: trailer/extension bytes so far */
  int state;               /**< private */
  int sub;                 /**< private: chunk decoder state */
  int status;              /**< private: HTTP status after an error, else 0 */
  int error;               /**< private: sticky error */
  unsigned hexdigits;      /**< private: digits of the current chunk size */
  rv_http_framing framing; /**< private: body framing of the current request */
} rv_http_parser;

/**
 * \brief Set up (or reset) a parser.
 * \param[out] p            the parser
 * \param[in]  headers      storage for the fields of one request; owned by
 *                          the caller, must outlive \p p
 * \param[in]  max_headers  entries in \p headers (the field count limit is
 *                          the smaller of this and limits->max_headers)
 * \param[in]  limits       copied; NULL for rv_http_limits_default()
 * \return 0, or #RV_EINVAL (NULL \p p or \p headers, no entries, a zero limit).
 * \since 0.2.0
 */
RV_API int rv_http_parser_init(rv_http_parser *p, rv_http_header *headers, size_t max_headers,
                               const rv_http_limits *limits);

/**
 * \brief Parse a request head from the start of \p buf.
 *
 * Call it again with the same buffer, grown by newly received bytes, after
 * #RV_EAGAIN (the buffer may move between calls: the parser keeps offsets,
 * not pointers). Limits are checked as bytes arrive, so an endless header
 * or target is refused without waiting for its end.
 *
 * \param[in,out] p     the parser, in the head state
 * \param[in]     buf   the connection's bytes, from the request's first byte
 * \param[in]     len   their number (NULL \p buf only with 0)
 * \param[out]    req   filled on 0: views into \p buf
 * \param[out]    diag  where and why it failed, or NULL
 * \return 0 with the head complete (`req->head_len` bytes of \p buf used);
 *         #RV_EAGAIN when more bytes are needed; #RV_EMALFORMED (400);
 *         #RV_ELIMIT (413, 414 or 431: see rv_http_parser_status());
 *         #RV_EUNSUPPORTED (501 unknown transfer coding, 505 version,
 *         417 expectation); #RV_ESTATE if a body is still being read or the
 *         parser failed earlier (its sticky error is returned then).
 * \since 0.2.0
 */
RV_API int rv_http_parse_head(rv_http_parser *p, const void *buf, size_t len, rv_http_request *req,
                              rv_diag *diag);

/**
 * \brief Decode body bytes that follow the head.
 *
 * Consumes from \p data until it yields a piece of payload, the body ends,
 * or \p data runs out. A yielded piece points into \p data (zero copy).
 *
 * \param[in,out] p         the parser, after a successful rv_http_parse_head()
 * \param[in]     data      bytes after those already consumed (NULL only with 0)
 * \param[in]     len       their number
 * \param[out]    consumed  bytes of \p data used (payload, framing, trailers)
 * \param[out]    piece     on 0: payload bytes, or an empty piece when the
 *                          message is complete (the parser then waits for
 *                          the next head)
 * \param[out]    diag      where and why it failed, or NULL (offsets are
 *                          relative to \p data)
 * \return 0 (see \p piece); #RV_EAGAIN when all of \p data was consumed and
 *         more is needed; #RV_EMALFORMED (400: bad chunk framing or
 *         trailer); #RV_ELIMIT (413 body too large, 431 trailers too large);
 *         #RV_ESTATE when no body is being read.
 * \since 0.2.0
 */
RV_API int rv_http_parse_body(rv_http_parser *p, const void *data, size_t len, size_t *consumed,
                              rv_slice *piece, rv_diag *diag);

/**
 * \brief The status code to answer a failed request with.
 * \return 400, 413, 414, 417, 431, 501 or 505 after an error, else 0.
 * \since 0.2.0
 */
RV_API int rv_http_parser_status(const rv_http_parser *p);

/**
 * \brief True while the parser waits for a request head (no body pending).
 * \since 0.2.0
 */
RV_API bool rv_http_parser_idle(const rv_http_parser *p);

/**
 * \brief Find a field by name (ASCII case-insensitive); the first match.
 * \param[in]  req    the request
 * \param[in]  name   NUL-terminated field name
 * \param[out] value  the value, if found (may be NULL)
 * \return true if found.
 * \since 0.2.0
 */
RV_API bool rv_http_header_get(const rv_http_request *req, const char *name, rv_slice *value);

/**
 * \brief The standard reason phrase of a status code ("Not Found").
 * \return a static string; "Unknown" for codes it does not know.
 * \since 0.2.0
 */
RV_API const char *rv_http_reason(int status);

/* ---- response writer ------------------------------------------------- */

/**
 * \brief Serialises one response into a caller-owned ::rv_buf.
 *
 * Fields are private. The first error is sticky and returned by
 * rv_http_response_end(), so a handler may write several fields and check
 * once. Field names must be tokens and values must not hold CR, LF or NUL
 * (no response splitting): otherwise #RV_EINVAL.
 */
typedef struct rv_http_response {
  struct rv_buf *out; /**< private: where bytes go */
  size_t start;       /**< private: out->len when the response began */
  int status;         /**< private: the status code, 0 before begin */
  int error;          /**< private: sticky error */
  bool ended;         /**< private */
  bool close;         /**< private: `Connection: close` was written */
} rv_http_response;

/**
 * \brief Start a response: write the status line.
 * \param[out] r       the writer
 * \param[in]  out     the buffer to append to (not owned; must outlive \p r)
 * \param[in]  status  100..999
 * \return 0, #RV_EINVAL (bad status, NULL \p out), #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_http_response_begin(rv_http_response *r, struct rv_buf *out, int status);

/**
 * \brief Append a field. `Content-Length` and `Transfer-Encoding` are
 *        written by rv_http_response_end() and refused here (#RV_EINVAL).
 * \param[in,out] r      the writer
 * \param[in]     name   NUL-terminated token
 * \param[in]     value  the value (no CR, LF or NUL)
 * \return 0 or the sticky error (#RV_EINVAL, #RV_ENOMEM, #RV_ESTATE after end).
 * \since 0.2.0
 */
RV_API int rv_http_response_header(rv_http_response *r, const char *name, rv_slice value);

/**
 * \brief Append a field whose value is an unsigned decimal number.
 * \return as rv_http_response_header().
 * \since 0.2.0
 */
RV_API int rv_http_response_header_u64(rv_http_response *r, const char *name, uint64_t value);

/**
 * \brief Finish: write `Content-Length`, the empty line and \p body.
 * \param[in,out] r     the writer
 * \param[in]     body  the body (may be empty; ignored for 1xx, 204, 304)
 * \return 0, or the first error of this response (#RV_EINVAL, #RV_ENOMEM,
 *         #RV_ESTATE if ended twice or never begun); on error the buffer
 *         is cut back to its length before rv_http_response_begin().
 * \since 0.2.0
 */
RV_API int rv_http_response_end(rv_http_response *r, rv_slice body);

/**
 * \brief Write a complete error response (plain-text reason as the body,
 *        `Connection: close`), e.g. for rv_http_parser_status().
 * \param[in,out] out     buffer to append to
 * \param[in]     status  the status code
 * \return 0, #RV_EINVAL, #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_http_write_error(struct rv_buf *out, int status);

/** \} */

#ifdef __cplusplus
}
#endif
