/**
 * \file rivet/core/arena.h
 * \brief Region (arena) allocator: bump allocation, chunk growth,
 *        checkpoints, rewind and reset.
 *
 * An ::rv_arena hands out memory by bumping a pointer. Nothing is freed one
 * block at a time: everything allocated after a checkpoint goes at once with
 * rv_arena_rewind(), everything at all with rv_arena_reset() or
 * rv_arena_free(). Two kinds of arena exist:
 * - **growing** (rv_arena_init()): memory comes in chunks from an
 *   ::rv_alloc; a full chunk is followed by a new one;
 * - **fixed** (rv_arena_init_buffer()): memory is one caller buffer; nothing
 *   is ever allocated, and an allocation that does not fit fails (NULL).
 *
 * Ownership: blocks belong to the arena and stay valid until the arena is
 * rewound past them, reset or freed. The caller never frees a block.
 *
 * Sanitizers: when the library is built with AddressSanitizer, memory the
 * arena has not handed out (the free tail of a chunk, and everything
 * rewound, reset or popped) is poisoned, so touching it is reported as a
 * use-after-poison.
 *
 * Freestanding: yes (only mem* from libc; a growing arena allocates only
 * through its ::rv_alloc). Not thread-safe: one arena, one thread at a time.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_arena arena: region allocator
 *  \{ */

/** \brief Default chunk size of a growing arena (chunk_size 0): 64 KiB. */
#define RV_ARENA_CHUNK_DEFAULT ((size_t)64 * 1024)

/** \brief Smallest chunk size rv_arena_init() accepts (other than 0). */
#define RV_ARENA_CHUNK_MIN ((size_t)256)

/** \brief A chunk of a growing arena (internal; its header sits at the chunk's start). */
struct rv_arena_chunk;

/**
 * \brief A region allocator. Define one on the stack or in static storage
 *        and set it up with rv_arena_init() or rv_arena_init_buffer().
 *
 * Readable fields: none is needed by callers (use rv_arena_stats_get()),
 * but rv_arena::cur and rv_arena::end are part of the ABI because the inline fast path of
 * rv_arena_alloc() reads and writes them: `[cur, end)` is the free window
 * it may bump through. The other fields are private and may change in a
 * minor release only by appending.
 *
 * Do not copy an initialised arena: the allocator view returned by
 * rv_arena_allocator() points back at this very struct.
 */
typedef struct rv_arena {
  unsigned char *cur;           /**< next free byte (inline fast path: read, written) */
  unsigned char *end;           /**< end of the inline window (inline fast path: read) */
  unsigned char *limit;         /**< private: true end of the current chunk */
  unsigned char *base;          /**< private: first usable byte of the current chunk */
  struct rv_arena_chunk *chunk; /**< private: current chunk (NULL: none / fixed) */
  struct rv_arena_chunk *spare; /**< private: chunks kept by rv_arena_reset_retain() */
  const rv_alloc *alloc;        /**< private: where chunks come from */
  size_t chunk_size;            /**< private: bytes per chunk (header included) */
  size_t used_prev;             /**< private: bytes used in chunks before the current one */
  size_t capacity;              /**< private: usable bytes in all chunks held */
  size_t nchunks;               /**< private: chunks held (spares included) */
  unsigned flags;               /**< private: RV_ARENA_F_* */
  rv_alloc iface;               /**< private: the view rv_arena_allocator() returns */
} rv_arena;

/**
 * \brief A position in an arena, from rv_arena_checkpoint(). A small value
 *        type: copy it freely. Fields are private.
 */
typedef struct rv_arena_mark {
  struct rv_arena_chunk *chunk; /**< private: the chunk current at the checkpoint */
  unsigned char *cur;           /**< private: the bump pointer at the checkpoint */
  size_t used_prev;             /**< private: bytes used before that chunk */
} rv_arena_mark;

/** \brief Usage figures of an arena, from rv_arena_stats_get(). */
typedef struct rv_arena_stats {
  size_t used;     /**< bytes handed out, alignment padding and abandoned chunk tails included */
  size_t capacity; /**< usable bytes in every chunk held (the buffer size for a fixed arena) */
  size_t chunks;   /**< chunks held, spares included (1 for a fixed arena) */
} rv_arena_stats;

