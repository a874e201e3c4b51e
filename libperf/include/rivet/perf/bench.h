/**
 * \file rivet/perf/bench.h
 * \brief The benchmark harness every rivet `bench/` program uses.
 *
 * A benchmark program creates a runner from its command line, registers
 * cases, runs them and exits:
 *
 * \code
 * int main(int argc, char **argv) {
 *   rv_bench *b;
 *   if (rv_bench_create(&b, "bytes", argc, argv, NULL) != 0)
 *     return 2;                              // bad arguments: message printed
 *   size_t n = rv_bench_pick(b, 1000000, 10000);  // full size, --quick size
 *   rv_bench_case c = {.name = "realloc", .group = "append", .fn = run_realloc,
 *                      .ctx = &st, .ops = n, .baseline = true};
 *   rv_bench_add(b, &c);
 *   ... more cases of group "append" ...
 *   int rc = rv_bench_run(b);                // prints the table and JSON lines
 *   rv_bench_destroy(b);
 *   return rc == 0 ? 0 : 1;
 * }
 * \endcode
 *
 * **Model.** A case is one function performing one timed *repetition* of
 * `ops` operations. Cases belong to a *group* (a comparison); at most one
 * case per group is the *baseline*, usually what a C programmer would write
 * without rivet. The runner first runs `--warmup` untimed rounds, then
 * `--reps` timed rounds; in each round every selected case runs once, in an
 * order that changes from round to round (rotated by one, and reversed on
 * odd rounds) so that slow drift of the machine (frequency, other load)
 * hits every case alike. Each case reports the median, minimum and maximum
 * (worst) nanoseconds per operation over its repetitions, and the ratio
 * baseline median / case median: above 1 means faster than the baseline.
 *
 * **Flags** understood by rv_bench_create() (also `--flag=value`):
 * - `--reps N`     timed rounds, 1..1000000 (default 11; 3 with `--quick`)
 * - `--warmup N`   untimed rounds first, 0..1000000 (default 2; 1 with `--quick`)
 * - `--filter S`   run only cases whose name or `group/name` contains S (the
 *                  baselines of the selected groups still run, for ratios)
 * - `--json FILE`  append one JSON line per case to FILE ("-" = stdout)
 *                  instead of printing JSON lines to stdout after the table
 * - `--no-json`    print no JSON lines at all
 * - `--quick`      few repetitions; cases should pick small sizes
 *                  (rv_bench_quick(), rv_bench_pick()); used by smoke tests
 * - `--help`       print the usage and run nothing
 *
 * Times come from `CLOCK_MONOTONIC` in nanoseconds. The harness never
 * fails because of a timing: rv_bench_run() returns an error only for
 * misuse or I/O failure.
 *
 * Hosted only. Not thread-safe: one runner is used by one thread (the
 * cases themselves may start threads).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup perf_bench bench: benchmark harness
 *  \{ */

/** \brief A benchmark runner (opaque). Created by rv_bench_create(). */
typedef struct rv_bench rv_bench;

/**
 * \brief One benchmark case, as registered with rv_bench_add().
 *
 * rv_bench_add() copies the struct but not the strings or \p ctx: they must
 * stay valid until rv_bench_destroy(). Zero-initialise it (designated
 * initialisers) so fields added in later minor versions get their default.
 */
typedef struct rv_bench_case {
  /** Case name, unique within its group; non-empty, no control characters. */
  const char *name;
  /** Group (comparison) name; NULL or "" = the suite's default group. */
  const char *group;
  /** One timed repetition: performs exactly #ops operations on \p ctx. Required. */
  void (*fn)(void *ctx);
  /** Optional, untimed, called before each repetition (warm-up ones too). */
  void (*setup)(void *ctx);
  /** Optional, untimed, called after each repetition (warm-up ones too). */
  void (*teardown)(void *ctx);
  /** Passed to #fn, #setup and #teardown; may be NULL. */
  void *ctx;
  /** Operations performed by one call of #fn (>= 1); time is divided by it. */
  uint64_t ops;
  /** True for the group's baseline, the case the others are compared with. */
  bool baseline;
} rv_bench_case;

/**
 * \brief The statistics of one case, in nanoseconds per operation.
 *
 * All fields are readable. New fields may be appended in a minor version.
 */
