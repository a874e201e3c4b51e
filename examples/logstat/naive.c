/* naive: the baseline a C programmer writes first, for the benchmark:
 * fgets() each line, strtok() it on spaces, count the status field (the
 * 9th, as in awk's $9) and sum the bytes (the 10th). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  static char line[65536];
  static unsigned long long status[1000];
  unsigned long long lines = 0, bytes = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    char *save = NULL;
    int field = 0;
    for (char *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
      field++;
      if (field == 9) {
        long s = strtol(t, NULL, 10);
        if (s >= 0 && s < 1000)
          status[s]++;
      } else if (field == 10) {
        bytes += strtoull(t, NULL, 10);
        break;
      }
    }
  }
  printf("lines %llu bytes %llu\n", lines, bytes);
  for (int s = 0; s < 1000; s++)
    if (status[s])
      printf("%d %llu\n", s, status[s]);
  return 0;
}
