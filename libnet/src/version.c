/* version: the run-time version of rivet-net. */
#include <rivet/net/version.h>

int rv_net_version(void) { return RV_NET_VERSION_NUMBER; }

const char *rv_net_version_string(void) { return RV_NET_VERSION_STRING; }
