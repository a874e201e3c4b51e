/**
 * \file rivet/core/log.h
 * \brief Structured logging as JSON lines: level, time, message and typed
 *        key/value fields, with a level filter and a replaceable sink.
 *
 * Each record is one line of JSON, in this order:
 * \code
 * {"time":"2026-11-23T19:30:50.123Z","level":"info","service":"api","msg":"listening","port":8080}
 * \endcode
 * `time` is RFC 3339 UTC with milliseconds, from the log's clock; `level` is
 * rv_log_level_name(); then come the log's static fields (given at
 * creation), `msg`, and the record's own fields in the order given. Keys
 * are not checked for duplicates.
 *
 * **Escaping.** Every string is written so that any input bytes give valid
 * JSON:
 * - Text (the message, keys, ::RV_LOG_STR, ::RV_LOG_STRN) is UTF-8. Valid
 *   sequences are copied as they are. Each invalid sequence (a stray
 *   continuation byte, a truncated sequence, an overlong form, a surrogate,
 *   a value above U+10FFFF) becomes one U+FFFD, written `\ufffd`, per
 *   maximal invalid subpart as Unicode recommends.
 * - Bytes (::RV_LOG_BYTES) are not text: each byte becomes the code point
 *   of the same value (Latin-1), so printable ASCII stays itself and every
 *   other byte is written `\u00XX`. Decoding the JSON string and encoding
 *   it as Latin-1 gives back the exact bytes.
 * - In both, `"` and `\` are backslash-escaped, `\b \f \n \r \t` use their
 *   short forms and other control characters (U+0000 to U+001F, U+007F)
 *   are written `\u00XX`, so a line never contains a raw control byte.
 * - Numbers: ::RV_LOG_INT and ::RV_LOG_UINT exactly; ::RV_LOG_F64 with the
 *   fewest digits (from 15 up to 17) that read back as the same double,
 *   always with a `.` decimal point whatever the C locale, and always
 *   looking like a float (`3.0`, `-0.0`, `1e+300`), so typed readers do not
 *   take it for an integer. JSON has no NaN or infinity:
 *   those are written as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
 *   A NULL ::RV_LOG_STR value is written `null`.
 *
 * **Memory.** A record is formatted into a 1 KiB buffer on the stack
 * (#RV_LOG_STACK_RECORD); nothing is allocated for records that fit. A
 * longer record is measured, then formatted into a block of exactly its
 * size from the log's allocator, freed before rv_log_write() returns.
 * A record longer than the log's `max_record`, or one whose block cannot be
 * allocated, is **truncated** instead (to `max_record`, or to the stack
 * buffer): the string being written is cut at a character boundary and
 * closed, fields that no longer fit are left out, and the record ends with
 * `"truncated":true`. A truncated record is still one line of valid JSON.
 *
 * **Threads.** rv_log_write() and the level functions are thread-safe. Each
 * record reaches the sink in one call with one complete line. Unless the
 * sink is declared thread-safe (rv_log_options::sink_threadsafe), the log
 * holds a mutex around each sink call, so a sink that is not thread-safe
 * still sees one call at a time. The default sink (rv_log_sink_fd() on
 * stderr) is thread-safe: it writes each line with one `write(2)`, so lines
 * from different threads never interleave (for pipes this holds for lines
 * up to `PIPE_BUF` bytes, for regular files opened with `O_APPEND` always
 * on Linux). Logging is not async-signal-safe.
 *
 * Freestanding: no (hosted: clock, mutex, `write(2)`).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_log log: structured JSON-lines logging
 *  \{ */

/** \brief Size of the stack buffer a record is formatted into first. */
#define RV_LOG_STACK_RECORD 1024u

/** \brief Default longest record, newline included (rv_log_options::max_record = 0). */
#define RV_LOG_MAX_RECORD_DEFAULT 65536u

/** \brief Smallest rv_log_options::max_record accepted. */
#define RV_LOG_MIN_RECORD 256u

/** \brief Severity of a record; also the filter's threshold. Append-only. */
typedef enum rv_log_level {
  RV_LOG_TRACE = 1, /**< "trace": step-by-step detail */
  RV_LOG_DEBUG = 2, /**< "debug": diagnostics for developers */
  RV_LOG_INFO = 3,  /**< "info": normal operation */
  RV_LOG_WARN = 4,  /**< "warn": something unexpected, handled */
  RV_LOG_ERROR = 5, /**< "error": an operation failed */
  RV_LOG_FATAL = 6, /**< "fatal": the program cannot go on (logging it does not exit) */
  RV_LOG_OFF = 7,   /**< threshold only: write nothing */
} rv_log_level;

