/**
 * \file rivet/core/ring.h
 * \brief Single-producer single-consumer ring buffer for bytes and for
 *        variable-size records, safe to feed from an interrupt handler.
 *
 * An ::rv_ring manages storage the caller provides (a power-of-two number
 * of bytes, static, stack or heap). It never allocates and never locks: the
 * producer owns the write index, the consumer owns the read index, and each
 * publishes its index to the other with a release store that the other reads
 * with an acquire load. Every call runs in time bounded by the bytes it
 * copies, so the producer side may run in an interrupt handler (or a signal
 * handler) while the consumer side runs in the main loop, or the reverse.
 *
 * **Roles.** At any moment at most one thread (or interrupt context) acts as
 * the producer and at most one as the consumer. Producer calls:
 * rv_ring_write(), rv_ring_write_span(), rv_ring_write_commit(),
 * rv_ring_rec_push(), rv_ring_rec_pushv(). Consumer calls: rv_ring_read(),
 * rv_ring_peek(), rv_ring_discard(), rv_ring_read_span(),
 * rv_ring_read_commit() and every `rv_ring_rec_*` that reads. Either side may
 * call rv_ring_used(), rv_ring_space() and rv_ring_capacity().
 * rv_ring_init() and rv_ring_reset() need both sides stopped.
 *
 * **Two ways to use one ring, not both.** The byte API moves a stream of
 * bytes (short reads and writes are normal). The record API moves whole
 * records: each record is stored as a 4-byte length header (native byte
 * order) followed by its payload, so a record of `len` bytes takes
 * `len + RV_RING_REC_HEADER` bytes of the ring. A record is pushed all or
 * nothing and the consumer never sees part of one. Records wrap around the
 * end of the storage like any bytes, so every record up to
 * rv_ring_rec_max() bytes fits in an empty ring; the zero-copy record view
 * therefore comes in up to two pieces. Mixing the two APIs on one ring is a
 * contract violation; the record reader detects a header that cannot be
 * right and returns #RV_EMALFORMED rather than reading out of bounds.
 *
 * **Lock-freedom.** The indices are `_Atomic(size_t)`, only ever loaded and
 * stored (no read-modify-write). ring.c refuses to build where they are not
 * always lock-free, because a lock taken by interrupted code would deadlock
 * the interrupt handler. That holds on x86-64, AArch64 and ARMv7-M/ARMv8-M
 * (Cortex-M3/M4/M7/M33: checked with `clang --target=thumbv7m-none-eabi
 * -ffreestanding`, which leaves memcpy as the only external symbol). ARMv6-M
 * (Cortex-M0/M0+) has no atomic instructions: compilers call `__atomic_*`
 * helpers there, and ring.c does not build.
 *
 * Freestanding: yes (only memcpy; no allocation).
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/core/bytes.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_ring ring: SPSC byte and record ring
 *  \{ */

/** \brief Bytes between the producer's and the consumer's index, so the two
 *         never share a cache line. */
#define RV_RING_CACHE_LINE 64u

/** \brief Bytes of header stored in front of each record. */
#define RV_RING_REC_HEADER 4u

/**
 * \brief A single-producer single-consumer ring. Caller-allocated (static,
 *        stack or heap; no alignment beyond the type's own is needed).
 *
 * All fields are private: use the functions below. The struct is public
 * only so that it can live in static memory with no allocator.
 */
typedef struct rv_ring {
  _Atomic(size_t) head; /**< private: write index (free-running), owned by the producer */
  size_t tail_cache;    /**< private: the producer's last view of `tail` */
  unsigned char pad0_[RV_RING_CACHE_LINE - 2 * sizeof(size_t)]; /**< private: padding */
  _Atomic(size_t) tail; /**< private: read index (free-running), owned by the consumer */
  size_t head_cache;    /**< private: the consumer's last view of `head` */
  unsigned char pad1_[RV_RING_CACHE_LINE - 2 * sizeof(size_t)]; /**< private: padding */
  unsigned char *buf;                                           /**< private: the storage */
  size_t mask; /**< private: capacity - 1 (capacity is a power of two) */
} rv_ring;

/**
 * \brief Set up a ring over caller storage.
 *
 * The ring borrows \p storage: it must stay valid, and be touched only
 * through the ring, until the ring is no longer used. Nothing is freed.
 * \param[out] r        the ring
 * \param[in]  storage  \p size bytes of storage
 * \param[in]  size     the capacity in bytes: a power of two, at least 2
 * \return 0, or #RV_EINVAL if \p storage is NULL or \p size is not a power
 *         of two of at least 2 (then \p r is untouched).
 * \since 0.2.0
 */
