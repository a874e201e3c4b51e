/* pool: producers and consumers sharing one fixed-size block pool.
 *
 * All message memory is one static buffer, carved into 64-byte blocks by
 * rv_pool_init_buffer(): no malloc after start-up, and a hard bound on
 * memory in flight. Producers take a block (through their own rv_pool_cache),
 * write a message into it and queue the pointer; consumers check the message
 * and put the block back (rv_pool_put: any thread may return any block).
 * When every block is in flight a producer finds the pool empty and yields:
 * the pool's size is the back-pressure.
 *
 *   pool [MESSAGES]      (default 200000; per producer)
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core.h>

enum { PRODUCERS = 2, CONSUMERS = 2, BLOCKS = 64 };

/* One message fills one block. */
typedef struct msg {
  uint32_t producer;
  uint32_t seq;
  uint64_t check; /* a hash of text, recomputed by the consumer */
  char text[48];
} msg;
_Static_assert(sizeof(msg) == 64, "a message is one 64-byte block");

/* Bounded so that the sum of all sequence numbers fits in 64 bits. */
#define MAX_MESSAGES 1000000000ul

static unsigned char pool_mem[RV_POOL_BUFFER_SIZE(sizeof(msg), BLOCKS)];
static rv_pool pool;

/* A small blocking FIFO of block pointers (mutex + condition variables).
 * It holds BLOCKS + CONSUMERS entries, so it can never be full: at most
 * BLOCKS messages exist at once, plus one end marker per consumer. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t nonempty;
  msg *items[BLOCKS + CONSUMERS];
  size_t head, count;
} queue = {.lock = PTHREAD_MUTEX_INITIALIZER, .nonempty = PTHREAD_COND_INITIALIZER};

static void queue_push(msg *m) {
  pthread_mutex_lock(&queue.lock);
  queue.items[(queue.head + queue.count) % (BLOCKS + CONSUMERS)] = m;
  queue.count++;
  pthread_cond_signal(&queue.nonempty);
  pthread_mutex_unlock(&queue.lock);
}

static msg *queue_pop(void) {
  pthread_mutex_lock(&queue.lock);
  while (queue.count == 0) {
    pthread_cond_wait(&queue.nonempty, &queue.lock);
  }
  msg *m = queue.items[queue.head];
  queue.head = (queue.head + 1) % (BLOCKS + CONSUMERS);
  queue.count--;
  pthread_mutex_unlock(&queue.lock);
  return m;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603u;
  for (; *s; s++) {
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  }
  return h;
}

typedef struct worker {
  uint32_t id;
  uint32_t messages;
  uint64_t waits;   /* producer: times the pool was empty */
  uint64_t seq_sum; /* consumer: sum of sequence numbers received */
  uint64_t count;   /* consumer: messages received */
  int bad;          /* consumer: messages that failed their check */
} worker;

static void *producer(void *arg) {
  worker *w = arg;
  rv_pool_cache cache; /* this thread's batch of blocks: fewer shared CASes */
  rv_pool_cache_init(&cache, &pool);
  for (uint32_t seq = 0; seq < w->messages; seq++) {
    msg *m;
    while ((m = rv_pool_cache_get(&cache)) == NULL) {
      w->waits++; /* every block is in flight: let the consumers catch up */
      sched_yield();
    }
    m->producer = w->id;
    m->seq = seq;
    snprintf(m->text, sizeof m->text, "producer %" PRIu32 " says %" PRIu32, w->id, seq);
    m->check = fnv1a(m->text);
    queue_push(m);
  }
  rv_pool_cache_flush(&cache); /* hand unused blocks back before leaving */
  return NULL;
}

static void *consumer(void *arg) {
  worker *w = arg;
  msg *m;
  while ((m = queue_pop()) != NULL) {
    if (m->check != fnv1a(m->text) || m->producer >= PRODUCERS) {
      w->bad++;
    }
    w->seq_sum += m->seq;
    w->count++;
    rv_pool_put(&pool, m); /* any thread may return any block */
  }
  return NULL;
}

int main(int argc, char **argv) {
  unsigned long n = 200000;
  if (argc > 2 || (argc == 2 && (n = strtoul(argv[1], NULL, 10)) == 0) || n > MAX_MESSAGES) {
    fprintf(stderr, "usage: %s [MESSAGES]   (1 to %lu per producer)\n", argv[0], MAX_MESSAGES);
    return 2;
  }
  int rc = rv_pool_init_buffer(&pool, pool_mem, sizeof pool_mem, sizeof(msg));
  if (rc != RV_OK) {
    fprintf(stderr, "pool: %s\n", rv_strerror(rc));
    return 1;
  }
  rv_pool_stats st;
  rv_pool_stats_get(&pool, &st);
  printf("pool: %zu blocks of %zu bytes (aligned to %zu) in a %zu-byte static buffer\n", st.nblocks,
         st.block_size, st.block_align, sizeof pool_mem);
  printf("%d producers x %lu messages, %d consumers\n", PRODUCERS, n, CONSUMERS);

  pthread_t tp[PRODUCERS], tc[CONSUMERS];
  worker wp[PRODUCERS] = {0}, wc[CONSUMERS] = {0};
  for (int i = 0; i < CONSUMERS; i++) {
    if ((rc = pthread_create(&tc[i], NULL, consumer, &wc[i])) != 0) {
      fprintf(stderr, "pool: cannot start a thread: %s\n", strerror(rc));
      return 1;
    }
  }
  for (int i = 0; i < PRODUCERS; i++) {
    wp[i].id = (uint32_t)i;
    wp[i].messages = (uint32_t)n;
    if ((rc = pthread_create(&tp[i], NULL, producer, &wp[i])) != 0) {
      fprintf(stderr, "pool: cannot start a thread: %s\n", strerror(rc));
      return 1;
    }
  }
  uint64_t waits = 0;
  for (int i = 0; i < PRODUCERS; i++) {
    pthread_join(tp[i], NULL);
    waits += wp[i].waits;
  }
  for (int i = 0; i < CONSUMERS; i++) {
    queue_push(NULL); /* one end marker per consumer */
  }
  uint64_t count = 0, seq_sum = 0;
  int bad = 0;
  for (int i = 0; i < CONSUMERS; i++) {
    pthread_join(tc[i], NULL);
    count += wc[i].count;
    seq_sum += wc[i].seq_sum;
    bad += wc[i].bad;
    printf("consumer %d: %" PRIu64 " messages\n", i, wc[i].count);
  }

  /* Every producer sent 0..n-1 once: the sequence numbers must add up. */
  uint64_t want = (uint64_t)PRODUCERS * ((uint64_t)n * (n - 1) / 2);
  rv_pool_stats_get(&pool, &st);
  printf("received %" PRIu64 " of %" PRIu64 " messages, %d failed their check, sequence sum %s\n",
         count, (uint64_t)PRODUCERS * n, bad, seq_sum == want ? "ok" : "WRONG");
  printf("peak blocks in use: %zu of %zu; producers found the pool empty %" PRIu64 " times\n",
         st.peak_in_use, st.nblocks, waits);
  printf("blocks in use at exit: %zu\n", st.in_use);
  int ok = count == (uint64_t)PRODUCERS * n && bad == 0 && seq_sum == want && st.in_use == 0;
  rv_pool_free(&pool);
  return ok ? 0 : 1;
}
