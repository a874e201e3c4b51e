/* bench-arena: many small objects, allocated all then freed all.
 *
 * One repetition allocates N objects of random sizes 16..256 B (fixed
 * seed, the same sequence for every allocator), keeps each pointer in an
 * array, then frees them all: one free() per object for the general
 * allocators, one reset for the arena and the raw bump. Two groups: in
 * "alloc+write" a word is written into each object (what a program does
 * with what it allocates); in "alloc only" nothing is. One operation = one
 * allocation + its share of the freeing.
 *
 * Contestants, all in one process and one run:
 *   - glibc malloc/free (baseline: what a C program gets by default),
 *   - jemalloc and mimalloc, loaded with dlopen(RTLD_LOCAL) so that they
 *     do not replace malloc for the whole process (both export malloc);
 *     called through their own malloc/free (jemalloc) and
 *     mi_malloc/mi_free (mimalloc), i.e. through a pointer, as through
 *     the PLT when linked normally,
 *   - rv_arena (rv_arena_alloc, rv_arena_reset_retain),
 *   - a raw 20-line pointer bump over one pre-sized buffer: the limit.
 *
 * Warm rounds: page faults on this (virtual) machine cost ~10x bare metal
 * and would swamp the allocators, so every repetition is preceded by an
 * untimed round of the same allocator (its setup) and only the second,
 * warm round is timed; glibc's heap trimming is turned off for the run
 * (M_TRIM_THRESHOLD) so that its freed memory stays mapped like the others'.
 * Each case gives its memory back in its teardown (malloc_trim, jemalloc's
 * purge, mi_collect, rv_arena_free), so only one allocator holds the
 * ~1.4 GB of a round at a time.
 *
 * jemalloc needs more static TLS than glibc reserves for dlopen: the
 * program re-executes itself once with GLIBC_TUNABLES raising it. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

#define TUNABLE "glibc.rtld.optional_static_tls=65536"
#define ALIGN 16 /* what malloc guarantees: every contestant aligns the same */

typedef struct ctx {
  size_t n;            /* objects per round */
  const uint8_t *code; /* size of object i = 16 + code[i] (16..256) */
  size_t bytes;        /* sum of sizes rounded up to ALIGN: the raw bump's buffer */
  void **ptrs;         /* the objects of the current round */
  int failed;          /* an allocation failed */
  /* per-contestant state */
  rv_arena arena;
  unsigned char *buf; /* raw bump buffer */
  void *(*je_malloc)(size_t);
  void (*je_free)(void *);
  int (*je_mallctl)(const char *, void *, size_t *, void *, size_t);
  void *(*mi_malloc)(size_t);
  void (*mi_free)(void *);
  void (*mi_collect)(bool);
} ctx;

static size_t obj_size(const ctx *c, size_t i) { return 16 + (size_t)c->code[i]; }

/* Allocate the round's objects. With touch (a constant in each caller),
 * each object gets a word written into it, as a constructor would. */
#define ROUND_ALLOC(c, expr, touch)                                                                \
  for (size_t i = 0, n_ = (c)->n; i < n_; i++) {                                                   \
    size_t size = obj_size((c), i);                                                                \
    uint64_t *p = (expr);                                                                          \
    if (!p) {                                                                                      \
      (c)->failed = 1;                                                                             \
      return;                                                                                      \
    }                                                                                              \
    if (touch) {                                                                                   \
      *p = i;                                                                                      \
    }                                                                                              \
    (c)->ptrs[i] = p;                                                                              \
  }                                                                                                \
  rv_bench_do_not_optimize((c)->ptrs)

/* Two cases per contestant: X_w (write into each object) and X_a (allocate only). */
#define TWO_WAYS(x)                                                                                \
  static void x##_w(void *arg) { x(arg, 1); }                                                      \
  static void x##_a(void *arg) { x(arg, 0); }

/* ---- glibc ---- */
static inline void glibc_round(ctx *c, int touch) {
  ROUND_ALLOC(c, malloc(size), touch);
  for (size_t i = 0; i < c->n; i++) {
    free(c->ptrs[i]);
  }
}
static void glibc_release(void *arg) {
  (void)arg;
  malloc_trim(0);
}

/* ---- jemalloc ---- */
static inline void je_round(ctx *c, int touch) {
  ROUND_ALLOC(c, c->je_malloc(size), touch);
  for (size_t i = 0; i < c->n; i++) {
    c->je_free(c->ptrs[i]);
  }
}
static void je_release(void *arg) {
  ctx *c = arg;
  /* 4096 = MALLCTL_ARENAS_ALL: purge every arena's unused dirty pages. */
  (void)c->je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
}