/**
 * \brief Set up a growing arena. Allocates nothing yet: the first chunk is
 *        taken by the first allocation.
 *
 * \param[out] a           the arena
 * \param[in]  alloc       where chunks come from, kept for the arena's life;
 *                         NULL = rv_alloc_libc() (hosted builds; a
 *                         freestanding build has no default and rejects NULL)
 * \param[in]  chunk_size  bytes per chunk, header included; 0 means
 *                         #RV_ARENA_CHUNK_DEFAULT. An allocation larger than
 *                         a chunk gets a chunk of its own.
 * \return 0, or #RV_EINVAL if \p a is NULL, \p chunk_size is below
 *         #RV_ARENA_CHUNK_MIN (and not 0), or \p alloc is NULL in a
 *         freestanding build.
 * \since 0.1.0
 */
RV_API int rv_arena_init(rv_arena *a, const rv_alloc *alloc, size_t chunk_size);

/**
 * \brief Set up a fixed arena over a caller buffer. Never allocates.
 *
 * The buffer may have any alignment; blocks are aligned inside it. It is
 * lent to the arena until rv_arena_free(), and must outlive the arena. In
 * an AddressSanitizer build the parts not handed out are poisoned while the
 * buffer is lent: call rv_arena_free() before the buffer goes out of scope
 * or is used for anything else.
 *
 * \param[out] a     the arena
 * \param[in]  buf   the buffer
 * \param[in]  size  its size in bytes, > 0
 * \return 0, or #RV_EINVAL if \p a or \p buf is NULL or \p size is 0.
 * \since 0.1.0
 */
RV_API int rv_arena_init_buffer(rv_arena *a, void *buf, size_t size);

/**
 * \brief Release every chunk (spares included) back to the allocator.
 *
 * Every block is invalid afterwards. The arena is left empty and usable as
 * if freshly initialised with the same allocator and chunk size (a fixed
 * arena: the same buffer, empty again). After this call a fixed arena's
 * buffer may be reused by the caller directly. NULL does nothing.
 * \param[in,out] a  the arena, or NULL
 * \since 0.1.0
 */
RV_API void rv_arena_free(rv_arena *a);

/**
 * \brief The slow path of rv_arena_alloc(): validates the arguments, takes
 *        a new chunk when the current one is full. Call rv_arena_alloc().
 * \param[in,out] a      the arena
 * \param[in]     size   bytes wanted
 * \param[in]     align  a power of two, or 0 for #RV_ALLOC_ALIGN_MAX
 * \return as rv_arena_alloc().
 * \since 0.1.0
 */
RV_API void *rv_arena_alloc_slow(rv_arena *a, size_t size, size_t align);

/**
 * \brief Allocate \p size bytes aligned to \p align.
 *
 * Inline fast path: it reads and writes rv_arena::cur and reads
 * rv_arena::end only; everything else goes to rv_arena_alloc_slow(). The
 * same function is also exported from the library (C99 inline model), so
 * its address can be taken.
 *
 * \param[in,out] a      the arena
 * \param[in]     size   bytes wanted; 0 returns NULL
 * \param[in]     align  a power of two, or 0 for #RV_ALLOC_ALIGN_MAX
 * \return the block (uninitialised, owned by the arena; valid until a
 *         rewind past it, a reset or rv_arena_free()), or NULL if \p size is
 *         0, \p align is not a power of two, a size computation overflows,
 *         the allocator failed, or a fixed arena is full (the error a
 *         fixed arena reports as #RV_ENOMEM elsewhere).
 * \since 0.1.0
 */
RV_API inline void *rv_arena_alloc(rv_arena *a, size_t size, size_t align) {
  if (align == 0) {
    align = RV_ALLOC_ALIGN_MAX;
  }
  /* Integer arithmetic on the addresses: no pointer is formed outside the
   * window (or from NULL, before the first chunk) unless the block fits. */
  uintptr_t cur = (uintptr_t)a->cur;
  size_t pad = (size_t)(-cur & (uintptr_t)(align - 1));
  size_t avail = (size_t)((uintptr_t)a->end - cur);
  /* size - 1 < avail rejects size 0 (wraps to SIZE_MAX) and size > avail
   * in one comparison; then pad + size <= avail without overflow. */
  if ((align & (align - 1)) == 0 && size - 1 < avail && pad <= avail - size) {
    unsigned char *p = a->cur + pad;
    a->cur = p + size;
    return p;
  }
  return rv_arena_alloc_slow(a, size, align);
}

