/**
 * \file rivet/core/pool.h
 * \brief Fixed-size block pool: all memory reserved at init, thread-safe
 *        lock-free get/put, optional per-thread caches.
 *
 * A pool hands out blocks of one size. All of its memory is reserved when it
 * is initialised, either in a buffer the caller provides (rv_pool_init_buffer(),
 * which works with no libc and no heap) or in one allocation
 * (rv_pool_init()); nothing is allocated afterwards.
 *
 * **Threads.** rv_pool_get() and rv_pool_put() may be called from any number
 * of threads at once: the free list is a lock-free stack whose head is a
 * 64-bit {index, tag} word changed only by compare-and-swap, so it cannot
 * suffer ABA. A block may be put by a different thread than the one that got
 * it. Init and free are not thread-safe: no other call may run on the pool
 * while they do.
 *
 * **Caches.** Under contention the shared head becomes the bottleneck; an
 * ::rv_pool_cache (one per thread, held by the caller, no allocation) takes
 * and returns blocks in batches of #RV_POOL_CACHE_BATCH with a single
 * compare-and-swap each.
 *
 * **Alignment.** Every block is aligned to rv_pool_block_align() of its size:
 * the largest power of two dividing the block size, capped at
 * #RV_POOL_MAX_ALIGN (64). A block therefore suits any object type of that
 * size. Blocks are stored back to back (the stride is the block size).
 *
 * **Misuse** goes to rv_panic(): putting a pointer outside the pool is always
 * detected; in builds of rivet without `NDEBUG` a pointer into the middle of
 * a block and a block put twice are detected too (a per-block state byte).
 *
 * **Lock-freedom.** The head is a 64-bit atomic (the counters are `size_t`
 * atomics). It is lock-free wherever `ATOMIC_LLONG_LOCK_FREE` is 2 (x86-64,
 * i386, AArch64, ARMv7-A). On cores without 64-bit atomic instructions
 * (Cortex-M) the compiler emits calls to `__atomic_load_8` and
 * `__atomic_compare_exchange_8` for it, which the firmware must provide
 * (libatomic, or a version that masks interrupts on a single core).
 *
 * Freestanding: yes (no libc but mem*, no allocation of its own in
 * rv_pool_init_buffer()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_pool pool: fixed-size block pool
 *  \{ */

/** \brief The most blocks one pool can hold (indices are 32-bit, one value is "none"). */
#define RV_POOL_MAX_BLOCKS ((size_t)UINT32_MAX - 1u)

/** \brief The largest block alignment a pool provides (one cache line). */
#define RV_POOL_MAX_ALIGN 64u

/** \brief Bytes of bookkeeping a pool keeps per block (a 4-byte link, a state byte). */
#define RV_POOL_BLOCK_OVERHEAD 5u

/** \brief Bytes of fixed bookkeeping plus alignment slack per pool. */
#define RV_POOL_FIXED_OVERHEAD ((size_t)3 * RV_POOL_MAX_ALIGN)

/**
 * \brief Bytes a caller buffer needs for \p nblocks blocks of \p block_size
 *        bytes, whatever the buffer's alignment.
 *
 * A constant expression when its arguments are, for static buffers:
 * `static unsigned char buf[RV_POOL_BUFFER_SIZE(64, 128)];`. It does not
 * check for overflow; rv_pool_buffer_size() does.
 */
#define RV_POOL_BUFFER_SIZE(block_size, nblocks)                                                   \
  (RV_POOL_FIXED_OVERHEAD + (size_t)(nblocks) * ((size_t)(block_size) + RV_POOL_BLOCK_OVERHEAD))

/** \brief Blocks an ::rv_pool_cache holds at most. */
#define RV_POOL_CACHE_SLOTS 64u

/** \brief Blocks an ::rv_pool_cache moves to or from its pool at a time. */
#define RV_POOL_CACHE_BATCH (RV_POOL_CACHE_SLOTS / 2u)

/**
 * \brief A pool. Caller-allocated (static, stack or heap); all fields are
 *        private: read them through rv_pool_stats_get().
 *
 * Thread-safety: see the file description (get/put yes, init/free no).
 */
typedef struct rv_pool {
  unsigned char *blocks; /**< private: first block */
  size_t block_size;     /**< private: bytes per block (also the stride) */
  size_t nblocks;        /**< private: number of blocks */
  unsigned shift;        /**< private: log2(block_size) if a power of two, else 0xff */
  void *ctl;             /**< private: the shared control line (head, counters) */
  void *next;            /**< private: per-block free-list links */
  void *state;           /**< private: per-block state bytes */
  const rv_alloc *alloc; /**< private: allocator of #mem (rv_pool_init only) */
  void *mem;             /**< private: the allocation to release, or NULL */
  size_t mem_size;       /**< private: its size */
} rv_pool;

