/**
 * \file rivet/perf.h
 * \brief rivet-perf: everything, in one include.
 *
 * \section perf_conventions Conventions
 * rivet-perf follows the conventions of every rivet library, stated once in
 * `<rivet/core.h>`: functions that can fail return 0 or a negative `RV_E*`
 * code (`<rivet/core/err.h>`), pointers must be non-NULL unless documented,
 * each header says who owns what and for how long, objects that allocate
 * take a `const rv_alloc *` (NULL = libc), and nothing is thread-safe unless
 * its documentation says so. rivet-perf is hosted only (it uses the C
 * library, clocks and files) and depends on rivet-core.
 */
#pragma once

#include <rivet/perf/bench.h>
#include <rivet/perf/logparse.h>
#include <rivet/perf/mapfile.h>
#include <rivet/perf/scan.h>
#include <rivet/perf/version.h>
