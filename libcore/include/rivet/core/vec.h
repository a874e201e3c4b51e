/**
 * \file rivet/core/vec.h
 * \brief A generic growable array: the element size is set at run time,
 *        typed macros sit on top.
 *
 * An ::rv_vec owns its storage, which comes from the ::rv_alloc given at
 * rv_vec_init() (any allocator works, an arena's view from
 * rv_arena_allocator() included). Elements are copied in and out with
 * `memcpy` of rv_vec::elem_size bytes: they must be trivially copyable
 * (or the caller keeps the bookkeeping of what they own).
 *
 * Pointers into the storage (from rv_vec_at(), rv_vec_push_slot(),
 * rv_vec::data) are invalidated by any call that may reallocate: reserve,
 * push, push_slot, insert and shrink. Remove, pop and clear never
 * reallocate.
 *
 * The typed macros (RV_VEC_INIT(), RV_VEC_PUSH(), RV_VEC_AT(), ...) check
 * that the type's size matches the vector's element size: at compile time
 * where the types are visible, at run time otherwise (a mismatch is misuse
 * and goes to rv_panic()). They are C only (compound literals).
 *
 * Freestanding: yes (only mem* from libc; allocates only through its
 * ::rv_alloc). Not thread-safe: one vector, one thread at a time.
 */
#pragma once

