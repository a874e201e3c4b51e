/* mpmc-wait: the blocking (hosted-only) side of the mpmc queue.
 *
 * Every wait goes through one bounded back-off policy: spin (cheap, right
 * when the other side is running on another core), then yield (right when
 * the thread we wait for is preempted on our core), then sleep (stops a
 * long wait from burning a core). See rv_mpmc_push_wait() for the numbers.
 *
 * The spin is deliberately short (15 pauses in all). Measured with
 * bench-mpmc on a 2-core machine, 2 producers + 2 consumers: spinning up
 * to 1023 pauses before the first yield ran at about half the throughput
 * of 15, because with more threads than cores the thread being waited for
 * is often preempted on the spinner's own core; 1p1c was no faster with
 * the long spin either. */
#include <rivet/core/mpmc.h>

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rivet/core/err.h>

enum {
  SPIN_ROUNDS = 4,            /* rounds of 1, 2, 4, 8 pauses: short, see above */
  YIELD_ROUNDS = 32,          /* sched_yield() calls after spinning */
  SLEEP_MIN_NS = 1000,        /* first sleep: 1 us */
  SLEEP_MAX_NS = 1000 * 1000, /* longest sleep: 1 ms */
  NS_PER_S = 1000 * 1000 * 1000,
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield" ::: "memory");
#else
  atomic_signal_fence(memory_order_seq_cst); /* a compiler barrier at least */
#endif
}

static uint64_t now_ns(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail with a valid pointer on POSIX systems. */
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

typedef struct backoff {
  unsigned round;    /* calls so far in this wait */
  uint64_t sleep_ns; /* next sleep length */
  uint64_t deadline; /* absolute, or UINT64_MAX for none */
} backoff;

static void backoff_start(backoff *b, uint64_t timeout_ns) {
  b->round = 0;
  b->sleep_ns = SLEEP_MIN_NS;
  if (timeout_ns == RV_MPMC_FOREVER) {
    b->deadline = UINT64_MAX;
  } else {
    uint64_t now = now_ns();
    b->deadline = now + timeout_ns < now ? UINT64_MAX - 1 : now + timeout_ns;
  }
}

/* Start over after progress: the next wait begins with spinning again. */
static void backoff_reset(backoff *b) {
  b->round = 0;
  b->sleep_ns = SLEEP_MIN_NS;
}

/* Wait one step. Returns false once the deadline has passed. */
static bool backoff_wait(backoff *b) {
  if (b->round < SPIN_ROUNDS) {
    for (unsigned i = 0; i < (1U << b->round); i++) {
      cpu_relax();
    }
    b->round++;
    /* Spinning is short: check the clock only when a deadline exists. */
    return b->deadline == UINT64_MAX || now_ns() < b->deadline;
  }
  uint64_t now = now_ns();
  if (b->deadline != UINT64_MAX && now >= b->deadline) {
    return false;
  }
  if (b->round < SPIN_ROUNDS + YIELD_ROUNDS) {
    b->round++;
    (void)sched_yield(); /* cannot fail on Linux; a failure would only mean no yield */
    return true;
  }
  uint64_t ns = b->sleep_ns;
  if (b->deadline != UINT64_MAX && b->deadline - now < ns) {
    ns = b->deadline - now;
  }
  struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
  /* An early wake-up (EINTR) just means we retry sooner. */
  (void)nanosleep(&ts, NULL);
  if (b->sleep_ns < SLEEP_MAX_NS) {
    b->sleep_ns *= 2;
  }
  return true;
}

int rv_mpmc_push_wait(rv_mpmc *q, const void *elem, uint64_t timeout_ns) {
  if (rv_mpmc_try_push(q, elem) == RV_OK) {
    return RV_OK;
  }
  if (timeout_ns == 0) {
    return RV_ETIMEDOUT;
  }
  backoff b;
  backoff_start(&b, timeout_ns);
  while (backoff_wait(&b)) {
    if (rv_mpmc_try_push(q, elem) == RV_OK) {
      return RV_OK;
    }
  }
  return RV_ETIMEDOUT;
}

int rv_mpmc_pop_wait(rv_mpmc *q, void *elem, uint64_t timeout_ns) {
  if (rv_mpmc_try_pop(q, elem) == RV_OK) {
    return RV_OK;
  }
  if (timeout_ns == 0) {
    return RV_ETIMEDOUT;
  }
  backoff b;
  backoff_start(&b, timeout_ns);
  while (backoff_wait(&b)) {
    if (rv_mpmc_try_pop(q, elem) == RV_OK) {
      return RV_OK;
    }
  }
  return RV_ETIMEDOUT;
}

/* The batch waits share one loop; `move` is try_push_n or try_pop_n behind
 * one signature, and `buf` the caller's array of n elements. */
typedef size_t (*batch_fn)(rv_mpmc *q, const unsigned char *buf, size_t n);

static size_t push_some(rv_mpmc *q, const unsigned char *buf, size_t n) {
  return rv_mpmc_try_push_n(q, buf, n);
}

static size_t pop_some(rv_mpmc *q, const unsigned char *buf, size_t n) {
  /* The const is dropped only for pop, whose caller passed a writable array. */
  return rv_mpmc_try_pop_n(q, (unsigned char *)buf, n);
}

static int batch_wait(rv_mpmc *q, const unsigned char *buf, size_t n, uint64_t timeout_ns,
                      size_t *moved, batch_fn move) {
  size_t done = move(q, buf, n);
  int rc = RV_OK;
  if (done < n) {
    backoff b;
    backoff_start(&b, timeout_ns == 0 ? 1 : timeout_ns);
    while (done < n) {
      if (timeout_ns == 0 || !backoff_wait(&b)) {
        rc = RV_ETIMEDOUT;
        break;
      }
      size_t k = move(q, buf + done * rv_mpmc_elem_size(q), n - done);
      if (k > 0) {
        done += k;
        backoff_reset(&b);
      }
    }
  }
  if (moved) {
    *moved = done;
  }
  return rc;
}

int rv_mpmc_push_n_wait(rv_mpmc *q, const void *elems, size_t n, uint64_t timeout_ns,
                        size_t *pushed) {
  return batch_wait(q, elems, n, timeout_ns, pushed, push_some);
}

int rv_mpmc_pop_n_wait(rv_mpmc *q, void *elems, size_t n, uint64_t timeout_ns, size_t *popped) {
  return batch_wait(q, elems, n, timeout_ns, popped, pop_some);
}