typedef struct rv_bench_result {
  const char *name;     /**< the case's name (the registered pointer) */
  const char *group;    /**< the case's group ("" for the default group) */
  const char *baseline; /**< name of the group's baseline, or NULL if none ran */
  double median;        /**< median ns/op over the timed repetitions */
  double min;           /**< fastest repetition, ns/op */
  double max;           /**< slowest (worst) repetition, ns/op */
  double ratio;         /**< baseline median / #median (>1 = faster); 0 if no baseline */
  uint64_t ops;         /**< operations per repetition */
  uint32_t reps;        /**< timed repetitions */
  bool ran;             /**< false if the case was filtered out */
} rv_bench_result;

/**
 * \brief Optional settings for rv_bench_create_ex(); zero-initialise.
 *
 * Mostly for tests of the harness itself: benchmark programs use
 * rv_bench_create().
 */
typedef struct rv_bench_config {
  const char *suite;     /**< suite name, printed and written in JSON; required */
  const rv_alloc *alloc; /**< allocator for the runner; NULL = libc */
  FILE *out;             /**< table (and default JSON lines); NULL = stdout */
  FILE *err;             /**< argument errors and usage; NULL = stderr */
  /** Clock in nanoseconds; NULL = `CLOCK_MONOTONIC`. A test can pass a fake one. */
  uint64_t (*clock)(void *clock_ctx);
  void *clock_ctx; /**< passed to #clock */
} rv_bench_config;

/**
 * \brief Create a runner and parse the benchmark flags in \p argv.
 *
 * `argv[0]` is the program name and is skipped. On a bad argument the
 * runner is not created, a message naming the argument is written to
 * stderr, and `RV_EINVAL` is returned. `--help` writes the usage to stdout
 * and creates a runner whose rv_bench_run() does nothing and returns 0.
 *
 * \param[out] out    the new runner; set only on success
 * \param[in]  suite  suite name (e.g. "bytes"); not copied, must outlive the runner
 * \param[in]  argc   number of entries in \p argv
 * \param[in]  argv   the arguments; not modified, not kept
 * \param[in]  alloc  allocator for the runner, or NULL for libc
 * \return 0, #RV_EINVAL for an unknown flag, a missing or out-of-range
 *         value, a positional argument, or an empty suite name; #RV_ENOMEM.
 * \since 0.1.0
 */
RV_API int rv_bench_create(rv_bench **out, const char *suite, int argc, char *const *argv,
                           const rv_alloc *alloc);

/**
 * \brief rv_bench_create() with explicit output streams and clock.
 * \param[out] out   the new runner; set only on success
 * \param[in]  cfg   settings (copied; the pointers in it must outlive the runner)
 * \param[in]  argc  number of entries in \p argv
 * \param[in]  argv  the arguments; not modified, not kept
 * \return as rv_bench_create().
 * \since 0.1.0
 */
RV_API int rv_bench_create_ex(rv_bench **out, const rv_bench_config *cfg, int argc,
                              char *const *argv);

/**
 * \brief Free a runner and everything it allocated. NULL is allowed.
 * \param[in] b  the runner; invalid afterwards
 * \since 0.1.0
 */
RV_API void rv_bench_destroy(rv_bench *b);

/**
 * \brief Whether `--quick` was given: cases should use small sizes.
 * \param[in] b  the runner
 * \return true in quick mode.
 * \since 0.1.0
 */
RV_API bool rv_bench_quick(const rv_bench *b);

/**
 * \brief Pick a size: \p quick in `--quick` mode, else \p full.
 * \param[in] b      the runner
 * \param[in] full   size for a real measurement
 * \param[in] quick  size for a smoke run
 * \return \p quick or \p full.
 * \since 0.1.0
 */
RV_API size_t rv_bench_pick(const rv_bench *b, size_t full, size_t quick);

/**
 * \brief Register a case (the struct is copied, its strings and ctx are not).
 *
 * \param[in,out] b  the runner; must not have run yet
 * \param[in]     c  the case
 * \return 0; #RV_EINVAL if the name is NULL, empty or has control
 *         characters or quotes, the group has them, \p fn is NULL or
 *         `ops` is 0; #RV_EEXIST if the group already has a case of that
 *         name or already has a baseline; #RV_ESTATE if rv_bench_run()
 *         was called already; #RV_ENOMEM (also when the registry's size
 *         would overflow).
 * \since 0.1.0
 */
