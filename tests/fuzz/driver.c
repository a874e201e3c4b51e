/* Regression driver for libFuzzer harnesses in builds without
 * -Dfuzzing=true: runs LLVMFuzzerTestOneInput once over every file given,
 * or every file in each directory given, so the checked-in corpora (seeds
 * and past crashes) run in the normal and ASan builds of `make test`.
 *
 *   fuzz-NAME FILE|DIR...   exit 0 when every input ran, 2 on an I/O error */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  int rc = buf ? 0 : -1;
  while (rc == 0) {
    if (len == cap) {
      uint8_t *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        rc = -1;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      rc = ferror(f) ? -1 : 1;
    }
  }
  fclose(f);
  if (rc == 1) {
    LLVMFuzzerTestOneInput(buf, len);
    rc = 0;
  } else {
    fprintf(stderr, "%s: read failed\n", path);
  }
  free(buf);
  return rc;
}

int main(int argc, char **argv) {
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
      return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) != 0) {
        return 2;
      }
      n++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) {
      fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
      return 2;
    }
    const struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
      char path[4096];
      if (ent->d_name[0] == '.' ||
          snprintf(path, sizeof(path), "%s/%s", argv[i], ent->d_name) >= (int)sizeof(path)) {
        continue;
      }
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (run_file(path) != 0) {
          closedir(d);
          return 2;
        }
        n++;
      }
    }
    closedir(d);
  }
  printf("%zu inputs ran\n", n);
  return n ? 0 : 2;
}
