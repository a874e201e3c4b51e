/* Tests for mpmc: argument checks, single-thread semantics (FIFO, wrap,
 * batches, timeouts) and a bounded multi-threaded stress test proving
 * exactly-once delivery and per-producer FIFO. Suite 'concurrent': it also
 * runs under ThreadSanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rivet/core/err.h>
#include <rivet/core/mpmc.h>

/* Storage for small queues, aligned for any cell layout. */
static _Alignas(64) unsigned char small_storage[4096];

static void test_storage_size(void **state) {
  (void)state;
  size_t sz = 7;
  assert_int_equal(rv_mpmc_storage_size(8, 8, &sz), RV_OK);
  assert_int_equal(sz, 8 * RV_MPMC_CELL_SIZE(8));
  assert_int_equal(sz, RV_MPMC_STORAGE_SIZE(8, 8));
  assert_int_equal(RV_MPMC_CELL_SIZE(1) % RV_MPMC_STORAGE_ALIGN, 0);
  assert_int_equal(rv_mpmc_storage_size(2, 13, &sz), RV_OK);
  assert_int_equal(sz, RV_MPMC_STORAGE_SIZE(2, 13));
  sz = 7;
  assert_int_equal(rv_mpmc_storage_size(0, 8, &sz), RV_EINVAL);
  assert_int_equal(rv_mpmc_storage_size(1, 8, &sz), RV_EINVAL);
  assert_int_equal(rv_mpmc_storage_size(12, 8, &sz), RV_EINVAL);
  assert_int_equal(rv_mpmc_storage_size(8, 0, &sz), RV_EINVAL);
  assert_int_equal(rv_mpmc_storage_size(8, 8, NULL), RV_EINVAL);
  assert_int_equal(rv_mpmc_storage_size((SIZE_MAX >> 1) + 1, 8, &sz), RV_EOVERFLOW);
  assert_int_equal(rv_mpmc_storage_size(1024, SIZE_MAX - 2, &sz), RV_EOVERFLOW);
  assert_int_equal(rv_mpmc_storage_size((size_t)1 << 60, 64, &sz), RV_EOVERFLOW);
  assert_int_equal(sz, 7); /* untouched on error */
}

static void test_init_errors(void **state) {
  (void)state;
  rv_mpmc q;
  memset(&q, 0xAB, sizeof(q));
  rv_mpmc before = q;
  size_t need = RV_MPMC_STORAGE_SIZE(8, 8);
  assert_int_equal(rv_mpmc_init(NULL, small_storage, need, 8, 8), RV_EINVAL);
  assert_int_equal(rv_mpmc_init(&q, NULL, need, 8, 8), RV_EINVAL);
  assert_int_equal(rv_mpmc_init(&q, small_storage, need, 6, 8), RV_EINVAL);
  assert_int_equal(rv_mpmc_init(&q, small_storage, need, 8, 0), RV_EINVAL);
  assert_int_equal(rv_mpmc_init(&q, small_storage + 1, need, 8, 8), RV_EINVAL); /* misaligned */
  assert_int_equal(rv_mpmc_init(&q, small_storage, need - 1, 8, 8), RV_ENOMEM);
  assert_int_equal(rv_mpmc_init(&q, small_storage, need, (size_t)1 << 62, 8), RV_EOVERFLOW);
  assert_memory_equal(&q, &before, sizeof(q)); /* untouched on error */
  assert_int_equal(rv_mpmc_init(&q, small_storage, need, 8, 8), RV_OK);
  assert_int_equal(rv_mpmc_capacity(&q), 8);
  assert_int_equal(rv_mpmc_elem_size(&q), 8);
}

/* Fill, overflow, drain, underflow, over many laps so positions wrap the
 * cell array many times; elements of an odd size through unaligned buffers. */
static void test_fifo_and_wrap(void **state) {
  (void)state;
  enum { CAP = 8, ESZ = 13 };
  rv_mpmc q;
  assert_int_equal(rv_mpmc_init(&q, small_storage, sizeof(small_storage), CAP, ESZ), RV_OK);
  unsigned char in[ESZ + 1];
  unsigned char out[ESZ + 1];
  unsigned next_in = 0;
  unsigned next_out = 0;
  for (int lap = 0; lap < 50; lap++) {
    size_t fill = (size_t)(lap % CAP) + 1;
    for (size_t i = 0; i < fill; i++) {
      memset(in + 1, (int)(next_in & 0xFF), ESZ);
      assert_int_equal(rv_mpmc_try_push(&q, in + 1), RV_OK);
      next_in++;
    }
    assert_int_equal(rv_mpmc_size_approx(&q), fill);
    if (fill == CAP) {
      assert_int_equal(rv_mpmc_try_push(&q, in + 1), RV_EFULL);
    }
    for (size_t i = 0; i < fill; i++) {
      assert_int_equal(rv_mpmc_try_pop(&q, out + 1), RV_OK);
      for (int b = 0; b < ESZ; b++) {
        assert_int_equal(out[1 + b], next_out & 0xFF);
      }
      next_out++;
    }
    memset(out, 0x5A, sizeof(out));
    assert_int_equal(rv_mpmc_try_pop(&q, out + 1), RV_EEMPTY);
    assert_int_equal(out[1], 0x5A); /* untouched when empty */
    assert_int_equal(rv_mpmc_size_approx(&q), 0);
  }
}

