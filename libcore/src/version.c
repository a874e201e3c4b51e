/* version: the run-time version of rivet-core. */
#include <rivet/core/version.h>

int rv_core_version(void) { return RV_CORE_VERSION_NUMBER; }

const char *rv_core_version_string(void) { return RV_CORE_VERSION_STRING; }