/** \brief Type tag of an ::rv_log_field. Append-only. */
typedef enum rv_log_type {
  RV_LOG_T_STR = 1,   /**< `v.s`: NUL-terminated UTF-8 text, or NULL (written `null`) */
  RV_LOG_T_STRN = 2,  /**< `v.mem`: UTF-8 text of known length (may hold NUL bytes) */
  RV_LOG_T_INT = 3,   /**< `v.i`: signed integer */
  RV_LOG_T_UINT = 4,  /**< `v.u`: unsigned integer */
  RV_LOG_T_F64 = 5,   /**< `v.f`: double */
  RV_LOG_T_BOOL = 6,  /**< `v.b`: true or false */
  RV_LOG_T_BYTES = 7, /**< `v.mem`: arbitrary bytes, written as Latin-1 code points */
} rv_log_type;

/**
 * \brief One key/value field. Build it with the `RV_LOG_*` field macros.
 *
 * The log only reads a field during the call it is passed to (or, for
 * static fields, during rv_log_create(), which renders them once): the
 * strings and bytes it points to need to live only that long.
 */
typedef struct rv_log_field {
  const char *key;  /**< NUL-terminated UTF-8 key; never NULL */
  rv_log_type type; /**< which member of #v holds the value */
  /** \brief The value. */
  union {
    const char *s; /**< #RV_LOG_T_STR */
    int64_t i;     /**< #RV_LOG_T_INT */
    uint64_t u;    /**< #RV_LOG_T_UINT */
    double f;      /**< #RV_LOG_T_F64 */
    bool b;        /**< #RV_LOG_T_BOOL */
    /** \brief #RV_LOG_T_STRN and #RV_LOG_T_BYTES: ptr may be NULL only when len is 0. */
    struct {
      const void *ptr; /**< first byte */
      size_t len;      /**< number of bytes */
    } mem;
  } v;
} rv_log_field;

/** \brief A text field from a NUL-terminated string (NULL gives `null`). */
#define RV_LOG_STR(k, val) ((rv_log_field){(k), RV_LOG_T_STR, {.s = (val)}})
/** \brief A text field of \p n bytes at \p p (UTF-8; NUL bytes allowed). */
#define RV_LOG_STRN(k, p, n)                                                                       \
  ((rv_log_field){(k), RV_LOG_T_STRN, {.mem = {(const void *)(p), (size_t)(n)}}})
/** \brief A signed integer field. */
#define RV_LOG_INT(k, val) ((rv_log_field){(k), RV_LOG_T_INT, {.i = (int64_t)(val)}})
/** \brief An unsigned integer field. */
#define RV_LOG_UINT(k, val) ((rv_log_field){(k), RV_LOG_T_UINT, {.u = (uint64_t)(val)}})
/** \brief A floating-point field. */
#define RV_LOG_F64(k, val) ((rv_log_field){(k), RV_LOG_T_F64, {.f = (double)(val)}})
/** \brief A boolean field. */
#define RV_LOG_BOOL(k, val) ((rv_log_field){(k), RV_LOG_T_BOOL, {.b = (val) ? true : false}})
/** \brief A field of \p n arbitrary bytes at \p p (each byte a Latin-1 code point). */
#define RV_LOG_BYTES(k, p, n)                                                                      \
  ((rv_log_field){(k), RV_LOG_T_BYTES, {.mem = {(const void *)(p), (size_t)(n)}}})

/**
 * \brief Where complete lines go.
 *
 * Called once per record with the whole line, newline included (\p line is
 * not NUL-terminated and is valid only during the call). Called from
 * whichever thread logs; see rv_log_options::sink_threadsafe. A sink must
 * not write to the log that calls it (the log's mutex is not recursive).
 * \param[in] ctx    rv_log_options::sink_ctx
 * \param[in] level  the record's level
 * \param[in] line   the JSON line
 * \param[in] len    its length in bytes
 * \return 0, or a negative `RV_E*` code that rv_log_write() passes back.
 */
