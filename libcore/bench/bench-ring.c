/* bench-ring: moving small messages from one thread to another.
 *
 * One operation = one 16-byte message (an 8-byte sequence number and 8
 * bytes of payload) written by a producer thread and read, checked, by the
 * consumer (the calling thread). What a C programmer would otherwise use, in
 * the same run:
 *   - a ring buffer guarded by a pthread mutex (baseline),
 *   - a pipe(2), the classic way to hand data from a signal handler or
 *     another thread to a main loop;
 * against rv_ring's record API (push/pop, 4-byte header per record) and its
 * byte API (write/read of 16 bytes). All rings have 4 KiB of storage; a
 * side that finds the ring full (or empty) yields the CPU and retries. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/core.h>
#include <rivet/perf/bench.h>

#define MSG 16u
#define STORAGE 4096u

typedef struct ctx ctx;

/* The baseline: the same power-of-two ring, every access under a mutex. */
typedef struct locked_ring {
  pthread_mutex_t mu;
  unsigned char buf[STORAGE];
  size_t head, tail;
} locked_ring;

struct ctx {
  size_t messages; /* per repetition */
  int variant;     /* which transport run_* uses */
  locked_ring locked;
  rv_ring ring;
  unsigned char storage[STORAGE];
  int fds[2];
  _Atomic int failed; /* set by either thread */
};

enum { V_LOCKED, V_PIPE, V_RV_REC, V_RV_BYTES };

static void make_msg(unsigned char *m, uint64_t seq) {
  memcpy(m, &seq, sizeof seq);
  uint64_t payload = seq * 0x9e3779b97f4a7c15ULL;
  memcpy(m + 8, &payload, sizeof payload);
}

static int check_msg(const unsigned char *m, uint64_t seq) {
  unsigned char want[MSG];
  make_msg(want, seq);
  return memcmp(m, want, MSG) == 0;
}

static int locked_push(locked_ring *q, const unsigned char *m) {
  int ok = 0;
  pthread_mutex_lock(&q->mu);
  if (STORAGE - (q->head - q->tail) >= MSG) {
    /* MSG divides STORAGE, so a message never straddles the end. */
    memcpy(q->buf + (q->head & (STORAGE - 1)), m, MSG);
    q->head += MSG;
    ok = 1;
  }
  pthread_mutex_unlock(&q->mu);
  return ok;
}

static int locked_pop(locked_ring *q, unsigned char *m) {
  int ok = 0;
  pthread_mutex_lock(&q->mu);
  if (q->head != q->tail) {
    memcpy(m, q->buf + (q->tail & (STORAGE - 1)), MSG);
    q->tail += MSG;
    ok = 1;
  }
  pthread_mutex_unlock(&q->mu);
  return ok;
}

/* One attempt to send; 0 when the transport is full (never for a pipe,
 * whose write blocks instead). */
static int produce_one(ctx *c, const unsigned char *m) {
  switch (c->variant) {
  case V_LOCKED:
    return locked_push(&c->locked, m);
  case V_PIPE:
    if (write(c->fds[1], m, MSG) != (ssize_t)MSG) {
      c->failed = 1;
    }
    return 1;
  case V_RV_REC:
    return rv_ring_rec_push(&c->ring, m, MSG) == RV_OK;
  default:
    return rv_ring_write(&c->ring, m, MSG) == MSG; /* 16 divides 4096: all or nothing */
  }
}

static void *producer(void *arg) {
  ctx *c = arg;
  unsigned char m[MSG];
  for (uint64_t seq = 0; seq < c->messages; seq++) {
    make_msg(m, seq);
    while (!produce_one(c, m)) {
      sched_yield();
    }
  }
  return NULL;
}

static int consume_one(ctx *c, unsigned char *m) {
  size_t len;
  switch (c->variant) {
  case V_LOCKED:
    return locked_pop(&c->locked, m);
  case V_PIPE:
    return read(c->fds[0], m, MSG) == (ssize_t)MSG; /* blocks while empty */
  case V_RV_REC:
    return rv_ring_rec_pop(&c->ring, m, MSG, &len) == RV_OK && len == MSG;
  default:
    return rv_ring_read(&c->ring, m, MSG) == MSG;
  }
}

static void run(void *arg) {
  ctx *c = arg;
  pthread_t t;
  if (pthread_create(&t, NULL, producer, c) != 0) {
    c->failed = 1;
    return;
  }
  unsigned char m[MSG];
  for (uint64_t seq = 0; seq < c->messages && !c->failed; seq++) {
    while (!consume_one(c, m)) {
      if (c->variant == V_PIPE) { /* a blocking read only fails on error */
        c->failed = 1;
        break;
      }
      sched_yield();
    }
    if (!check_msg(m, seq)) {
      c->failed = 1;
    }
  }
  pthread_join(t, NULL);
  rv_bench_do_not_optimize(m);
}