RV_API int rv_bench_add(rv_bench *b, const rv_bench_case *c);

/**
 * \brief Run the selected cases and report.
 *
 * Writes a header (suite, CPU model from /proc/cpuinfo, online CPUs, reps,
 * warm-up), then one aligned table row per case (grouped, baseline first),
 * then the JSON lines (see the flags above), one per case:
 * `{"suite":"bytes","group":"append","case":"rv_buf_append",
 *   "ns_per_op_median":2.1,"min":2.0,"max":2.9,"ratio_vs":"realloc",
 *   "ratio":1.43,"reps":11,"ops":100000}`
 * (`ratio_vs` and `ratio` are `null` when the group has no baseline).
 *
 * \param[in,out] b  the runner; runs once
 * \return 0; #RV_ENOTFOUND if `--filter` selected no case (or none was
 *         added); #RV_ESTATE if it already ran; #RV_EIO if the `--json`
 *         file cannot be opened or written; #RV_ENOMEM.
 * \since 0.1.0
 */
RV_API int rv_bench_run(rv_bench *b);

/**
 * \brief Number of registered cases.
 * \param[in] b  the runner
 * \return the count (filtered-out cases included).
 * \since 0.1.0
 */
RV_API size_t rv_bench_count(const rv_bench *b);

/**
 * \brief The result of the \p i-th registered case, after rv_bench_run().
 * \param[in]  b    the runner
 * \param[in]  i    index in registration order
 * \param[out] out  the result; its strings live as long as the runner
 * \return 0; #RV_ERANGE if \p i >= rv_bench_count(); #RV_ESTATE before
 *         rv_bench_run() completed.
 * \since 0.1.0
 */
RV_API int rv_bench_get_result(const rv_bench *b, size_t i, rv_bench_result *out);

/**
 * \brief Median, minimum and maximum of \p n samples.
 *
 * The median of an even count is the mean of the two middle values.
 * \param[in,out] samples  the samples; sorted in place
 * \param[in]     n        number of samples (>= 1)
 * \param[out]    median   the median
 * \param[out]    min      the smallest sample
 * \param[out]    max      the largest sample
 * \return 0, or #RV_EINVAL if \p n is 0 (outputs untouched).
 * \since 0.1.0
 */
RV_API int rv_bench_stats(uint64_t *samples, size_t n, double *median, double *min, double *max);

/**
 * \brief The ratio reported for a case: \p baseline_median / \p case_median.
 * \param[in] baseline_median  the baseline's median ns/op
 * \param[in] case_median      the case's median ns/op
 * \return the ratio (>1 = the case is faster), or 0 when either value is
 *         not positive (no meaningful ratio). Thread-safe.
 * \since 0.1.0
 */
RV_API double rv_bench_ratio(double baseline_median, double case_median);

/**
 * \brief Nanoseconds from `CLOCK_MONOTONIC`. Thread-safe.
 * \return the time, in ns since an unspecified start.
 * \since 0.1.0
 */
RV_API uint64_t rv_bench_now_ns(void);

/**
 * \brief Make the compiler believe \p p escapes (out-of-line version).
 *
 * Used by rv_bench_do_not_optimize() on compilers without GNU inline
 * assembly; a call into the shared library cannot be seen through.
 * \param[in] p  any pointer
 * \since 0.1.0
 */
RV_API void rv_bench_escape(const void *p);

/**
 * \brief Keep the optimizer from deleting work whose result is at \p p.
 *
 * Why this is correct: the empty `asm` takes \p p as an input and
 * clobbers "memory", so the compiler must assume the asm reads any memory
 * reachable through \p p (and any other memory): the stores that produced
 * that memory must really happen and cannot be moved past this point.
 * It emits no instruction. Thread-safe.
 * \param[in] p  pointer to the result to keep
 * \since 0.1.0
 */
static inline void rv_bench_do_not_optimize(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
  __asm__ volatile("" : : "r"(p) : "memory");
#else
  rv_bench_escape(p);
#endif
}

/** \} */

#ifdef __cplusplus
}
#endif
