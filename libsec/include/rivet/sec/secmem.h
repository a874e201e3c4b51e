/**
 * \file rivet/sec/secmem.h
 * \brief A secure allocator for many small secrets: guarded, locked,
 *        non-dumpable slabs carved into canary-checked slots.
 *
 * A pool maps *slabs*: a run of data pages between two `PROT_NONE` guard
 * pages, `mlock`ed and marked `MADV_DONTDUMP`, cut into equal slots (64 to
 * 2048 bytes; the slot holds a 16-byte canary, the secret, and a 16-byte
 * canary). Many secrets share one mapping, so a pool holds hundreds of
 * thousands of them without running into `vm.max_map_count`, and an
 * allocation costs no system call once its slab exists. Secrets larger than
 * #RV_SECMEM_SMALL_MAX get a slab of their own.
 *
 * What a pool guarantees, or else it fails the call (fail closed):
 * - data pages are locked in RAM (`mlock`) and excluded from core dumps
 *   (`MADV_DONTDUMP`); if either system call fails, the allocation fails
 *   (#RV_EPERM / #RV_EUNSUPPORTED) unless the pool was created with
 *   #RV_SECMEM_ALLOW_UNLOCKED / #RV_SECMEM_ALLOW_DUMPABLE, and
 *   rv_secmem_last_error() says what to change (for example the
 *   `RLIMIT_MEMLOCK` value and how to raise it);
 * - every slab has a `PROT_NONE` guard page on each side; if `mprotect`
 *   fails the slab is unmapped and the allocation fails (no policy relaxes
 *   this);
 * - canaries around every secret are checked, in constant time, when it is
 *   freed (rv_secmem_free() returns #RV_EVERIFY when one was overwritten);
 * - freed secrets are zeroed with a wipe the compiler cannot drop, and
 *   every slab is wiped before it is unmapped;
 * - with #RV_SECMEM_NOACCESS, pages holding secrets are `PROT_NONE` except
 *   while some secret on them is open (rv_secmem_open() / rv_secmem_close()).
 *
 * What it cannot do: secrets in one slab sit next to each other with only
 * canaries between them (no guard page per secret: that is what makes them
 * cheap), so an overflow into a neighbour is detected when either is freed
 * or audited, not trapped when it happens. Overflows off either end of a
 * slab hit a guard page and fault at once.
 *
 * Thread-safety: a pool is thread-safe (one mutex per pool); secrets
 * themselves are plain memory, to be synchronised by their users.
 * Hosted (Linux) only.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup sec_secmem secmem: guarded, locked memory for secrets
 *  \{ */

/** \brief A pool of secure memory. Opaque; thread-safe. */
typedef struct rv_secmem rv_secmem;

/** \brief The largest secret stored in a shared slab; larger ones get
 *         their own slab (one mapping each). */
#define RV_SECMEM_SMALL_MAX 2016u

/** \brief Bytes of canary before and after every secret. */
#define RV_SECMEM_CANARY 16u

/** \brief Alignment of every pointer rv_secmem_alloc() returns. */
#define RV_SECMEM_ALIGN 16u

/** \brief Pool flags for ::rv_secmem_config::flags. */
enum rv_secmem_flag {
  /** If `mlock` fails (usually `RLIMIT_MEMLOCK`), keep the memory unlocked
   *  instead of failing; rv_secmem_stats() counts such bytes. Explicit
   *  opt-in to weaker memory. */
  RV_SECMEM_ALLOW_UNLOCKED = 1u << 0,
  /** If `madvise(MADV_DONTDUMP)` fails, keep the memory dumpable instead
   *  of failing; rv_secmem_stats() counts such bytes. */
  RV_SECMEM_ALLOW_DUMPABLE = 1u << 1,
  /** Keep pages holding secrets `PROT_NONE` except between
   *  rv_secmem_open() and rv_secmem_close(). Costs `mprotect` calls on
   *  alloc, free, open and close. */
  RV_SECMEM_NOACCESS = 1u << 2,
};

/**
 * \brief How to build a pool. Zero-initialise, then set what you need;
 *        fields may be appended in a minor release.
 */
