/**
 * \file rivet/core/mpmc.h
 * \brief Bounded multi-producer multi-consumer queue of fixed-size elements.
 *
 * The queue is Dmitry Vyukov's bounded MPMC design: a power-of-two array of
 * cells, each carrying an atomic sequence number next to its element, and
 * two atomic positions (enqueue and dequeue) that producers and consumers
 * claim with a compare-and-swap. The two positions live on separate cache
 * lines so producers and consumers do not invalidate each other's line.
 *
 * **Storage.** The queue never allocates. The caller provides the ::rv_mpmc
 * object and a cell buffer of rv_mpmc_storage_size() (or
 * #RV_MPMC_STORAGE_SIZE) bytes, aligned to #RV_MPMC_STORAGE_ALIGN. Both
 * must outlive every use of the queue; the queue owns neither and
 * rv_mpmc_init() is the only set-up (there is nothing to destroy).
 *
 * **Elements** are copied in and out with `memcpy` (`elem_size` bytes), so
 * any trivially copyable type works. Callers' element buffers need no
 * particular alignment.
 *
 * **Thread safety.** Every push and pop function may be called from any
 * number of threads at once. rv_mpmc_init() must complete before other
 * threads use the queue (publish the queue to them with any
 * synchronisation: thread creation, a mutex, a release store).
 *
 * **Ordering guarantee.** A successful push *happens before* the pop that
 * returns that element (release on the cell's sequence number when
 * publishing, acquire when the consumer reads it), so anything a producer
 * wrote before pushing is visible to the consumer after popping. Elements
 * pushed by one producer are popped in the order that producer pushed
 * them (FIFO per producer); elements from different producers are ordered
 * by the moment each claimed its cell.
 *
 * **Memory orderings, and why each suffices.**
 * - Loads of the enqueue/dequeue positions: `relaxed`. A position read is
 *   only a guess; the cell's sequence number and the CAS validate it.
 * - The CAS that claims a position: `relaxed` (success and failure). It
 *   only decides which thread owns the position; no data travels through
 *   the position counters.
 * - Load of a cell's sequence number: `acquire`. For a producer it pairs
 *   with the release by which the previous lap's consumer freed the cell
 *   (the old element is read before it is overwritten); for a consumer it
 *   pairs with the producer's publishing release (the element's bytes
 *   are visible before they are copied out).
 * - Store of a cell's sequence number (publish, or free for the next
 *   lap): `release`, the other half of those two pairs.
 * - rv_mpmc_size_approx(): `relaxed` loads; it is a statistic.
 * No operation is `seq_cst`: the queue gives no ordering between
 * unrelated cells beyond the per-producer FIFO described above.
 *
 * **Progress guarantee (read this).** The queue is *not* strictly
 * lock-free. Claiming a cell (one CAS) and publishing it (one store) are
 * two steps: a producer preempted between them leaves its cell
 * unpublished, and the consumer whose turn that cell is cannot take it
 * (nor any later element) until the producer runs again; try-pop then
 * reports #RV_EEMPTY even though later cells may be full. Symmetrically, a
 * consumer preempted between claiming and releasing a cell stops
 * producers from reusing that cell one lap later (try-push reports
 * #RV_EFULL). No operation ever waits on a lock, and with no thread
 * preempted mid-operation every try-operation completes in a bounded
 * number of steps unless other threads keep winning its CAS (lock-free
 * in that sense, blocking in the preemption sense).
 *
 * **Freestanding:** yes, except the `_wait` functions (they yield and
 * sleep) which exist only in hosted builds.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_mpmc mpmc: bounded MPMC queue
 *  \{ */

/** \brief Cache-line size assumed for padding (64 bytes on x86-64 and most ARM). */
#define RV_MPMC_CACHE_LINE 64

/**
 * \brief Alignment the cell storage must have: that of `atomic_size_t`, the
 *        sequence number at the start of every cell.
 */
#define RV_MPMC_STORAGE_ALIGN _Alignof(atomic_size_t)

/**
 * \brief Bytes one cell takes: the sequence number, then the element,
 *        rounded up so the next cell's sequence number is aligned.
 *        Does not check for overflow (rv_mpmc_storage_size() does).
 */
#define RV_MPMC_CELL_SIZE(elem_size)                                                               \
  ((sizeof(atomic_size_t) + (size_t)(elem_size) + RV_MPMC_STORAGE_ALIGN - 1) /                     \
   RV_MPMC_STORAGE_ALIGN * RV_MPMC_STORAGE_ALIGN)

