/**
 * \file rivet/sec/timing.h
 * \brief A constant-time checker: the dudect method (Reparaz, Balasch,
 *        Verbauwhede, "Dude, is my code constant time?", 2017).
 *
 * The code under test runs on inputs of two classes, interleaved in a random
 * order: class 0 is one fixed input, class 1 fresh random inputs. Each run is
 * timed with the cycle counter. If the two classes' timing distributions
 * differ, execution time depends on the data. Welch's t-test compares them,
 * online: on all measurements, on measurements cropped at 100 percentiles
 * (large outliers from interrupts hide small differences), and as a
 * second-order test on the squared distances to each class mean. The verdict
 * uses the largest |t| of the tests that have enough measurements.
 *
 * Thresholds (dudect's): |t| >= 10 is a leak; |t| < 4.5 is no leak found
 * with this many measurements (more measurements find smaller leaks).
 *
 * Hosted only. Not thread-safe per run; separate runs are independent.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup sec_timing timing: constant-time checker (dudect)
 *  \{ */

/** \brief |t| at or above which a test reports a leak (dudect's threshold). */
#define RV_TIMING_T_LEAK 10.0
/** \brief |t| below which a test reports no leak found. */
#define RV_TIMING_T_CLEAN 4.5
/** \brief Measurements a single test needs before its t counts. */
#define RV_TIMING_ENOUGH 10000u
/** \brief Number of percentile-cropped tests. */
#define RV_TIMING_PERCENTILES 100
/** \brief Total number of tests: uncropped, cropped, second order. */
#define RV_TIMING_TESTS (RV_TIMING_PERCENTILES + 2)

/**
 * \brief Online Welch t-test between two classes (Welford's update).
 * Fields are readable; initialise with `{0}`.
 */
typedef struct rv_timing_welch {
  double n[2];    /**< measurements per class */
  double mean[2]; /**< running means */
  double m2[2];   /**< running sums of squared distances to the mean */
} rv_timing_welch;

/**
 * \brief Add one measurement to a Welch test.
 * \param[in,out] w    the test
 * \param[in]     cls  class, 0 or 1 (other values count as 1)
 * \param[in]     x    the measurement
 * \since 0.1.0
 */
RV_API void rv_timing_welch_push(rv_timing_welch *w, int cls, double x);

/**
 * \brief Welch's t statistic of the measurements so far.
 * \param[in] w  the test
 * \return t (class 0 mean minus class 1 mean, over the standard error);
 *         0 while a class has fewer than 2 measurements or no variance.
 * \since 0.1.0
 */
RV_API double rv_timing_welch_t(const rv_timing_welch *w);

/** \brief What a run concluded. */
typedef enum rv_timing_verdict {
  RV_TIMING_TOO_FEW = 0, /**< fewer than #RV_TIMING_ENOUGH measurements */
  RV_TIMING_NO_LEAK = 1, /**< max |t| < #RV_TIMING_T_CLEAN */
  RV_TIMING_MAYBE = 2,   /**< between the two thresholds: measure more */
  RV_TIMING_LEAK = 3,    /**< max |t| >= #RV_TIMING_T_LEAK */
} rv_timing_verdict;

/**
 * \brief Fill one input of a class (optional; see ::rv_timing_config).
 * \param[in]  ctx     ::rv_timing_config::ctx
 * \param[in]  cls     0 (fixed) or 1 (random)
 * \param[out] input   ::rv_timing_config::input_len bytes to fill
 * \param[in]  len     their number
 * \param[in]  random  \p len random bytes from the run's seeded generator
 */
typedef void (*rv_timing_prepare_fn)(void *ctx, int cls, uint8_t *input, size_t len,
                                     const uint8_t *random);

/**
 * \brief The code under test: one call is one measurement.
 * \param[in] ctx    ::rv_timing_config::ctx
 * \param[in] input  the input
 * \param[in] len    its length
 */
typedef void (*rv_timing_fn)(void *ctx, const uint8_t *input, size_t len);

/** \brief A run's settings. Zero-initialise, then set what you need. */
typedef struct rv_timing_config {
  rv_timing_fn run;             /**< the code under test (required) */
  rv_timing_prepare_fn prepare; /**< NULL: class 0 gets #fixed, class 1 random bytes */
  void *ctx;                    /**< passed to #run and #prepare */
  size_t input_len;             /**< bytes per input, > 0 */
  const uint8_t *fixed;         /**< class-0 input (#input_len bytes); NULL = zeros */
  uint64_t seed;                /**< seeds class order and random inputs */
  size_t max_measurements;      /**< stop after this many (0 = 1,000,000) */
  double max_seconds;           /**< stop after this long (0 = no limit) */
  double stop_t;                /**< stop early once max |t| reaches it (0 = never) */
  size_t batch;                 /**< measurements per batch (0 = 10,000) */
  const rv_alloc *alloc;        /**< for the run's buffers; NULL = libc */
  uint64_t *samples;            /**< optional: the first #samples_cap cycle counts */
  uint8_t *sample_class;        /**< with #samples: their classes */
  size_t samples_cap;           /**< room in #samples and #sample_class */
} rv_timing_config;

/** \brief A run's outcome. All fields readable. */
typedef struct rv_timing_result {
  rv_timing_verdict verdict; /**< the conclusion */
  double max_t;              /**< largest |t| among tests with enough measurements */
  int max_test;              /**< which: 0 uncropped, 1..100 cropped, 101 second order */
  size_t max_test_n;         /**< measurements in that test */
  double max_tau;            /**< max_t / sqrt(max_test_n): effect size per measurement */
  size_t measurements;       /**< measurements taken (after the warm-up batch) */
  size_t samples_stored;     /**< entries written to ::rv_timing_config::samples */
  double mean[2];            /**< uncropped mean cycles per class */
  double seconds;            /**< wall time of the run */
  const char *timer;         /**< "rdtsc+lfence", "cntvct" or "clock_gettime" */
} rv_timing_result;

/**
 * \brief Run the checker until a limit is reached.
 *
 * The first batch only warms up and sets the percentile crops; it is not
 * counted. The run stops after ::rv_timing_config::max_measurements, after
 * ::rv_timing_config::max_seconds, or once max |t| reaches
 * ::rv_timing_config::stop_t, whichever comes first. Deterministic input
 * order for a given seed (the timings themselves are not).
 * \param[in]  cfg  the settings; never modified
 * \param[out] res  the outcome
 * \return 0; #RV_EINVAL (NULL argument, no run function, input_len 0,
 *         samples without sample_class); #RV_EOVERFLOW (batch * input_len
 *         does not fit); #RV_ENOMEM (the allocator failed).
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_timing_check(const rv_timing_config *cfg, rv_timing_result *res);

/**
 * \brief The verdict as text ("leak", "no leak found", ...).
 * \param[in] v  a verdict
 * \return a static string.
 * \since 0.1.0
 */
RV_API const char *rv_timing_verdict_name(rv_timing_verdict v);

/**
 * \brief Read the cycle counter used for measurements.
 * \return a cycle count (or nanoseconds with the clock_gettime fallback).
 * \since 0.1.0
 */
RV_API uint64_t rv_timing_cycles(void);

/** \} */

#ifdef __cplusplus
}
#endif
