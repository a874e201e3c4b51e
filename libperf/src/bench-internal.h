/* bench-internal.h: the runner's layout, shared by bench.c (running) and
 * bench-report.c (output). Not installed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rivet/perf/bench.h>

/* Lifecycle: cases may be added while READY; rv_bench_run() moves to DONE
 * (results readable) or FAILED, and never runs twice. */
enum rv_bench_state { RV_BENCH_READY, RV_BENCH_DONE, RV_BENCH_FAILED };

typedef struct rv_bench_entry {
  rv_bench_case c;     /* as registered */
  const char *group;   /* c.group, or "" for the default group */
  rv_bench_result res; /* filled by rv_bench_run() */
  bool selected;       /* chosen by --filter (or a selected group's baseline) */
} rv_bench_entry;

struct rv_bench {
  const rv_alloc *alloc;
  const char *suite;
  FILE *out, *err;
  uint64_t (*clock)(void *ctx);
  void *clock_ctx;
  uint32_t reps, warmup;
  bool quick, help, no_json;
  enum rv_bench_state state;
  char *filter;    /* owned copy of --filter, or NULL */
  char *json_path; /* owned copy of --json, or NULL */
  rv_bench_entry *cases;
  size_t n, cap;
  uint64_t *samples; /* n * reps raw ns per repetition, case-major */
  size_t samples_len;
};

/* The run order of round \p round: a permutation of 0..n-1 in \p order. */
void rv_bench_round_order(size_t n, size_t round, size_t *order);

/* Write the header, the table and the JSON lines of a finished run.
 * Returns 0 or RV_EIO. */
int rv_bench_report(rv_bench *b);