/** \brief A snapshot of a pool's counters (rv_pool_stats_get()). */
typedef struct rv_pool_stats {
  size_t block_size;  /**< bytes per block */
  size_t block_align; /**< alignment of every block */
  size_t nblocks;     /**< blocks in the pool */
  size_t in_use;      /**< blocks not on the shared free list (handed out or in a cache) */
  size_t peak_in_use; /**< highest #in_use seen since init */
  size_t exhausted;   /**< get calls that found the pool empty (wraps around) */
  size_t contended;   /**< compare-and-swap retries on the shared head (wraps around) */
} rv_pool_stats;

/**
 * \brief A per-thread cache of blocks in front of a pool.
 *
 * Caller-held, no allocation. Owned by one thread at a time (not
 * thread-safe); any number of caches may share one pool. Blocks in a cache
 * count as in use for the pool; rv_pool_cache_flush() gives them back.
 * Fields are private. Their layout is part of the ABI because
 * rv_pool_cache_get() and rv_pool_cache_put() are inline.
 */
typedef struct rv_pool_cache {
  uintptr_t lo;  /**< private: address of the pool's first block */
  size_t span;   /**< private: bytes from the first block to past the last */
  size_t count;  /**< private: blocks held */
  int checked;   /**< private: nonzero: check every get/put (rivet without NDEBUG) */
  rv_pool *pool; /**< private: the pool behind the cache */
  void *slot[RV_POOL_CACHE_SLOTS]; /**< private: the held blocks */
} rv_pool_cache;

/**
 * \brief Bytes a caller buffer needs for \p nblocks blocks of \p block_size
 *        bytes (the checked form of #RV_POOL_BUFFER_SIZE).
 * \param[in] block_size  bytes per block, > 0
 * \param[in] nblocks     number of blocks, 1 to #RV_POOL_MAX_BLOCKS
 * \return the size, or 0 if an argument is out of range or the size does
 *         not fit in `size_t`. Thread-safe.
 * \since 0.1.0
 */
RV_API size_t rv_pool_buffer_size(size_t block_size, size_t nblocks);

/**
 * \brief The alignment every block of \p block_size bytes gets: the largest
 *        power of two dividing it, at most #RV_POOL_MAX_ALIGN.
 * \param[in] block_size  bytes per block; 0 gives 0
 * \return the alignment in bytes. Thread-safe.
 * \since 0.1.0
 */
RV_API size_t rv_pool_block_align(size_t block_size);

/**
 * \brief Make a pool in caller storage: as many blocks as fit in \p buf.
 *
 * Needs no libc and allocates nothing. The pool uses \p buf until
 * rv_pool_free(); the caller keeps ownership and must keep it alive and
 * untouched until then. \p buf may have any alignment.
 * \param[out] p           the pool to initialise
 * \param[in]  buf         storage, at least #RV_POOL_BUFFER_SIZE(block_size, 1) bytes
 * \param[in]  buf_size    its size in bytes
 * \param[in]  block_size  bytes per block, > 0
 * \return 0, or #RV_EINVAL if \p p or \p buf is NULL, \p block_size is 0,
 *         or \p buf cannot hold a single block. At most
 *         #RV_POOL_MAX_BLOCKS blocks are used from a larger buffer.
 *         \p p is untouched on error.
 * \since 0.1.0
 */
RV_API int rv_pool_init_buffer(rv_pool *p, void *buf, size_t buf_size, size_t block_size);

/**
 * \brief Make a pool of \p nblocks blocks in one allocation from \p a.
 * \param[out] p           the pool to initialise
 * \param[in]  a           the allocator, or NULL for the default
 * \param[in]  block_size  bytes per block, > 0
 * \param[in]  nblocks     number of blocks, > 0
 * \return 0; #RV_EINVAL if \p p is NULL or a size is 0; #RV_ERANGE if
 *         \p nblocks exceeds #RV_POOL_MAX_BLOCKS; #RV_EOVERFLOW if the
 *         total size does not fit in `size_t`; #RV_ENOMEM if the
 *         allocator failed. \p p is untouched on error.
 * \since 0.1.0
 */
RV_API int rv_pool_init(rv_pool *p, const rv_alloc *a, size_t block_size, size_t nblocks);

/**
 * \brief Release a pool: its allocation (rv_pool_init()) goes back to its
 *        allocator; a caller buffer (rv_pool_init_buffer()) is simply no
 *        longer used.
 *
 * Every block becomes invalid, including blocks still handed out or held
 * in caches. Not thread-safe. NULL does nothing; freeing twice is harmless.
 * \param[in,out] p  the pool, or NULL
 * \since 0.1.0
 */
RV_API void rv_pool_free(rv_pool *p);