/**
 * \brief Bytes of cell storage a queue of \p cap elements of \p elem_size
 *        bytes needs, as a constant expression for static buffers.
 *        Does not check for overflow (rv_mpmc_storage_size() does).
 */
#define RV_MPMC_STORAGE_SIZE(cap, elem_size) ((size_t)(cap)*RV_MPMC_CELL_SIZE(elem_size))

/**
 * \brief A bounded MPMC queue. The caller allocates it (static, stack or
 *        heap); initialise with rv_mpmc_init().
 *
 * All fields are private: read the queue only through the functions
 * below. The layout may change in a minor release, so do not depend on
 * `sizeof(rv_mpmc)` across versions in an ABI (rebuild instead).
 */
typedef struct rv_mpmc {
  /** \privatesection */
  _Alignas(RV_MPMC_CACHE_LINE) atomic_size_t enq; /* next position to push */
  _Alignas(RV_MPMC_CACHE_LINE) atomic_size_t deq; /* next position to pop */
  /* Read-only after init; its own line so the positions' traffic leaves it shared. */
  _Alignas(RV_MPMC_CACHE_LINE) unsigned char *cells;
  size_t mask;      /* capacity - 1 */
  size_t elem_size; /* bytes per element */
  size_t cell_size; /* RV_MPMC_CELL_SIZE(elem_size) */
} rv_mpmc;

/**
 * \brief Bytes of cell storage for \p cap elements of \p elem_size bytes.
 * \param[in]  cap        capacity in elements: a power of two, >= 2
 * \param[in]  elem_size  bytes per element, > 0
 * \param[out] size       the byte count; untouched on error
 * \return 0, #RV_EINVAL if \p cap is not a power of two >= 2 or
 *         \p elem_size is 0, or #RV_EOVERFLOW if the size does not fit in
 *         `size_t`. Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_storage_size(size_t cap, size_t elem_size, size_t *size);

/**
 * \brief Initialise an empty queue over caller-provided cell storage.
 *
 * \param[out] q          the queue (its previous content is ignored)
 * \param[in]  storage    at least rv_mpmc_storage_size(cap, elem_size)
 *                        bytes aligned to #RV_MPMC_STORAGE_ALIGN; borrowed
 *                        for the queue's life, not freed by it
 * \param[in]  storage_size  bytes available at \p storage
 * \param[in]  cap        capacity in elements: a power of two, >= 2
 * \param[in]  elem_size  bytes per element, > 0
 * \return 0; #RV_EINVAL for a NULL pointer, a bad \p cap or \p elem_size,
 *         or misaligned \p storage; #RV_EOVERFLOW if the needed size does
 *         not fit in `size_t`; #RV_ENOMEM if \p storage_size is too small.
 *         On error \p q is untouched. Not thread-safe (see the file notes).
 * \since 0.2.0
 */
RV_API int rv_mpmc_init(rv_mpmc *q, void *storage, size_t storage_size, size_t cap,
                        size_t elem_size);

/** \brief The capacity in elements given to rv_mpmc_init(). Thread-safe. \since 0.2.0 */
RV_API size_t rv_mpmc_capacity(const rv_mpmc *q);

/** \brief The element size given to rv_mpmc_init(). Thread-safe. \since 0.2.0 */
RV_API size_t rv_mpmc_elem_size(const rv_mpmc *q);

/**
 * \brief Approximate number of elements in the queue.
 *
 * Exact when no push or pop is in progress; under concurrency it is a
 * snapshot that may be stale by the time it returns (claimed but not yet
 * published cells count as full). Always in [0, capacity]. Thread-safe.
 * \since 0.2.0
 */
RV_API size_t rv_mpmc_size_approx(const rv_mpmc *q);

/**
 * \brief Copy \p elem into the queue if a cell is free.
 * \param[in,out] q     the queue
 * \param[in]     elem  `elem_size` bytes to copy in
 * \return 0, or #RV_EFULL if no cell is free (the queue is full, or the
 *         consumer of the cell one lap back has not released it yet).
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_try_push(rv_mpmc *q, const void *elem);

/**
 * \brief Copy the oldest available element out of the queue.
 * \param[in,out] q     the queue
 * \param[out]    elem  `elem_size` bytes to copy to; untouched on error
 * \return 0, or #RV_EEMPTY if the cell whose turn it is holds nothing yet
 *         (the queue is empty, or its producer has not published it).
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_try_pop(rv_mpmc *q, void *elem);

/**
 * \brief Push up to \p n elements with one claim: the first k <= n
 *        consecutive free cells are taken together, so the k elements stay
 *        contiguous in the queue order.
 * \param[in,out] q      the queue
 * \param[in]     elems  \p n elements of `elem_size` bytes, back to back;
 *                       may be NULL only when \p n is 0
 * \param[in]     n      elements offered
 * \return how many were pushed (the first ones of \p elems), 0 when the
 *         queue is full or \p n is 0. Thread-safe.
 * \since 0.2.0
 */
