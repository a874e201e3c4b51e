/* alloc-libc: the C library's allocator behind the rv_alloc interface. */
#include <rivet/core/alloc.h>

#include <stdlib.h>
#include <string.h>

static void *libc_alloc(void *ctx, size_t size, size_t align) {
  (void)ctx;
  if (align <= RV_ALLOC_ALIGN_MAX) {
    return malloc(size);
  }
  /* aligned_alloc wants a size that is a multiple of the alignment. */
  size_t rounded;
  if (__builtin_add_overflow(size, align - 1, &rounded)) {
    return NULL;
  }
  return aligned_alloc(align, rounded & ~(align - 1));
}

static void *libc_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align) {
  if (align <= RV_ALLOC_ALIGN_MAX) {
    (void)ctx;
    return realloc(ptr, new_size);
  }
  /* realloc does not keep over-alignment: move by hand. */
  void *p = libc_alloc(ctx, new_size, align);
  if (p) {
    memcpy(p, ptr, old_size < new_size ? old_size : new_size);
    free(ptr);
  }
  return p;
}

static void libc_free(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  (void)size;
  free(ptr);
}

static const rv_alloc libc_allocator = {libc_alloc, libc_resize, libc_free, NULL};

const rv_alloc *rv_alloc_libc(void) { return &libc_allocator; }
