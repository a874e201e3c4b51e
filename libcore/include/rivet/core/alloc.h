/**
 * \file rivet/core/alloc.h
 * \brief The allocator interface every allocating rivet object takes.
 *
 * An ::rv_alloc is a small table of three functions plus a context pointer.
 * Objects that allocate take a `const rv_alloc *` when they are created and
 * keep it; NULL means rv_alloc_libc() in hosted builds. There is no global
 * "replace the allocator" switch: pass the one you want.
 *
 * Unlike `free()`, the free function receives the size of the block (the
 * size it was allocated or last resized with), so region and pool allocators
 * need no headers.
 *
 * Freestanding: the interface and the failing allocator are; rv_alloc_libc()
 * is hosted only, and a freestanding build has no default (a NULL allocator
 * fails every allocation with NULL).
 */
#pragma once

#include <stddef.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_alloc alloc: allocator interface
 *  \{ */

/**
 * \brief An allocator: three functions and their context.
 *
 * Contract for implementations:
 * - `alloc(ctx, size, align)`: return a block of at least \p size bytes
 *   aligned to \p align (a power of two), or NULL. \p size is never 0.
 * - `resize(ctx, ptr, old_size, new_size, align)`: grow or shrink a block,
 *   keeping its first min(old, new) bytes; return the (possibly moved)
 *   block, or NULL, in which case \p ptr is untouched and still owned.
 *   Neither size is 0.
 * - `free(ctx, ptr, size)`: release a block; \p size is the size it was
 *   last allocated or resized with. \p ptr is never NULL.
 *
 * Thread-safety is the implementation's to state; rv_alloc_libc() is
 * thread-safe.
 */
typedef struct rv_alloc {
  void *(*alloc)(void *ctx, size_t size, size_t align); /**< allocate */
  void *(*resize)(void *ctx, void *ptr, size_t old_size, size_t new_size,
                  size_t align);                   /**< grow or shrink */
  void (*free)(void *ctx, void *ptr, size_t size); /**< release */
  void *ctx;                                       /**< passed to each */
} rv_alloc;

/** \brief Alignment that suits any scalar type (like `alignof(max_align_t)`). */
#define RV_ALLOC_ALIGN_MAX                                                                         \
  (_Alignof(long double) > _Alignof(long long) ? _Alignof(long double) : _Alignof(long long))

#if __STDC_HOSTED__ || defined(RV_DOXYGEN)
/**
 * \brief The C library's allocator (malloc/realloc/free, aligned_alloc for
 *        alignments above #RV_ALLOC_ALIGN_MAX). Hosted builds only.
 * \return a static allocator, valid for the life of the program. Thread-safe.
 * \since 0.1.0
 */
RV_API const rv_alloc *rv_alloc_libc(void);
#endif

/**
 * \brief Allocate \p size bytes aligned to \p align through \p a.
 * \param[in] a      the allocator, or NULL for the default
 * \param[in] size   bytes wanted; 0 returns NULL
 * \param[in] align  a power of two; 0 means #RV_ALLOC_ALIGN_MAX
 * \return the block, owned by the caller until rv_alloc_free(), or NULL.
 * \since 0.1.0
 */
RV_API void *rv_alloc_get(const rv_alloc *a, size_t size, size_t align);

/**
 * \brief Allocate an array of \p n elements of \p size bytes, checking the
 *        multiplication for overflow.
 * \return the block, or NULL on overflow, on `n * size == 0` or on failure.
 * \since 0.1.0
 */
RV_API void *rv_alloc_array(const rv_alloc *a, size_t n, size_t size, size_t align);

/**
 * \brief Grow or shrink a block; a NULL \p ptr allocates, like realloc.
 *
 * On failure NULL is returned and \p ptr is untouched (still owned by the
 * caller, still \p old_size bytes). A \p new_size of 0 is rejected with NULL
 * (use rv_alloc_free()).
 * \param[in] a         the allocator the block came from, or NULL for the default
 * \param[in] ptr       the block, or NULL (then \p old_size must be 0)
 * \param[in] old_size  its size as allocated or last resized
 * \param[in] new_size  the size wanted, > 0
 * \param[in] align     the block's alignment (as allocated); 0 = #RV_ALLOC_ALIGN_MAX
 * \return the block (possibly moved), or NULL.
 * \since 0.1.0
 */
RV_API void *rv_alloc_resize(const rv_alloc *a, void *ptr, size_t old_size, size_t new_size,
                             size_t align);

/**
 * \brief Release a block. NULL \p ptr does nothing.
 * \param[in] a     the allocator it came from, or NULL for the default
 * \param[in] ptr   the block, or NULL
 * \param[in] size  its size as allocated or last resized
 * \since 0.1.0
 */
RV_API void rv_alloc_free(const rv_alloc *a, void *ptr, size_t size);

/**
 * \brief A test allocator that forwards to a parent and fails on purpose.
 *
 * It fails the allocation (or resize) numbered rv_alloc_failing::fail_at (0-based, counting
 * every alloc and resize call) and, when rv_alloc_failing::fail_after is true, every one
 * after it. It also counts live blocks and bytes so a test can prove that
 * every failure path released what it took. Fields are readable; set them
 * with rv_alloc_failing_init(). Not thread-safe.
 */
typedef struct rv_alloc_failing {
  rv_alloc iface;         /**< pass `&f.iface` where an allocator is wanted */
  const rv_alloc *parent; /**< where real blocks come from (NULL = default) */
  size_t fail_at;         /**< index of the first call to fail; SIZE_MAX = never */
  int fail_after;         /**< nonzero: keep failing after rv_alloc_failing::fail_at */
  size_t calls;           /**< alloc + resize calls seen so far */
  size_t failures;        /**< calls failed on purpose */
  size_t live_blocks;     /**< blocks currently allocated through it */
  size_t live_bytes;      /**< bytes currently allocated through it */
} rv_alloc_failing;

/**
 * \brief Set up a failing allocator.
 * \param[out] f        the allocator to initialise
 * \param[in]  parent   where real blocks come from, or NULL for the default
 * \param[in]  fail_at  index of the first alloc/resize call to fail
 *                      (SIZE_MAX: never fail, just count)
 * \return \p f's interface, `&f->iface`.
 * \since 0.1.0
 */
RV_API const rv_alloc *rv_alloc_failing_init(rv_alloc_failing *f, const rv_alloc *parent,
                                             size_t fail_at);

/** \} */

#ifdef __cplusplus
}
#endif
