/* bench-pool: 64-byte blocks taken and given back, at 1 and 2 threads.
 *
 * What a C programmer would otherwise use, all in the same run:
 *   - glibc malloc/free (baseline),
 *   - jemalloc malloc/free (Debian's libjemalloc2; its mallocx/dallocx are
 *     about twice as slow here, so they are not used),
 *   - mimalloc mi_malloc/mi_free (Debian's libmimalloc2.0),
 * against rv_pool_get/rv_pool_put (the shared lock-free list) and
 * rv_pool_cache_get/rv_pool_cache_put (one rv_pool_cache per thread).
 * The pool is measured from a copy of src/pool.c compiled into this
 * program, without its debug checks (bench-core-pool, as a build with
 * NDEBUG has them) or with them (bench-core-pool-checked).
 *
 * Each thread repeatedly takes HOLD blocks, writes a byte into each, then
 * gives them all back in the order taken, for HOLD = 64 (many buffers in
 * flight, as in a server) and HOLD = 1 (take one, give it back: the best
 * case for a malloc's per-thread cache). One operation = one block taken
 * and given back. With 2 threads both run at once on one shared pool (or
 * allocator) and the time is wall time over both threads' operations, so
 * ns/op is the inverse of total throughput. Run with --help for the flags.
 *
 * Which malloc is which. jemalloc and mimalloc both define `malloc`, and
 * mimalloc also defines glibc's `__libc_malloc`, so a plain call to either
 * name reaches whichever library was loaded first. glibc's and jemalloc's
 * malloc/free are therefore looked up with dlsym() on each library's own
 * handle (which searches that library first) and called through pointers,
 * like a PLT call; mimalloc is called by its own names. The pool's cache
 * path is inline code: no call at all while the cache has blocks. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

/* Set by meson: this program is built with its own copy of src/pool.c,
 * with the debug checks off (suite "pool") or on ("pool-checked"). */
#ifndef RV_POOL_CHECKS
#error "build bench-pool.c with -DRV_POOL_CHECKS=0 or 1 and src/pool.c"
#endif

typedef void *(*malloc_fn)(size_t size);
typedef void (*free_fn)(void *ptr);
static malloc_fn glibc_malloc, je_malloc;
static free_fn glibc_free, je_free;
#if RV_BENCH_JEMALLOC
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#endif
#if RV_BENCH_MIMALLOC
extern void *mi_malloc(size_t size);
extern void mi_free(void *ptr);
extern int mi_version(void);
#endif

enum { BLOCK = 64, MAX_HOLD = 64, MAX_THREADS = 2, POOL_BLOCKS = 1024 };

enum kind { V_GLIBC, V_JEMALLOC, V_MIMALLOC, V_POOL, V_CACHE };

typedef struct variant {
  const char *name;
  enum kind kind;
  unsigned percent; /* rounds relative to the others: each case runs long
                       enough (tens of ms) to ride out preemption on a busy
                       machine, and the slow ones not for seconds */
} variant;

typedef struct suite_ctx {
  const variant *v;
  int threads;
  size_t rounds; /* rounds per thread per repetition */
  size_t hold;   /* blocks taken per round, 1..MAX_HOLD */
  rv_pool *pool;
  pthread_barrier_t start;
  int barrier_ok;
  int failed;
} suite_ctx;

/* One cache line or more per thread: two threads' caches must not share a
 * line (false sharing would be an artifact of this benchmark). */
typedef struct thread_ctx {
  _Alignas(64) suite_ctx *s;
  rv_pool_cache cache;
  int failed;
} thread_ctx;

static void *glibc_get(void *c) {
  (void)c;
  return glibc_malloc(BLOCK);
}
static void glibc_put(void *c, void *b) {
  (void)c;
  glibc_free(b);
}
#if RV_BENCH_JEMALLOC
static void *je_get(void *c) {
  (void)c;
  return je_malloc(BLOCK);
}
static void je_put(void *c, void *b) {
  (void)c;
  je_free(b);
}
#endif
#if RV_BENCH_MIMALLOC
static void *mi_get(void *c) {
  (void)c;
  return mi_malloc(BLOCK);
}
static void mi_put(void *c, void *b) {
  (void)c;
  mi_free(b);
}
#endif
static void *pool_get(void *c) { return rv_pool_get(c); }
static void pool_put(void *c, void *b) { rv_pool_put(c, b); }
static void *cache_get(void *c) { return rv_pool_cache_get(c); }
static void cache_put(void *c, void *b) { rv_pool_cache_put(c, b); }