/**
 * \brief Allocate an array of \p n elements of \p size bytes, checking
 *        `n * size` for overflow.
 * \param[in,out] a      the arena
 * \param[in]     n      element count
 * \param[in]     size   element size
 * \param[in]     align  a power of two, or 0 for #RV_ALLOC_ALIGN_MAX
 * \return the block, or NULL on overflow, on `n * size == 0` or as
 *         rv_arena_alloc().
 * \since 0.1.0
 */
RV_API void *rv_arena_alloc_array(rv_arena *a, size_t n, size_t size, size_t align);

/**
 * \brief Copy \p n bytes into the arena and add a NUL byte after them, so
 *        the copy is also a C string (handy for parsers' tokens).
 * \param[in,out] a  the arena
 * \param[in]     p  the bytes; may be NULL only when \p n is 0
 * \param[in]     n  how many
 * \return the `n + 1`-byte copy (byte-aligned), or NULL if `n + 1`
 *         overflows or as rv_arena_alloc().
 * \since 0.1.0
 */
RV_API void *rv_arena_memdup(rv_arena *a, const void *p, size_t n);

/**
 * \brief Copy a NUL-terminated string into the arena.
 * \param[in,out] a  the arena
 * \param[in]     s  the string, not NULL
 * \return the copy, or NULL as rv_arena_memdup().
 * \since 0.1.0
 */
RV_API char *rv_arena_strdup(rv_arena *a, const char *s);

/**
 * \brief Remember the current position, to go back to it with
 *        rv_arena_rewind().
 * \param[in] a  the arena
 * \return the mark. It stays valid until the arena is rewound to an earlier
 *         mark, reset or freed.
 * \since 0.1.0
 */
RV_API rv_arena_mark rv_arena_checkpoint(const rv_arena *a);

/**
 * \brief Go back to a checkpoint: every block allocated after it is
 *        released at once, and chunks taken after it are returned to the
 *        allocator.
 *
 * Blocks allocated before the mark are untouched. Marks taken after \p m
 * become invalid. Passing a mark that is not valid for \p a is misuse:
 * when detected (the mark's chunk is not held by \p a, or its position lies
 * outside that chunk) it goes to rv_panic().
 * \param[in,out] a  the arena
 * \param[in]     m  a mark from rv_arena_checkpoint() on \p a
 * \since 0.1.0
 */
RV_API void rv_arena_rewind(rv_arena *a, rv_arena_mark m);

/**
 * \brief Release every block. Keeps the first (oldest) chunk for reuse and
 *        returns every other chunk, spares included, to the allocator.
 *
 * A fixed arena just becomes empty. Every mark becomes invalid.
 * \param[in,out] a  the arena
 * \since 0.1.0
 */
RV_API void rv_arena_reset(rv_arena *a);

/**
 * \brief Release every block but keep every chunk for reuse: the next
 *        allocations refill the same chunks, in the same order, before any
 *        new chunk is allocated. Use it for repeated rounds of similar size
 *        (a request, a frame, a parse) to stop paying for fresh memory.
 *
 * Every mark becomes invalid. rv_arena_free() or rv_arena_reset() returns
 * the kept chunks.
 * \param[in,out] a  the arena
 * \since 0.1.0
 */
RV_API void rv_arena_reset_retain(rv_arena *a);

/**
 * \brief Read an arena's usage figures.
 * \param[in]  a    the arena
 * \param[out] out  the figures
 * \since 0.1.0
 */
RV_API void rv_arena_stats_get(const rv_arena *a, rv_arena_stats *out);

/**
 * \brief An ::rv_alloc view of the arena, to give to code that takes an
 *        allocator (an ::rv_vec, an ::rv_buf, a parser).
 *
 * - `alloc` bumps, like rv_arena_alloc();
 * - `resize` grows or shrinks in place when the block is the last one
 *   allocated (and the chunk has room); otherwise a shrink stays in place
 *   and a growth copies to a new block (the old one stays in the arena
 *   until a rewind or reset);
 * - `free` pops the block when it is the last one allocated, and otherwise
 *   does nothing (the memory comes back at rewind or reset).
 *
 * \param[in] a  the arena
 * \return a pointer into \p a itself, valid as long as \p a is. Not
 *         thread-safe (nor is the arena).
 * \since 0.1.0
 */
RV_API const rv_alloc *rv_arena_allocator(rv_arena *a);

/** \} */

#ifdef __cplusplus
}
#endif
