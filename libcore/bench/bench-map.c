/* bench-map: a hash map of 1M byte-string keys (16-64 bytes).
 *
 * What a C or C++ programmer would otherwise pick, all in the same run:
 *   - C++ std::unordered_map<std::string, void *> (baseline; it copies keys),
 *   - GLib's GHashTable with g_str_hash / g_str_equal (it borrows keys),
 * against rv_map from <rivet/core/map.h> (copy and borrow key modes).
 *
 * "lookup": every key looked up once per repetition in a map filled before
 * the run. The keys to look up are copies laid out one after the other in
 * a shuffled order, unrelated to the insertion order: like keys parsed from
 * incoming requests, they are read sequentially while the map's own
 * storage is hit at random. "insert": every key inserted into an
 * empty map (no reserve), which is created before and destroyed after the
 * repetition, outside the timing. One operation = one lookup or insert.
 * Keys and order come from a fixed-seed generator. Run with --help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

#include "map-std.h"

/* Values in this benchmark are small integers stored in the `void *`, as
 * the map's documentation allows; the pointers are never dereferenced. */
static void *V(uintptr_t x) {
  return (void *)x; // NOLINT(performance-no-int-to-ptr): an integer carried, never dereferenced
}

typedef struct ctx {
  size_t n;             /* keys */
  const char **keys;    /* NUL-terminated keys, all distinct */
  size_t *lens;         /* their lengths */
  uint32_t *order;      /* a permutation of 0..n-1: lookup order */
  const char **qkeys;   /* qkeys[i]: a copy of keys[order[i]], stored in that order */
  uintptr_t expect;     /* sum of the values of all keys */
  rv_map *rv_full;      /* filled once, for lookups */
  GHashTable *g_full;   /* filled once, for lookups */
  stdmap_bench *s_full; /* filled once, for lookups */
  rv_map *rv_ins;       /* per-repetition map for inserts */
  rv_map_keys rv_mode;  /* key mode of rv_ins */
  GHashTable *g_ins;    /* per-repetition map for inserts */
  stdmap_bench *s_ins;  /* per-repetition map for inserts */
  int failed;           /* a variant got a wrong answer */
} ctx;

/* ---- lookups ---------------------------------------------------------- */

static void check_sum(ctx *c, uintptr_t sum) {
  rv_bench_do_not_optimize(&sum);
  if (sum != c->expect) {
    c->failed = 1;
  }
}

static void look_rv(void *arg) {
  ctx *c = arg;
  uintptr_t sum = 0;
  for (size_t i = 0; i < c->n; i++) {
    void *v = NULL;
    if (rv_map_get(c->rv_full, c->qkeys[i], c->lens[c->order[i]], &v) != RV_OK) {
      c->failed = 1;
    }
    sum += (uintptr_t)v;
  }
  check_sum(c, sum);
}

static void look_glib(void *arg) {
  ctx *c = arg;
  uintptr_t sum = 0;
  for (size_t i = 0; i < c->n; i++) {
    sum += (uintptr_t)g_hash_table_lookup(c->g_full, c->qkeys[i]);
  }
  check_sum(c, sum);
}

static void look_std(void *arg) {
  ctx *c = arg;
  check_sum(c, stdmap_lookup(c->s_full));
}

/* ---- inserts ---------------------------------------------------------- */

static void ins_rv_setup(void *arg) {
  ctx *c = arg;
  rv_map_config cfg = {.keys = c->rv_mode};
  if (rv_map_create(&c->rv_ins, &cfg) != RV_OK) {
    c->failed = 1;
    c->rv_ins = NULL;
  }
}

static void ins_rv(void *arg) {
  ctx *c = arg;
  if (!c->rv_ins) {
    return;
  }
  for (size_t i = 0; i < c->n; i++) {
    if (rv_map_insert(c->rv_ins, c->keys[i], c->lens[i], V(i)) != RV_OK) {
      c->failed = 1;
    }
  }
}

static void ins_rv_teardown(void *arg) {
  ctx *c = arg;
  if (c->rv_ins && rv_map_len(c->rv_ins) != c->n) {
    c->failed = 1;
  }
  rv_map_destroy(c->rv_ins);
  c->rv_ins = NULL;
}