typedef struct rv_secmem_config {
  const rv_alloc *alloc; /**< for the pool's bookkeeping (never for secrets); NULL = libc */
  unsigned flags;        /**< a bitwise OR of ::rv_secmem_flag values */
  size_t max_bytes;      /**< cap on mapped bytes, guards included; 0 = no cap */
  size_t slab_pages;     /**< data pages per shared slab; 0 = 16 */
} rv_secmem_config;

/** \brief Counters of a pool; see rv_secmem_stats(). All fields readable. */
typedef struct rv_secmem_stats {
  size_t slabs;          /**< slabs mapped */
  size_t mapped_bytes;   /**< bytes mapped, guard pages included */
  size_t locked_bytes;   /**< data bytes locked with mlock */
  size_t unlocked_bytes; /**< data bytes left unlocked (#RV_SECMEM_ALLOW_UNLOCKED) */
  size_t dumpable_bytes; /**< data bytes left dumpable (#RV_SECMEM_ALLOW_DUMPABLE) */
  size_t guard_pages;    /**< PROT_NONE guard pages */
  size_t live;           /**< secrets allocated and not freed */
  size_t live_bytes;     /**< their sizes, summed as requested */
  size_t retired;        /**< slots taken out of use after a canary failure */
} rv_secmem_stats;

/** \brief What rv_secmem_audit() checked; see there. All fields readable. */
typedef struct rv_secmem_audit_report {
  size_t guard_pages; /**< guard pages checked against /proc/self/maps */
  size_t guard_bad;   /**< of those, not PROT_NONE (or not mapped) */
  size_t secrets;     /**< live secrets whose canaries were checked */
  size_t canary_bad;  /**< of those, with a damaged canary */
} rv_secmem_audit_report;

/**
 * \brief Create a pool. Maps nothing yet: slabs come with the first
 *        allocations of each size class.
 * \param[out] out  receives the pool (unchanged on failure); destroy it with
 *                  rv_secmem_destroy()
 * \param[in]  cfg  settings, or NULL for the defaults (fail closed, 16-page slabs)
 * \return 0, #RV_EINVAL (NULL \p out, unknown flags, slab_pages > 4096),
 *         #RV_ENOMEM, or #RV_EUNSUPPORTED (the system's page size is not a
 *         power of two of at least 4096 bytes).
 * \since 0.1.0
 */
RV_API int rv_secmem_create(rv_secmem **out, const rv_secmem_config *cfg);

/**
 * \brief Wipe and unmap everything, then free the pool.
 *
 * Secrets still allocated are wiped too; their pointers become invalid.
 * \param[in] pool  the pool, or NULL (no-op); no other thread may use it
 * \since 0.1.0
 */
RV_API void rv_secmem_destroy(rv_secmem *pool);

/**
 * \brief Allocate a zero-filled secret of \p size bytes.
 *
 * The pointer is #RV_SECMEM_ALIGN-aligned and stays valid until
 * rv_secmem_free() or rv_secmem_destroy(). In a #RV_SECMEM_NOACCESS pool
 * the secret is returned closed: rv_secmem_open() it before touching it.
 * \param[in]  pool  the pool
 * \param[in]  size  bytes wanted, > 0
 * \param[out] out   receives the secret (unchanged on failure)
 * \return 0; #RV_EINVAL (NULL argument or \p size 0); #RV_EOVERFLOW (size
 *         too large to map); #RV_ELIMIT (the pool's max_bytes would be
 *         exceeded); #RV_ENOMEM (mmap, mprotect or bookkeeping failed);
 *         #RV_EPERM (mlock failed and unlocked memory was not allowed);
 *         #RV_EUNSUPPORTED (MADV_DONTDUMP failed and dumpable memory was
 *         not allowed). On failure rv_secmem_last_error() explains.
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_secmem_alloc(rv_secmem *pool, size_t size, void **out);

/**
 * \brief Check the canaries of a secret, wipe it and release its slot.
 *
 * The secret is wiped and released even if a canary was damaged, but its
 * slot is then retired (never handed out again) and #RV_EVERIFY reports the
 * overflow, which is a bug in the caller worth stopping for.
 * \param[in] pool  the pool it came from
 * \param[in] p     the secret, or NULL (no-op, returns 0)
 * \return 0; #RV_EVERIFY (a canary was overwritten); #RV_EINVAL (\p p is not
 *         a secret of this pool, or NULL \p pool); #RV_ESTATE (\p p was
 *         already freed); #RV_ENOMEM (NOACCESS pools: mprotect failed; if
 *         opening the page failed the secret is not released, if closing
 *         it again failed the secret is wiped and released but the page
 *         stays accessible until a later close on it succeeds).
 * \since 0.1.0
 */
