/* A program that uses rivet-core the way a user would: public headers only,
 * found through pkg-config or a meson dependency. */
#include <stdio.h>
#include <string.h>

#include <rivet/core.h>

int main(void) {
  if (rv_core_version() != RV_CORE_VERSION_NUMBER) {
    fprintf(stderr, "header %s, library %s\n", RV_CORE_VERSION_STRING, rv_core_version_string());
    return 1;
  }
  rv_buf b;
  rv_buf_init(&b, NULL);
  if (rv_buf_append(&b, "consumer ok", 11) != RV_OK) {
    return 1;
  }
  printf("%.*s (rivet-core %s)\n", (int)b.len, (const char *)b.data, rv_core_version_string());
  rv_buf_free(&b);
  return 0;
}
