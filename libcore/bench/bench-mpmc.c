/* bench-mpmc: moving 8-byte items between threads through a bounded queue.
 *
 * What a C programmer would otherwise pick, all in the same run:
 *   - a ring buffer guarded by a mutex and two condition variables
 *     (baseline: the textbook bounded blocking queue),
 *   - Concurrency Kit's ck_ring in MPMC mode (Debian libck-dev),
 * against rv_mpmc_push_wait() / rv_mpmc_pop_wait() from <rivet/core/mpmc.h>.
 *
 * Groups: "1p1c" (one producer, one consumer) and "2p2c". Every queue has
 * 1024 slots. The untimed setup starts the threads, which wait at a gate;
 * one timed repetition opens the gate, lets them move `items` items (each
 * producer pushes an equal share, each consumer pops an equal share), joins
 * them and checks the sum of what was popped. One operation = one item
 * moved (a push plus a pop). ck_ring is driven by a bench-local wait loop
 * with the same spin-then-yield shape as rv_mpmc's (spin with a CPU pause,
 * then sched_yield), so the comparison is of the queues, not of the
 * waiting. After the table the program prints mpmc's ratio to ck_ring and
 * the worst-to-median ratios the targets in docs/benchmarks.md refer to. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_ring.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

enum { CAP = 1024, MAX_SIDE = 2 };

/* ---- baseline: mutex + condition variables ---- */
typedef struct mutex_q {
  pthread_mutex_t mu;
  pthread_cond_t not_full;
  pthread_cond_t not_empty;
  size_t head, len;
  uint64_t slot[CAP];
} mutex_q;