#include <stddef.h>
#include <string.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_vec vec: growable array
 *  \{ */

/**
 * \brief A growable array of rv_vec::elem_size-byte elements.
 *
 * All fields are readable; write them only through the functions below.
 * The inline functions (rv_vec_push(), rv_vec_at(), rv_vec_len()) read
 * rv_vec::data, rv_vec::len, rv_vec::cap and rv_vec::elem_size and write rv_vec::len, so these
 * fields and their meaning are part of the ABI. rv_vec::data is NULL while rv_vec::cap is 0, and is
 * aligned to #RV_ALLOC_ALIGN_MAX otherwise.
 */
typedef struct rv_vec {
  void *data;            /**< the elements; NULL while cap == 0 */
  size_t len;            /**< elements in use */
  size_t cap;            /**< elements allocated */
  size_t elem_size;      /**< bytes per element, > 0 */
  const rv_alloc *alloc; /**< where the storage comes from (NULL = default) */
} rv_vec;

/**
 * \brief Initialise an empty vector. Allocates nothing.
 *
 * An \p elem_size of 0 is misuse and goes to rv_panic().
 * \param[out] v          the vector
 * \param[in]  elem_size  bytes per element, > 0
 * \param[in]  alloc      allocator kept for the vector's life, or NULL for
 *                        the default (rv_alloc_libc() when hosted)
 * \since 0.1.0
 */
RV_API void rv_vec_init(rv_vec *v, size_t elem_size, const rv_alloc *alloc);

/**
 * \brief Release the storage and leave \p v empty, reusable as initialised
 *        (same element size and allocator). NULL does nothing.
 * \param[in,out] v  the vector, or NULL
 * \since 0.1.0
 */
RV_API void rv_vec_free(rv_vec *v);

/**
 * \brief Make room for at least \p n more elements without reallocating.
 *
 * Grows geometrically (doubling), so n pushes cost O(n) copies in total.
 * May move the elements. On failure the vector is unchanged.
 * \param[in,out] v  the vector
 * \param[in]     n  additional elements wanted
 * \return 0, #RV_ENOMEM if the allocator failed, or #RV_EOVERFLOW if the
 *         new size in bytes does not fit in size_t.
 * \since 0.1.0
 */
RV_API int rv_vec_reserve(rv_vec *v, size_t n);

/**
 * \brief The slow path of rv_vec_push() (grows, then appends). Call
 *        rv_vec_push().
 * \param[in,out] v     the vector
 * \param[in]     elem  the element to copy (may point into \p v itself)
 * \return as rv_vec_push().
 * \since 0.1.0
 */
RV_API int rv_vec_push_slow(rv_vec *v, const void *elem);

/**
 * \brief Append a copy of the rv_vec::elem_size bytes at \p elem.
 *
 * Inline fast path: reads data, len, cap and elem_size, writes len; a full
 * vector goes to rv_vec_push_slow(). Also exported from the library (C99
 * inline model), so its address can be taken.
 * \param[in,out] v     the vector
 * \param[in]     elem  the element; may point into \p v itself
 * \return 0, #RV_ENOMEM or #RV_EOVERFLOW (as rv_vec_reserve()); on failure
 *         the vector is unchanged.
 * \since 0.1.0
 */
RV_API inline int rv_vec_push(rv_vec *v, const void *elem) {
  if (v->len < v->cap) {
    /* len < cap and cap * elem_size was checked when cap was set, so the
     * offset cannot overflow. */
    unsigned char *dst = (unsigned char *)v->data + v->len * v->elem_size;
#if defined(__GNUC__) || defined(__clang__)
    /* A copy of a constant size compiles to plain moves, a run-time size to
     * a call of memcpy: switch to constant sizes for the common ones. The
     * empty asm hides which object src points to, because after inlining
     * GCC checks the cases not taken against that object's size and warns
     * (-Warray-bounds) although only elem_size bytes are ever read. */
    const unsigned char *src = (const unsigned char *)elem;
    __asm__("" : "+r"(src));
    switch (v->elem_size) {
    case 4:
      memcpy(dst, src, 4);
      break;
    case 8:
      memcpy(dst, src, 8);
      break;
    case 16:
      memcpy(dst, src, 16);
      break;
    default:
      memcpy(dst, src, v->elem_size);
      break;
    }
#else
    memcpy(dst, elem, v->elem_size);
#endif
    v->len++;
    return RV_OK;
  }
  return rv_vec_push_slow(v, elem);
}

/**
 * \brief Append one uninitialised element and return it, for the caller to
 *        fill in place.
 * \param[in,out] v  the vector
 * \return the new last element (valid until the next reallocating call), or
 *         NULL if growing failed (the vector is then unchanged).
 * \since 0.1.0
 */
RV_API void *rv_vec_push_slot(rv_vec *v);

/**
 * \brief Remove the last element.
 * \param[in,out] v    the vector
 * \param[out]    out  receives a copy of it, or NULL if not wanted
 * \return 0, or #RV_EEMPTY if the vector is empty (\p out untouched).
 * \since 0.1.0
 */
RV_API int rv_vec_pop(rv_vec *v, void *out);

/**
 * \brief Insert a copy of \p elem at index \p i, shifting the elements from
 *        \p i on up by one.
 * \param[in,out] v     the vector
 * \param[in]     i     the index, 0 ..= len (len appends)
 * \param[in]     elem  the element; may point into \p v itself
 * \return 0, #RV_ERANGE if \p i > len, #RV_ENOMEM or #RV_EOVERFLOW; on
 *         failure the vector is unchanged.
 * \since 0.1.0
 */
RV_API int rv_vec_insert(rv_vec *v, size_t i, const void *elem);

/**
 * \brief Remove the element at \p i, keeping the order of the rest (O(n)).
 * \param[in,out] v    the vector
 * \param[in]     i    the index, < len
 * \param[out]    out  receives a copy of it, or NULL; must not point into \p v
 * \return 0, or #RV_ERANGE if \p i >= len (the vector and \p out untouched).
 * \since 0.1.0
 */
RV_API int rv_vec_remove(rv_vec *v, size_t i, void *out);

/**
 * \brief Remove the element at \p i by moving the last element into its
 *        place (O(1); the order is not kept).
 * \param[in,out] v    the vector
 * \param[in]     i    the index, < len
 * \param[out]    out  receives a copy of it, or NULL; must not point into \p v
 * \return 0, or #RV_ERANGE if \p i >= len.
 * \since 0.1.0
 */
RV_API int rv_vec_swap_remove(rv_vec *v, size_t i, void *out);

/**
 * \brief Reduce the storage to exactly rv_vec::len elements (none: the
 *        storage is freed).
 * \param[in,out] v  the vector
 * \return 0, or #RV_ENOMEM if the allocator could not resize (the vector is
 *         then unchanged and still valid).
 * \since 0.1.0
 */
RV_API int rv_vec_shrink(rv_vec *v);

/**
 * \brief Remove every element; keeps the storage.
 * \param[in,out] v  the vector
 * \since 0.1.0
 */
RV_API void rv_vec_clear(rv_vec *v);

/**
 * \brief The element at \p i.
 * \param[in] v  the vector
 * \param[in] i  the index
 * \return a pointer to it (valid until the next reallocating call), or NULL
 *         if \p i >= len.
 * \since 0.1.0
 */
static inline void *rv_vec_at(const rv_vec *v, size_t i) {
  return i < v->len ? (unsigned char *)v->data + i * v->elem_size : NULL;
}

/**
 * \brief The number of elements.
 * \param[in] v  the vector
 * \return rv_vec::len.
 * \since 0.1.0
 */
static inline size_t rv_vec_len(const rv_vec *v) { return v->len; }

/**
 * \brief Support for the typed macros: panics unless \p v holds elements
 *        of \p size bytes, then returns \p v.
 * \param[in] v     the vector
 * \param[in] size  `sizeof` the type the macro was given
 * \return \p v.
 * \since 0.1.0
 */
static inline rv_vec *rv_vec_typed_(const rv_vec *v, size_t size) {
  if (v->elem_size != size) {
    rv_panic("rv_vec typed macro: sizeof(T) differs from the vector's elem_size");
  }
  /* The macros hand back a non-const vector only where they were given one. */
  return (rv_vec *)v;
}

/**
 * \brief Support for RV_VEC_PUSH(): rv_vec_push() for a vector whose
 *        element size is known to be \p size, a compile-time constant there,
 *        so the copy is a plain move. Reads and writes the same fields.
 * \param[in,out] v     the vector; its elem_size must be \p size
 * \param[in]     elem  the element
 * \param[in]     size  `sizeof` the element type
 * \return as rv_vec_push().
 * \since 0.1.0
 */
static inline int rv_vec_push_sized_(rv_vec *v, const void *elem, size_t size) {
  if (v->len < v->cap) {
    memcpy((unsigned char *)v->data + v->len * size, elem, size);
    v->len++;
    return RV_OK;
  }
  return rv_vec_push_slow(v, elem);
}

/** \brief A compile-time check usable inside an expression (C only). */
#define RV_VEC_CHECK_(cond, msg)                                                                   \
  ((void)sizeof(struct {                                                                           \
    _Static_assert(cond, msg);                                                                     \
    int rv_unused_;                                                                                \
  }))

/** \brief rv_vec_init() for elements of type \p T. */
#define RV_VEC_INIT(v, T, alloc)                                                                   \
  (RV_VEC_CHECK_(sizeof(T) > 0, "RV_VEC_INIT: T has no size"), rv_vec_init((v), sizeof(T), (alloc)))

/* T is a type name in a compound literal: it cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/**
 * \brief Append \p value (converted to \p T; a struct value works too);
 *        evaluates to 0 or an `RV_E*` code. The copy has a constant size, so
 *        this is the fastest way to push.
 */
#define RV_VEC_PUSH(v, T, value)                                                                   \
  rv_vec_push_sized_(rv_vec_typed_((v), sizeof(T)), (T[1]){(value)}, sizeof(T))
/* NOLINTEND(bugprone-macro-parentheses) */

/** \brief The element at \p i as a `T *`, or NULL if \p i >= len. */
#define RV_VEC_AT(v, T, i) ((T *)rv_vec_at(rv_vec_typed_((v), sizeof(T)), (i)))

/** \brief The elements as a `T *` (NULL while the capacity is 0). */
#define RV_VEC_DATA(v, T) ((T *)rv_vec_typed_((v), sizeof(T))->data)

/** \brief Pop into `*out` (a `T *`, or NULL); evaluates to 0 or #RV_EEMPTY. */
#define RV_VEC_POP(v, T, out)                                                                      \
  (RV_VEC_CHECK_(sizeof(*(out)) == sizeof(T), "RV_VEC_POP: *out is not a T"),                      \
   rv_vec_pop(rv_vec_typed_((v), sizeof(T)), (out)))

/* T and p are a type and a declared name: they cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/**
 * \brief Loop over the elements: `RV_VEC_FOREACH(v, int, p) { use(*p); }`.
 *        The vector must not reallocate inside the loop.
 */
#define RV_VEC_FOREACH(v, T, p)                                                                    \
  for (T *p = RV_VEC_DATA(v, T), *p##_end_ = p ? p + (v)->len : p; p < p##_end_; p++)
/* NOLINTEND(bugprone-macro-parentheses) */

/** \} */

#ifdef __cplusplus
}
#endif