RV_API int rv_ring_init(rv_ring *r, void *storage, size_t size);

/**
 * \brief Empty the ring. Neither the producer nor the consumer may be
 *        running (not thread-safe).
 * \param[in,out] r  the ring
 * \since 0.2.0
 */
RV_API void rv_ring_reset(rv_ring *r);

/**
 * \brief The ring's capacity in bytes (the \p size given to rv_ring_init()).
 * \param[in] r  the ring; thread-safe
 * \since 0.2.0
 */
RV_API size_t rv_ring_capacity(const rv_ring *r);

/**
 * \brief Bytes stored and not yet consumed.
 *
 * Exact when neither side is running. For the consumer it is a lower bound
 * (the producer may add more); for the producer an upper bound.
 * \param[in] r  the ring; callable from either side
 * \since 0.2.0
 */
RV_API size_t rv_ring_used(const rv_ring *r);

/**
 * \brief Bytes free for writing (capacity minus rv_ring_used()).
 *
 * For the producer it is a lower bound (the consumer may free more).
 * \param[in] r  the ring; callable from either side
 * \since 0.2.0
 */
RV_API size_t rv_ring_space(const rv_ring *r);

/**
 * \name Byte API
 * A stream of bytes. Short writes (ring full) and short reads (ring empty)
 * are normal and are reported by the count returned, never as an error.
 * \{
 */

/**
 * \brief Producer: copy up to \p n bytes from \p src into the ring.
 * \param[in,out] r    the ring
 * \param[in]     src  the bytes (NULL only with \p n 0); must not point into
 *                     the ring's storage
 * \param[in]     n    bytes offered
 * \return the number of bytes written, `min(n, space)`; 0 when full.
 * \since 0.2.0
 */
RV_API size_t rv_ring_write(rv_ring *r, const void *src, size_t n);

/**
 * \brief Consumer: move up to \p n bytes out of the ring into \p dst.
 * \param[in,out] r    the ring
 * \param[out]    dst  room for \p n bytes (NULL only with \p n 0)
 * \param[in]     n    bytes wanted
 * \return the number of bytes read, `min(n, used)`; 0 when empty.
 * \since 0.2.0
 */
RV_API size_t rv_ring_read(rv_ring *r, void *dst, size_t n);

/**
 * \brief Consumer: copy up to \p n bytes into \p dst without consuming them.
 * \return the number of bytes copied, `min(n, used)`.
 * \since 0.2.0
 */
RV_API size_t rv_ring_peek(rv_ring *r, void *dst, size_t n);

/**
 * \brief Consumer: drop up to \p n bytes without copying them.
 * \return the number of bytes dropped, `min(n, used)`.
 * \since 0.2.0
 */
RV_API size_t rv_ring_discard(rv_ring *r, size_t n);

/**
 * \brief Producer: the contiguous free region where the next bytes go, for
 *        zero-copy writes (fill it, then rv_ring_write_commit()).
 *
 * The region may be shorter than rv_ring_space() when free space wraps
 * around the end of the storage; commit, then ask again for the rest.
 * \param[in,out] r     the ring
 * \param[out]    span  set to the start of the region (NULL when it is empty)
 * \return the region's length in bytes; 0 when the ring is full.
 * \since 0.2.0
 */
RV_API size_t rv_ring_write_span(rv_ring *r, void **span);

/**
 * \brief Producer: publish \p n bytes written directly into the storage
 *        (normally through rv_ring_write_span()).
 * \param[in,out] r  the ring
 * \param[in]     n  bytes to publish, at most rv_ring_space()
 * \return 0, or #RV_ERANGE if \p n exceeds the free space (nothing published).
 * \since 0.2.0
 */
RV_API int rv_ring_write_commit(rv_ring *r, size_t n);

/**
 * \brief Consumer: the contiguous region holding the next bytes, for
 *        zero-copy reads (use them, then rv_ring_read_commit()).
 *
 * The pointer stays valid, and the bytes unchanged, until the consumer
 * commits them. The region may be shorter than rv_ring_used() when the data
 * wraps around the end of the storage.
 * \param[in,out] r     the ring
 * \param[out]    span  set to the start of the region (NULL when it is empty)
 * \return the region's length in bytes; 0 when the ring is empty.
 * \since 0.2.0
 */
RV_API size_t rv_ring_read_span(rv_ring *r, const void **span);

/**
 * \brief Consumer: release \p n bytes (normally seen through rv_ring_read_span()).
 * \param[in,out] r  the ring
 * \param[in]     n  bytes to release, at most rv_ring_used()
 * \return 0, or #RV_ERANGE if \p n exceeds the stored bytes (nothing released).
 * \since 0.2.0
 */
