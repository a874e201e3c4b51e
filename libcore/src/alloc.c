/* alloc: dispatch through an rv_alloc, and the failing test allocator.
 * Freestanding: a NULL allocator means rv_alloc_libc() only when hosted;
 * a freestanding build has no default and fails such requests with NULL. */
#include <rivet/core/alloc.h>

#include <stdbool.h>
#include <stdint.h>

static bool align_ok(size_t align) { return align != 0 && (align & (align - 1)) == 0; }

static const rv_alloc *resolve(const rv_alloc *a) {
#if __STDC_HOSTED__
  return a ? a : rv_alloc_libc();
#else
  return a;
#endif
}

void *rv_alloc_get(const rv_alloc *a, size_t size, size_t align) {
  if (align == 0) {
    align = RV_ALLOC_ALIGN_MAX;
  }
  a = resolve(a);
  if (!a || size == 0 || !align_ok(align)) {
    return NULL;
  }
  return a->alloc(a->ctx, size, align);
}

void *rv_alloc_array(const rv_alloc *a, size_t n, size_t size, size_t align) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    return NULL;
  }
  return rv_alloc_get(a, total, align);
}

void *rv_alloc_resize(const rv_alloc *a, void *ptr, size_t old_size, size_t new_size,
                      size_t align) {
  if (!ptr) {
    return rv_alloc_get(a, new_size, align);
  }
  if (align == 0) {
    align = RV_ALLOC_ALIGN_MAX;
  }
  a = resolve(a);
  if (!a || new_size == 0 || old_size == 0 || !align_ok(align)) {
    return NULL;
  }
  return a->resize(a->ctx, ptr, old_size, new_size, align);
}

void rv_alloc_free(const rv_alloc *a, void *ptr, size_t size) {
  if (!ptr) {
    return;
  }
  a = resolve(a);
  if (a) {
    a->free(a->ctx, ptr, size);
  }
}

/* ---- failing allocator ---------------------------------------------- */

static bool failing_should_fail(rv_alloc_failing *f) {
  size_t n = f->calls++;
  if (n == f->fail_at || (f->fail_after && n > f->fail_at)) {
    f->failures++;
    return true;
  }
  return false;
}

static void *failing_alloc(void *ctx, size_t size, size_t align) {
  rv_alloc_failing *f = ctx;
  if (failing_should_fail(f)) {
    return NULL;
  }
  void *p = rv_alloc_get(f->parent, size, align);
  if (p) {
    f->live_blocks++;
    f->live_bytes += size;
  }
  return p;
}

static void *failing_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align) {
  rv_alloc_failing *f = ctx;
  if (failing_should_fail(f)) {
    return NULL;
  }
  void *p = rv_alloc_resize(f->parent, ptr, old_size, new_size, align);
  if (p) {
    f->live_bytes = f->live_bytes - old_size + new_size;
  }
  return p;
}

static void failing_free(void *ctx, void *ptr, size_t size) {
  rv_alloc_failing *f = ctx;
  f->live_blocks--;
  f->live_bytes -= size;
  rv_alloc_free(f->parent, ptr, size);
}

const rv_alloc *rv_alloc_failing_init(rv_alloc_failing *f, const rv_alloc *parent, size_t fail_at) {
  f->iface.alloc = failing_alloc;
  f->iface.resize = failing_resize;
  f->iface.free = failing_free;
  f->iface.ctx = f;
  f->parent = parent;
  f->fail_at = fail_at;
  f->fail_after = 0;
  f->calls = 0;
  f->failures = 0;
  f->live_blocks = 0;
  f->live_bytes = 0;
  return &f->iface;
}
