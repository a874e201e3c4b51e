/* bytes: slices and a growable byte buffer. Freestanding: only mem* used. */
#include <rivet/core/bytes.h>

#include <string.h>

#include <rivet/core/err.h>

rv_slice rv_slice_cstr(const char *s) {
  size_t n = 0;
  if (s) {
    while (s[n] != '\0') { /* strlen is libc: keep this module freestanding */
      n++;
    }
  }
  return rv_slice_make(s, n);
}

int rv_slice_sub(rv_slice s, size_t off, size_t len, rv_slice *out) {
  if (off > s.len || len > s.len - off) {
    return RV_ERANGE;
  }
  *out = rv_slice_make(s.ptr + off, len);
  return RV_OK;
}

bool rv_slice_eq(rv_slice a, rv_slice b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool rv_slice_starts_with(rv_slice s, rv_slice prefix) {
  return prefix.len <= s.len && (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

ptrdiff_t rv_slice_find(rv_slice s, uint8_t byte) {
  for (size_t i = 0; i < s.len; i++) {
    if (s.ptr[i] == byte) {
      return (ptrdiff_t)i;
    }
  }
  return -1;
}

bool rv_slice_split(rv_slice *s, uint8_t sep, rv_slice *head) {
  ptrdiff_t i = rv_slice_find(*s, sep);
  if (i < 0) {
    *head = *s;
    *s = rv_slice_make(s->ptr + s->len, 0);
    return false;
  }
  *head = rv_slice_make(s->ptr, (size_t)i);
  *s = rv_slice_make(s->ptr + i + 1, s->len - (size_t)i - 1);
  return true;
}

/* ---- rv_buf ------------------------------------------------------------- */

void rv_buf_init(rv_buf *b, const rv_alloc *alloc) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->alloc = alloc;
}

void rv_buf_free(rv_buf *b) {
  rv_alloc_free(b->alloc, b->data, b->cap);
  rv_buf_init(b, b->alloc);
}

int rv_buf_reserve(rv_buf *b, size_t extra) {
  size_t need;
  if (__builtin_add_overflow(b->len, extra, &need)) {
    return RV_EOVERFLOW;
  }
  if (need <= b->cap) {
    return RV_OK;
  }
  /* Double (at least 64 bytes) so n appends cost O(n) copies in total. */
  size_t cap = b->cap < 32 ? 64 : b->cap;
  while (cap < need) {
    if (__builtin_mul_overflow(cap, 2, &cap)) {
      cap = need;
      break;
    }
  }
  uint8_t *p = rv_alloc_resize(b->alloc, b->data, b->cap, cap, 1);
  if (!p) {
    return RV_ENOMEM;
  }
  b->data = p;
  b->cap = cap;
  return RV_OK;
}

int rv_buf_append(rv_buf *b, const void *p, size_t n) {
  if (n == 0) {
    return RV_OK;
  }
  int rc = rv_buf_reserve(b, n);
  if (rc != RV_OK) {
    return rc;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return RV_OK;
}

int rv_buf_push(rv_buf *b, uint8_t byte) { return rv_buf_append(b, &byte, 1); }

int rv_buf_resize(rv_buf *b, size_t len) {
  if (len > b->len) {
    int rc = rv_buf_reserve(b, len - b->len);
    if (rc != RV_OK) {
      return rc;
    }
    memset(b->data + b->len, 0, len - b->len);
  }
  b->len = len;
  return RV_OK;
}

void rv_buf_consume(rv_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}
