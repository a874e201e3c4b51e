/**
 * \file rivet/core/workers.h
 * \brief A fixed pool of threads running jobs from an ::rv_mpmc queue.
 *
 * A job is a function and an argument. rv_workers_submit() puts it on a
 * bounded MPMC queue; one of the pool's threads takes it and runs it. Idle
 * threads sleep on a condition variable (they do not spin), and wake when
 * a job arrives.
 *
 * **Guarantees.**
 * - *Exactly once:* every job whose submit returned 0 runs exactly once,
 *   on one of the pool's threads (or, see below, on the submitting worker
 *   thread itself).
 * - *No job lost at shutdown:* rv_workers_shutdown() stops taking jobs
 *   from other threads, then runs every job already accepted, including
 *   jobs that running jobs submit while the pool drains, and only then
 *   joins the threads.
 * - *No thread leaked:* after rv_workers_shutdown() (or
 *   rv_workers_destroy()) returns, every thread the pool started has been
 *   joined.
 * - *No deadlock on a full queue from inside a job:* a job that submits
 *   to its own pool while the queue is full runs the new job itself,
 *   inline, instead of waiting for a free cell (which could wait forever
 *   if every worker were doing the same).
 * - A job's effects happen before rv_workers_wait() or
 *   rv_workers_shutdown() returns (the pool's counters and mutex order
 *   them), and a submitter's writes before rv_workers_submit() happen
 *   before the job runs (the queue's release/acquire hand-off).
 * - Idle workers never miss a job: the sleep/wake and shutdown
 *   handshakes use sequentially consistent counters (a worker announces
 *   it is going to sleep before its last look at the queue; a submitter
 *   publishes its job before looking for sleepers), and every wake-up is
 *   sent with the pool's mutex held.
 *
 * **Ownership.** rv_workers_create() allocates the pool, its queue and its
 * thread table from the given allocator; rv_workers_destroy() frees them.
 * Job arguments are the caller's: the pool never reads or frees them.
 *
 * **Thread safety.** rv_workers_submit(), rv_workers_try_submit() and
 * rv_workers_wait() may be called from any thread, including from jobs.
 * rv_workers_shutdown() may be called from any thread but a worker (a job
 * calling it gets #RV_ESTATE). rv_workers_destroy() must be the last call
 * on the pool, made once, by a thread that is not a worker.
 *
 * Hosted only (POSIX threads). Link with `-pthread` (pkg-config does it).
 */
#pragma once

#include <stddef.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_workers workers: fixed thread pool
 *  \{ */

/** \brief A thread pool (opaque). */
typedef struct rv_workers rv_workers;

/**
 * \brief A job: called once with the argument given at submission.
 *
 * It runs on a pool thread (or inline in a worker, see
 * rv_workers_submit()). It may submit further jobs to any pool. On its own
 * pool it must not call rv_workers_destroy(); rv_workers_wait() and
 * rv_workers_shutdown() refuse with #RV_ESTATE, since they would wait for
 * the calling job itself.
 */
typedef void (*rv_workers_fn)(void *arg);

/**
 * \brief Start a pool of \p nthreads threads and a job queue of
 *        \p queue_cap entries.
 * \param[out] out        the new pool; untouched on error
 * \param[in]  alloc      allocator for the pool's memory, or NULL for the default
 * \param[in]  nthreads   threads to start, 1 ... 1024
 * \param[in]  queue_cap  queue capacity, a power of two >= 2
 * \return 0; #RV_EINVAL for a NULL \p out, \p nthreads out of range or a
 *         bad \p queue_cap; #RV_EOVERFLOW if the queue size does not fit;
 *         #RV_ENOMEM if an allocation failed; #RV_EAGAIN if the system
 *         refused to create a thread or synchronisation object. On error
 *         nothing is left allocated and no thread is left running.
 * \since 0.2.0
 */
RV_API int rv_workers_create(rv_workers **out, const rv_alloc *alloc, size_t nthreads,
                             size_t queue_cap);

/**
 * \brief Submit a job, waiting for room if the queue is full.
 *
 * From a thread outside the pool it waits (spin, yield, then short
 * sleeps) until a worker frees a cell. From one of this pool's own
 * workers it never waits: if the queue is full it runs \p fn inline
 * before returning (a job that keeps doing this nests on the worker's
 * stack, one frame per level, like a recursive call).
 * \param[in] w    the pool
 * \param[in] fn   the job function, not NULL
 * \param[in] arg  passed to \p fn; may be NULL
 * \return 0 (the job will run exactly once), #RV_EINVAL if \p w or \p fn
 *         is NULL, or #RV_ECLOSED if rv_workers_shutdown() has started
 *         and the caller is not one of the pool's workers (the job will
 *         not run). Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_workers_submit(rv_workers *w, rv_workers_fn fn, void *arg);

/**
 * \brief Submit a job only if the queue has room now.
 * \param[in] w    the pool
 * \param[in] fn   the job function, not NULL
 * \param[in] arg  passed to \p fn; may be NULL
 * \return 0, #RV_EINVAL, #RV_ECLOSED (as rv_workers_submit()), or
 *         #RV_EFULL if the queue is full (the job will not run).
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_workers_try_submit(rv_workers *w, rv_workers_fn fn, void *arg);

/**
 * \brief Wait until every job accepted so far, and every job those jobs
 *        submit, has finished (the pool is idle).
 *
 * Jobs submitted by other threads during the wait are waited for too, so
 * the call returns only at a moment when nothing was pending.
 * \param[in] w  the pool
 * \return 0, #RV_EINVAL if \p w is NULL, or #RV_ESTATE if called from
 *         one of the pool's workers (it would wait for itself).
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_workers_wait(rv_workers *w);

/**
 * \brief Stop accepting jobs from outside, run everything accepted (and
 *        everything those jobs submit), then join all threads.
 *
 * Idempotent: a second call returns 0 at once. After it returns, submits
 * from any thread fail with #RV_ECLOSED.
 * \param[in] w  the pool
 * \return 0, #RV_EINVAL if \p w is NULL, or #RV_ESTATE if called from
 *         one of the pool's workers. Thread-safe: concurrent calls all
 *         return once the threads are joined.
 * \since 0.2.0
 */
RV_API int rv_workers_shutdown(rv_workers *w);

/**
 * \brief Shut the pool down (as rv_workers_shutdown()) and free it.
 * \param[in] w  the pool, or NULL (nothing happens). Invalid afterwards.
 * \since 0.2.0
 */
RV_API void rv_workers_destroy(rv_workers *w);

/** \brief The number of threads in the pool. Thread-safe. \since 0.2.0 */
RV_API size_t rv_workers_count(const rv_workers *w);

/** \} */

#ifdef __cplusplus
}
#endif