static void ins_rv_copy_setup(void *arg) {
  ((ctx *)arg)->rv_mode = RV_MAP_KEYS_COPY;
  ins_rv_setup(arg);
}

static void ins_rv_borrow_setup(void *arg) {
  ((ctx *)arg)->rv_mode = RV_MAP_KEYS_BORROW;
  ins_rv_setup(arg);
}

static void ins_glib_setup(void *arg) {
  ((ctx *)arg)->g_ins = g_hash_table_new(g_str_hash, g_str_equal);
}

static void ins_glib(void *arg) {
  ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    /* GHashTable keeps the pointer: the key is borrowed, not copied. */
    g_hash_table_insert(c->g_ins, (gpointer)c->keys[i], V(i));
  }
}

static void ins_glib_teardown(void *arg) {
  ctx *c = arg;
  if (g_hash_table_size(c->g_ins) != c->n) {
    c->failed = 1;
  }
  g_hash_table_destroy(c->g_ins);
}

static void ins_std(void *arg) { stdmap_fill(((ctx *)arg)->s_ins); }

static void ins_std_teardown(void *arg) { stdmap_clear(((ctx *)arg)->s_ins); }

/* ---- set-up ----------------------------------------------------------- */

static uint64_t lcg(uint64_t *x) { /* Knuth's MMIX LCG: a fixed sequence */
  *x = *x * 6364136223846793005u + 1442695040888963407u;
  return *x >> 32; /* the high bits: the low ones have short periods */
}

/* n distinct keys of 16..64 bytes in one block, followed by their copies
 * in lookup order (qkeys); NULL on failure. */
static char *make_keys(ctx *c) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  char *block = malloc(c->n * 65 * 2);
  if (!block) {
    return NULL;
  }
  uint64_t x = 2026;
  char *p = block;
  for (size_t i = 0; i < c->n; i++) {
    size_t len = 16 + (size_t)(lcg(&x) % 49);
    for (size_t j = 0; j < len; j++) {
      p[j] = alphabet[lcg(&x) % 64];
    }
    /* 16+ random characters from 64: distinct with overwhelming odds, and
     * the fill below checks it (rv_map_insert() refuses a duplicate). */
    p[len] = '\0';
    c->keys[i] = p;
    c->lens[i] = len;
    c->expect += i;
    p += len + 1;
  }
  for (size_t i = 0; i < c->n; i++) {
    c->order[i] = (uint32_t)i;
  }
  for (size_t i = c->n - 1; i > 0; i--) { /* Fisher-Yates */
    size_t j = (size_t)(lcg(&x) % (i + 1));
    uint32_t t = c->order[i];
    c->order[i] = c->order[j];
    c->order[j] = t;
  }
  for (size_t i = 0; i < c->n; i++) {
    size_t len = c->lens[c->order[i]];
    memcpy(p, c->keys[c->order[i]], len + 1);
    c->qkeys[i] = p;
    p += len + 1;
  }
  return block;
}

static int fill(ctx *c) {
  rv_map_config cfg = {.keys = RV_MAP_KEYS_COPY};
  if (rv_map_create(&c->rv_full, &cfg) != RV_OK) {
    return -1;
  }
  c->g_full = g_hash_table_new(g_str_hash, g_str_equal);
  c->s_full = stdmap_create(c->keys, c->lens, c->n, c->order);
  c->s_ins = stdmap_create(c->keys, c->lens, c->n, c->order);
  for (size_t i = 0; i < c->n; i++) {
    int rc = rv_map_insert(c->rv_full, c->keys[i], c->lens[i], V(i));
    if (rc != RV_OK) {
      fprintf(stderr, "bench-map: key %zu: %s\n", i, rv_strerror(rc));
      return -1;
    }
    g_hash_table_insert(c->g_full, (gpointer)c->keys[i], V(i));
  }
  stdmap_fill(c->s_full);
  return 0;
}

