/* vec: generic growable array. Freestanding: only mem* and rv_* symbols.
 *
 * Invariant: cap * elem_size fits in size_t (checked whenever cap grows), so
 * every offset i * elem_size with i <= cap is computed without overflow. */
#include <rivet/core/vec.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The C99 inline model: this declaration makes this file hold the one
 * external definition of rv_vec_push, the exported symbol. */
extern inline int rv_vec_push(rv_vec *v, const void *elem);

/* Storage is maximally aligned so any element type fits. */
#define VEC_ALIGN RV_ALLOC_ALIGN_MAX

static unsigned char *slot(const rv_vec *v, size_t i) {
  return (unsigned char *)v->data + i * v->elem_size;
}

/* If p points into v's storage, its byte offset there; else SIZE_MAX.
 * Integer comparison: p may point into an unrelated object. */
static size_t inner_offset(const rv_vec *v, const void *p) {
  uintptr_t lo = (uintptr_t)v->data;
  uintptr_t x = (uintptr_t)p;
  if (!v->data || x < lo || x - lo >= v->len * v->elem_size) {
    return SIZE_MAX;
  }
  return (size_t)(x - lo);
}

void rv_vec_init(rv_vec *v, size_t elem_size, const rv_alloc *alloc) {
  if (elem_size == 0) {
    rv_panic("rv_vec_init: elem_size is 0");
  }
  v->data = NULL;
  v->len = 0;
  v->cap = 0;
  v->elem_size = elem_size;
  v->alloc = alloc;
}

void rv_vec_free(rv_vec *v) {
  if (!v) {
    return;
  }
  /* cap * elem_size is the size the block was last allocated with. */
  rv_alloc_free(v->alloc, v->data, v->cap * v->elem_size);
  v->data = NULL;
  v->len = 0;
  v->cap = 0;
}

/* Set the capacity to exactly cap (> 0, >= len). */
static int set_cap(rv_vec *v, size_t cap) {
  size_t bytes;
  if (__builtin_mul_overflow(cap, v->elem_size, &bytes)) {
    return RV_EOVERFLOW;
  }
  void *p = rv_alloc_resize(v->alloc, v->data, v->cap * v->elem_size, bytes, VEC_ALIGN);
  if (!p) {
    return RV_ENOMEM;
  }
  v->data = p;
  v->cap = cap;
  return RV_OK;
}

int rv_vec_reserve(rv_vec *v, size_t n) {
  size_t need;
  if (__builtin_add_overflow(v->len, n, &need)) {
    return RV_EOVERFLOW;
  }
  if (need <= v->cap) {
    return RV_OK;
  }
  /* Double, starting at 64 bytes' worth (at least 4 elements), so n
   * pushes cost O(n) copies in total. Past the largest capacity whose
   * size in bytes fits, fall back to exactly what is needed, which
   * set_cap() then rejects with RV_EOVERFLOW if it does not fit either. */
  size_t cap = v->cap;
  if (cap == 0) {
    cap = 64 / v->elem_size;
    cap = cap < 4 ? 4 : cap;
  }
  while (cap < need) {
    if (__builtin_mul_overflow(cap, (size_t)2, &cap)) {
      cap = need;
      break;
    }
  }
  size_t bytes;
  if (cap != need && __builtin_mul_overflow(cap, v->elem_size, &bytes)) {
    cap = need; /* the doubled size overflows: try the exact size */
  }
  return set_cap(v, cap);
}

/* Grow for one more element, keeping elem valid if it points into v. */
static int grow_one(rv_vec *v, const void **elem) {
  size_t off = elem ? inner_offset(v, *elem) : SIZE_MAX;
  int rc = rv_vec_reserve(v, 1);
  if (rc == RV_OK && off != SIZE_MAX) {
    *elem = (unsigned char *)v->data + off;
  }
  return rc;
}

int rv_vec_push_slow(rv_vec *v, const void *elem) {
  int rc = grow_one(v, &elem);
  if (rc != RV_OK) {
    return rc;
  }
  memcpy(slot(v, v->len), elem, v->elem_size);
  v->len++;
  return RV_OK;
}

void *rv_vec_push_slot(rv_vec *v) {
  if (rv_vec_reserve(v, 1) != RV_OK) {
    return NULL;
  }
  return slot(v, v->len++);
}

int rv_vec_pop(rv_vec *v, void *out) {
  if (v->len == 0) {
    return RV_EEMPTY;
  }
  v->len--;
  if (out) {
    memcpy(out, slot(v, v->len), v->elem_size);
  }
  return RV_OK;
}

int rv_vec_insert(rv_vec *v, size_t i, const void *elem) {
  if (i > v->len) {
    return RV_ERANGE;
  }
  int rc = grow_one(v, &elem);
  if (rc != RV_OK) {
    return rc;
  }
  size_t es = v->elem_size;
  size_t off = inner_offset(v, elem);
  memmove(slot(v, i + 1), slot(v, i), (v->len - i) * es);
  v->len++;
  if (off != SIZE_MAX && off >= i * es) {
    elem = (const unsigned char *)elem + es; /* it moved up with the shift */
  }
  memcpy(slot(v, i), elem, es);
  return RV_OK;
}

int rv_vec_remove(rv_vec *v, size_t i, void *out) {
  if (i >= v->len) {
    return RV_ERANGE;
  }
  if (out) {
    memcpy(out, slot(v, i), v->elem_size);
  }
  memmove(slot(v, i), slot(v, i + 1), (v->len - i - 1) * v->elem_size);
  v->len--;
  return RV_OK;
}

int rv_vec_swap_remove(rv_vec *v, size_t i, void *out) {
  if (i >= v->len) {
    return RV_ERANGE;
  }
  if (out) {
    memcpy(out, slot(v, i), v->elem_size);
  }
  v->len--;
  if (i != v->len) {
    memcpy(slot(v, i), slot(v, v->len), v->elem_size);
  }
  return RV_OK;
}

int rv_vec_shrink(rv_vec *v) {
  if (v->len == v->cap) {
    return RV_OK;
  }
  if (v->len == 0) {
    rv_vec_free(v);
    return RV_OK;
  }
  return set_cap(v, v->len);
}

void rv_vec_clear(rv_vec *v) { v->len = 0; }
