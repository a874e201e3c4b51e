/* workers: a fixed thread pool fed by an rv_mpmc queue.
 *
 * Counters (all atomics, seq_cst unless a comment says otherwise):
 *   pending   jobs accepted and not yet finished (queued or running);
 *   queued    jobs pushed and not yet popped;
 *   sleepers  workers inside the condition-variable wait section.
 * Jobs move through the lock-free queue; the mutex is taken only to sleep,
 * to wake sleepers, and for wait/shutdown. Two Dekker-style handshakes
 * avoid lost wake-ups, and they are why those operations are seq_cst:
 *   - a worker going to sleep does sleepers++ then reads queued (under the
 *     mutex); a submitter does queued++ then reads sleepers, and signals
 *     under the mutex if it saw a sleeper. In the single total order of
 *     seq_cst operations one of the two sees the other's increment.
 *   - a submitter does pending++ then reads stopping; shutdown stores
 *     stopping then (workers) read pending. Either the submitter sees
 *     stopping and backs out, or the workers see its pending job and stay.
 * Every wake-up (signal/broadcast) is done with the mutex held, after the
 * state change it announces, so a waiter that checked the state under the
 * mutex is already waiting when the wake-up comes. */
#include <rivet/core/workers.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rivet/core/err.h>
#include <rivet/core/mpmc.h>

enum { MAX_THREADS = 1024, POP_WAIT_NS = 1000 * 1000 };

typedef struct job {
  rv_workers_fn fn;
  void *arg;
} job;

struct rv_workers {
  rv_mpmc q; /* first: its cache-line alignment sets the struct's */
  const rv_alloc *alloc;
  void *cells;
  size_t cells_size;
  pthread_t *threads;
  size_t nthreads;
  atomic_size_t pending;
  atomic_size_t queued;
  atomic_size_t sleepers;
  atomic_bool stopping;
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* a job arrived, or shutdown can proceed */
  pthread_cond_t idle_cv; /* pending reached 0 */
  pthread_mutex_t shut_mu;
  bool joined; /* under shut_mu */
};

/* The pool whose worker this thread is, NULL elsewhere: lets submit run a
 * job inline instead of waiting, and wait/shutdown refuse self-waits. */
static _Thread_local rv_workers *tls_pool;

/* A job finished (or a submission backed out): wake waiters when the pool
 * becomes idle. Workers are woken too, so that during shutdown they see
 * pending == 0 and exit; outside shutdown they re-check and sleep again. */
static void finish_one(rv_workers *w) {
  if (atomic_fetch_sub(&w->pending, 1) == 1) {
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->idle_cv);
    pthread_cond_broadcast(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
  }
}

static void run(rv_workers *w, const job *j) {
  j->fn(j->arg);
  finish_one(w);
}

static void *worker_main(void *arg) {
  rv_workers *w = arg;
  tls_pool = w;
  job j;
  for (;;) {
    int rc = rv_mpmc_try_pop(&w->q, &j);
    if (rc != RV_OK && atomic_load(&w->queued) > 0) {
      /* A job is on its way: its producer may be between claiming and
       * publishing the cell (see mpmc.h), or another worker takes it
       * first. Waiting briefly beats going to sleep. */
      rc = rv_mpmc_pop_wait(&w->q, &j, POP_WAIT_NS);
    }
    if (rc == RV_OK) {
      atomic_fetch_sub(&w->queued, 1);
      run(w, &j);
      continue;
    }
    if (atomic_load(&w->queued) > 0) {
      continue;
    }
    pthread_mutex_lock(&w->mu);
    atomic_fetch_add(&w->sleepers, 1);
    bool done = false;
    for (;;) {
      if (atomic_load(&w->queued) > 0) {
        break;
      }
      if (atomic_load(&w->stopping) && atomic_load(&w->pending) == 0) {
        done = true;
        break;
      }
      pthread_cond_wait(&w->work_cv, &w->mu);
    }
    atomic_fetch_sub(&w->sleepers, 1);
    pthread_mutex_unlock(&w->mu);
    if (done) {
      break;
    }
  }
  tls_pool = NULL;
  return NULL;
}

static int submit(rv_workers *w, rv_workers_fn fn, void *arg, bool may_wait) {
  if (!w || !fn) {
    return RV_EINVAL;
  }
  bool inside = tls_pool == w;
  atomic_fetch_add(&w->pending, 1);
  /* A worker's submission is accepted even during shutdown: its parent job
   * is still pending, so the workers are still there to run it. */
  if (!inside && atomic_load(&w->stopping)) {
    finish_one(w);
    return RV_ECLOSED;
  }
  job j = {fn, arg};
  if (rv_mpmc_try_push(&w->q, &j) != RV_OK) {
    if (!may_wait) {
      finish_one(w);
      return RV_EFULL;
    }
    if (inside) {
      run(w, &j); /* never wait on our own full queue: it could be forever */
      return RV_OK;
    }
    /* Workers are running (pending > 0 keeps them), so a cell frees up. */
    (void)rv_mpmc_push_wait(&w->q, &j, RV_MPMC_FOREVER);
  }
  atomic_fetch_add(&w->queued, 1);
  if (atomic_load(&w->sleepers) > 0) {
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
  }
  return RV_OK;
}