/* ---- mimalloc ---- */
static inline void mi_round(ctx *c, int touch) {
  ROUND_ALLOC(c, c->mi_malloc(size), touch);
  for (size_t i = 0; i < c->n; i++) {
    c->mi_free(c->ptrs[i]);
  }
}
static void mi_release(void *arg) {
  ctx *c = arg;
  c->mi_collect(true);
}

/* ---- rv_arena ---- */
static inline void arena_round(ctx *c, int touch) {
  ROUND_ALLOC(c, rv_arena_alloc(&c->arena, size, ALIGN), touch);
  rv_arena_reset_retain(&c->arena);
}
static void arena_setup(void *arg) {
  ctx *c = arg;
  if (rv_arena_init(&c->arena, NULL, 0) != RV_OK) {
    c->failed = 1;
    return;
  }
  arena_round(c, 1); /* the untimed warm round */
}
static void arena_release(void *arg) {
  ctx *c = arg;
  rv_arena_free(&c->arena);
  malloc_trim(0);
}

/* ---- the raw pointer bump: the limit ---- */
typedef struct bump {
  uintptr_t cur, end;
} bump;

static inline void *bump_alloc(bump *b, size_t size) {
  uintptr_t p = (b->cur + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1);
  if (p > b->end || size > b->end - p) {
    return NULL;
  }
  b->cur = p + size;
  return (void *)p; /* NOLINT(performance-no-int-to-ptr): the bump works on addresses */
}

static inline void bump_round(ctx *c, int touch) {
  bump b = {(uintptr_t)c->buf, (uintptr_t)c->buf + c->bytes};
  ROUND_ALLOC(c, bump_alloc(&b, size), touch);
  /* Freeing all is forgetting b. */
}
static void bump_setup(void *arg) {
  ctx *c = arg;
  c->buf = aligned_alloc(ALIGN, c->bytes);
  if (!c->buf) {
    c->failed = 1;
    return;
  }
  memset(c->buf, 0, c->bytes); /* fault the pages in: warm */
}
static void bump_release(void *arg) {
  ctx *c = arg;
  free(c->buf);
  c->buf = NULL;
}

/* Setups: one untimed round first, so the timed round is warm. */
static void glibc_warm(void *arg) { glibc_round(arg, 1); }
static void je_warm(void *arg) { je_round(arg, 1); }
static void mi_warm(void *arg) { mi_round(arg, 1); }

TWO_WAYS(glibc_round)
TWO_WAYS(je_round)
TWO_WAYS(mi_round)
TWO_WAYS(arena_round)
TWO_WAYS(bump_round)

/* dlsym returns a function as an object pointer; ISO C has no cast
 * between the two, so copy the bits, as POSIX (dlsym rationale) allows. */
static void load(void *fn, size_t fn_size, void *h, const char *name) {
  void *p = h ? dlsym(h, name) : NULL;
  if (fn_size == sizeof p) {
    memcpy(fn, &p, sizeof p);
  }
}

/* Print the ratios the targets are stated in, per group. */
static void summary(const rv_bench *b, const char *group) {
  double med[5] = {0};
  const char *names[5] = {"glibc malloc+free", "jemalloc", "mimalloc", "rv_arena", "raw bump"};
  for (size_t i = 0; i < rv_bench_count(b); i++) {
    rv_bench_result r;
    if (rv_bench_get_result(b, i, &r) != RV_OK || !r.ran || strcmp(r.group, group) != 0) {
      continue;
    }
    for (size_t k = 0; k < 5; k++) {
      if (strcmp(r.name, names[k]) == 0) {
        med[k] = r.median;
      }
    }
  }
  if (med[3] <= 0) {
    return;
  }
  printf("summary [%s] (median ns/op): rv_arena %.2f", group, med[3]);
  if (med[4] > 0) {
    printf(" | rv_arena / raw bump = %.2fx (target <= 1.25)", med[3] / med[4]);
  }
  if (med[0] > 0) {
    printf(" | glibc / rv_arena = %.1fx (target >= 8)", med[0] / med[3]);
  }
  if (med[2] > 0) {
    printf(" | mimalloc / rv_arena = %.1fx (target >= 2)", med[2] / med[3]);
  }
  if (med[1] > 0) {
    printf(" | jemalloc / rv_arena = %.1fx", med[1] / med[3]);
  }
  printf("\n");
}