static const variant variants[] = {
    {"glibc malloc/free", V_GLIBC, 100},
#if RV_BENCH_JEMALLOC
    {"jemalloc malloc/free", V_JEMALLOC, 100},
#endif
#if RV_BENCH_MIMALLOC
    {"mimalloc mi_malloc/mi_free", V_MIMALLOC, 100},
#endif
    {"rv_pool_get/put", V_POOL, 10},
    {"rv_pool_cache_get/put", V_CACHE, 300},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

/* The timed loop. Inlined into one worker per variant with constant
 * get/put functions, so each variant calls its allocator directly, as a
 * user's code would (no indirect call in the measurement). */
static inline __attribute__((always_inline)) int
loop(size_t rounds, size_t hold, void *ctx, void *(*get)(void *), void (*put)(void *, void *)) {
  unsigned char *held[MAX_HOLD];
  for (size_t r = 0; r < rounds; r++) {
    for (size_t i = 0; i < hold; i++) {
      unsigned char *b = get(ctx);
      if (!b) {
        while (i > 0) {
          put(ctx, held[--i]);
        }
        return 1;
      }
      b[0] = (unsigned char)i;
      held[i] = b;
    }
    rv_bench_do_not_optimize(held);
    for (size_t i = 0; i < hold; i++) {
      put(ctx, held[i]);
    }
  }
  return 0;
}

static void *worker(void *arg) {
  thread_ctx *t = arg;
  suite_ctx *s = t->s;
  rv_pool_cache_init(&t->cache, s->pool);
  (void)pthread_barrier_wait(&s->start);
  switch (s->v->kind) {
  case V_GLIBC:
    t->failed = loop(s->rounds, s->hold, NULL, glibc_get, glibc_put);
    break;
#if RV_BENCH_JEMALLOC
  case V_JEMALLOC:
    t->failed = loop(s->rounds, s->hold, NULL, je_get, je_put);
    break;
#endif
#if RV_BENCH_MIMALLOC
  case V_MIMALLOC:
    t->failed = loop(s->rounds, s->hold, NULL, mi_get, mi_put);
    break;
#endif
  case V_POOL:
    t->failed = loop(s->rounds, s->hold, s->pool, pool_get, pool_put);
    break;
  case V_CACHE:
    t->failed = loop(s->rounds, s->hold, &t->cache, cache_get, cache_put);
    break;
  default:
    t->failed = 1;
    break;
  }
  rv_pool_cache_flush(&t->cache);
  return NULL;
}

static void run(void *arg) {
  suite_ctx *s = arg;
  pthread_t tid[MAX_THREADS];
  thread_ctx t[MAX_THREADS] = {0};
  const int started = s->threads < MAX_THREADS ? s->threads : MAX_THREADS;
  for (int i = 1; i < started; i++) {
    t[i].s = s;
    if (pthread_create(&tid[i], NULL, worker, &t[i]) != 0) {
      abort(); /* the barrier would never open */
    }
  }
  t[0].s = s;
  worker(&t[0]); /* this thread is one of the workers */
  for (int i = 1; i < started; i++) {
    (void)pthread_join(tid[i], NULL);
  }
  for (int i = 0; i < started; i++) {
    s->failed |= t[i].failed;
  }
}

/* malloc and free as defined by the already loaded library `lib`. */
static int lookup(const char *lib, malloc_fn *m, free_fn *f) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
  if (!h) {
    return 0;
  }
  void *pm = dlsym(h, "malloc");
  void *pf = dlsym(h, "free");
  (void)dlclose(h); /* drops the reference NOLOAD took; the library stays */
  if (!pm || !pf) {
    return 0;
  }
  /* Type pun: POSIX guarantees dlsym's void * converts to the function
   * pointer type; memcpy makes the conversion without the cast ISO C
   * leaves undefined (object and function pointers have one size here). */
  _Static_assert(sizeof pm == sizeof *m && sizeof pf == sizeof *f, "pointer sizes");
  memcpy(m, &pm, sizeof pm);
  memcpy(f, &pf, sizeof pf);
  return 1;
}

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, RV_POOL_CHECKS ? "pool-checked" : "pool", argc, argv, NULL) != 0) {
    return 2;
  }
  size_t pairs = rv_bench_pick(b, 3200000, 12800); /* per thread, at percent 100 */
  if (!lookup("libc.so.6", &glibc_malloc, &glibc_free)) {
    fprintf(stderr, "bench-pool: cannot find glibc's malloc: %s\n", dlerror());
    rv_bench_destroy(b);
    return 1;
  }
  int have_je = 0;
