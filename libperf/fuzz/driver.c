/* Corpus replay for builds without libFuzzer: calls the harness once per
 * file of each directory (or file) on the command line. Exit 0 when every
 * input ran, 2 on an I/O error. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = -1;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
      len = (size_t)n;
      buf = malloc(len ? len : 1);
      if (buf && fread(buf, 1, len, f) == len) {
        LLVMFuzzerTestOneInput(buf, len);
        rc = 0;
      }
    }
  }
  free(buf);
  fclose(f);
  return rc;
}

int main(int argc, char **argv) {
  int runs = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0)
      return 2;
    if (!S_ISDIR(st.st_mode)) {
      if (one(argv[i]) != 0)
        return 2;
      runs++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d)
      return 2;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char path[4096];
      if (e->d_name[0] == '.' ||
          snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name) >= (int)sizeof path)
        continue;
      if (one(path) != 0) {
        closedir(d);
        return 2;
      }
      runs++;
    }
    closedir(d);
  }
  printf("fuzz replay: %d inputs\n", runs);
  return 0;
}