RV_API size_t rv_mpmc_try_push_n(rv_mpmc *q, const void *elems, size_t n);

/**
 * \brief Pop up to \p n elements with one claim (consecutive in queue order).
 * \param[in,out] q      the queue
 * \param[out]    elems  room for \p n elements, back to back; may be NULL
 *                       only when \p n is 0
 * \param[in]     n      elements wanted
 * \return how many were popped into the first slots of \p elems, 0 when
 *         nothing is available or \p n is 0. Thread-safe.
 * \since 0.2.0
 */
RV_API size_t rv_mpmc_try_pop_n(rv_mpmc *q, void *elems, size_t n);

#if __STDC_HOSTED__ || defined(RV_DOXYGEN)

/** \brief Timeout meaning "wait forever" for the `_wait` functions. */
#define RV_MPMC_FOREVER UINT64_MAX

/**
 * \brief Push, waiting for a free cell for up to \p timeout_ns nanoseconds.
 *
 * Waiting policy, bounded at each stage: 4 busy-spin rounds of 1, 2, 4
 * and 8 CPU pause instructions, then 32 `sched_yield()` calls, then
 * `nanosleep` starting at 1 us and doubling to at most 1 ms per sleep
 * (never past the deadline). Spinning alone would starve a preempted
 * thread that the waiter depends on when threads outnumber cores; the
 * yields hand it the core; the sleeps stop a long wait from burning a
 * core. The clock is `CLOCK_MONOTONIC`. Hosted builds only.
 * \param[in,out] q           the queue
 * \param[in]     elem        `elem_size` bytes to copy in
 * \param[in]     timeout_ns  0 = try once; #RV_MPMC_FOREVER = no limit
 * \return 0, or #RV_ETIMEDOUT if still full when the time ran out.
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_push_wait(rv_mpmc *q, const void *elem, uint64_t timeout_ns);

/**
 * \brief Pop, waiting for an element for up to \p timeout_ns nanoseconds
 *        (same policy as rv_mpmc_push_wait()). Hosted builds only.
 * \param[in,out] q           the queue
 * \param[out]    elem        `elem_size` bytes to copy to; untouched on error
 * \param[in]     timeout_ns  0 = try once; #RV_MPMC_FOREVER = no limit
 * \return 0, or #RV_ETIMEDOUT if still empty when the time ran out.
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_pop_wait(rv_mpmc *q, void *elem, uint64_t timeout_ns);

/**
 * \brief Push all \p n elements, in batches, waiting as rv_mpmc_push_wait()
 *        whenever the queue is full. Hosted builds only.
 *
 * Elements keep their order, but other producers' elements may fall
 * between batches.
 * \param[in,out] q           the queue
 * \param[in]     elems       \p n elements back to back (NULL only if \p n is 0)
 * \param[in]     n           elements to push
 * \param[in]     timeout_ns  limit on the whole call; #RV_MPMC_FOREVER = none
 * \param[out]    pushed      how many were pushed (always set, may be NULL)
 * \return 0 once all are pushed, or #RV_ETIMEDOUT with *\p pushed < \p n.
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_push_n_wait(rv_mpmc *q, const void *elems, size_t n, uint64_t timeout_ns,
                               size_t *pushed);

/**
 * \brief Pop exactly \p n elements, in batches, waiting as
 *        rv_mpmc_pop_wait() whenever the queue is empty. Hosted builds only.
 * \param[in,out] q           the queue
 * \param[out]    elems       room for \p n elements (NULL only if \p n is 0)
 * \param[in]     n           elements to pop
 * \param[in]     timeout_ns  limit on the whole call; #RV_MPMC_FOREVER = none
 * \param[out]    popped      how many were popped (always set, may be NULL)
 * \return 0 once all are popped, or #RV_ETIMEDOUT with *\p popped < \p n.
 *         Thread-safe.
 * \since 0.2.0
 */
RV_API int rv_mpmc_pop_n_wait(rv_mpmc *q, void *elems, size_t n, uint64_t timeout_ns,
                              size_t *popped);

#endif /* __STDC_HOSTED__ */

/** \} */

#ifdef __cplusplus
}
#endif
