/* test-mapfile: mapped and read chunks give the file back line-aligned;
 * pipes, custom readers, cut lines, error paths, allocation failures, and
 * a file truncated under its mapping (no SIGBUS). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rivet/core/alloc.h>
#include <rivet/core/err.h>
#include <rivet/perf/mapfile.h>

static char dir[64];
static char path[128];
static uint8_t content[200000];
static size_t content_len;

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/rv-mapfile-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(path, sizeof path, "%s/in.log", dir);
  /* Lines of lengths 0..299, deterministic. */
  content_len = 0;
  for (unsigned i = 0; content_len + 400 < sizeof content; i++) {
    unsigned n = (i * 7919u) % 300u;
    for (unsigned k = 0; k < n; k++)
      content[content_len++] = (uint8_t)('a' + (i + k) % 26);
    content[content_len++] = '\n';
  }
  content[content_len++] = 'z'; /* last line without newline */
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  fwrite(content, 1, content_len, f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(path);
  rmdir(dir);
  return 0;
}

/* Read every chunk; check alignment and that the bytes come back in order. */
static void drain_and_check(rv_mapfile *mf, const uint8_t *want, size_t want_len) {
  size_t got = 0;
  rv_mapfile_chunk c;
  int rc;
  while ((rc = rv_mapfile_next(mf, &c)) == 0) {
    assert_true(c.len > 0);
    assert_int_equal(c.offset, got);
    assert_true(got + c.len <= want_len);
    assert_memory_equal(c.ptr, want + got, c.len);
    got += c.len;
    if (got < want_len)
      assert_int_equal(c.ptr[c.len - 1], '\n');
    assert_int_equal(rv_mapfile_consumed(mf), got);
    rv_mapfile_release(mf, &c);
  }
  assert_int_equal(rc, RV_EEMPTY);
  assert_int_equal(got, want_len);
}

static void test_mapped(void **state) {
  (void)state;
  rv_mapfile_config cfg = {.chunk_size = 5000};
  rv_mapfile *mf;
  assert_int_equal(rv_mapfile_open(&mf, path, &cfg), 0);
  assert_true(rv_mapfile_is_mapped(mf));
  assert_int_equal(rv_mapfile_size(mf), content_len);
  assert_memory_equal(rv_mapfile_data(mf), content, 100);
  drain_and_check(mf, content, content_len);
  assert_false(rv_mapfile_shrunk(mf));
  rv_mapfile_close(mf);
  rv_mapfile_close(NULL);
}

static void test_read_mode(void **state) {
  (void)state;
  rv_mapfile_config cfg = {.chunk_size = 4096, .no_mmap = true};
  rv_mapfile *mf;
  assert_int_equal(rv_mapfile_open(&mf, path, &cfg), 0);
  assert_false(rv_mapfile_is_mapped(mf));
  assert_int_equal(rv_mapfile_size(mf), 0);
  assert_null(rv_mapfile_data(mf));
  drain_and_check(mf, content, content_len);
  assert_false(rv_mapfile_shrunk(mf));
  rv_mapfile_close(mf);
}

static void *writer(void *arg) {
  int fd = *(int *)arg;
  size_t off = 0;
  while (off < content_len) {
    size_t n = content_len - off < 777 ? content_len - off : 777;
    ssize_t w = write(fd, content + off, n);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  close(fd);
  return NULL;
}

static void test_pipe_stdin(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  int saved = dup(STDIN_FILENO);
  assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
  close(p[0]);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, writer, &p[1]), 0);
  rv_mapfile *mf;
  assert_int_equal(rv_mapfile_open(&mf, "-", &(rv_mapfile_config){.chunk_size = 4096}), 0);
  assert_false(rv_mapfile_is_mapped(mf));
  drain_and_check(mf, content, content_len);
  rv_mapfile_close(mf);
  pthread_join(t, NULL);
  dup2(saved, STDIN_FILENO);
  close(saved);
}

typedef struct src {
  const uint8_t *p;
  size_t len, off, step;
  int fail_at_call, calls;
} src;

static int src_read(void *ctx, void *buf, size_t cap, size_t *got) {
  src *s = ctx;
  if (s->calls++ == s->fail_at_call)
    return RV_EIO;
  size_t n = s->len - s->off;
  n = n < cap ? n : cap;
  n = n < s->step ? n : s->step;
  memcpy(buf, s->p + s->off, n);
  s->off += n;
  *got = n;
  return 0;
}