int main(int argc, char **argv) {
  const char *tun = getenv("GLIBC_TUNABLES");
  if (!tun || !strstr(tun, "optional_static_tls")) {
    /* Once: glibc reads the tunable only at start-up. */
    if (setenv("GLIBC_TUNABLES", TUNABLE, 1) == 0) {
      execv("/proc/self/exe", argv);
    }
    /* If that failed, go on: jemalloc is then skipped with a message. */
  }
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "arena", argc, argv, NULL) != RV_OK) {
    return 2;
  }
  int status = 1;
  ctx c;
  memset(&c, 0, sizeof c);
  uint8_t *code = NULL;
  void *je = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
  void *mi = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
  load(&c.je_malloc, sizeof c.je_malloc, je, "malloc");
  load(&c.je_free, sizeof c.je_free, je, "free");
  load(&c.je_mallctl, sizeof c.je_mallctl, je, "mallctl");
  load(&c.mi_malloc, sizeof c.mi_malloc, mi, "mi_malloc");
  load(&c.mi_free, sizeof c.mi_free, mi, "mi_free");
  load(&c.mi_collect, sizeof c.mi_collect, mi, "mi_collect");
  bool have_je = c.je_malloc && c.je_free && c.je_mallctl;
  bool have_mi = c.mi_malloc && c.mi_free && c.mi_collect;
  if (!have_je) {
    fprintf(stderr, "bench-arena: jemalloc not available, skipped (%s)\n",
            je ? "symbols" : dlerror());
  }
  if (!have_mi) {
    fprintf(stderr, "bench-arena: mimalloc not available, skipped\n");
  }
  /* Keep glibc's freed memory mapped between the warm and the timed round. */
  mallopt(M_TRIM_THRESHOLD, -1); /* -1: never trim (mallopt(3)) */

  c.n = rv_bench_pick(b, 10000000, 100000);
  code = malloc(c.n);
  c.ptrs = malloc(c.n * sizeof *c.ptrs);
  if (!code || !c.ptrs) {
    goto fail;
  }
  uint64_t x = 0x9e3779b97f4a7c15u; /* fixed seed: the same sizes every run */
  for (size_t i = 0; i < c.n; i++) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    code[i] = (uint8_t)((x >> 33) % 241); /* size 16..256 */
    c.bytes += (16 + (size_t)code[i] + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  }
  c.code = code;

  /* Group 1 writes a word into every object (a program uses what it
   * allocates); group 2 only allocates, which shows the allocators' own
   * bookkeeping (a free-list allocator reads each block, a bump does not). */
  const char *gw = "alloc+write 16-256 B x N, free all";
  const char *ga = "alloc only 16-256 B x N, free all";
  typedef struct contestant {
    const char *name;
    void (*w)(void *);
    void (*a)(void *);
    void (*setup)(void *);
    void (*teardown)(void *);
    bool have;
  } contestant;
  const contestant who[] = {
      {"glibc malloc+free", glibc_round_w, glibc_round_a, glibc_warm, glibc_release, true},
      {"jemalloc", je_round_w, je_round_a, je_warm, je_release, have_je},
      {"mimalloc", mi_round_w, mi_round_a, mi_warm, mi_release, have_mi},
      {"rv_arena", arena_round_w, arena_round_a, arena_setup, arena_release, true},
      {"raw bump", bump_round_w, bump_round_a, bump_setup, bump_release, true},
  };
  for (int mode = 0; mode < 2; mode++) {
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
      if (!who[i].have) {
        continue;
      }
      rv_bench_case bc = {.name = who[i].name,
                          .group = mode == 0 ? gw : ga,
                          .fn = mode == 0 ? who[i].w : who[i].a,
                          .setup = who[i].setup,
                          .teardown = who[i].teardown,
                          .ctx = &c,
                          .ops = c.n,
                          .baseline = i == 0};
      int rc = rv_bench_add(b, &bc);
      if (rc != RV_OK) {
        fprintf(stderr, "bench-arena: cannot add '%s': %s\n", bc.name, rv_strerror(rc));
        goto fail;
      }
    }
  }
  int rc = rv_bench_run(b);
  if (rc != RV_OK) {
    fprintf(stderr, "bench-arena: %s\n", rv_strerror(rc));
    goto fail;
  }
  if (c.failed) {
    fprintf(stderr, "bench-arena: an allocation failed\n");
    goto fail;
  }
  printf("\n");
  summary(b, gw);
  summary(b, ga);
  status = 0;
fail:
  free(code);
  free(c.ptrs);
  rv_bench_destroy(b);
  return status;
}
