/* arena: region allocator. Freestanding: only mem* and rv_* symbols.
 *
 * A growing arena is a singly linked list of chunks, newest first, each
 * starting with a struct rv_arena_chunk header. Allocation bumps a->cur
 * through the newest chunk; a full chunk is left behind (its tail wasted)
 * and a new one becomes current. Keeping the list in allocation order is
 * what makes rewind simple: a mark names a chunk and a position in it, and
 * everything newer than that chunk is released.
 *
 * The inline fast path in arena.h bumps through [cur, end). Normally end is
 * the chunk's true end (limit). In an AddressSanitizer build of the library
 * end is kept equal to cur, so every allocation comes here, where the block
 * is unpoisoned: that keeps poisoning right even for a caller compiled
 * without ASan, whose inline code knows nothing of it. */
#include <rivet/core/arena.h>

#include <stdbool.h>
#include <string.h>

#include <rivet/core/err.h>

#if RV_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* The C99 inline model: this declaration makes this file hold the one
 * external definition of rv_arena_alloc, the exported symbol. */
extern inline void *rv_arena_alloc(rv_arena *a, size_t size, size_t align);

enum { RV_ARENA_F_FIXED = 1u };

struct rv_arena_chunk {
  struct rv_arena_chunk *prev; /* older chunk, NULL for the oldest */
  size_t size;                 /* bytes allocated for it, header included */
};

/* The header rounded up so the usable area starts maximally aligned. */
#define HDR                                                                                        \
  ((sizeof(struct rv_arena_chunk) + RV_ALLOC_ALIGN_MAX - 1) & ~(size_t)(RV_ALLOC_ALIGN_MAX - 1))

static bool pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

static unsigned char *chunk_base(struct rv_arena_chunk *c) { return (unsigned char *)c + HDR; }

static unsigned char *chunk_limit(struct rv_arena_chunk *c) { return (unsigned char *)c + c->size; }

/* Publish the fast-path window: the whole free tail, or nothing under ASan. */
static void sync_end(rv_arena *a) {
#if RV_HAVE_ASAN
  a->end = a->cur;
#else
  a->end = a->limit;
#endif
}

static void *view_alloc(void *ctx, size_t size, size_t align);
static void *view_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align);
static void view_free(void *ctx, void *ptr, size_t size);

static void init_common(rv_arena *a) {
  memset(a, 0, sizeof *a);
  a->iface.alloc = view_alloc;
  a->iface.resize = view_resize;
  a->iface.free = view_free;
  a->iface.ctx = a;
}

int rv_arena_init(rv_arena *a, const rv_alloc *alloc, size_t chunk_size) {
  if (!a || (chunk_size != 0 && chunk_size < RV_ARENA_CHUNK_MIN)) {
    return RV_EINVAL;
  }
#if !__STDC_HOSTED__
  if (!alloc) {
    return RV_EINVAL; /* no default allocator without a C library */
  }
#endif
  init_common(a);
  a->alloc = alloc;
  a->chunk_size = chunk_size ? chunk_size : RV_ARENA_CHUNK_DEFAULT;
  return RV_OK;
}

int rv_arena_init_buffer(rv_arena *a, void *buf, size_t size) {
  if (!a || !buf || size == 0) {
    return RV_EINVAL;
  }
  init_common(a);
  a->flags = RV_ARENA_F_FIXED;
  a->base = buf;
  a->cur = buf;
  a->limit = a->base + size;
  a->capacity = size;
  a->nchunks = 1;
  sync_end(a);
  POISON(a->base, size);
  return RV_OK;
}

/* Return one chunk to the allocator. */
static void chunk_release(rv_arena *a, struct rv_arena_chunk *c) {
  size_t size = c->size;
  /* The allocator gets its memory back as it lent it: unpoisoned. */
  UNPOISON(c, size);
  a->capacity -= size - HDR;
  a->nchunks--;
  rv_alloc_free(a->alloc, c, size);
}

static void release_list(rv_arena *a, struct rv_arena_chunk *c) {
  while (c) {
    struct rv_arena_chunk *prev = c->prev;
    chunk_release(a, c);
    c = prev;
  }
}

void rv_arena_free(rv_arena *a) {
  if (!a) {
    return;
  }
  if (a->flags & RV_ARENA_F_FIXED) {
    UNPOISON(a->base, (size_t)(a->limit - a->base));
    a->cur = a->base;
    sync_end(a);
    return;
  }
  release_list(a, a->chunk);
  release_list(a, a->spare);
  const rv_alloc *alloc = a->alloc;
  size_t chunk_size = a->chunk_size;
  init_common(a);
  a->alloc = alloc;
  a->chunk_size = chunk_size;
}