typedef int (*rv_log_sink_fn)(void *ctx, rv_log_level level, const char *line, size_t len);

/**
 * \brief Where the time comes from: nanoseconds since 1970-01-01T00:00:00Z.
 *
 * Called once per record written, outside any lock, from whichever thread
 * logs: it must be thread-safe if the log is used from several threads.
 * \param[in] ctx  rv_log_options::clock_ctx
 */
typedef int64_t (*rv_log_clock_fn)(void *ctx);

/**
 * \brief How to create a log. Zero-initialise it (`rv_log_options o = {0};`)
 *        and set what you need: every zero field means "the default".
 */
typedef struct rv_log_options {
  rv_log_level level;         /**< lowest level written; 0 = #RV_LOG_INFO */
  rv_log_sink_fn sink;        /**< where lines go; NULL = rv_log_sink_fd() on stderr */
  void *sink_ctx;             /**< passed to #sink */
  bool sink_threadsafe;       /**< true: #sink may be called from several threads at
                                   once; false: the log serialises calls with a mutex
                                   (ignored for the default sink, which is thread-safe) */
  rv_log_clock_fn clock;      /**< NULL = `clock_gettime(CLOCK_REALTIME)` */
  void *clock_ctx;            /**< passed to #clock */
  const rv_log_field *fields; /**< static fields put in every record (may be NULL
                                   when #nfields is 0); rendered once by rv_log_create() */
  size_t nfields;             /**< number of static fields */
  size_t max_record;          /**< longest line in bytes, newline included; 0 =
                                   #RV_LOG_MAX_RECORD_DEFAULT, else at least
                                   #RV_LOG_MIN_RECORD */
  const rv_alloc *alloc;      /**< for the log and for long records; NULL = default */
} rv_log_options;

/** \brief A logger. Opaque; create with rv_log_create(). Thread-safe as
 *         described in the file documentation. */
typedef struct rv_log rv_log;

/**
 * \brief Create a log.
 *
 * The static fields are rendered to JSON now; their strings are not kept.
 * \param[out] out   the new log; untouched on error
 * \param[in]  opts  options, or NULL for all defaults
 * \return 0; #RV_EINVAL if \p out is NULL, rv_log_options::level is not a
 *         level, rv_log_options::max_record is below #RV_LOG_MIN_RECORD, or a
 *         static field is invalid (as for rv_log_write()); #RV_ELIMIT if the
 *         rendered static fields leave less than 128 bytes of
 *         rv_log_options::max_record; #RV_ENOMEM if the allocator failed.
 * \since 0.2.0
 */
RV_API int rv_log_create(rv_log **out, const rv_log_options *opts);

/**
 * \brief Destroy a log. No rv_log_write() may be running on it.
 * \param[in] log  the log, or NULL (nothing happens)
 * \since 0.2.0
 */
RV_API void rv_log_destroy(rv_log *log);

/**
 * \brief Change the lowest level written. Thread-safe: calls that start
 *        after it returns use the new level.
 * \param[in,out] log    the log
 * \param[in]     level  #RV_LOG_TRACE to #RV_LOG_OFF
 * \return 0, or #RV_EINVAL for a value that is not a level (unchanged).
 * \since 0.2.0
 */
RV_API int rv_log_set_level(rv_log *log, rv_log_level level);

/**
 * \brief The lowest level written. Thread-safe.
 * \since 0.2.0
 */
RV_API rv_log_level rv_log_get_level(const rv_log *log);

/**
 * \brief Whether a record at \p level would be written (to skip costly
 *        argument preparation). Thread-safe.
 * \since 0.2.0
 */
RV_API bool rv_log_enabled(const rv_log *log, rv_log_level level);

/**
 * \brief Write one record.
 *
 * Below the log's level it returns 0 at once, without looking at the other
 * arguments. Otherwise the record is formatted (see the file documentation
 * for escaping, memory use and truncation) and passed to the sink in one
 * call. Thread-safe. Nothing is allocated when the line fits in
 * #RV_LOG_STACK_RECORD bytes.
 * \param[in] log      the log
 * \param[in] level    #RV_LOG_TRACE to #RV_LOG_FATAL
 * \param[in] msg      NUL-terminated UTF-8 message
 * \param[in] fields   the record's fields (NULL only when \p nfields is 0)
 * \param[in] nfields  number of fields
 * \return 0 (written, or filtered out); #RV_EINVAL if \p log or \p msg is
 *         NULL, \p level is not #RV_LOG_TRACE to #RV_LOG_FATAL, or a field
 *         is invalid (NULL key, unknown type, NULL pointer with a nonzero
 *         length), in which case the sink is not called; or the sink's
 *         negative return code.
 * \since 0.2.0
 */