/**
 * \brief Take a block. Lock-free, thread-safe.
 * \param[in,out] p  the pool
 * \return a block of the pool's block size and alignment, owned by the
 *         caller until rv_pool_put(); or NULL when every block is in use.
 *         Its contents are whatever its last user left.
 * \since 0.1.0
 */
RV_API void *rv_pool_get(rv_pool *p);

/**
 * \brief Give a block back. Lock-free, thread-safe; any thread may put a
 *        block another thread got.
 *
 * A pointer that is not a block of \p p, or (debug builds) a block already
 * put, is misuse and goes to rv_panic().
 * \param[in,out] p      the pool
 * \param[in]     block  a block from rv_pool_get() or rv_pool_cache_get()
 *                       on \p p, or NULL (does nothing)
 * \since 0.1.0
 */
RV_API void rv_pool_put(rv_pool *p, void *block);

/**
 * \brief Whether \p ptr is the start of one of \p p's blocks (in use or not).
 * \param[in] p    the pool
 * \param[in] ptr  any pointer, or NULL (false)
 * \return true if it is. Thread-safe.
 * \since 0.1.0
 */
RV_API bool rv_pool_owns(const rv_pool *p, const void *ptr);

/**
 * \brief Read a pool's counters.
 *
 * Thread-safe. Under concurrent get/put the counters are each read
 * atomically but not all at one instant; #rv_pool_stats::in_use never
 * exceeds the true number of blocks in use and is exact when no call is in
 * flight.
 * \param[in]  p    the pool
 * \param[out] out  the counters
 * \since 0.1.0
 */
RV_API void rv_pool_stats_get(const rv_pool *p, rv_pool_stats *out);

/**
 * \brief Set up an empty cache in front of \p p.
 * \param[out] c  the cache; owned by one thread at a time
 * \param[in]  p  an initialised pool that outlives the cache
 * \since 0.1.0
 */
RV_API void rv_pool_cache_init(rv_pool_cache *c, rv_pool *p);

/**
 * \brief rv_pool_cache_get() without the inline fast path: refills the
 *        cache from the pool with one batch when it is empty, and in debug
 *        builds marks the block handed out. Same contract as
 *        rv_pool_cache_get().
 * \param[in,out] c  the cache
 * \return a block, or NULL when the pool is exhausted.
 * \since 0.1.0
 */
RV_API void *rv_pool_cache_get_slow(rv_pool_cache *c);

/**
 * \brief rv_pool_cache_put() without the inline fast path: checks the
 *        block (fully in debug builds) and returns one batch to the pool
 *        when the cache is full. Same contract as rv_pool_cache_put().
 * \param[in,out] c      the cache
 * \param[in]     block  a block of the cache's pool, or NULL (does nothing)
 * \since 0.1.0
 */
RV_API void rv_pool_cache_put_slow(rv_pool_cache *c, void *block);

/**
 * \brief Take a block through a cache, refilling it from the pool with one
 *        batch when it is empty. Not thread-safe (one cache, one thread).
 *
 * Inline: when the cache holds a block (and rivet was built without debug
 * checks) this is a few instructions and touches no shared memory.
 * \param[in,out] c  the cache
 * \return a block, owned by the caller until put back (through any cache
 *         of the same pool or rv_pool_put()), or NULL when the pool is
 *         exhausted.
 * \since 0.1.0
 */
static inline void *rv_pool_cache_get(rv_pool_cache *c) {
  if (c->count > 0 && !c->checked) {
    return c->slot[--c->count];
  }
  return rv_pool_cache_get_slow(c);
}

/**
 * \brief Give a block back through a cache, returning one batch to the pool
 *        when the cache is full. Not thread-safe (one cache, one thread).
 *
 * The block may come from any thread or cache of the same pool. A pointer
 * outside the pool goes to rv_panic(); in debug builds of rivet a pointer
 * inside a block and a block put twice do too. Inline like
 * rv_pool_cache_get().
 * \param[in,out] c      the cache
 * \param[in]     block  a block of the cache's pool, or NULL (does nothing)
 * \since 0.1.0
 */
static inline void rv_pool_cache_put(rv_pool_cache *c, void *block) {
  /* One unsigned compare is the range check: below lo wraps to a huge value. */
  if (!c->checked && c->count < RV_POOL_CACHE_SLOTS && (uintptr_t)block - c->lo < c->span) {
    c->slot[c->count++] = block;
    return;
  }
  rv_pool_cache_put_slow(c, block);
}

/**
 * \brief Return every block a cache holds to its pool. The cache stays
 *        usable. Call it before a thread exits and before rv_pool_free().
 * \param[in,out] c  the cache
 * \since 0.1.0
 */
RV_API void rv_pool_cache_flush(rv_pool_cache *c);

/** \} */

#ifdef __cplusplus
}
#endif
