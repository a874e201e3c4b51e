/* replay.c: a main() for fuzz harnesses when libFuzzer is not in use: feed
 * every file of the directories (or files) named on the command line to
 * LLVMFuzzerTestOneInput once. A crash or sanitizer report fails the test. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap != 0 ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        (void)fclose(f);
        return 1;
      }
      buf = nb;
    }
    size_t r = fread(buf + len, 1, cap - len, f);
    if (r == 0) {
      break;
    }
    len += r;
  }
  (void)fclose(f);
  (void)LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  size_t files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such path %s\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) != 0) {
        return 1;
      }
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (d == NULL) {
      return 1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (de->d_name[0] == '.') {
        continue;
      }
      char path[4096];
      (void)snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
      if (run_file(path) != 0) {
        (void)closedir(d);
        return 1;
      }
      files++;
    }
    (void)closedir(d);
  }
  printf("replay: %zu inputs, no crash\n", files);
  return files > 0 ? 0 : 1;
}
