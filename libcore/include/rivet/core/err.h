/**
 * \file rivet/core/err.h
 * \brief Error codes, their text, parser diagnostics and the misuse handler.
 *
 * Every rivet function that can fail returns an `int`: #RV_OK (0) on
 * success, a negative `RV_E*` code on failure. The codes are rivet's own
 * (not errno values) so that they mean the same on a microcontroller.
 *
 * Freestanding: yes (rv_err_from_errno() exists only in hosted builds).
 */
#pragma once

#include <stddef.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_err err: error codes and diagnostics
 *  \{ */

/**
 * \brief rivet error codes. Append-only: a value, once released, keeps its
 *        meaning forever.
 */
enum rv_err {
  RV_OK = 0,             /**< success */
  RV_EINVAL = -1,        /**< an argument is invalid (bad size, NULL where not allowed) */
  RV_ENOMEM = -2,        /**< the allocator failed, or caller-provided memory is full */
  RV_EOVERFLOW = -3,     /**< a size computation would overflow */
  RV_ERANGE = -4,        /**< an index or offset is out of range */
  RV_EEMPTY = -5,        /**< nothing to take (empty container) */
  RV_EFULL = -6,         /**< no room (bounded container) */
  RV_EAGAIN = -7,        /**< try again later (would block) */
  RV_ETIMEDOUT = -8,     /**< a deadline passed */
  RV_ENOTFOUND = -9,     /**< no such key, name or entry */
  RV_EEXIST = -10,       /**< the key, name or entry already exists */
  RV_EMALFORMED = -11,   /**< input is malformed (a parser rejected it; see ::rv_diag) */
  RV_ETRUNCATED = -12,   /**< input ended before a complete unit */
  RV_ELIMIT = -13,       /**< input exceeds a configured limit */
  RV_EUNSUPPORTED = -14, /**< a version, feature or algorithm is not supported */
  RV_EVERIFY = -15,      /**< verification failed (checksum, MAC, signature) */
  RV_EIO = -16,          /**< an I/O operation failed */
  RV_ECLOSED = -17,      /**< the object or peer is closed or shutting down */
  RV_EPERM = -18,        /**< not permitted (policy, permissions, locked memory) */
  RV_ESTATE = -19,       /**< the object is in the wrong state for this call */
  RV_EBUSY = -20,        /**< the resource is in use */
};

/** \brief The most negative error code defined by this version. */
#define RV_ERR_MIN RV_EBUSY

/**
 * \brief A short English description of an error code.
 * \param[in] code  0 or a negative `RV_E*` code; any other value is allowed
 * \return a static string, valid for the life of the program ("unknown
 *         error" for a value this version does not define). Thread-safe.
 * \since 0.1.0
 */
RV_API const char *rv_strerror(int code);

/**
 * \brief The symbolic name of an error code ("RV_ENOMEM").
 * \param[in] code  any value
 * \return a static string ("RV_E?" for an unknown value). Thread-safe.
 * \since 0.1.0
 */
RV_API const char *rv_err_name(int code);

#if __STDC_HOSTED__ || defined(RV_DOXYGEN)
/**
 * \brief Map a POSIX `errno` value to the nearest rivet code.
 *
 * Hosted builds only. Values without a closer match map to #RV_EIO.
 * \param[in] errnum  an errno value (positive); 0 maps to #RV_OK
 * \return 0 or a negative `RV_E*` code. Thread-safe.
 * \since 0.1.0
 */
RV_API int rv_err_from_errno(int errnum);
#endif

/**
 * \brief Where and why a parser rejected its input.
 *
 * Parsers take an optional `rv_diag *` (NULL = not wanted) and fill it when
 * they fail. All fields are readable; new fields may be appended in a minor
 * release, so zero-initialise it (`rv_diag d = {0};`) rather than relying
 * on its size.
 */
typedef struct rv_diag {
  int code;        /**< the negative `RV_E*` code also returned */
  size_t offset;   /**< byte offset into the input where the problem is */
  size_t line;     /**< 1-based line, or 0 when the input has no lines */
  size_t column;   /**< 1-based column, or 0 when unknown */
  const char *msg; /**< static text naming what was wrong, never NULL once set */
} rv_diag;

/**
 * \brief Fill a diagnostic and return its code, so a parser can write
 *        `return rv_diag_set(d, RV_EMALFORMED, off, "bad length");`.
 * \param[out] d       the diagnostic, or NULL (then only \p code is returned)
 * \param[in]  code    a negative `RV_E*` code
 * \param[in]  offset  byte offset of the problem in the input
 * \param[in]  msg     static text (not copied: it must outlive \p d)
 * \return \p code. Thread-safe for distinct \p d.
 * \since 0.1.0
 */
RV_API int rv_diag_set(rv_diag *d, int code, size_t offset, const char *msg);

/**
 * \brief A handler for contract violations (misuse, not bad input).
 *
 * It must not return; if it does, rivet traps.
 * \param[in] msg  static text naming the violated contract
 */
typedef void (*rv_panic_fn)(const char *msg);

/**
 * \brief Replace the handler called on misuse.
 *
 * The default handler writes the message to stderr and calls `abort()`
 * (hosted), or executes a trap instruction (freestanding).
 * \param[in] fn  the new handler, or NULL to restore the default
 * \return the previous handler (never NULL). Thread-safe (atomic swap).
 * \since 0.1.0
 */
RV_API rv_panic_fn rv_set_panic_handler(rv_panic_fn fn);

/**
 * \brief Report a contract violation through the panic handler. Never returns.
 *
 * Bad *input* never reaches this: it returns an error code. Only a broken
 * contract (for example a double free detected in a debug build) does.
 * \param[in] msg  static text naming the violated contract
 * \since 0.1.0
 */
RV_NORETURN RV_API void rv_panic(const char *msg);

/** \} */

#ifdef __cplusplus
}
#endif
