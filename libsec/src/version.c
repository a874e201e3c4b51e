/* version: the run-time version of rivet-sec. */
#include <rivet/sec/version.h>

int rv_sec_version(void) { return RV_SEC_VERSION_NUMBER; }

const char *rv_sec_version_string(void) { return RV_SEC_VERSION_STRING; }