#if RV_BENCH_JEMALLOC
  const char *je_version = "?";
  size_t len = sizeof(const char *); /* mallctl("version") writes a pointer */
  /* Also what keeps libjemalloc a dependency of this program (as-needed). */
  if (mallctl("version", (void *)&je_version, &len, NULL, 0) == 0) {
    have_je = lookup("libjemalloc.so.2", &je_malloc, &je_free);
  }
  printf("bench-pool: jemalloc %s%s\n", je_version,
         have_je ? "" : " (not found: no jemalloc case)");
#endif
#if RV_BENCH_MIMALLOC
  printf("bench-pool: mimalloc %d\n", mi_version());
#endif
  rv_pool pool;
  if (rv_pool_init(&pool, NULL, BLOCK, POOL_BLOCKS) != 0) {
    fprintf(stderr, "bench-pool: cannot make the pool\n");
    rv_bench_destroy(b);
    return 1;
  }
  enum { NGROUPS = 4 };
  static const struct {
    const char *name;
    int threads;
    size_t hold;
  } groups[NGROUPS] = {{"hold 64, 1 thread", 1, 64},
                       {"hold 64, 2 threads", 2, 64},
                       {"hold 1, 1 thread", 1, 1},
                       {"hold 1, 2 threads", 2, 1}};
  static suite_ctx ctx[NGROUPS][NVARIANTS];
  int rc = 0;
  for (int g = 0; g < NGROUPS && rc == 0; g++) {
    for (size_t i = 0; i < NVARIANTS && rc == 0; i++) {
      suite_ctx *s = &ctx[g][i];
      if (variants[i].kind == V_JEMALLOC && !have_je) {
        continue;
      }
      s->v = &variants[i];
      s->threads = groups[g].threads;
      s->hold = groups[g].hold;
      s->rounds = pairs / 100 * variants[i].percent / s->hold;
      s->pool = &pool;
      if (pthread_barrier_init(&s->start, NULL, (unsigned)s->threads) != 0) {
        rc = -1;
        break;
      }
      s->barrier_ok = 1;
      rv_bench_case c = {.name = variants[i].name,
                         .group = groups[g].name,
                         .fn = run,
                         .ctx = s,
                         .ops = (uint64_t)s->threads * s->rounds * s->hold,
                         .baseline = i == 0};
      rc = rv_bench_add(b, &c);
    }
  }
  if (rc == 0) {
    rc = rv_bench_run(b);
  }
  int failed = 0;
  for (int g = 0; g < NGROUPS; g++) {
    for (size_t i = 0; i < NVARIANTS; i++) {
      failed |= ctx[g][i].failed;
      if (ctx[g][i].barrier_ok) {
        (void)pthread_barrier_destroy(&ctx[g][i].start);
      }
    }
  }
  rv_pool_stats st;
  rv_pool_stats_get(&pool, &st);
  if (failed || st.in_use != 0) {
    fprintf(stderr, "bench-pool: a variant ran out of blocks or leaked (in use %zu)\n", st.in_use);
    rc = -1;
  }
  printf("pool: %llu CAS retries on the shared head over the whole run\n",
         (unsigned long long)st.contended);
  rv_pool_free(&pool);
  rv_bench_destroy(b);
  return rc == 0 ? 0 : 1;
}
