/* logbuf: a double-buffered log sink. Producers append to `front` under
 * `mu`; the writer thread swaps `front` and `back` under `mu` and writes
 * `back` without holding it, so producers only ever wait for a memcpy,
 * or for room when the whole capacity is waiting. */
#include <rivet/core/logbuf.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

struct rv_logbuf {
  const rv_alloc *alloc;
  int fd;
  size_t cap;
  uint64_t flush_ns;
  rv_log_level urgent_level;
  pthread_mutex_t mu;
  pthread_cond_t work; /* the writer waits here */
  pthread_cond_t room; /* producers and flushers wait here */
  pthread_t thread;
  char *front, *back;
  size_t front_len;
  uint64_t front_since; /* monotonic ns when the first line of `front` came */
  uint64_t accepted;    /* bytes accepted so far */
  uint64_t completed;   /* bytes written or dropped so far */
  bool urgent;
  bool stop;
  int err; /* a write error not yet reported */
  rv_logbuf_stats stats;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The batch is due: asked for, half the capacity used, or old enough. */
static bool due(const rv_logbuf *b, uint64_t now) {
  return b->front_len > 0 && (b->urgent || b->stop || b->front_len >= b->cap / 2 ||
                              now - b->front_since >= b->flush_ns);
}

static void *writer_main(void *arg) {
  rv_logbuf *b = arg;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    uint64_t now = now_ns();
    while (!due(b, now) && !(b->stop && b->front_len == 0)) {
      if (b->front_len == 0) {
        pthread_cond_wait(&b->work, &b->mu);
      } else {
        uint64_t at = b->front_since + b->flush_ns;
        struct timespec ts = {.tv_sec = (time_t)(at / 1000000000u),
                              .tv_nsec = (long)(at % 1000000000u)};
        pthread_cond_timedwait(&b->work, &b->mu, &ts);
      }
      now = now_ns();
    }
    if (b->front_len == 0) { /* stop requested, nothing left */
      break;
    }
    char *batch = b->front;
    size_t len = b->front_len;
    b->front = b->back;
    b->back = batch;
    b->front_len = 0;
    b->urgent = false;
    pthread_cond_broadcast(&b->room); /* the new front is empty */
    pthread_mutex_unlock(&b->mu);
    int rc = rv_log_sink_fd(&b->fd, RV_LOG_INFO, batch, len); /* write(2) until done */
    pthread_mutex_lock(&b->mu);
    if (rc == RV_OK) {
      b->stats.writes++;
    } else {
      b->stats.dropped_bytes += len;
      b->err = rc;
    }
    b->completed += len;
    pthread_cond_broadcast(&b->room);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

static void free_buffers(rv_logbuf *b) {
  if (b->front != NULL) {
    rv_alloc_free(b->alloc, b->front, b->cap);
  }
  if (b->back != NULL) {
    rv_alloc_free(b->alloc, b->back, b->cap);
  }
}

int rv_logbuf_create(rv_logbuf **out, const rv_logbuf_options *opts) {
  if (out == NULL || opts == NULL || opts->fd < 0) {
    return RV_EINVAL;
  }
  size_t cap = opts->capacity != 0 ? opts->capacity : RV_LOGBUF_CAPACITY_DEFAULT;
  uint32_t flush_ms = opts->flush_ms != 0 ? opts->flush_ms : RV_LOGBUF_FLUSH_MS_DEFAULT;
  rv_log_level urgent = opts->urgent_level != 0 ? opts->urgent_level : RV_LOG_ERROR;
  if (cap < RV_LOGBUF_CAPACITY_MIN || flush_ms > 60000u || (int)urgent < RV_LOG_TRACE ||
      (int)urgent > RV_LOG_OFF) {
    return RV_EINVAL;
  }
  rv_logbuf *b = rv_alloc_get(opts->alloc, sizeof *b, _Alignof(rv_logbuf));
  if (b == NULL) {
    return RV_ENOMEM;
  }
  memset(b, 0, sizeof *b);
  b->alloc = opts->alloc;
  b->fd = opts->fd;
  b->cap = cap;
  b->flush_ns = (uint64_t)flush_ms * 1000000u;
  b->urgent_level = urgent;
  b->front = rv_alloc_get(b->alloc, cap, 1);
  b->back = rv_alloc_get(b->alloc, cap, 1);
  int rc = RV_ENOMEM;
  if (b->front == NULL || b->back == NULL) {
    goto fail_buffers;
  }
  pthread_condattr_t ca;
  rc = pthread_condattr_init(&ca);
  if (rc != 0) {
    rc = rv_err_from_errno(rc);
    goto fail_buffers;
  }
  (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timedwait deadlines use it */
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->work, &ca);
  pthread_cond_init(&b->room, NULL);
  pthread_condattr_destroy(&ca);
  rc = pthread_create(&b->thread, NULL, writer_main, b);
  if (rc != 0) {
    rc = rv_err_from_errno(rc);
    pthread_cond_destroy(&b->room);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    goto fail_buffers;
  }
  *out = b;
  return RV_OK;
fail_buffers:
  free_buffers(b);
  rv_alloc_free(opts->alloc, b, sizeof *b);
  return rc;
}

int rv_logbuf_destroy(rv_logbuf *b) {
  if (b == NULL) {
    return RV_OK;
  }
  pthread_mutex_lock(&b->mu);
  b->stop = true;
  pthread_cond_signal(&b->work);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->thread, NULL);
  int rc = b->err;
  pthread_cond_destroy(&b->room);
  pthread_cond_destroy(&b->work);
  pthread_mutex_destroy(&b->mu);
  free_buffers(b);
  rv_alloc_free(b->alloc, b, sizeof *b);
  return rc;
}

/* Report a pending write error once; called with mu held. */
static int take_err(rv_logbuf *b) {
  int rc = b->err;
  b->err = RV_OK;
  return rc;
}

int rv_logbuf_sink(void *ctx, rv_log_level level, const char *line, size_t len) {
  rv_logbuf *b = ctx;
  if (b == NULL || (line == NULL && len > 0)) {
    return RV_EINVAL;
  }
  if (len > b->cap) {
    return RV_ELIMIT;
  }
  pthread_mutex_lock(&b->mu);
  if (b->front_len + len > b->cap) {
    b->stats.waits++;
    b->urgent = true;
    pthread_cond_signal(&b->work);
    while (b->front_len + len > b->cap) {
      pthread_cond_wait(&b->room, &b->mu);
    }
  }
  if (b->front_len == 0) {
    b->front_since = now_ns();
  }
  if (len > 0) {
    memcpy(b->front + b->front_len, line, len);
  }
  b->front_len += len;
  b->accepted += len;
  b->stats.lines++;
  b->stats.bytes += len;
  bool wake = level >= b->urgent_level || b->front_len >= b->cap / 2 || b->front_len == len;
  if (level >= b->urgent_level) {
    b->urgent = true;
  }
  if (wake) { /* the first line arms the writer's timer; the rest only when due */
    pthread_cond_signal(&b->work);
  }
  int rc = take_err(b);
  pthread_mutex_unlock(&b->mu);
  return rc;
}

int rv_logbuf_flush(rv_logbuf *b) {
  if (b == NULL) {
    return RV_EINVAL;
  }
  pthread_mutex_lock(&b->mu);
  uint64_t target = b->accepted;
  if (b->completed < target) {
    b->urgent = true;
    pthread_cond_signal(&b->work);
    while (b->completed < target) {
      pthread_cond_wait(&b->room, &b->mu);
    }
  }
  int rc = take_err(b);
  pthread_mutex_unlock(&b->mu);
  return rc;
}

void rv_logbuf_get_stats(rv_logbuf *b, rv_logbuf_stats *out) {
  pthread_mutex_lock(&b->mu);
  *out = b->stats;
  pthread_mutex_unlock(&b->mu);
}
