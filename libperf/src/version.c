/* version: the run-time version of rivet-perf. */
#include <rivet/perf/version.h>

int rv_perf_version(void) { return RV_PERF_VERSION_NUMBER; }

const char *rv_perf_version_string(void) { return RV_PERF_VERSION_STRING; }
