/**
 * \file rivet/perf/logparse.h
 * \brief Zero-copy parser for web server access logs (nginx / Apache
 *        `combined` and `common`, and nginx `log_format` strings).
 *
 * A format is compiled once (rv_logformat_compile()), then lines are
 * parsed into ::rv_log_record, whose fields are slices into the line: no
 * byte is copied or allocated per line. rv_log_parse_line() parses one
 * line; an ::rv_logparse streams over chunks of any size, keeps line
 * numbers, buffers a line split between two chunks, and hands every line
 * to a callback: good ones as records, malformed ones (binary junk,
 * truncated lines, missing quotes, TLS handshakes sent to a plain-HTTP
 * port, over-long lines, ...) with their line number and an
 * ::rv_log_error. Malformed lines are counted and never stop the run.
 *
 * **Formats.** `"combined"`, `"common"`, or an nginx `log_format` string
 * such as `$remote_addr - $remote_user [$time_local] "$request" $status
 * $body_bytes_sent "$http_referer" "$http_user_agent" $request_time`.
 * Known variables: `remote_addr`, `remote_user`, `time_local`,
 * `time_iso8601`, `msec`, `request`, `request_method`, `request_uri`,
 * `uri`, `args`, `query_string`, `server_protocol`, `status`,
 * `body_bytes_sent`, `bytes_sent`, `http_referer`, `http_user_agent`,
 * `request_time`; any other variable is matched and ignored. A variable's
 * value runs up to the first byte of the literal text that follows it
 * (inside quotes, `\"` does not end it), so two variables need literal
 * text between them.
 *
 * **Times** become seconds since the Unix epoch (UTC, offset applied),
 * computed directly (no `strptime`, no locale, no time zone database).
 *
 * Thread safety: a compiled format is immutable and may be shared by any
 * number of threads; an ::rv_logparse is used by one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup perf_logparse logparse: access log parser
 *  \{ */

/** \brief The fields of a record (index into ::rv_log_record::f). Append-only. */
typedef enum rv_log_field {
  RV_LOG_ADDR = 0,     /**< client address (`$remote_addr`, `%h`) */
  RV_LOG_USER = 1,     /**< authenticated user (`$remote_user`), "-" if none */
  RV_LOG_TIME = 2,     /**< the timestamp text */
  RV_LOG_METHOD = 3,   /**< request method ("GET") */
  RV_LOG_PATH = 4,     /**< request path, without the query */
  RV_LOG_QUERY = 5,    /**< query string, without the '?' */
  RV_LOG_PROTOCOL = 6, /**< protocol ("HTTP/1.1") */
  RV_LOG_STATUS = 7,   /**< status text ("200") */
  RV_LOG_BYTES = 8,    /**< response bytes text */
  RV_LOG_REFERER = 9,  /**< Referer header */
  RV_LOG_AGENT = 10,   /**< User-Agent header */
  RV_LOG_REQTIME = 11, /**< request time text (seconds, "0.123") */
  RV_LOG_FIELD_COUNT   /**< number of fields */
} rv_log_field;

/** \brief Why a line was rejected. Append-only. */
typedef enum rv_log_error {
  RV_LOG_OK = 0,         /**< parsed */
  RV_LOG_EBINARY = 1,    /**< control bytes or NUL in the line */
  RV_LOG_ETRUNCATED = 2, /**< the line ended before the format did */
  RV_LOG_EQUOTE = 3,     /**< a quoted field has no closing quote */
  RV_LOG_ETIME = 4,      /**< the timestamp is not valid */
  RV_LOG_ESTATUS = 5,    /**< the status is not three digits (100..999) */
  RV_LOG_EREQUEST = 6,   /**< the request line is not METHOD TARGET [PROTOCOL] (e.g. TLS bytes) */
  RV_LOG_ETOOLONG = 7,   /**< the line is longer than the configured maximum */
  RV_LOG_ENUMBER = 8,    /**< a byte count or request time is not a number */
  RV_LOG_ELITERAL = 9,   /**< the text between fields does not match the format */
  RV_LOG_EEMPTY = 10,    /**< an empty (or blank) line */
  RV_LOG_ERROR_COUNT     /**< number of values */
} rv_log_error;