/* Print rv_map's speed against each competitor of a group. */
static void print_ratios(const rv_bench *b, const char *group, const char *rv_case) {
  rv_bench_result r[16];
  size_t n = rv_bench_count(b);
  const rv_bench_result *mine = NULL;
  for (size_t i = 0; i < n && i < 16; i++) {
    if (rv_bench_get_result(b, i, &r[i]) == RV_OK && r[i].ran && strcmp(r[i].group, group) == 0 &&
        strcmp(r[i].name, rv_case) == 0) {
      mine = &r[i];
    }
  }
  if (!mine) {
    return;
  }
  for (size_t i = 0; i < n && i < 16; i++) {
    if (&r[i] != mine && r[i].ran && strcmp(r[i].group, group) == 0) {
      printf("%s: %s is %.2fx as fast as %s (median; worst run %.1f vs %.1f ns/op)\n", group,
             rv_case, rv_bench_ratio(r[i].median, mine->median), r[i].name, mine->max, r[i].max);
    }
  }
}

int main(int argc, char **argv) {
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "map", argc, argv, NULL) != RV_OK) {
    return 2;
  }
  int status = 1;
  char *block = NULL;
  ctx c = {.n = rv_bench_pick(b, 1000000, 20000)};
  c.keys = malloc(c.n * sizeof *c.keys);
  c.lens = malloc(c.n * sizeof *c.lens);
  c.order = malloc(c.n * sizeof *c.order);
  c.qkeys = malloc(c.n * sizeof *c.qkeys);
  if (!c.keys || !c.lens || !c.order || !c.qkeys || !(block = make_keys(&c))) {
    fprintf(stderr, "bench-map: out of memory\n");
    goto fail;
  }
  if (fill(&c) != 0) {
    fprintf(stderr, "bench-map: filling the lookup maps failed\n");
    goto fail;
  }
  const char *lk = "lookup 16-64 B keys";
  const char *in = "insert 16-64 B keys";
  const rv_bench_case cases[] = {
      {.name = "std::unordered_map", .group = lk, .fn = look_std, .ops = c.n, .baseline = true},
      {.name = "GHashTable", .group = lk, .fn = look_glib, .ops = c.n},
      {.name = "rv_map", .group = lk, .fn = look_rv, .ops = c.n},
      {.name = "std::unordered_map",
       .group = in,
       .fn = ins_std,
       .teardown = ins_std_teardown,
       .ops = c.n,
       .baseline = true},
      {.name = "GHashTable (borrowed keys)",
       .group = in,
       .fn = ins_glib,
       .setup = ins_glib_setup,
       .teardown = ins_glib_teardown,
       .ops = c.n},
      {.name = "rv_map (copied keys)",
       .group = in,
       .fn = ins_rv,
       .setup = ins_rv_copy_setup,
       .teardown = ins_rv_teardown,
       .ops = c.n},
      {.name = "rv_map (borrowed keys)",
       .group = in,
       .fn = ins_rv,
       .setup = ins_rv_borrow_setup,
       .teardown = ins_rv_teardown,
       .ops = c.n},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rv_bench_case k = cases[i];
    k.ctx = &c;
    int rc = rv_bench_add(b, &k);
    if (rc != RV_OK) {
      fprintf(stderr, "bench-map: cannot add '%s': %s\n", k.name, rv_strerror(rc));
      goto fail;
    }
  }
  int rc = rv_bench_run(b);
  if (rc != RV_OK) {
    fprintf(stderr, "bench-map: %s\n", rv_strerror(rc));
    goto fail;
  }
  print_ratios(b, lk, "rv_map");
  print_ratios(b, in, "rv_map (copied keys)");
  print_ratios(b, in, "rv_map (borrowed keys)");
  if (c.failed) {
    fprintf(stderr, "bench-map: a variant gave a wrong answer\n");
    goto fail;
  }
  status = 0;
fail:
  rv_map_destroy(c.rv_full);
  if (c.g_full) {
    g_hash_table_destroy(c.g_full);
  }
  if (c.s_full) {
    stdmap_destroy(c.s_full);
  }
  if (c.s_ins) {
    stdmap_destroy(c.s_ins);
  }
  free(block);
  free(c.keys);
  free(c.lens);
  free(c.order);
  free(c.qkeys);
  rv_bench_destroy(b);
  return status;
}