RV_API int rv_secmem_free(rv_secmem *pool, void *p);

/**
 * \brief Make a secret readable and writable until rv_secmem_close().
 *
 * In a #RV_SECMEM_NOACCESS pool this opens the page(s) holding the secret
 * (other secrets on the same page become accessible too, as long as any
 * secret on it is open). Opens nest, up to 255 per secret. In other pools
 * it only checks \p p and counts the nesting.
 * \param[in] pool  the pool
 * \param[in] p     a live secret of the pool
 * \return 0; #RV_EINVAL (not a live secret of this pool); #RV_ELIMIT (255
 *         opens already); #RV_ENOMEM (mprotect failed).
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_secmem_open(rv_secmem *pool, void *p);

/**
 * \brief Undo one rv_secmem_open(); the last close of the last open secret
 *        of a page makes the page `PROT_NONE` again (NOACCESS pools).
 * \param[in] pool  the pool
 * \param[in] p     a live secret of the pool
 * \return 0; #RV_EINVAL (not a live secret of this pool); #RV_ESTATE (not
 *         open); #RV_ENOMEM (mprotect failed: the secret counts as closed,
 *         but its page stays accessible until a later close on that page
 *         succeeds).
 * \since 0.1.0
 */
RV_API int rv_secmem_close(rv_secmem *pool, void *p);

/**
 * \brief The usable size of a live secret (the size it was allocated with).
 * \param[in]  pool  the pool
 * \param[in]  p     a live secret of the pool
 * \param[out] size  receives the size
 * \return 0 or #RV_EINVAL (not a live secret of this pool).
 * \since 0.1.0
 */
RV_API int rv_secmem_size(rv_secmem *pool, const void *p, size_t *size);

/**
 * \brief Read the pool's counters.
 * \param[in]  pool  the pool
 * \param[out] st    receives a consistent snapshot
 * \since 0.1.0
 */
RV_API void rv_secmem_stats_get(rv_secmem *pool, rv_secmem_stats *st);

/**
 * \brief Verify what the pool promises, from the kernel's point of view.
 *
 * Reads `/proc/self/maps` and checks that every guard page of every slab is
 * mapped `PROT_NONE`; then checks the canaries of every live secret (in a
 * NOACCESS pool, closed pages are opened for the check and closed again).
 * \param[in]  pool  the pool
 * \param[out] r     what was checked and what was wrong; may be NULL
 * \return 0 if everything holds; #RV_EVERIFY if a guard page or a canary is
 *         wrong (see \p r); #RV_EIO if /proc/self/maps cannot be read;
 *         #RV_ENOMEM (mprotect or bookkeeping failed).
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_secmem_audit(rv_secmem *pool, rv_secmem_audit_report *r);

/**
 * \brief Copy the message of the pool's last failure into \p buf.
 *
 * The message names the system call, the errno text and what to change
 * (for `mlock`: the `RLIMIT_MEMLOCK` value and how to raise it).
 * \param[in]  pool  the pool
 * \param[out] buf   receives a NUL-terminated message ("" if none yet)
 * \param[in]  len   size of \p buf; the message is truncated to fit
 * \return the full length of the message (as snprintf()).
 * \since 0.1.0
 */
RV_API size_t rv_secmem_last_error(rv_secmem *pool, char *buf, size_t len);

/** \} */

#ifdef __cplusplus
}
#endif