RV_API int rv_log_write(rv_log *log, rv_log_level level, const char *msg,
                        const rv_log_field *fields, size_t nfields);

/**
 * \brief A sink that writes each line to a file descriptor with `write(2)`.
 *
 * It writes the line in one call, continuing only if the kernel took part
 * of it (then another thread's line may land in between), and retries on
 * `EINTR`. Thread-safe.
 * \param[in] ctx    pointer to an `int` holding the descriptor, or NULL for stderr
 * \param[in] level  ignored
 * \param[in] line   the line
 * \param[in] len    its length
 * \return 0, or the `write(2)` error mapped by rv_err_from_errno()
 *         (#RV_EIO for a bad descriptor, #RV_EAGAIN when it would block).
 * \since 0.2.0
 */
RV_API int rv_log_sink_fd(void *ctx, rv_log_level level, const char *line, size_t len);

/**
 * \brief The name written for a level: "trace", "debug", "info", "warn",
 *        "error", "fatal", "off".
 * \return a static string, or NULL for a value that is not a level.
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API const char *rv_log_level_name(rv_log_level level);

/**
 * \brief Parse a level name (any case), for configuration and environment
 *        variables.
 * \param[in]  name   "trace" ... "fatal" or "off"; "warning" is also accepted
 * \param[out] level  the level; untouched on error
 * \return 0, or #RV_EINVAL if \p name is NULL or not a level name.
 * \since 0.2.0
 */
RV_API int rv_log_level_parse(const char *name, rv_log_level *level);

/** \cond RV_INTERNAL */
#define RV_LOG_HEAD_(first, ...) first
#define RV_LOG_TAIL_(first, ...) __VA_ARGS__
#define RV_LOG_END_ RV_LOG_BOOL("", 0)
#define RV_LOG_FIELDS_(...) ((const rv_log_field[]){RV_LOG_TAIL_(__VA_ARGS__, RV_LOG_END_)})
/** \endcond */

/**
 * \brief Write a record: `rv_log_at(log, RV_LOG_WARN, "slow", RV_LOG_INT("ms", 250))`.
 *
 * The first argument after the level is the message, the rest (zero or
 * more) are fields made with the `RV_LOG_*` field macros. Expands to one
 * rv_log_write() call with the fields in a compound literal on the stack;
 * its value is rv_log_write()'s.
 */
#define rv_log_at(log, level, ...)                                                                 \
  rv_log_write((log), (level), RV_LOG_HEAD_(__VA_ARGS__, 0), RV_LOG_FIELDS_(__VA_ARGS__),          \
               sizeof RV_LOG_FIELDS_(__VA_ARGS__) / sizeof(rv_log_field) - 1)

/** \brief rv_log_at() at #RV_LOG_TRACE: `rv_log_trace(log, msg, fields...)`. */
#define rv_log_trace(log, ...) rv_log_at((log), RV_LOG_TRACE, __VA_ARGS__)
/** \brief rv_log_at() at #RV_LOG_DEBUG. */
#define rv_log_debug(log, ...) rv_log_at((log), RV_LOG_DEBUG, __VA_ARGS__)
/** \brief rv_log_at() at #RV_LOG_INFO. */
#define rv_log_info(log, ...) rv_log_at((log), RV_LOG_INFO, __VA_ARGS__)
/** \brief rv_log_at() at #RV_LOG_WARN. */
#define rv_log_warn(log, ...) rv_log_at((log), RV_LOG_WARN, __VA_ARGS__)
/** \brief rv_log_at() at #RV_LOG_ERROR. */
#define rv_log_error(log, ...) rv_log_at((log), RV_LOG_ERROR, __VA_ARGS__)
/** \brief rv_log_at() at #RV_LOG_FATAL (logs only; does not exit). */
#define rv_log_fatal(log, ...) rv_log_at((log), RV_LOG_FATAL, __VA_ARGS__)

/** \} */

#ifdef __cplusplus
}
#endif