static void mq_push(mutex_q *q, uint64_t v) {
  pthread_mutex_lock(&q->mu);
  while (q->len == CAP)
    pthread_cond_wait(&q->not_full, &q->mu);
  q->slot[(q->head + q->len) % CAP] = v;
  q->len++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

static uint64_t mq_pop(mutex_q *q) {
  pthread_mutex_lock(&q->mu);
  while (q->len == 0)
    pthread_cond_wait(&q->not_empty, &q->mu);
  uint64_t v = q->slot[q->head];
  q->head = (q->head + 1) % CAP;
  q->len--;
  pthread_cond_signal(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return v;
}

/* ---- ck_ring, with a spin-then-yield wait ---- */
static inline void relax(unsigned *round) {
  if (*round < 10) {
    for (unsigned i = 0; i < (1U << *round); i++) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#else
      atomic_signal_fence(memory_order_seq_cst);
#endif
    }
    (*round)++;
  } else {
    sched_yield();
  }
}

/* ---- the shared run: threads, start gate, checksum ---- */
typedef enum kind { K_MUTEX, K_CK, K_MPMC } kind;

typedef struct ctx ctx;

typedef struct thread_arg {
  ctx *c;
  int id;
} thread_arg;

struct ctx {
  rv_mpmc q; /* first: it is cache-line aligned */
  ck_ring_t ring;
  kind k;
  int producers, consumers;
  size_t items;
  atomic_int gate;   /* threads spin (yield) until it opens */
  atomic_ullong sum; /* sum of popped values */
  unsigned long long expect;
  int failed;
  mutex_q *mq;
  ck_ring_buffer_t *ring_buf;
  void *cells;
  pthread_t th[2 * MAX_SIDE];
  thread_arg ta[2 * MAX_SIDE];
};

static void await_gate(ctx *c) {
  while (!atomic_load_explicit(&c->gate, memory_order_acquire))
    sched_yield();
}

static void *produce(void *p) {
  thread_arg *a = p;
  ctx *c = a->c;
  size_t share = c->items / (size_t)c->producers;
  await_gate(c);
  for (size_t i = 0; i < share; i++) {
    uint64_t v = (uint64_t)i * (uint64_t)c->producers + (uint64_t)a->id + 1;
    switch (c->k) {
    case K_MUTEX:
      mq_push(c->mq, v);
      break;
    case K_CK: {
      unsigned r = 0;
      /* ck_ring stores void *: the 8-byte payload travels as a pointer value. */
      void *e = (void *)(uintptr_t)v; // NOLINT(performance-no-int-to-ptr): never dereferenced
      while (!ck_ring_enqueue_mpmc(&c->ring, c->ring_buf, e))
        relax(&r);
      break;
    }
    case K_MPMC:
      (void)rv_mpmc_push_wait(&c->q, &v, RV_MPMC_FOREVER);
      break;
    }
  }
  return NULL;
}

static void *consume(void *p) {
  thread_arg *a = p;
  ctx *c = a->c;
  size_t share = c->items / (size_t)c->consumers;
  unsigned long long sum = 0;
  await_gate(c);
  for (size_t i = 0; i < share; i++) {
    uint64_t v = 0;
    switch (c->k) {
    case K_MUTEX:
      v = mq_pop(c->mq);
      break;
    case K_CK: {
      unsigned r = 0;
      void *e = NULL;
      while (!ck_ring_dequeue_mpmc(&c->ring, c->ring_buf, &e))
        relax(&r);
      v = (uint64_t)(uintptr_t)e;
      break;
    }
    case K_MPMC:
      (void)rv_mpmc_pop_wait(&c->q, &v, RV_MPMC_FOREVER);
      break;
    }
    sum += v;
  }
  atomic_fetch_add(&c->sum, sum);
  return NULL;
}

/* The threads are started in the (untimed) setup and wait at the gate, so
 * the timed part is the transfer itself: open the gate, join. */
static void start_threads(ctx *c) {
  int n = 0;
  for (int i = 0; i < c->producers; i++, n++) {
    c->ta[n] = (thread_arg){c, i};
    if (pthread_create(&c->th[n], NULL, produce, &c->ta[n]) != 0)
      abort();
  }
  for (int i = 0; i < c->consumers; i++, n++) {
    c->ta[n] = (thread_arg){c, i};
    if (pthread_create(&c->th[n], NULL, consume, &c->ta[n]) != 0)
      abort();
  }
}

static void run(void *arg) {
  ctx *c = arg;
  atomic_store_explicit(&c->gate, 1, memory_order_release);
  for (int i = 0; i < c->producers + c->consumers; i++)
    pthread_join(c->th[i], NULL);
  if (atomic_load(&c->sum) != c->expect)
    c->failed = 1;
}

static void setup(void *arg) {
  ctx *c = arg;
  atomic_store(&c->gate, 0);
  atomic_store(&c->sum, 0);
  switch (c->k) {
  case K_MUTEX:
    c->mq->head = c->mq->len = 0;
    break;
  case K_CK:
    ck_ring_init(&c->ring, CAP);
    break;
  case K_MPMC:
    if (rv_mpmc_init(&c->q, c->cells, RV_MPMC_STORAGE_SIZE(CAP, 8), CAP, 8) != 0)
      c->failed = 1;
    break;
  }
  start_threads(c);
}

static const char *const kind_name[] = {"mutex+condvar", "ck_ring", "rv_mpmc"};

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, "mpmc", argc, argv, NULL) != 0)
    return 2;
  size_t items = rv_bench_pick(b, (size_t)1 << 20, (size_t)1 << 14);
  static mutex_q mq[2];
  static ctx ctxs[2][3];
  static const char *const groups[] = {"1p1c", "2p2c"};
  int rc = 0;
  for (int g = 0; g < 2; g++) {
    int side = g + 1;
    pthread_mutex_init(&mq[g].mu, NULL);
    pthread_cond_init(&mq[g].not_full, NULL);
    pthread_cond_init(&mq[g].not_empty, NULL);
    for (int k = 0; k < 3; k++) {
      ctx *c = &ctxs[g][k];
      c->k = (kind)k;
      c->producers = c->consumers = side;
      c->items = items;
      /* Sum of 1..items: producer p pushes i * side + p + 1 for i < items / side. */
      c->expect = (unsigned long long)items * (items + 1) / 2;
      c->mq = &mq[g];
      c->ring_buf = calloc(CAP, sizeof(*c->ring_buf));
      c->cells = aligned_alloc(64, RV_MPMC_STORAGE_SIZE(CAP, 8));
      if (!c->ring_buf || !c->cells)
        return 2;
      rv_bench_case bc = {.name = kind_name[k],
                          .group = groups[g],
                          .fn = run,
                          .setup = setup,
                          .ctx = c,
                          .ops = items,
                          .baseline = k == K_MUTEX};
      if (rv_bench_add(b, &bc) != 0)
        return 2;
    }
  }
  if (rv_bench_run(b) != 0)
    rc = 1;
  /* Extra ratios for the targets: mpmc vs ck_ring, and each worst run
   * (max ns/op) against its own median, as throughput: median / max. */
  for (int g = 0; g < 2 && rc == 0; g++) {
    rv_bench_result r[3];
    for (int k = 0; k < 3; k++) {
      if (rv_bench_get_result(b, (size_t)g * 3 + (size_t)k, &r[k]) != 0 || !r[k].ran)
        goto skip;
      if (ctxs[g][k].failed) {
        fprintf(stderr, "bench-mpmc: %s/%s lost or duplicated items\n", groups[g], kind_name[k]);
        rc = 1;
      }
    }
    printf("%s: rv_mpmc vs ck_ring %.2fx, vs mutex+condvar %.2fx; worst/median throughput:"
           " rv_mpmc %.2f, ck_ring %.2f, mutex+condvar %.2f\n",
           groups[g], r[K_CK].median / r[K_MPMC].median, r[K_MUTEX].median / r[K_MPMC].median,
           r[K_MPMC].median / r[K_MPMC].max, r[K_CK].median / r[K_CK].max,
           r[K_MUTEX].median / r[K_MUTEX].max);
  skip:;
  }
  for (int g = 0; g < 2; g++) {
    for (int k = 0; k < 3; k++) {
      free(ctxs[g][k].ring_buf);
      free(ctxs[g][k].cells);
    }
  }
  rv_bench_destroy(b);
  return rc;
}
