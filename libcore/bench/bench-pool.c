/* bench-pool: 64-byte blocks taken and given back, at 1 and 2 threads.
 *
 * What a C programmer would otherwise use, all in the same run:
 *   - glibc malloc/free (baseline), called as __libc_malloc/__libc_free:
 *     this binary links jemalloc, which takes over the `malloc` symbol, and
 *     these are glibc's own exported entry points (same code, tcache on),
 *   - jemalloc malloc/free (Debian's libjemalloc2, linked first, so it is
 *     the process's malloc, as with LD_PRELOAD; checked at start-up; its
 *     mallocx/dallocx are about twice as slow, so they are not used),
 *   - mimalloc mi_malloc/mi_free (Debian's libmimalloc2.0, linked),
 * against rv_pool_get/rv_pool_put (the shared lock-free list) and
 * rv_pool_cache_get/rv_pool_cache_put (one rv_pool_cache per thread).
 * The pool is measured from a copy of src/pool.c compiled into this
 * program, without its debug checks (bench-core-pool, as a build with
 * NDEBUG has them) or with them (bench-core-pool-checked).
 *
 * Each thread repeatedly takes BATCH blocks, writes a byte into each, then
 * gives them all back in the order taken. One operation = one block taken
 * and given back. With 2 threads both run at once on one shared pool (or
 * allocator) and the time is wall time over both threads' operations, so
 * ns/op is the inverse of total throughput. Every variant makes one
 * direct call (or inline code) per get and per put. Run with --help for
 * the flags. */
#define _GNU_SOURCE /* dladdr() */
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

/* glibc's own malloc entry points (exported by libc.so.6 since 2.2.5). */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
#if RV_BENCH_MIMALLOC
extern void *mi_malloc(size_t size);
extern void mi_free(void *ptr);
#endif

enum { BLOCK = 64, BATCH = 64, MAX_THREADS = 2, POOL_BLOCKS = 1024 };

enum kind { V_GLIBC, V_JEMALLOC, V_MIMALLOC, V_POOL, V_CACHE };

typedef struct variant {
  const char *name;
  enum kind kind;
} variant;

typedef struct suite_ctx {
  const variant *v;
  int threads;
  size_t rounds; /* BATCH-block rounds per thread per repetition */
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
  return __libc_malloc(BLOCK);
}
static void glibc_put(void *c, void *b) {
  (void)c;
  __libc_free(b);
}
#if RV_BENCH_JEMALLOC
/* malloc/free here are jemalloc's: main() checks that with dladdr(). */
static void *je_get(void *c) {
  (void)c;
  return malloc(BLOCK);
}
static void je_put(void *c, void *b) {
  (void)c;
  free(b);
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
    {"glibc malloc/free", V_GLIBC},
#if RV_BENCH_JEMALLOC
    {"jemalloc malloc/free", V_JEMALLOC},
#endif
#if RV_BENCH_MIMALLOC
    {"mimalloc mi_malloc/mi_free", V_MIMALLOC},
#endif
    {"rv_pool_get/put", V_POOL},
    {"rv_pool_cache_get/put", V_CACHE},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

/* The timed loop. Inlined into one worker per variant with constant
 * get/put functions, so each variant calls its allocator directly, as a
 * user's code would (no indirect call in the measurement). */
static inline __attribute__((always_inline)) int
loop(size_t rounds, void *ctx, void *(*get)(void *), void (*put)(void *, void *)) {
  unsigned char *held[BATCH];
  for (size_t r = 0; r < rounds; r++) {
    for (size_t i = 0; i < BATCH; i++) {
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
    for (size_t i = 0; i < BATCH; i++) {
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
    t->failed = loop(s->rounds, NULL, glibc_get, glibc_put);
    break;
#if RV_BENCH_JEMALLOC
  case V_JEMALLOC:
    t->failed = loop(s->rounds, NULL, je_get, je_put);
    break;
#endif
#if RV_BENCH_MIMALLOC
  case V_MIMALLOC:
    t->failed = loop(s->rounds, NULL, mi_get, mi_put);
    break;
#endif
  case V_POOL:
    t->failed = loop(s->rounds, s->pool, pool_get, pool_put);
    break;
  case V_CACHE:
    t->failed = loop(s->rounds, &t->cache, cache_get, cache_put);
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

/* Whether calls to malloc reach jemalloc: the definition found first in
 * load order (a sanitizer runtime, for one, comes before it). */
static int malloc_is_jemalloc(void) {
#if RV_BENCH_JEMALLOC
  Dl_info info;
  void *process_malloc = dlsym(RTLD_DEFAULT, "malloc");
  return process_malloc && dladdr(process_malloc, &info) && info.dli_fname &&
         strstr(info.dli_fname, "jemalloc");
#else
  return 0;
#endif
}

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, RV_POOL_CHECKS ? "pool-checked" : "pool", argc, argv, NULL) != 0) {
    return 2;
  }
  size_t rounds = rv_bench_pick(b, 20000, 200);
  int have_je = malloc_is_jemalloc();
  if (!have_je) {
    printf("bench-pool: malloc is not jemalloc's here (sanitizer build, or jemalloc not "
           "found): no jemalloc case\n");
  }
  rv_pool pool;
  if (rv_pool_init(&pool, NULL, BLOCK, POOL_BLOCKS) != 0) {
    fprintf(stderr, "bench-pool: cannot make the pool\n");
    rv_bench_destroy(b);
    return 1;
  }
  static suite_ctx ctx[MAX_THREADS][NVARIANTS];
  static const char *groups[MAX_THREADS] = {"64B x1 thread", "64B x2 threads"};
  int rc = 0;
  for (int th = 0; th < MAX_THREADS && rc == 0; th++) {
    for (size_t i = 0; i < NVARIANTS && rc == 0; i++) {
      suite_ctx *s = &ctx[th][i];
      if (variants[i].kind == V_JEMALLOC && !have_je) {
        continue;
      }
      s->v = &variants[i];
      s->threads = th + 1;
      s->rounds = rounds;
      s->pool = &pool;
      if (pthread_barrier_init(&s->start, NULL, (unsigned)(th + 1)) != 0) {
        rc = -1;
        break;
      }
      s->barrier_ok = 1;
      rv_bench_case c = {.name = variants[i].name,
                         .group = groups[th],
                         .fn = run,
                         .ctx = s,
                         .ops = (uint64_t)(th + 1) * rounds * BATCH,
                         .baseline = i == 0};
      rc = rv_bench_add(b, &c);
    }
  }
  if (rc == 0) {
    rc = rv_bench_run(b);
  }
  int failed = 0;
  for (int th = 0; th < MAX_THREADS; th++) {
    for (size_t i = 0; i < NVARIANTS; i++) {
      failed |= ctx[th][i].failed;
      if (ctx[th][i].barrier_ok) {
        (void)pthread_barrier_destroy(&ctx[th][i].start);
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