/* Make c the current chunk, empty. */
static void chunk_enter(rv_arena *a, struct rv_arena_chunk *c) {
  if (a->chunk) {
    a->used_prev += (size_t)(a->cur - a->base);
  }
  c->prev = a->chunk;
  a->chunk = c;
  a->base = chunk_base(c);
  a->cur = a->base;
  a->limit = chunk_limit(c);
}

/* Bump inside [cur, limit) if the block fits; NULL otherwise. */
static void *bump(rv_arena *a, size_t size, size_t align) {
  uintptr_t cur = (uintptr_t)a->cur;
  size_t pad = (size_t)(-cur & (uintptr_t)(align - 1));
  size_t avail = (size_t)((uintptr_t)a->limit - cur);
  if (size > avail || pad > avail - size) {
    return NULL;
  }
  unsigned char *p = a->cur + pad;
  a->cur = p + size;
  UNPOISON(p, size);
  sync_end(a);
  return p;
}

/* Find room for size bytes at align in a fresh chunk (a spare or a new one). */
static int grow(rv_arena *a, size_t size, size_t align) {
  size_t need;
  /* Worst case: the header, up to align - 1 bytes of padding, the block. */
  if (__builtin_add_overflow(size, align - 1, &need) || __builtin_add_overflow(need, HDR, &need)) {
    return RV_EOVERFLOW;
  }
  struct rv_arena_chunk *c = a->spare;
  if (c && c->size >= need) {
    a->spare = c->prev;
  } else {
    size_t csize = need > a->chunk_size ? need : a->chunk_size;
    /* Chunks are maximally aligned: HDR keeps the usable area so too. */
    c = rv_alloc_get(a->alloc, csize, RV_ALLOC_ALIGN_MAX);
    if (!c) {
      return RV_ENOMEM;
    }
    c->size = csize;
    a->capacity += csize - HDR;
    a->nchunks++;
    POISON(chunk_base(c), csize - HDR);
  }
  chunk_enter(a, c);
  return RV_OK;
}

void *rv_arena_alloc_slow(rv_arena *a, size_t size, size_t align) {
  if (align == 0) {
    align = RV_ALLOC_ALIGN_MAX;
  }
  if (size == 0 || !pow2(align)) {
    return NULL;
  }
  void *p = bump(a, size, align);
  if (p || (a->flags & RV_ARENA_F_FIXED)) {
    return p; /* a fixed arena that is full: NULL, never an allocation */
  }
  if (grow(a, size, align) != RV_OK) {
    return NULL;
  }
  return bump(a, size, align); /* grow() made room, so this succeeds */
}

void *rv_arena_alloc_array(rv_arena *a, size_t n, size_t size, size_t align) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    return NULL;
  }
  return rv_arena_alloc(a, total, align);
}

void *rv_arena_memdup(rv_arena *a, const void *p, size_t n) {
  size_t total;
  if (__builtin_add_overflow(n, (size_t)1, &total)) {
    return NULL;
  }
  unsigned char *q = rv_arena_alloc(a, total, 1);
  if (!q) {
    return NULL;
  }
  if (n) {
    memcpy(q, p, n);
  }
  q[n] = '\0';
  return q;
}

char *rv_arena_strdup(rv_arena *a, const char *s) {
  size_t n = 0;
  while (s[n] != '\0') { /* strlen is libc: keep this module freestanding */
    n++;
  }
  return rv_arena_memdup(a, s, n);
}

rv_arena_mark rv_arena_checkpoint(const rv_arena *a) {
  rv_arena_mark m;
  m.chunk = a->chunk;
  m.cur = a->cur;
  m.used_prev = a->used_prev;
  return m;
}

/* Does [base, limit] of chunk c (or of the fixed buffer) contain p? */
static bool mark_in(const rv_arena *a, const struct rv_arena_chunk *c, const unsigned char *p) {
  uintptr_t lo;
  uintptr_t hi;
  if (c) {
    lo = (uintptr_t)c + HDR;
    hi = (uintptr_t)c + c->size;
  } else if (a->flags & RV_ARENA_F_FIXED) {
    lo = (uintptr_t)a->base;
    hi = (uintptr_t)a->limit;
  } else {
    return p == NULL; /* the mark of an arena that had no chunk yet */
  }
  /* Integer comparison: p may come from another object (a stale mark). */
  return (uintptr_t)p >= lo && (uintptr_t)p <= hi;
}

