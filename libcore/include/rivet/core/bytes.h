/**
 * \file rivet/core/bytes.h
 * \brief Byte slices (zero-copy views) and a growable byte buffer.
 *
 * An ::rv_slice borrows memory it does not own: it stays valid as long as
 * the memory it points into does, and nothing in this module frees it. An
 * ::rv_buf owns its storage, which comes from the ::rv_alloc it was
 * initialised with.
 *
 * Freestanding: yes. Not thread-safe: one buffer, one thread at a time.
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

/** \defgroup core_bytes bytes: slices and buffers
 *  \{ */

/** \brief A read-only view of \p len bytes at \p ptr (ptr may be NULL only when len is 0). */
typedef struct rv_slice {
  const uint8_t *ptr; /**< first byte */
  size_t len;         /**< number of bytes */
} rv_slice;

/** \brief A slice over \p len bytes at \p p. */
static inline rv_slice rv_slice_make(const void *p, size_t len) {
  rv_slice s = {(const uint8_t *)p, len};
  return s;
}

/**
 * \brief A slice over a NUL-terminated string, without the NUL.
 * \param[in] s  the string; NULL gives an empty slice
 * \since 0.1.0
 */
RV_API rv_slice rv_slice_cstr(const char *s);

/**
 * \brief Take the sub-slice `[off, off + len)` of \p s, checked.
 * \param[in]  s    the slice
 * \param[in]  off  start offset
 * \param[in]  len  length wanted
 * \param[out] out  the sub-slice; untouched on error
 * \return 0, or #RV_ERANGE if the range is not inside \p s (overflow-safe).
 * \since 0.1.0
 */
RV_API int rv_slice_sub(rv_slice s, size_t off, size_t len, rv_slice *out);

/** \brief True when \p a and \p b hold the same bytes (not constant-time). \since 0.1.0 */
RV_API bool rv_slice_eq(rv_slice a, rv_slice b);

/** \brief True when \p s begins with \p prefix. \since 0.1.0 */
RV_API bool rv_slice_starts_with(rv_slice s, rv_slice prefix);

/**
 * \brief Index of the first \p byte in \p s.
 * \return the index, or -1 if \p s has no such byte (an index always fits
 *         in `ptrdiff_t`: no object is larger than PTRDIFF_MAX).
 * \since 0.1.0
 */
RV_API ptrdiff_t rv_slice_find(rv_slice s, uint8_t byte);

/**
 * \brief Split \p s at the first \p sep: \p head gets what precedes it,
 *        \p s is advanced past it.
 *
 * With no \p sep left, \p head gets all of \p s and \p s becomes empty.
 * \param[in,out] s     the slice to consume from
 * \param[in]     sep   separator byte
 * \param[out]    head  the part before the separator
 * \return true if a separator was found, false if \p s ran out.
 * \since 0.1.0
 */
RV_API bool rv_slice_split(rv_slice *s, uint8_t sep, rv_slice *head);

/**
 * \brief A growable byte buffer that owns its storage.
 *
 * Readable fields: rv_buf::data (NULL while rv_buf::cap is 0), rv_buf::len, rv_buf::cap. Write them
 * only through the functions below. A pointer into rv_buf::data is invalidated by any call that may
 * grow the buffer (reserve, append, resize).
 */
typedef struct rv_buf {
  uint8_t *data;         /**< the bytes; NULL while cap == 0 */
  size_t len;            /**< bytes in use */
  size_t cap;            /**< bytes allocated */
  const rv_alloc *alloc; /**< where the storage comes from (NULL = default) */
} rv_buf;

/**
 * \brief Initialise an empty buffer. Allocates nothing.
 * \param[out] b      the buffer
 * \param[in]  alloc  allocator kept for the buffer's life, or NULL for the default
 * \since 0.1.0
 */
RV_API void rv_buf_init(rv_buf *b, const rv_alloc *alloc);

/**
 * \brief Release the storage and make \p b empty (reusable as initialised).
 * \since 0.1.0
 */
RV_API void rv_buf_free(rv_buf *b);

/**
 * \brief Make room for \p extra more bytes beyond rv_buf::len without another
 *        allocation. Grows geometrically (at least doubling).
 * \return 0, #RV_ENOMEM, or #RV_EOVERFLOW if `len + extra` does not fit;
 *         on error \p b is unchanged.
 * \since 0.1.0
 */
RV_API int rv_buf_reserve(rv_buf *b, size_t extra);

/**
 * \brief Append \p n bytes from \p p (which must not point into \p b's own
 *        storage unless capacity is already reserved).
 * \return 0, #RV_ENOMEM or #RV_EOVERFLOW; on error \p b is unchanged.
 * \since 0.1.0
 */
RV_API int rv_buf_append(rv_buf *b, const void *p, size_t n);

/** \brief Append one byte. \return as rv_buf_append(). \since 0.1.0 */
RV_API int rv_buf_push(rv_buf *b, uint8_t byte);

/**
 * \brief Set rv_buf::len to \p len, growing (new bytes are zero) or truncating.
 * \return 0, #RV_ENOMEM or #RV_EOVERFLOW; on error \p b is unchanged.
 * \since 0.1.0
 */
RV_API int rv_buf_resize(rv_buf *b, size_t len);

/**
 * \brief Remove the first \p n bytes (all of them if \p n > len), keeping
 *        the storage. O(len - n).
 * \since 0.1.0
 */
RV_API void rv_buf_consume(rv_buf *b, size_t n);

/** \brief Set rv_buf::len to 0, keeping the storage. \since 0.1.0 */
static inline void rv_buf_clear(rv_buf *b) { b->len = 0; }

/** \brief A slice over the buffer's current bytes (invalidated by growth). */
static inline rv_slice rv_buf_slice(const rv_buf *b) { return rv_slice_make(b->data, b->len); }

/** \} */

#ifdef __cplusplus
}
#endif