static void test_reader_and_cut(void **state) {
  (void)state;
  /* A 10000-byte line between short ones, chunks of 4096: the long line is
   * cut to its first bytes plus '\n', the rest skipped, later lines intact. */
  static uint8_t in[20000];
  size_t n = 0;
  for (const char *s = "first\n"; *s; s++)
    in[n++] = (uint8_t)*s;
  memset(in + n, 'L', 10000);
  n += 10000;
  in[n++] = '\n';
  for (const char *s = "after\nlast\n"; *s; s++)
    in[n++] = (uint8_t)*s;
  src s = {.p = in, .len = n, .step = 1000, .fail_at_call = -1};
  rv_mapfile *mf;
  assert_int_equal(rv_mapfile_open_reader(&mf, NULL, NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_mapfile_open_reader(&mf, src_read, &s, &(rv_mapfile_config){.chunk_size = 1}),
                   0);
  rv_mapfile_chunk c;
  size_t cuts = 0, lines = 0;
  char tail[64] = "";
  int rc;
  while ((rc = rv_mapfile_next(mf, &c)) == 0) {
    assert_int_equal(c.ptr[c.len - 1], '\n');
    cuts += c.cut;
    for (size_t i = 0; i < c.len; i++)
      lines += c.ptr[i] == '\n';
    if (c.len < sizeof tail) {
      memcpy(tail, c.ptr, c.len);
      tail[c.len] = 0;
    }
    rv_mapfile_release(mf, &c);
  }
  assert_int_equal(rc, RV_EEMPTY);
  assert_int_equal(cuts, 1);
  assert_int_equal(lines, 4);
  assert_string_equal(tail, "after\nlast\n");
  assert_int_equal(rv_mapfile_consumed(mf), n);
  rv_mapfile_close(mf);

  /* The reader's error comes back from rv_mapfile_next(). */
  src e = {.p = in, .len = n, .step = 100, .fail_at_call = 2};
  assert_int_equal(rv_mapfile_open_reader(&mf, src_read, &e, NULL), 0);
  assert_int_equal(rv_mapfile_next(mf, &c), RV_EIO);
  rv_mapfile_close(mf);
}

static void test_errors(void **state) {
  (void)state;
  rv_mapfile *mf = NULL;
  assert_int_equal(rv_mapfile_open(&mf, NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_mapfile_open(&mf, "/nonexistent/rv-mapfile", NULL), RV_ENOTFOUND);
  assert_int_equal(rv_mapfile_open(&mf, dir, NULL), RV_EIO);
  assert_null(mf);
  /* An empty file: no chunks. */
  char empty[160];
  snprintf(empty, sizeof empty, "%s/empty", dir);
  FILE *f = fopen(empty, "wb");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(rv_mapfile_open(&mf, empty, NULL), 0);
  rv_mapfile_chunk c;
  assert_int_equal(rv_mapfile_next(mf, &c), RV_EEMPTY);
  rv_mapfile_close(mf);
  unlink(empty);
  assert_int_equal(rv_mapfile_line_end((const uint8_t *)"ab\ncd", 5, 0), 3);
  assert_int_equal(rv_mapfile_line_end((const uint8_t *)"ab\ncd", 5, 3), 5);
  assert_int_equal(rv_mapfile_line_end((const uint8_t *)"ab\ncd", 5, 9), 5);
}

static void test_alloc_failures(void **state) {
  (void)state;
  /* Every allocation of open + a full read-mode drain fails once, in turn. */
  for (size_t n = 0; n < 100; n++) {
    rv_alloc_failing fa;
    const rv_alloc *a = rv_alloc_failing_init(&fa, NULL, n);
    rv_mapfile_config cfg = {.alloc = a, .chunk_size = 50000, .no_mmap = true};
    rv_mapfile *mf = NULL;
    int rc = rv_mapfile_open(&mf, path, &cfg);
    if (rc == 0) {
      rv_mapfile_chunk c;
      while ((rc = rv_mapfile_next(mf, &c)) == 0)
        rv_mapfile_release(mf, &c);
      rv_mapfile_close(mf);
      assert_true(rc == RV_EEMPTY || rc == RV_ENOMEM);
    } else {
      assert_int_equal(rc, RV_ENOMEM);
    }
    assert_int_equal(fa.live_blocks, 0);
    if (fa.failures == 0)
      break; /* every allocation has been failed once */
  }
}

static void test_shrink_under_mapping(void **state) {
  (void)state;
  char big[160];
  snprintf(big, sizeof big, "%s/shrink", dir);
  int fd = open(big, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  static uint8_t line[1000];
  memset(line, 'x', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  for (int i = 0; i < 1000; i++)
    assert_int_equal(write(fd, line, sizeof line), (ssize_t)sizeof line);
  rv_mapfile *mf;
  assert_int_equal(rv_mapfile_open(&mf, big, &(rv_mapfile_config){.chunk_size = 100000}), 0);
  assert_true(rv_mapfile_is_mapped(mf));
  rv_mapfile_chunk c;
  assert_int_equal(rv_mapfile_next(mf, &c), 0);
  assert_int_equal(c.ptr[10], 'x');
  assert_int_equal(ftruncate(fd, 8192), 0);
  /* Past the new end: reads zeros instead of dying of SIGBUS. */
  const volatile uint8_t *d = rv_mapfile_data(mf);
  assert_int_equal(d[500000], 0);
  assert_int_equal(d[999999], 0);
  assert_int_equal(d[100], 'x');
  assert_true(rv_mapfile_shrunk(mf));
  size_t total = c.len;
  while (rv_mapfile_next(mf, &c) == 0)
    total += c.len;
  assert_int_equal(total, 1000000);
  rv_mapfile_close(mf);
  close(fd);
  unlink(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mapped),
      cmocka_unit_test(test_read_mode),
      cmocka_unit_test(test_pipe_stdin),
      cmocka_unit_test(test_reader_and_cut),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_shrink_under_mapping),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
