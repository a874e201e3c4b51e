/* scan-internal: the per-implementation kernel tables, for the dispatcher,
 * the unit tests (which compare each table against the scalar one) and the
 * log parser (which loads the table once per chunk). Not exported. */
#pragma once

#include <rivet/perf/scan.h>

typedef struct rv_scan_ops {
  size_t (*byte)(const uint8_t *p, size_t n, uint8_t c);
  size_t (*any)(const uint8_t *p, size_t n, const rv_scan_set *set);
  size_t (*count)(const uint8_t *p, size_t n, uint8_t c);
  void (*struct64)(const uint8_t *block, rv_scan_masks *out);
  rv_scan_impl impl;
} rv_scan_ops;

/* The table of \p impl, or NULL if this CPU or build lacks it. */
const rv_scan_ops *rv_scan_ops_for(rv_scan_impl impl);

/* The active table (resolves it on first use). */
const rv_scan_ops *rv_scan_ops_active(void);
