/* hexdump: print a file (or stdin) as offset, hex bytes and ASCII.
 *
 * A small tour of rivet-core: the input is read into an rv_buf (which owns
 * its storage and grows geometrically), then walked as rv_slice views that
 * borrow from it without copying. Errors come back as RV_E* codes and are
 * printed with rv_strerror().
 *
 *   hexdump [FILE]     (no FILE or "-": standard input)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rivet/core.h>

static int read_all(FILE *in, rv_buf *out) {
  for (;;) {
    int rc = rv_buf_reserve(out, 4096);
    if (rc != RV_OK) {
      return rc;
    }
    size_t n = fread(out->data + out->len, 1, out->cap - out->len, in);
    out->len += n;
    if (n == 0) {
      return ferror(in) ? RV_EIO : RV_OK;
    }
  }
}

static void dump_line(size_t offset, rv_slice line) {
  printf("%08zx ", offset);
  for (size_t i = 0; i < 16; i++) {
    if (i == 8) {
      putchar(' ');
    }
    if (i < line.len) {
      printf(" %02x", line.ptr[i]);
    } else {
      fputs("   ", stdout);
    }
  }
  fputs("  |", stdout);
  for (size_t i = 0; i < line.len; i++) {
    uint8_t c = line.ptr[i];
    putchar(c >= 0x20 && c < 0x7f ? c : '.');
  }
  puts("|");
}

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
    fprintf(argc > 2 ? stderr : stdout, "usage: hexdump [FILE]\n"
                                        "Print FILE (or standard input) as hex and ASCII.\n");
    return argc > 2 ? 2 : 0;
  }
  const char *path = argc == 2 ? argv[1] : "-";
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!in) {
    fprintf(stderr, "hexdump: %s: %s\n", path, strerror(errno));
    return 1;
  }
  rv_buf buf;
  rv_buf_init(&buf, NULL);
  int rc = read_all(in, &buf);
  if (in != stdin) {
    fclose(in);
  }
  if (rc != RV_OK) {
    fprintf(stderr, "hexdump: %s: %s\n", path, rv_strerror(rc));
    rv_buf_free(&buf);
    return 1;
  }
  rv_slice all = rv_buf_slice(&buf);
  for (size_t off = 0; off < all.len; off += 16) {
    rv_slice line;
    size_t n = all.len - off < 16 ? all.len - off : 16;
    (void)rv_slice_sub(all, off, n, &line); /* in range by construction */
    dump_line(off, line);
  }
  printf("%08zx\n", all.len);
  rv_buf_free(&buf);
  return 0;
}