void rv_arena_rewind(rv_arena *a, rv_arena_mark m) {
  /* Validate before releasing anything: the mark's chunk must be held. */
  struct rv_arena_chunk *c = a->chunk;
  while (c != m.chunk && c) {
    c = c->prev;
  }
  if (c != m.chunk || !mark_in(a, m.chunk, m.cur)) {
    rv_panic("rv_arena_rewind: the mark is not from this arena or no longer valid");
  }
  bool released = false;
  while (a->chunk != m.chunk) {
    struct rv_arena_chunk *prev = a->chunk->prev;
    chunk_release(a, a->chunk);
    a->chunk = prev;
    released = true;
  }
  if (!m.chunk && !(a->flags & RV_ARENA_F_FIXED)) {
    /* Back to before the first chunk: empty, like a fresh arena. */
    a->base = a->cur = a->limit = NULL;
    a->used_prev = 0;
    sync_end(a);
    return;
  }
  if (released) {
    /* The mark's chunk was left behind: all of it after the mark is dead. */
    a->base = chunk_base(m.chunk);
    a->limit = chunk_limit(m.chunk);
    POISON(m.cur, (size_t)(a->limit - m.cur));
  } else if ((uintptr_t)m.cur < (uintptr_t)a->cur) {
    POISON(m.cur, (size_t)(a->cur - m.cur));
  }
  a->cur = m.cur;
  a->used_prev = m.used_prev;
  sync_end(a);
}

/* Empty the arena down to its oldest chunk (kept, poisoned). The newer
 * chunks are released, or with retain kept as spares for reuse. */
static void reset_to_first(rv_arena *a, bool retain) {
  if (a->flags & RV_ARENA_F_FIXED) {
    POISON(a->base, (size_t)(a->limit - a->base));
    a->cur = a->base;
    sync_end(a);
    return;
  }
  if (!a->chunk) {
    if (!retain) {
      release_list(a, a->spare);
      a->spare = NULL;
    }
    return;
  }
  if (!retain) {
    release_list(a, a->spare);
    a->spare = NULL;
  }
  struct rv_arena_chunk *c = a->chunk;
  while (c->prev) {
    struct rv_arena_chunk *prev = c->prev;
    if (retain) {
      /* Pushing newest-first makes the oldest spare the first reused. */
      POISON(chunk_base(c), c->size - HDR);
      c->prev = a->spare;
      a->spare = c;
    } else {
      chunk_release(a, c);
    }
    c = prev;
  }
  a->chunk = c;
  a->base = chunk_base(c);
  a->limit = chunk_limit(c);
  a->cur = a->base;
  a->used_prev = 0;
  POISON(a->base, (size_t)(a->limit - a->base));
  sync_end(a);
}

void rv_arena_reset(rv_arena *a) { reset_to_first(a, false); }

void rv_arena_reset_retain(rv_arena *a) { reset_to_first(a, true); }

void rv_arena_stats_get(const rv_arena *a, rv_arena_stats *out) {
  out->used = a->used_prev + (size_t)((uintptr_t)a->cur - (uintptr_t)a->base);
  out->capacity = a->capacity;
  out->chunks = a->nchunks;
}

const rv_alloc *rv_arena_allocator(rv_arena *a) { return &a->iface; }

/* ---- the rv_alloc view ------------------------------------------------ */

static void *view_alloc(void *ctx, size_t size, size_t align) {
  return rv_arena_alloc(ctx, size, align);
}

/* Is [p, p + size) the last block handed out, ending at cur? */
static bool is_last(const rv_arena *a, const unsigned char *p, size_t size) {
  return (uintptr_t)p >= (uintptr_t)a->base && (uintptr_t)p + size == (uintptr_t)a->cur;
}

static void *view_resize(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align) {
  rv_arena *a = ctx;
  unsigned char *p = ptr;
  if (is_last(a, p, old_size) && new_size <= (size_t)(a->limit - p)) {
    if (new_size < old_size) {
      POISON(p + new_size, old_size - new_size);
    } else {
      UNPOISON(p + old_size, new_size - old_size);
    }
    a->cur = p + new_size;
    sync_end(a);
    return p;
  }
  if (new_size <= old_size) {
    POISON(p + new_size, old_size - new_size); /* kept in place, tail unused */
    return p;
  }
  unsigned char *q = rv_arena_alloc(a, new_size, align);
  if (q) {
    memcpy(q, p, old_size);
    POISON(p, old_size); /* the old copy is dead: catch stale pointers */
  }
  return q;
}

static void view_free(void *ctx, void *ptr, size_t size) {
  rv_arena *a = ctx;
  unsigned char *p = ptr;
  POISON(p, size);
  if (is_last(a, p, size)) {
    a->cur = p; /* pop: the space is reused by the next allocation */
    sync_end(a);
  }
}