RV_API int rv_ring_read_commit(rv_ring *r, size_t n);

/** \} */

/**
 * \name Record API
 * Whole records of 0 to rv_ring_rec_max() bytes, in order, each exactly once.
 * \{
 */

/**
 * \brief The largest record this ring can ever hold:
 *        `min(capacity - RV_RING_REC_HEADER, UINT32_MAX)`.
 *
 * A ring of less than #RV_RING_REC_HEADER bytes holds no record at all: this
 * returns 0 and every push fails with #RV_ELIMIT.
 * \param[in] r  the ring; thread-safe
 * \since 0.2.0
 */
RV_API size_t rv_ring_rec_max(const rv_ring *r);

/**
 * \brief Producer: append one record of \p len bytes, all or nothing.
 * \param[in,out] r    the ring
 * \param[in]     rec  the payload (NULL only with \p len 0); must not point
 *                     into the ring's storage
 * \param[in]     len  payload bytes (0 is a valid, empty record)
 * \return 0; #RV_EFULL if there is no room right now (nothing written; retry
 *         after the consumer catches up); #RV_ELIMIT if \p len exceeds
 *         rv_ring_rec_max(), so it can never fit; #RV_EINVAL if \p rec is NULL
 *         with a nonzero \p len.
 * \since 0.2.0
 */
RV_API int rv_ring_rec_push(rv_ring *r, const void *rec, size_t len);

/**
 * \brief Producer: append one record gathered from \p nparts pieces
 *        (for example a header and a payload), all or nothing.
 * \param[in,out] r       the ring
 * \param[in]     parts   the pieces, concatenated in order (NULL only with
 *                        \p nparts 0); a piece's pointer may be NULL only
 *                        with a length of 0
 * \param[in]     nparts  number of pieces
 * \return as rv_ring_rec_push(); #RV_ELIMIT also when the total length
 *         overflows `size_t`.
 * \since 0.2.0
 */
RV_API int rv_ring_rec_pushv(rv_ring *r, const rv_slice *parts, size_t nparts);

/**
 * \brief Consumer: the length of the next record, without consuming it.
 * \param[in,out] r    the ring
 * \param[out]    len  the payload length; untouched on error
 * \return 0, #RV_EEMPTY if no record is stored, or #RV_EMALFORMED if the
 *         stored bytes are not a record (the byte API was used on this ring).
 * \since 0.2.0
 */
RV_API int rv_ring_rec_next(rv_ring *r, size_t *len);

/**
 * \brief Consumer: move the next record into \p dst.
 * \param[in,out] r         the ring
 * \param[out]    dst       room for \p dst_size bytes (NULL only with \p dst_size 0)
 * \param[in]     dst_size  bytes available at \p dst
 * \param[out]    len       the record's length; set also on #RV_ERANGE, so
 *                          the caller learns the size it needs
 * \return 0; #RV_EEMPTY if no record is stored; #RV_ERANGE if the record is
 *         longer than \p dst_size (nothing consumed); #RV_EMALFORMED as for
 *         rv_ring_rec_next().
 * \since 0.2.0
 */
RV_API int rv_ring_rec_pop(rv_ring *r, void *dst, size_t dst_size, size_t *len);

/**
 * \brief Consumer: copy the next record into \p dst without consuming it.
 * \return as rv_ring_rec_pop().
 * \since 0.2.0
 */
RV_API int rv_ring_rec_peek(rv_ring *r, void *dst, size_t dst_size, size_t *len);

/**
 * \brief Consumer: zero-copy view of the next record, in one or two pieces.
 *
 * `view[0]` holds the first part of the payload and `view[1]` the rest when
 * the record wraps around the end of the storage (otherwise `view[1]` is
 * empty). The views stay valid until the consumer drops the record with
 * rv_ring_rec_drop() (or consumes it any other way).
 * \param[in,out] r     the ring
 * \param[out]    view  two slices; untouched on error
 * \return 0, #RV_EEMPTY or #RV_EMALFORMED as for rv_ring_rec_next().
 * \since 0.2.0
 */
RV_API int rv_ring_rec_view(rv_ring *r, rv_slice view[2]);

/**
 * \brief Consumer: drop the next record without copying it.
 * \return 0, #RV_EEMPTY or #RV_EMALFORMED as for rv_ring_rec_next().
 * \since 0.2.0
 */
RV_API int rv_ring_rec_drop(rv_ring *r);

/** \} */

/** \} */

#ifdef __cplusplus
}
#endif
