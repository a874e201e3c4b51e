/* version: the run-time version of rivet-iot. */
#include <rivet/iot/version.h>

int rv_iot_version(void) { return RV_IOT_VERSION_NUMBER; }

const char *rv_iot_version_string(void) { return RV_IOT_VERSION_STRING; }