static void test_batch(void **state) {
  (void)state;
  enum { CAP = 16 };
  rv_mpmc q;
  assert_int_equal(rv_mpmc_init(&q, small_storage, sizeof(small_storage), CAP, sizeof(uint32_t)),
                   RV_OK);
  uint32_t in[40];
  uint32_t out[40];
  for (uint32_t i = 0; i < 40; i++) {
    in[i] = 1000 + i;
  }
  assert_int_equal(rv_mpmc_try_push_n(&q, NULL, 0), 0);
  assert_int_equal(rv_mpmc_try_pop_n(&q, NULL, 0), 0);
  assert_int_equal(rv_mpmc_try_pop_n(&q, out, 5), 0); /* empty */
  assert_int_equal(rv_mpmc_try_push_n(&q, in, 5), 5);
  assert_int_equal(rv_mpmc_try_push_n(&q, in + 5, 40), CAP - 5); /* partial: fills up */
  assert_int_equal(rv_mpmc_try_push_n(&q, in, 1), 0);            /* full */
  assert_int_equal(rv_mpmc_try_pop_n(&q, out, 3), 3);
  assert_int_equal(rv_mpmc_try_push_n(&q, in + CAP, 10), 3); /* wraps the array */
  assert_int_equal(rv_mpmc_try_pop_n(&q, out + 3, 40), CAP);
  for (uint32_t i = 0; i < CAP + 3; i++) {
    assert_int_equal(out[i], 1000 + i);
  }
  /* Singles and batches interleave in one order. */
  uint32_t v = 7;
  assert_int_equal(rv_mpmc_try_push(&q, &v), RV_OK);
  assert_int_equal(rv_mpmc_try_push_n(&q, in, 2), 2);
  assert_int_equal(rv_mpmc_try_pop(&q, &v), RV_OK);
  assert_int_equal(v, 7);
  assert_int_equal(rv_mpmc_try_pop_n(&q, out, 9), 2);
  assert_int_equal(out[0], 1000);
  assert_int_equal(out[1], 1001);
}

static void test_wait_timeouts(void **state) {
  (void)state;
  rv_mpmc q;
  assert_int_equal(rv_mpmc_init(&q, small_storage, sizeof(small_storage), 4, sizeof(uint64_t)),
                   RV_OK);
  uint64_t v = 1;
  uint64_t arr[8] = {10, 11, 12, 13, 14, 15, 16, 17};
  size_t n = 99;
  assert_int_equal(rv_mpmc_pop_wait(&q, &v, 0), RV_ETIMEDOUT);
  assert_int_equal(rv_mpmc_pop_wait(&q, &v, UINT64_C(200000)), RV_ETIMEDOUT); /* runs all stages */
  assert_int_equal(rv_mpmc_pop_n_wait(&q, arr, 2, 0, &n), RV_ETIMEDOUT);
  assert_int_equal(n, 0);
  assert_int_equal(rv_mpmc_push_n_wait(&q, arr, 0, 0, &n), RV_OK);
  assert_int_equal(n, 0);
  assert_int_equal(rv_mpmc_push_n_wait(&q, arr, 6, UINT64_C(3000000), &n), RV_ETIMEDOUT);
  assert_int_equal(n, 4);
  assert_int_equal(rv_mpmc_push_wait(&q, &v, 0), RV_ETIMEDOUT);
  assert_int_equal(rv_mpmc_push_wait(&q, &v, UINT64_C(5000000)), RV_ETIMEDOUT);
  assert_int_equal(rv_mpmc_push_n_wait(&q, arr, 1, 0, NULL), RV_ETIMEDOUT);
  assert_int_equal(rv_mpmc_pop_wait(&q, &v, RV_MPMC_FOREVER), RV_OK);
  assert_int_equal(v, 10);
  assert_int_equal(rv_mpmc_push_wait(&q, &v, RV_MPMC_FOREVER), RV_OK);
  uint64_t out[8] = {0};
  assert_int_equal(rv_mpmc_pop_n_wait(&q, out, 6, UINT64_C(1000000), &n), RV_ETIMEDOUT);
  assert_int_equal(n, 4);
  assert_int_equal(out[0], 11);
  assert_int_equal(out[3], 10);
  assert_int_equal(rv_mpmc_push_n_wait(&q, arr, 3, RV_MPMC_FOREVER, &n), RV_OK);
  assert_int_equal(rv_mpmc_pop_n_wait(&q, out, 3, RV_MPMC_FOREVER, NULL), RV_OK);
  assert_int_equal(out[2], 12);
}

