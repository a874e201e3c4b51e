/**
 * \file rivet/perf/scan.h
 * \brief Byte-search kernels (AVX2, SSE2, scalar) chosen at run time.
 *
 * Four kernels: find a byte, find any byte of a small set, count a byte
 * (lines), and the structural bitmasks of one 64-byte block (space,
 * double quote, square bracket, newline), as a log parser needs them.
 * Each exists in three implementations that give identical results:
 * scalar (every machine), SSE2 and AVX2 (x86-64). The first call picks
 * the best one the CPU supports (CPUID via `__builtin_cpu_supports`), so
 * one binary runs everywhere; rv_scan_force() pins one (tests, benchmarks).
 *
 * The functions only read the \p n bytes given (vector loads never cross
 * the end of the buffer). They are thread-safe: the dispatch table is
 * published with an atomic store and never freed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup perf_scan scan: SIMD byte search
 *  \{ */

/** \brief An implementation of the kernels. Append-only. */
typedef enum rv_scan_impl {
  RV_SCAN_SCALAR = 0, /**< portable C, one byte (or word) at a time */
  RV_SCAN_SSE2 = 1,   /**< 16-byte SSE2 vectors (x86-64 baseline) */
  RV_SCAN_AVX2 = 2,   /**< 32-byte AVX2 vectors */
} rv_scan_impl;

/** \brief Largest byte set rv_scan_set_init() accepts. */
#define RV_SCAN_SET_MAX 8

/** \brief A prepared set of 1..#RV_SCAN_SET_MAX bytes for rv_scan_any(). */
typedef struct rv_scan_set {
  uint8_t bytes[RV_SCAN_SET_MAX]; /**< the bytes (unused entries repeat the first) */
  uint32_t n;                     /**< number of distinct bytes given */
  uint8_t table[256];             /**< membership table for the scalar path */
} rv_scan_set;

/** \brief Structural bitmasks of a 64-byte block: bit i is byte i. */
typedef struct rv_scan_masks {
  uint64_t space;   /**< `' '` */
  uint64_t quote;   /**< `'"'` */
  uint64_t bracket; /**< `'['` or `']'` */
  uint64_t newline; /**< `'\n'` */
} rv_scan_masks;

/**
 * \brief The best implementation this CPU supports.
 * \return #RV_SCAN_AVX2, #RV_SCAN_SSE2 or #RV_SCAN_SCALAR.
 * \since 0.2.0
 */
RV_API rv_scan_impl rv_scan_best(void);

/**
 * \brief The implementation the rv_scan_* functions use now.
 * \return the active implementation (rv_scan_best() unless forced).
 * \since 0.2.0
 */
RV_API rv_scan_impl rv_scan_active(void);

/**
 * \brief Make the rv_scan_* functions use \p impl (for tests and benchmarks).
 *
 * Thread-safe; calls already running finish with the previous one.
 * \param[in] impl  the implementation
 * \return 0; #RV_EINVAL for an unknown value; #RV_EUNSUPPORTED if the CPU
 *         (or this build's architecture) lacks it.
 * \since 0.2.0
 */
RV_API int rv_scan_force(rv_scan_impl impl);

/**
 * \brief The name of an implementation ("scalar", "sse2", "avx2").
 * \param[in] impl  the implementation
 * \return a static string; "unknown" for other values.
 * \since 0.2.0
 */
RV_API const char *rv_scan_impl_name(rv_scan_impl impl);

/**
 * \brief Position of the first \p c in the \p n bytes at \p p.
 * \param[in] p  the bytes (NULL only if \p n is 0)
 * \param[in] n  their count
 * \param[in] c  the byte to find
 * \return its index, or \p n if absent.
 * \since 0.2.0
 */
RV_API size_t rv_scan_byte(const void *p, size_t n, uint8_t c);

/**
 * \brief Prepare a byte set for rv_scan_any().
 * \param[out] set    the set
 * \param[in]  bytes  the bytes (duplicates allowed)
 * \param[in]  n      their count, 1..#RV_SCAN_SET_MAX
 * \return 0; #RV_EINVAL if \p n is 0 or above #RV_SCAN_SET_MAX (\p set untouched).
 * \since 0.2.0
 */
RV_API int rv_scan_set_init(rv_scan_set *set, const uint8_t *bytes, size_t n);

/**
 * \brief Position of the first byte of \p p that belongs to \p set.
 * \param[in] p    the bytes (NULL only if \p n is 0)
 * \param[in] n    their count
 * \param[in] set  a set prepared by rv_scan_set_init()
 * \return its index, or \p n if none.
 * \since 0.2.0
 */
RV_API size_t rv_scan_any(const void *p, size_t n, const rv_scan_set *set);

/**
 * \brief Number of bytes equal to \p c (newlines with `'\n'`).
 * \param[in] p  the bytes (NULL only if \p n is 0)
 * \param[in] n  their count
 * \param[in] c  the byte to count
 * \return the count.
 * \since 0.2.0
 */
RV_API size_t rv_scan_count(const void *p, size_t n, uint8_t c);

/**
 * \brief Structural bitmasks of the 64 bytes at \p block.
 * \param[in]  block  64 readable bytes (any alignment)
 * \param[out] out    the masks
 * \since 0.2.0
 */
RV_API void rv_scan_struct64(const void *block, rv_scan_masks *out);

/** \} */

#ifdef __cplusplus
}
#endif