/**
 * \brief One parsed line. Slices point into the parsed line and live as
 *        long as it does. All fields are readable.
 */
typedef struct rv_log_record {
  rv_slice f[RV_LOG_FIELD_COUNT]; /**< field text, `{NULL, 0}` when absent */
  uint32_t present;               /**< bit `1u << field` set for each field present */
  int status;                     /**< the status as a number (0 if absent) */
  int64_t time;                   /**< epoch seconds, UTC (0 if absent) */
  uint64_t bytes;                 /**< response bytes ("-" = 0) */
  uint64_t reqtime_us;            /**< request time in microseconds */
  uint64_t line;                  /**< line number (streaming only; 0 from rv_log_parse_line()) */
} rv_log_record;

/** \brief A compiled log format (opaque, immutable). */
typedef struct rv_logformat rv_logformat;

/**
 * \brief Compile a format.
 * \param[out] out    the format; set only on success; free with rv_logformat_free()
 * \param[in]  fmt    `"combined"`, `"common"` or an nginx `log_format` string
 * \param[in]  alloc  allocator, NULL = libc
 * \param[out] diag   where the format is wrong (byte offset in \p fmt), or NULL
 * \return 0; #RV_EINVAL (NULL \p fmt); #RV_EMALFORMED (empty format, `$`
 *         without a name, an unclosed `${`, two variables with no text
 *         between them, or a variable given twice); #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_logformat_compile(rv_logformat **out, const char *fmt, const rv_alloc *alloc,
                                rv_diag *diag);

/**
 * \brief Free a compiled format. NULL is allowed.
 * \param[in] f  the format; invalid afterwards (no parser may still use it)
 * \since 0.2.0
 */
RV_API void rv_logformat_free(rv_logformat *f);

/**
 * \brief Whether lines of this format carry \p field.
 * \param[in] f      the format
 * \param[in] field  the field
 * \return true if the format has it.
 * \since 0.2.0
 */
RV_API bool rv_logformat_has(const rv_logformat *f, rv_log_field field);

/**
 * \brief Parse one line, given without its newline (a trailing carriage return is ignored).
 * \param[in]  f     the format
 * \param[in]  line  the line's bytes (NULL only if \p len is 0)
 * \param[in]  len   their count
 * \param[out] rec   the record (filled on #RV_LOG_OK, unspecified otherwise)
 * \return #RV_LOG_OK or why the line is malformed.
 * \since 0.2.0
 */
RV_API rv_log_error rv_log_parse_line(const rv_logformat *f, const uint8_t *line, size_t len,
                                      rv_log_record *rec);

/**
 * \brief Short name of an error ("binary", "truncated", ...).
 * \param[in] e  the error
 * \return a static string; "unknown" for other values.
 * \since 0.2.0
 */
RV_API const char *rv_log_error_name(rv_log_error e);

/**
 * \brief Epoch seconds of an nginx `$time_local` / Apache `%t` timestamp,
 *        `10/Oct/2000:13:55:36 -0700`.
 * \param[in]  s    the text (exactly 26 bytes are needed)
 * \param[in]  len  its length
 * \param[out] out  the time, UTC
 * \return 0, or #RV_EMALFORMED (wrong shape, a field out of range, e.g.
 *         month 13, day 31 in a 30-day month, 25 o'clock).
 * \since 0.2.0
 */
RV_API int rv_log_parse_time(const uint8_t *s, size_t len, int64_t *out);

/** \brief Streaming parser (opaque). */
typedef struct rv_logparse rv_logparse;