int rv_workers_submit(rv_workers *w, rv_workers_fn fn, void *arg) {
  return submit(w, fn, arg, true);
}

int rv_workers_try_submit(rv_workers *w, rv_workers_fn fn, void *arg) {
  return submit(w, fn, arg, false);
}

int rv_workers_wait(rv_workers *w) {
  if (!w) {
    return RV_EINVAL;
  }
  if (tls_pool == w) {
    return RV_ESTATE;
  }
  pthread_mutex_lock(&w->mu);
  while (atomic_load(&w->pending) > 0) {
    pthread_cond_wait(&w->idle_cv, &w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return RV_OK;
}

/* Stop the first `started` threads (all of them, or those started before
 * a failure) and join them. */
static void stop_and_join(rv_workers *w, size_t started) {
  atomic_store(&w->stopping, true);
  pthread_mutex_lock(&w->mu);
  pthread_cond_broadcast(&w->work_cv);
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < started; i++) {
    pthread_join(w->threads[i], NULL);
  }
}

int rv_workers_shutdown(rv_workers *w) {
  if (!w) {
    return RV_EINVAL;
  }
  if (tls_pool == w) {
    return RV_ESTATE;
  }
  pthread_mutex_lock(&w->shut_mu);
  if (!w->joined) {
    stop_and_join(w, w->nthreads);
    w->joined = true;
  }
  pthread_mutex_unlock(&w->shut_mu);
  return RV_OK;
}

size_t rv_workers_count(const rv_workers *w) { return w->nthreads; }

int rv_workers_create(rv_workers **out, const rv_alloc *alloc, size_t nthreads, size_t queue_cap) {
  size_t cells_size = 0;
  if (!out || nthreads == 0 || nthreads > MAX_THREADS) {
    return RV_EINVAL;
  }
  int rc = rv_mpmc_storage_size(queue_cap, sizeof(job), &cells_size);
  if (rc != RV_OK) {
    return rc;
  }
  /* Cache-line alignment: the struct embeds the queue, whose positions are
   * aligned to RV_MPMC_CACHE_LINE. */
  rv_workers *w = rv_alloc_get(alloc, sizeof(*w), _Alignof(rv_workers));
  if (!w) {
    return RV_ENOMEM;
  }
  int stage = 0; /* how much of the set-up to undo */
  rc = RV_ENOMEM;
  w->alloc = alloc;
  w->nthreads = nthreads;
  w->cells_size = cells_size;
  w->joined = false;
  atomic_init(&w->pending, 0);
  atomic_init(&w->queued, 0);
  atomic_init(&w->sleepers, 0);
  atomic_init(&w->stopping, false);
  w->cells = rv_alloc_get(alloc, cells_size, RV_MPMC_STORAGE_ALIGN);
  w->threads = rv_alloc_array(alloc, nthreads, sizeof(pthread_t), _Alignof(pthread_t));
  if (!w->cells || !w->threads) {
    goto fail;
  }
  /* Cannot fail: the storage was sized and aligned for these arguments. */
  (void)rv_mpmc_init(&w->q, w->cells, cells_size, queue_cap, sizeof(job));
  rc = RV_EAGAIN;
  if (pthread_mutex_init(&w->mu, NULL) != 0) {
    goto fail;
  }
  stage = 1;
  if (pthread_mutex_init(&w->shut_mu, NULL) != 0) {
    goto fail;
  }
  stage = 2;
  if (pthread_cond_init(&w->work_cv, NULL) != 0) {
    goto fail;
  }
  stage = 3;
  if (pthread_cond_init(&w->idle_cv, NULL) != 0) {
    goto fail;
  }
  stage = 4;
  for (size_t i = 0; i < nthreads; i++) {
    if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
      stop_and_join(w, i);
      goto fail;
    }
  }
  *out = w;
  return RV_OK;

fail:
  if (stage >= 4) {
    pthread_cond_destroy(&w->idle_cv);
  }
  if (stage >= 3) {
    pthread_cond_destroy(&w->work_cv);
  }
  if (stage >= 2) {
    pthread_mutex_destroy(&w->shut_mu);
  }
  if (stage >= 1) {
    pthread_mutex_destroy(&w->mu);
  }
  rv_alloc_free(alloc, w->threads, w->threads ? nthreads * sizeof(pthread_t) : 0);
  rv_alloc_free(alloc, w->cells, cells_size);
  rv_alloc_free(alloc, w, sizeof(*w));
  return rc;
}

void rv_workers_destroy(rv_workers *w) {
  if (!w) {
    return;
  }
  (void)rv_workers_shutdown(w);
  pthread_cond_destroy(&w->idle_cv);
  pthread_cond_destroy(&w->work_cv);
  pthread_mutex_destroy(&w->shut_mu);
  pthread_mutex_destroy(&w->mu);
  const rv_alloc *alloc = w->alloc;
  rv_alloc_free(alloc, w->threads, w->nthreads * sizeof(pthread_t));
  rv_alloc_free(alloc, w->cells, w->cells_size);
  rv_alloc_free(alloc, w, sizeof(*w));
}
