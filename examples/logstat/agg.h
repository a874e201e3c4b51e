/* agg: what logstat counts, per thread, and how the per-thread tables are
 * merged and summarised. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/arena.h>
#include <rivet/core/map.h>
#include <rivet/perf/logparse.h>

/* Request-time histogram: buckets of 1/16 of a power of two, in µs. */
#define RT_SUB 16
#define RT_BUCKETS (64 * RT_SUB)
#define MAX_EXAMPLES 10

typedef struct filter {
  uint32_t status_bits[32]; /* bit per status 0..1023 allowed; all set = no filter */
  bool status_set;
  bool since_set, until_set;
  int64_t since, until;
  const char *prefix;
  size_t prefix_len;
} filter;

typedef struct example {
  uint64_t chunk, line; /* chunk index, line within the chunk (1-based) */
  rv_log_error err;
  char text[81];
} example;

typedef struct agg {
  uint64_t lines, parsed, matched, bytes;
  uint64_t bad[RV_LOG_ERROR_COUNT];
  uint64_t status[1000];
  uint64_t rt[RT_BUCKETS];
  uint64_t rt_count;
  uint64_t rt_max;
  int64_t tmin, tmax;
  rv_map *paths;   /* path -> uint64_t count (in #counts) */
  rv_map *clients; /* address -> uint64_t count */
  rv_map *minutes; /* epoch minute -> uint64_t count */
  rv_arena counts; /* the counters the maps point to: one per distinct key */
  int64_t cur_min; /* the minute being counted (flushed on change) */
  uint64_t cur_cnt;
  example ex[MAX_EXAMPLES];
  size_t nex;
  int err; /* first allocation failure, 0 if none */
  const filter *flt;
  uint64_t chunk; /* chunk being parsed (for examples) */
} agg;

int agg_init(agg *a, const filter *f);
void agg_free(agg *a);
/* Parser callbacks: ctx is the agg. */
int agg_ok(void *ctx, const rv_log_record *r);
void agg_bad(void *ctx, uint64_t line, rv_log_error e, const uint8_t *p, size_t n);
/* Flush the cached minute. */
int agg_flush(agg *a);
/* Add \p src into \p dst (src is left unchanged). */
int agg_merge(agg *dst, const agg *src);

typedef struct top_entry {
  const uint8_t *key;
  size_t len;
  uint64_t count;
} top_entry;

/* The count a map value points to. */
static inline uint64_t agg_count(void *const *v) { return *(const uint64_t *)*v; }

/* The \p n largest entries of a byte-keyed map, by count then key. Caller frees. */
top_entry *agg_top(const rv_map *m, size_t n, size_t *got);
/* Request time (µs) at quantile q (0..1), or 0 when there are none. */
uint64_t agg_rt_quantile(const agg *a, double q);
/* Per-minute series sorted by time; caller frees. */
typedef struct minute_count {
  int64_t minute;
  uint64_t count;
} minute_count;
minute_count *agg_minutes(const agg *a, size_t *got);

/* Parse a status filter like "5xx", "404", "4xx,500". */
int filter_status(filter *f, const char *spec);
/* Parse a time like "2024-06-01", "2024-06-01T12:30", "2024-06-01T12:30:05" (UTC) or epoch seconds.
 */
int parse_when(const char *s, int64_t *out);