/** \brief Options for rv_logparse_create(); zero-initialise. */
typedef struct rv_logparse_config {
  const rv_alloc *alloc; /**< allocator, NULL = libc */
  size_t max_line;       /**< longest line parsed; 0 = 64 KiB; longer = #RV_LOG_ETOOLONG */
  uint64_t first_line;   /**< number of the first line; 0 = 1 */
} rv_logparse_config;

/**
 * \brief Called for each parsed line.
 * \param[in] ctx  the context given to rv_logparse_feed()
 * \param[in] rec  the record; valid during the call only
 * \return 0 to go on, anything else stops the feed, which returns it.
 */
typedef int (*rv_logparse_ok_fn)(void *ctx, const rv_log_record *rec);

/**
 * \brief Called for each malformed line.
 * \param[in] ctx   the context given to rv_logparse_feed()
 * \param[in] line  its line number
 * \param[in] err   why it was rejected
 * \param[in] p     its bytes (at most the configured maximum), valid during the call
 * \param[in] len   their count
 */
typedef void (*rv_logparse_bad_fn)(void *ctx, uint64_t line, rv_log_error err, const uint8_t *p,
                                   size_t len);

/**
 * \brief Create a streaming parser.
 * \param[out] out  the parser; set only on success
 * \param[in]  fmt  the format; must outlive the parser
 * \param[in]  cfg  options or NULL; copied
 * \return 0; #RV_EINVAL (NULL \p fmt); #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_logparse_create(rv_logparse **out, const rv_logformat *fmt,
                              const rv_logparse_config *cfg);

/**
 * \brief Free a parser. NULL is allowed.
 * \param[in] p  the parser; invalid afterwards
 * \since 0.2.0
 */
RV_API void rv_logparse_destroy(rv_logparse *p);

/**
 * \brief Forget any partial line and counts; number lines from \p first_line.
 * \param[in,out] p           the parser
 * \param[in]     first_line  number of the next line (0 = 1)
 * \since 0.2.0
 */
RV_API void rv_logparse_reset(rv_logparse *p, uint64_t first_line);

/**
 * \brief Parse the complete lines in \p data, keeping an unfinished last
 *        line for the next call (it may be split anywhere).
 * \param[in,out] p     the parser
 * \param[in]     data  the bytes (NULL only if \p len is 0); not kept
 * \param[in]     len   their count
 * \param[in]     ok    called for each parsed line, or NULL
 * \param[in]     bad   called for each malformed line, or NULL
 * \param[in]     ctx   passed to both
 * \return 0; #RV_ENOMEM if buffering a split line failed (that line is
 *         then reported as #RV_LOG_ETOOLONG when it ends); or the nonzero
 *         value \p ok returned (the rest of \p data is not parsed).
 * \since 0.2.0
 */
RV_API int rv_logparse_feed(rv_logparse *p, const void *data, size_t len, rv_logparse_ok_fn ok,
                            rv_logparse_bad_fn bad, void *ctx);

/**
 * \brief Parse the last line if the input did not end with `'\n'`.
 * \param[in,out] p    the parser
 * \param[in]     ok   as rv_logparse_feed()
 * \param[in]     bad  as rv_logparse_feed()
 * \param[in]     ctx  as rv_logparse_feed()
 * \return 0 or the nonzero value \p ok returned.
 * \since 0.2.0
 */
RV_API int rv_logparse_finish(rv_logparse *p, rv_logparse_ok_fn ok, rv_logparse_bad_fn bad,
                              void *ctx);

/**
 * \brief Lines seen so far (parsed and malformed).
 * \param[in] p  the parser
 * \return the count.
 * \since 0.2.0
 */
RV_API uint64_t rv_logparse_lines(const rv_logparse *p);

/**
 * \brief Malformed lines seen so far with error \p e (all of them for #RV_LOG_OK).
 * \param[in] p  the parser
 * \param[in] e  the error
 * \return the count (0 for an out-of-range \p e).
 * \since 0.2.0
 */
RV_API uint64_t rv_logparse_malformed(const rv_logparse *p, rv_log_error e);

/** \} */

#ifdef __cplusplus
}
#endif