/* Same thread: send a batch, then receive it; no scheduling involved, so
 * this measures the calls themselves (the interrupt-to-main-loop pattern
 * on a single core). */
#define BATCH 128u

static void run_batches(void *arg) {
  ctx *c = arg;
  unsigned char m[MSG];
  for (uint64_t base = 0; base < c->messages; base += BATCH) {
    for (uint64_t seq = base; seq < base + BATCH; seq++) {
      make_msg(m, seq);
      if (!produce_one(c, m)) { /* a batch always fits in 4 KiB */
        c->failed = 1;
      }
    }
    for (uint64_t seq = base; seq < base + BATCH; seq++) {
      if (!consume_one(c, m) || !check_msg(m, seq)) {
        c->failed = 1;
      }
    }
  }
  rv_bench_do_not_optimize(m);
}

int main(int argc, char **argv) {
  rv_bench *b = NULL;
  if (rv_bench_create(&b, "ring", argc, argv, NULL) != RV_OK) {
    return 2;
  }
  int status = 1;
  int mutex_ok = 0;
  ctx *v[4] = {NULL, NULL, NULL, NULL}; /* one context per variant: the cases share nothing */
  size_t messages = rv_bench_pick(b, 102400, 5120); /* multiples of BATCH */
  for (int i = 0; i < 4; i++) {
    v[i] = calloc(1, sizeof *v[i]);
    if (!v[i]) {
      goto fail;
    }
    v[i]->messages = messages;
    v[i]->variant = i;
    v[i]->fds[0] = v[i]->fds[1] = -1;
  }
  mutex_ok = pthread_mutex_init(&v[V_LOCKED]->locked.mu, NULL) == 0;
  if (!mutex_ok || pipe(v[V_PIPE]->fds) != 0 ||
      rv_ring_init(&v[V_RV_REC]->ring, v[V_RV_REC]->storage, STORAGE) != RV_OK ||
      rv_ring_init(&v[V_RV_BYTES]->ring, v[V_RV_BYTES]->storage, STORAGE) != RV_OK) {
    fprintf(stderr, "bench-ring: set-up failed\n");
    goto fail;
  }
  const char *group = "16 B messages, thread to thread";
  const char *same = "16 B messages, same thread, batches of 128";
  const rv_bench_case cases[] = {
      {.name = "mutex+ring",
       .group = same,
       .fn = run_batches,
       .ctx = v[V_LOCKED],
       .ops = messages,
       .baseline = true},
      {.name = "pipe", .group = same, .fn = run_batches, .ctx = v[V_PIPE], .ops = messages},
      {.name = "rv_ring_rec_push/pop",
       .group = same,
       .fn = run_batches,
       .ctx = v[V_RV_REC],
       .ops = messages},
      {.name = "rv_ring_write/read",
       .group = same,
       .fn = run_batches,
       .ctx = v[V_RV_BYTES],
       .ops = messages},
      {.name = "mutex+ring",
       .group = group,
       .fn = run,
       .ctx = v[V_LOCKED],
       .ops = messages,
       .baseline = true},
      {.name = "pipe", .group = group, .fn = run, .ctx = v[V_PIPE], .ops = messages},
      {.name = "rv_ring_rec_push/pop",
       .group = group,
       .fn = run,
       .ctx = v[V_RV_REC],
       .ops = messages},
      {.name = "rv_ring_write/read",
       .group = group,
       .fn = run,
       .ctx = v[V_RV_BYTES],
       .ops = messages},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = rv_bench_add(b, &cases[i]);
    if (rc != RV_OK) {
      fprintf(stderr, "bench-ring: cannot add '%s': %s\n", cases[i].name, rv_strerror(rc));
      goto fail;
    }
  }
  int rc = rv_bench_run(b);
  if (rc != RV_OK) {
    fprintf(stderr, "bench-ring: %s\n", rv_strerror(rc));
    goto fail;
  }
  for (int i = 0; i < 4; i++) {
    if (v[i]->failed) {
      fprintf(stderr, "bench-ring: %s delivered a wrong message\n", cases[4 + i].name);
      goto fail;
    }
  }
  status = 0;
fail:
  for (int i = 0; i < 4; i++) {
    if (v[i]) {
      if (v[i]->fds[0] >= 0) {
        close(v[i]->fds[0]);
        close(v[i]->fds[1]);
      }
      if (i == V_LOCKED && mutex_ok) {
        pthread_mutex_destroy(&v[i]->locked.mu);
      }
      free(v[i]);
    }
  }
  rv_bench_destroy(b);
  return status;
}
