/* bench-vec: push N uint64_t onto a growable array, from empty.
 *
 * Contestants, in one run:
 *   - a pre-sized array written in a loop (baseline: the limit, no growth,
 *     no bounds or capacity checks; the compiler may vectorise it),
 *   - rv_vec_push from empty (growing by doubling through realloc),
 *   - rv_vec_push after rv_vec_reserve(N) (the push fast path alone),
 *   - RV_VEC_PUSH, the typed macro, from empty,
 *   - std::vector<uint64_t>::push_back from empty and after reserve(N)
 *     (only when a C++ compiler was found; see bench-vec-std.cpp).
 * One operation = one element pushed (the vector's creation and
 * destruction included).
 *
 * Warm memory: page faults on this (virtual) machine cost ~10x bare metal
 * and would dominate an 800 MB fill, so glibc is told to keep what it frees
 * (M_TRIM_THRESHOLD -1) and to serve everything from its heap rather than
 * fresh mmaps (M_MMAP_MAX 0); after the warm-up round every contestant
 * writes to memory that is already mapped. Same allocator for all. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

#if RV_BENCH_HAVE_CXX
uint64_t rv_bench_std_vector_push(uint64_t n, int reserve);
#endif

typedef struct ctx {
  size_t n;
  uint64_t *arr; /* the pre-sized array */
  int failed;
} ctx;

static void check(ctx *c, const uint64_t *data, uint64_t last) {
  rv_bench_do_not_optimize(data);
  if (last != c->n - 1) {
    c->failed = 1;
  }
}

static void presized_setup(void *arg) {
  ctx *c = arg;
  c->arr = malloc(c->n * sizeof *c->arr);
  if (!c->arr) {
    c->failed = 1;
  }
}
static void presized(void *arg) {
  ctx *c = arg;
  uint64_t *a = c->arr;
  size_t n = c->n; /* locals, as in every case: no reload of c per element */
  if (!a) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    a[i] = i;
  }
  check(c, a, a[n - 1]);
}
static void presized_teardown(void *arg) {
  ctx *c = arg;
  free(c->arr);
  c->arr = NULL;
}

static void vec_push(void *arg) {
  ctx *c = arg;
  rv_vec v;
  rv_vec_init(&v, sizeof(uint64_t), NULL);
  uint64_t n = c->n;
  for (uint64_t i = 0; i < n; i++) {
    if (rv_vec_push(&v, &i) != RV_OK) {
      c->failed = 1;
      break;
    }
  }
  check(c, v.data, v.len ? ((uint64_t *)v.data)[v.len - 1] : 0);
  rv_vec_free(&v);
}

static void vec_push_reserved(void *arg) {
  ctx *c = arg;
  rv_vec v;
  rv_vec_init(&v, sizeof(uint64_t), NULL);
  if (rv_vec_reserve(&v, c->n) != RV_OK) {
    c->failed = 1;
  }
  uint64_t n = c->n;
  for (uint64_t i = 0; i < n; i++) {
    if (rv_vec_push(&v, &i) != RV_OK) {
      c->failed = 1;
      break;
    }
  }
  check(c, v.data, v.len ? ((uint64_t *)v.data)[v.len - 1] : 0);
  rv_vec_free(&v);
}

static void vec_push_macro(void *arg) {
  ctx *c = arg;
  rv_vec v;
  RV_VEC_INIT(&v, uint64_t, NULL);
  uint64_t n = c->n;
  for (uint64_t i = 0; i < n; i++) {
    if (RV_VEC_PUSH(&v, uint64_t, i) != RV_OK) {
      c->failed = 1;
      break;
    }
  }
  check(c, v.data, v.len ? ((uint64_t *)v.data)[v.len - 1] : 0);
  rv_vec_free(&v);
}

#if RV_BENCH_HAVE_CXX
static void std_push(void *arg) {
  ctx *c = arg;
  check(c, NULL, rv_bench_std_vector_push(c->n, 0));
}
static void std_push_reserved(void *arg) {
  ctx *c = arg;
  check(c, NULL, rv_bench_std_vector_push(c->n, 1));
}
#endif

static double median_of(const rv_bench *b, const char *name) {
  for (size_t i = 0; i < rv_bench_count(b); i++) {
    rv_bench_result r;
    if (rv_bench_get_result(b, i, &r) == RV_OK && r.ran && strcmp(r.name, name) == 0) {
      return r.median;
    }
  }
  return 0;
}

static void summary(const rv_bench *b) {
  double pre = median_of(b, "pre-sized array");
  double vec = median_of(b, "rv_vec_push");
  double std = median_of(b, "std::vector push_back");
  if (vec <= 0) {
    return;
  }
  printf("\nsummary (median ns/op): rv_vec_push %.3f", vec);
  if (pre > 0) {
    printf(" | rv_vec_push / pre-sized = %.2fx (target <= 1.1)", vec / pre);
  }
  if (std > 0) {
    printf(" | std::vector / rv_vec_push = %.2fx (target >= 2)", std / vec);
  }
  printf("\n");
}

int main(int argc, char **argv) {
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "vec", argc, argv, NULL) != RV_OK) {
    return 2;
  }
  int status = 1;
  /* Warm memory for everyone (see the top of the file). */
  mallopt(M_TRIM_THRESHOLD, -1);
  mallopt(M_MMAP_MAX, 0);
  ctx c = {.n = rv_bench_pick(b, 100000000, 100000)};
  const char *g = "push N uint64_t";
  const rv_bench_case cases[] = {
    {.name = "pre-sized array",
     .group = g,
     .fn = presized,
     .setup = presized_setup,
     .teardown = presized_teardown,
     .ctx = &c,
     .ops = c.n,
     .baseline = true},
    {.name = "rv_vec_push", .group = g, .fn = vec_push, .ctx = &c, .ops = c.n},
    {.name = "rv_vec_push reserved", .group = g, .fn = vec_push_reserved, .ctx = &c, .ops = c.n},
    {.name = "RV_VEC_PUSH", .group = g, .fn = vec_push_macro, .ctx = &c, .ops = c.n},
#if RV_BENCH_HAVE_CXX
    {.name = "std::vector push_back", .group = g, .fn = std_push, .ctx = &c, .ops = c.n},
    {.name = "std::vector reserved", .group = g, .fn = std_push_reserved, .ctx = &c, .ops = c.n},
#endif
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = rv_bench_add(b, &cases[i]);
    if (rc != RV_OK) {
      fprintf(stderr, "bench-vec: cannot add '%s': %s\n", cases[i].name, rv_strerror(rc));
      goto fail;
    }
  }
#if !RV_BENCH_HAVE_CXX
  fprintf(stderr, "bench-vec: no C++ compiler, std::vector cases skipped\n");
#endif
  int rc = rv_bench_run(b);
  if (rc != RV_OK) {
    fprintf(stderr, "bench-vec: %s\n", rv_strerror(rc));
    goto fail;
  }
  if (c.failed) {
    fprintf(stderr, "bench-vec: a contestant produced the wrong contents\n");
    goto fail;
  }
  summary(b);
  status = 0;
fail:
  rv_bench_destroy(b);
  return status;
}