/* ---- multi-threaded stress ---------------------------------------------- */

enum {
  PRODUCERS = 4,
  CONSUMERS = 4,
  PER_PRODUCER = 200000,
  STRESS_SEED = 20261123,
  STRESS_MS = 3000, /* stop producing after this long, whatever the count */
};

/* An item: producer id in the top 16 bits, its sequence number below. */
#define ITEM(p, i) (((uint64_t)(p) << 48) | (uint64_t)(i))

typedef struct stress {
  rv_mpmc q;
  uint64_t start_ns;
  atomic_size_t pushed[PRODUCERS]; /* final counts, set when a producer ends */
  atomic_int producers_left;       /* producers still running */
  atomic_size_t popped;            /* items popped by all consumers */
  atomic_uchar *seen;              /* [PRODUCERS * PER_PRODUCER] pop counts */
  uint64_t *payload;               /* written by producers before pushing */
  atomic_ullong sum_pushed;        /* sum of pushed items */
  atomic_ullong sum_popped;        /* sum of popped items */
  atomic_int order_errors;         /* per-producer FIFO violations seen */
  atomic_int payload_errors;       /* items whose payload was not visible */
} stress;

typedef struct worker_arg {
  stress *s;
  int id;
} worker_arg;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec;
}

static uint32_t xorshift(uint32_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

static void *producer(void *p) {
  worker_arg *a = p;
  stress *s = a->s;
  uint32_t rng = STRESS_SEED + (uint32_t)a->id;
  uint64_t sum = 0;
  size_t i = 0;
  uint64_t batch[16];
  while (i < PER_PRODUCER) {
    /* Check the clock every 256 items: bounded time whatever the load. */
    if ((i & 255) == 0 && mono_ns() - s->start_ns > (uint64_t)STRESS_MS * 1000000U) {
      break;
    }
    size_t n = (a->id & 1) ? (xorshift(&rng) % 16) + 1 : 1; /* odd ids push batches */
    if (n > PER_PRODUCER - i) {
      n = PER_PRODUCER - i;
    }
    for (size_t k = 0; k < n; k++) {
      batch[k] = ITEM(a->id, i + k);
      /* Plain write, read by the consumer: TSan checks the hand-off. */
      s->payload[(size_t)a->id * PER_PRODUCER + i + k] = batch[k] ^ 0x9E3779B97F4A7C15U;
      sum += batch[k];
    }
    int rc = n == 1 ? rv_mpmc_push_wait(&s->q, batch, RV_MPMC_FOREVER)
                    : rv_mpmc_push_n_wait(&s->q, batch, n, RV_MPMC_FOREVER, NULL);
    if (rc != RV_OK) { /* cannot happen without a timeout; cmocka asserts are main-thread only */
      atomic_fetch_add(&s->order_errors, 1);
      break;
    }
    i += n;
  }
  atomic_fetch_add(&s->sum_pushed, sum);
  /* Release: the final count is read by consumers that then expect to
   * have popped exactly this many. */
  atomic_store_explicit(&s->pushed[a->id], i, memory_order_release);
  atomic_fetch_sub_explicit(&s->producers_left, 1, memory_order_release);
  return NULL;
}

static size_t total_pushed(stress *s) {
  size_t t = 0;
  for (int p = 0; p < PRODUCERS; p++) {
    t += atomic_load_explicit(&s->pushed[p], memory_order_acquire);
  }
  return t;
}

static void consume_one(stress *s, uint64_t item, int64_t *last) {
  size_t p = (size_t)(item >> 48);
  size_t i = (size_t)(item & 0xFFFFFFFFFFFFU);
  if (p >= PRODUCERS || i >= PER_PRODUCER) {
    atomic_fetch_add(&s->order_errors, 1);
    return;
  }
  /* Per-producer FIFO, as one consumer sees it: a later pop of the same
   * producer's items never returns an earlier sequence number. */
  if ((int64_t)i <= last[p]) {
    atomic_fetch_add(&s->order_errors, 1);
  }
  last[p] = (int64_t)i;
  if (s->payload[p * PER_PRODUCER + i] != (item ^ 0x9E3779B97F4A7C15U)) {
    atomic_fetch_add(&s->payload_errors, 1);
  }
  atomic_fetch_add(&s->seen[p * PER_PRODUCER + i], 1);
}

static void *consumer(void *arg) {
  worker_arg *a = arg;
  stress *s = a->s;
  int64_t last[PRODUCERS];
  for (int p = 0; p < PRODUCERS; p++) {
    last[p] = -1;
  }
  uint64_t sum = 0;
  uint64_t batch[8];
  for (;;) {
    size_t n = 0;
    if (a->id & 1) { /* odd ids pop batches */
      (void)rv_mpmc_pop_n_wait(&s->q, batch, 8, UINT64_C(1000000), &n);
    } else if (rv_mpmc_pop_wait(&s->q, batch, UINT64_C(1000000)) == RV_OK) {
      n = 1;
    }
    for (size_t k = 0; k < n; k++) {
      consume_one(s, batch[k], last);
      sum += batch[k];
    }
    size_t done = atomic_fetch_add(&s->popped, n) + n;
    if (n == 0 && atomic_load_explicit(&s->producers_left, memory_order_acquire) == 0 &&
        done == total_pushed(s)) {
      break;
    }
  }
  atomic_fetch_add(&s->sum_popped, sum);
  return NULL;
}

static void test_stress_exactly_once(void **state) {
  (void)state;
  stress *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  size_t cells = 0;
  assert_int_equal(rv_mpmc_storage_size(256, sizeof(uint64_t), &cells), RV_OK);
  void *storage = aligned_alloc(64, cells);
  s->seen = calloc((size_t)PRODUCERS * PER_PRODUCER, sizeof(*s->seen));
  s->payload = calloc((size_t)PRODUCERS * PER_PRODUCER, sizeof(*s->payload));
  assert_non_null(storage);
  assert_non_null(s->seen);
  assert_non_null(s->payload);
  assert_int_equal(rv_mpmc_init(&s->q, storage, cells, 256, sizeof(uint64_t)), RV_OK);
  atomic_init(&s->producers_left, PRODUCERS);
  s->start_ns = mono_ns();

  pthread_t th[PRODUCERS + CONSUMERS];
  worker_arg args[PRODUCERS + CONSUMERS];
  for (int t = 0; t < PRODUCERS + CONSUMERS; t++) {
    args[t].s = s;
    args[t].id = t < PRODUCERS ? t : t - PRODUCERS;
    assert_int_equal(pthread_create(&th[t], NULL, t < PRODUCERS ? producer : consumer, &args[t]),
                     0);
  }
  for (int t = 0; t < PRODUCERS + CONSUMERS; t++) {
    assert_int_equal(pthread_join(th[t], NULL), 0);
  }

  size_t pushed = total_pushed(s);
  if (atomic_load(&s->order_errors) || atomic_load(&s->payload_errors) ||
      atomic_load(&s->popped) != pushed ||
      atomic_load(&s->sum_popped) != atomic_load(&s->sum_pushed)) {
    print_error("stress failed (seed %u): pushed %zu popped %zu order %d payload %d\n",
                (unsigned)STRESS_SEED, pushed, atomic_load(&s->popped),
                atomic_load(&s->order_errors), atomic_load(&s->payload_errors));
  }
  assert_true(pushed > 0);
  assert_int_equal(atomic_load(&s->order_errors), 0);
  assert_int_equal(atomic_load(&s->payload_errors), 0);
  assert_int_equal(atomic_load(&s->popped), pushed);
  assert_int_equal(atomic_load(&s->sum_popped), atomic_load(&s->sum_pushed));
  /* Exactly once: each pushed item popped once, nothing else popped. */
  for (size_t p = 0; p < PRODUCERS; p++) {
    size_t n = atomic_load(&s->pushed[p]);
    for (size_t i = 0; i < PER_PRODUCER; i++) {
      unsigned got = atomic_load(&s->seen[p * PER_PRODUCER + i]);
      if (got != (i < n ? 1U : 0U)) {
        print_error("item %zu of producer %zu popped %u times (seed %u)\n", i, p, got,
                    (unsigned)STRESS_SEED);
        fail();
      }
    }
  }
  uint64_t v;
  assert_int_equal(rv_mpmc_try_pop(&s->q, &v), RV_EEMPTY);
  assert_int_equal(rv_mpmc_size_approx(&s->q), 0);
  free(s->payload);
  free(s->seen);
  free(storage);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_storage_size),  cmocka_unit_test(test_init_errors),
      cmocka_unit_test(test_fifo_and_wrap), cmocka_unit_test(test_batch),
      cmocka_unit_test(test_wait_timeouts), cmocka_unit_test(test_stress_exactly_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
