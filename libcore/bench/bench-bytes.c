/* bench-bytes: building a byte buffer from many small pieces.
 *
 * What a C programmer would otherwise write, all in the same run:
 *   - a hand-rolled {ptr, len, cap} buffer doubling with realloc (baseline),
 *   - open_memstream() + fwrite() (POSIX's growable in-memory FILE),
 * against rv_buf_append() / rv_buf_push() from <rivet/core/bytes.h>.
 *
 * Each repetition builds `rounds` buffers from empty, appending `pieces`
 * pieces of 1..16 bytes (lengths from a fixed-seed generator), and frees
 * them, so growth and the final free are part of what is measured. One
 * operation = one append call. Run with --help for the flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

typedef struct ctx {
  size_t pieces;       /* appends per buffer */
  size_t rounds;       /* buffers per repetition */
  const uint8_t *src;  /* source bytes (16 + pieces) */
  const uint8_t *lens; /* length of each piece, 1..16 */
  size_t expect;       /* bytes one buffer ends up holding */
  int failed;          /* set when a variant produced the wrong bytes */
} ctx;

static void check(ctx *c, const void *data, size_t len) {
  rv_bench_do_not_optimize(data);
  if (len != c->expect)
    c->failed = 1;
}

/* --- baseline: realloc doubling, as in countless C code bases --- */
typedef struct plain_buf {
  unsigned char *p;
  size_t len, cap;
} plain_buf;

static int plain_append(plain_buf *b, const void *src, size_t n) {
  if (n == 0)
    return 0;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n)
      cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL)
      return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
  return 0;
}

static void run_plain(void *arg) {
  ctx *c = arg;
  for (size_t r = 0; r < c->rounds; r++) {
    plain_buf b = {0};
    for (size_t i = 0; i < c->pieces; i++)
      if (plain_append(&b, c->src + (i & 15), c->lens[i]) != 0)
        c->failed = 1;
    check(c, b.p, b.len);
    free(b.p);
  }
}

static void run_plain_byte(void *arg) {
  ctx *c = arg;
  for (size_t r = 0; r < c->rounds; r++) {
    plain_buf b = {0};
    for (size_t i = 0; i < c->pieces; i++)
      if (plain_append(&b, c->src + i, 1) != 0)
        c->failed = 1;
    rv_bench_do_not_optimize(b.p);
    if (b.len != c->pieces)
      c->failed = 1;
    free(b.p);
  }
}

/* --- rivet: rv_buf --- */
static void run_rv_buf(void *arg) {
  ctx *c = arg;
  for (size_t r = 0; r < c->rounds; r++) {
    rv_buf b;
    rv_buf_init(&b, NULL);
    for (size_t i = 0; i < c->pieces; i++)
      if (rv_buf_append(&b, c->src + (i & 15), c->lens[i]) != RV_OK)
        c->failed = 1;
    check(c, b.data, b.len);
    rv_buf_free(&b);
  }
}

static void run_rv_buf_push(void *arg) {
  ctx *c = arg;
  for (size_t r = 0; r < c->rounds; r++) {
    rv_buf b;
    rv_buf_init(&b, NULL);
    for (size_t i = 0; i < c->pieces; i++)
      if (rv_buf_push(&b, c->src[i]) != RV_OK)
        c->failed = 1;
    rv_bench_do_not_optimize(b.data);
    if (b.len != c->pieces)
      c->failed = 1;
    rv_buf_free(&b);
  }
}

/* --- POSIX: open_memstream + fwrite / putc --- */
static void run_memstream(void *arg) {
  ctx *c = arg;
  for (size_t r = 0; r < c->rounds; r++) {
    char *p = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&p, &len);
    if (f == NULL) {
      c->failed = 1;
      return;
    }
    for (size_t i = 0; i < c->pieces; i++)
      if (fwrite(c->src + (i & 15), 1, c->lens[i], f) != c->lens[i])
        c->failed = 1;
    if (fclose(f) != 0)
      c->failed = 1;
    check(c, p, len);
    free(p);
  }
}

static void run_memstream_putc(void *arg) {
  ctx *c = arg;
  for (size_t r = 0; r < c->rounds; r++) {
    char *p = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&p, &len);
    if (f == NULL) {
      c->failed = 1;
      return;
    }
    for (size_t i = 0; i < c->pieces; i++)
      if (putc(c->src[i], f) == EOF)
        c->failed = 1;
    if (fclose(f) != 0)
      c->failed = 1;
    rv_bench_do_not_optimize(p);
    if (len != c->pieces)
      c->failed = 1;
    free(p);
  }
}

int main(int argc, char **argv) {
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "bytes", argc, argv, NULL) != RV_OK)
    return 2;
  int status = 1;
  uint8_t *src = NULL, *lens = NULL;
  ctx c = {
      .pieces = rv_bench_pick(b, 4096, 256),
      .rounds = rv_bench_pick(b, 32, 2),
  };
  src = malloc(c.pieces + 16);
  lens = malloc(c.pieces);
  if (src == NULL || lens == NULL)
    goto fail;
  /* Fixed-seed LCG (Knuth's MMIX constants): the same pieces every run. */
  uint64_t x = 42;
  for (size_t i = 0; i < c.pieces + 16; i++) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    src[i] = (uint8_t)(x >> 56);
  }
  for (size_t i = 0; i < c.pieces; i++) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    lens[i] = (uint8_t)(1 + (x >> 60)); /* 1..16 */
    c.expect += lens[i];
  }
  c.src = src;
  c.lens = lens;
  uint64_t ops = (uint64_t)c.pieces * c.rounds;

  const rv_bench_case cases[] = {
      {.name = "realloc-doubling",
       .group = "append 1-16 B",
       .fn = run_plain,
       .ctx = &c,
       .ops = ops,
       .baseline = true},
      {.name = "rv_buf_append", .group = "append 1-16 B", .fn = run_rv_buf, .ctx = &c, .ops = ops},
      {.name = "open_memstream+fwrite",
       .group = "append 1-16 B",
       .fn = run_memstream,
       .ctx = &c,
       .ops = ops},
      {.name = "realloc-doubling",
       .group = "push 1 B",
       .fn = run_plain_byte,
       .ctx = &c,
       .ops = ops,
       .baseline = true},
      {.name = "rv_buf_push", .group = "push 1 B", .fn = run_rv_buf_push, .ctx = &c, .ops = ops},
      {.name = "open_memstream+putc",
       .group = "push 1 B",
       .fn = run_memstream_putc,
       .ctx = &c,
       .ops = ops},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = rv_bench_add(b, &cases[i]);
    if (rc != RV_OK) {
      fprintf(stderr, "bench-bytes: cannot add '%s': %s\n", cases[i].name, rv_strerror(rc));
      goto fail;
    }
  }
  int rc = rv_bench_run(b);
  if (rc != RV_OK) {
    fprintf(stderr, "bench-bytes: %s\n", rv_strerror(rc));
    goto fail;
  }
  if (c.failed) {
    fprintf(stderr, "bench-bytes: a variant produced the wrong number of bytes\n");
    goto fail;
  }
  status = 0;
fail:
  free(src);
  free(lens);
  rv_bench_destroy(b);
  return status;
}
