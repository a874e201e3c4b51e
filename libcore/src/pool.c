/* pool: fixed-size blocks, a lock-free free list with an ABA tag, caches.
 *
 * Memory layout (one region, from the caller or from one allocation):
 *
 *   [slack to 64] [ctl: head + counters, one cache line] [next: n x u32]
 *   [state: n x u8] [slack to block alignment] [blocks: n x block_size]
 *
 * The free list is a Treiber stack threaded through `next`, an array of
 * 32-bit block indices kept *outside* the blocks. Keeping the links out of
 * the blocks matters for correctness, not only tidiness: a thread that lost
 * a race may still read the link of a block another thread has already
 * taken and is writing into; with the link inside the block that read would
 * race with the new owner's plain stores (a data race in C11, flagged by
 * TSan). Here the links are atomics that only the pool touches, and the
 * blocks are never read or written by the pool at all.
 *
 * Freestanding: uses only <stdatomic.h> and friends, no libc function.
 */
#include <rivet/core/pool.h>

#include <rivet/core/err.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Debug checks (interior pointers, double put) follow the usual assert
 * switch: on unless rivet itself is built with NDEBUG. */
#ifndef RV_POOL_CHECKS
#ifdef NDEBUG
#define RV_POOL_CHECKS 0
#else
#define RV_POOL_CHECKS 1
#endif
#endif

/* Test builds only (test-pool-aba compiles this file with the macro): a
 * function called inside a pop between reading the head and its CAS, so a
 * test can make other operations happen exactly there. */
#ifdef RV_POOL_TEST_HOOKS
extern void (*rv_pool_test_hook)(void);
void (*rv_pool_test_hook)(void);
#define TEST_HOOK()                                                                                \
  do {                                                                                             \
    if (rv_pool_test_hook) {                                                                       \
      rv_pool_test_hook();                                                                         \
    }                                                                                              \
  } while (0)
#else
#define TEST_HOOK() ((void)0)
#endif

#define NIL UINT32_MAX /* "no block": the end of the free list */
#define NOT_POW2 0xffu /* rv_pool.shift when the block size is not a power of two */
#define CTL_SIZE RV_POOL_MAX_ALIGN

/* The shared, written-by-everyone state, alone on one cache line so that
 * the read-only rv_pool fields next to it in the caller's struct never
 * share a line with it (no false sharing). The counters sit with the head
 * on purpose: they change right after a head CAS, while the line is owned. */
struct pool_ctl {
  _Atomic uint64_t head;   /* {tag:32 | index:32}, see pop_chain() */
  atomic_size_t in_use;    /* blocks off the free list (see the bounds below) */
  atomic_size_t peak;      /* highest in_use */
  atomic_size_t exhausted; /* gets that found the list empty (wraps) */
  atomic_size_t contended; /* failed head CASes (wraps) */
};
_Static_assert(sizeof(struct pool_ctl) <= CTL_SIZE, "pool control must fit one cache line");

enum { BLOCK_FREE = 0, BLOCK_USED = 1 };

static struct pool_ctl *ctl_of(const rv_pool *p) { return (struct pool_ctl *)p->ctl; }
static _Atomic uint32_t *next_of(const rv_pool *p) { return (_Atomic uint32_t *)p->next; }
static _Atomic uint8_t *state_of(const rv_pool *p) { return (_Atomic uint8_t *)p->state; }

static uint64_t head_make(uint64_t old, uint32_t idx) {
  /* Every successful CAS bumps the tag (the high half, wrapping mod 2^32). */
  return ((old & 0xffffffff00000000u) + 0x100000000u) | idx;
}

/* ---- sizes and layout ------------------------------------------------ */

size_t rv_pool_block_align(size_t block_size) {
  size_t low = block_size & (~block_size + 1u); /* lowest set bit */
  return low > RV_POOL_MAX_ALIGN ? RV_POOL_MAX_ALIGN : low;
}

static bool align_up(uintptr_t v, size_t align, uintptr_t *out) {
  uintptr_t r;
  if (__builtin_add_overflow(v, align - 1u, &r)) {
    return false;
  }
  *out = r & ~(uintptr_t)(align - 1u);
  return true;
}

struct layout {
  size_t ctl, next, state, blocks, end; /* offsets from the region start */
};

/* Where each part goes for a region starting at address `base`; false when
 * some offset would overflow. */
static bool layout_at(uintptr_t base, size_t block_size, size_t n, struct layout *l) {
  uintptr_t a;
  size_t links, bytes, state_end;
  if (!align_up(base, RV_POOL_MAX_ALIGN, &a)) {
    return false;
  }
  l->ctl = (size_t)(a - base);
  if (__builtin_mul_overflow(n, sizeof(uint32_t), &links) ||
      __builtin_add_overflow(l->ctl, (size_t)CTL_SIZE, &l->next) ||
      __builtin_add_overflow(l->next, links, &l->state) ||
      __builtin_add_overflow(l->state, n, &state_end) ||
      __builtin_add_overflow(base, state_end, &a) ||
      !align_up(a, rv_pool_block_align(block_size), &a) ||
      __builtin_mul_overflow(n, block_size, &bytes)) {
    return false;
  }
  l->blocks = (size_t)(a - base);
  return !__builtin_add_overflow(l->blocks, bytes, &l->end);
}

size_t rv_pool_buffer_size(size_t block_size, size_t nblocks) {
  size_t per, all, total;
  if (block_size == 0 || nblocks == 0 || nblocks > RV_POOL_MAX_BLOCKS ||
      __builtin_add_overflow(block_size, (size_t)RV_POOL_BLOCK_OVERHEAD, &per) ||
      __builtin_mul_overflow(per, nblocks, &all) ||
      __builtin_add_overflow(all, (size_t)RV_POOL_FIXED_OVERHEAD, &total)) {
    return 0;
  }
  return total;
}

/* Set up a pool over `mem`, whose layout `l` was computed for it. */
static void pool_setup(rv_pool *p, unsigned char *mem, const struct layout *l, size_t block_size,
                       size_t n) {
  p->blocks = mem + l->blocks;
  p->block_size = block_size;
  p->nblocks = n;
  p->shift = NOT_POW2;
  if ((block_size & (block_size - 1u)) == 0) {
    /* A loop, not __builtin_ctz: that can be a libgcc call on 32-bit targets. */
    p->shift = 0;
    while (((size_t)1 << p->shift) != block_size) {
      p->shift++;
    }
  }
  /* Alignment casts: layout_at() put ctl on a 64-byte boundary and next on
   * ctl + 64, so both are aligned for their types; state is bytes. Using the
   * caller's bytes as these objects is how any pool over caller storage
   * works: the region is used as nothing else while the pool lives. */
  p->ctl = mem + l->ctl;
  p->next = mem + l->next;
  p->state = mem + l->state;
  p->alloc = NULL;
  p->mem = NULL;
  p->mem_size = 0;

  struct pool_ctl *c = ctl_of(p);
  _Atomic uint32_t *next = next_of(p);
  _Atomic uint8_t *state = state_of(p);
  /* The list starts in address order: 0 -> 1 -> ... -> n-1 -> NIL. */
  for (size_t i = 0; i < n; i++) {
    atomic_init(&next[i], i + 1 < n ? (uint32_t)(i + 1) : NIL);
    atomic_init(&state[i], (uint8_t)BLOCK_FREE);
  }
  atomic_init(&c->head, (uint64_t)0);
  atomic_init(&c->in_use, (size_t)0);
  atomic_init(&c->peak, (size_t)0);
  atomic_init(&c->exhausted, (size_t)0);
  atomic_init(&c->contended, (size_t)0);
}

int rv_pool_init_buffer(rv_pool *p, void *buf, size_t buf_size, size_t block_size) {
  size_t per;
  if (!p || !buf || block_size == 0 ||
      __builtin_add_overflow(block_size, (size_t)RV_POOL_BLOCK_OVERHEAD, &per) ||
      buf_size <= RV_POOL_FIXED_OVERHEAD) {
    return RV_EINVAL;
  }
  /* RV_POOL_FIXED_OVERHEAD covers the worst-case alignment slack, so this
   * many always fit; the loop only guards that reasoning. */
  size_t n = (buf_size - RV_POOL_FIXED_OVERHEAD) / per;
  if (n > RV_POOL_MAX_BLOCKS) {
    n = RV_POOL_MAX_BLOCKS;
  }
  struct layout l;
  while (n > 0 && !(layout_at((uintptr_t)buf, block_size, n, &l) && l.end <= buf_size)) {
    n--;
  }
  if (n == 0) {
    return RV_EINVAL;
  }
  pool_setup(p, buf, &l, block_size, n);
  return RV_OK;
}

int rv_pool_init(rv_pool *p, const rv_alloc *a, size_t block_size, size_t nblocks) {
  if (!p || block_size == 0 || nblocks == 0) {
    return RV_EINVAL;
  }
  if (nblocks > RV_POOL_MAX_BLOCKS) {
    return RV_ERANGE;
  }
  size_t size = rv_pool_buffer_size(block_size, nblocks);
  if (size == 0) {
    return RV_EOVERFLOW;
  }
  /* Allocated at RV_POOL_MAX_ALIGN: layout_at() then needs no slack, but the
   * size keeps it so the layout is the same function of any address. */
  unsigned char *mem = rv_alloc_get(a, size, RV_POOL_MAX_ALIGN);
  if (!mem) {
    return RV_ENOMEM;
  }
  struct layout l;
  if (!layout_at((uintptr_t)mem, block_size, nblocks, &l) || l.end > size) {
    goto fail; /* cannot happen: the size covers the worst case */
  }
  pool_setup(p, mem, &l, block_size, nblocks);
  p->alloc = a;
  p->mem = mem;
  p->mem_size = size;
  return RV_OK;

fail:
  rv_alloc_free(a, mem, size);
  return RV_EOVERFLOW;
}

void rv_pool_free(rv_pool *p) {
  if (!p) {
    return;
  }
  if (p->mem) {
    rv_alloc_free(p->alloc, p->mem, p->mem_size);
  }
  p->blocks = NULL;
  p->block_size = 0;
  p->nblocks = 0;
  p->ctl = NULL;
  p->next = NULL;
  p->state = NULL;
  p->alloc = NULL;
  p->mem = NULL;
  p->mem_size = 0;
}

/* ---- the lock-free free list ----------------------------------------
 *
 * Why it is correct (and ABA-free). The head is one 64-bit word holding the
 * index of the top block and a 32-bit tag; every successful CAS on it, push
 * or pop, increments the tag. A pop reads head H = {tag, top}, reads the
 * links below top, and CASes H to {tag + 1, below}. The classic ABA failure
 * is that between the read and the CAS other threads pop `top`, pop more,
 * and push `top` back: the index matches again but the links read are
 * stale. Here those operations change the tag, so the CAS fails unless no
 * modification at all happened in between (its compare is on the full
 * word); only 2^32 modifications while one thread sits between its load
 * and its CAS could alias, which no scheduler produces in practice.
 *
 * The links read by a pop can be stale only if some block below the old top
 * was taken meanwhile, which needs a head modification first, so the CAS
 * then fails and the pop retries with the fresh head. Links are atomics
 * that only the pool writes and hold only valid indices or NIL, so even a
 * stale walk reads in-bounds entries.
 *
 * Orderings:
 * - push: link stores are relaxed; the CAS is release, so the links and the
 *   pusher's writes to its blocks happen-before any acquire of that head.
 * - pop: the head load and the CAS (both outcomes) are acquire. Every head
 *   modification is an RMW, so each lies in the release sequence of all
 *   earlier pushes: an acquire that reads any later head value synchronizes
 *   with all of them. The pop therefore sees the links of every block on
 *   the list, and the new owner sees the previous owner's writes to the
 *   block.
 * - counters are relaxed: they publish nothing. in_use is decremented
 *   *before* a push's CAS and incremented *after* a pop's CAS; with the
 *   happens-before above this keeps 0 <= in_use <= true count <= nblocks.
 */

static void note_in_use(struct pool_ctl *c, size_t k) {
  size_t now = atomic_fetch_add_explicit(&c->in_use, k, memory_order_relaxed) + k;
  size_t peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
  while (now > peak && !atomic_compare_exchange_weak_explicit(
                           &c->peak, &peak, now, memory_order_relaxed, memory_order_relaxed)) {
  }
}

/* Pop up to `max` (>= 1) blocks with one CAS; their indices go to out[] in
 * list order. Returns how many (0: the list is empty). */
static size_t pop_chain(const rv_pool *p, uint32_t *out, size_t max) {
  struct pool_ctl *c = ctl_of(p);
  _Atomic uint32_t *next = next_of(p);
  uint64_t old = atomic_load_explicit(&c->head, memory_order_acquire);
  for (;;) {
    uint32_t top = (uint32_t)old;
    if (top == NIL) {
      atomic_fetch_add_explicit(&c->exhausted, 1, memory_order_relaxed);
      return 0;
    }
    size_t k = 0;
    uint32_t cur = top;
    do {
      out[k++] = cur;
      cur = atomic_load_explicit(&next[cur], memory_order_relaxed);
    } while (k < max && cur != NIL);
    TEST_HOOK();
    if (atomic_compare_exchange_weak_explicit(&c->head, &old, head_make(old, cur),
                                              memory_order_acquire, memory_order_acquire)) {
      note_in_use(c, k);
      return k;
    }
    atomic_fetch_add_explicit(&c->contended, 1, memory_order_relaxed);
  }
}

/* Push k >= 1 blocks (idx[0] ends on top) with one CAS. */
static void push_chain(const rv_pool *p, const uint32_t *idx, size_t k) {
  struct pool_ctl *c = ctl_of(p);
  _Atomic uint32_t *next = next_of(p);
  /* We own these blocks, so nobody else writes their links. A pop that read
   * the head while one of them was on top may still read a link we change
   * here (both atomic, so no data race); its CAS then fails on the tag. */
  for (size_t i = 0; i + 1 < k; i++) {
    atomic_store_explicit(&next[idx[i]], idx[i + 1], memory_order_relaxed);
  }
  atomic_fetch_sub_explicit(&c->in_use, k, memory_order_relaxed);
  uint64_t old = atomic_load_explicit(&c->head, memory_order_relaxed);
  for (;;) {
    atomic_store_explicit(&next[idx[k - 1]], (uint32_t)old, memory_order_relaxed);
    if (atomic_compare_exchange_weak_explicit(&c->head, &old, head_make(old, idx[0]),
                                              memory_order_release, memory_order_relaxed)) {
      return;
    }
    atomic_fetch_add_explicit(&c->contended, 1, memory_order_relaxed);
  }
}

/* ---- blocks and their checks ----------------------------------------- */

static void *block_at(const rv_pool *p, uint32_t idx) {
  return p->blocks + (size_t)idx * p->block_size;
}

/* Offset to index: a shift for power-of-two sizes, else a division. */
static uintptr_t index_at(const rv_pool *p, uintptr_t off) {
  return p->shift != NOT_POW2 ? off >> p->shift : off / p->block_size;
}

/* The index of a block already known to be a block start of p. */
static uint32_t index_of(const rv_pool *p, const void *block) {
  return (uint32_t)index_at(p, (uintptr_t)block - (uintptr_t)p->blocks);
}

/* The index of a block being put; misuse goes to rv_panic(). */
static uint32_t block_index(const rv_pool *p, const void *block, const char *who_foreign,
                            const char *who_interior) {
  uintptr_t b = (uintptr_t)block;
  uintptr_t base = (uintptr_t)p->blocks;
  /* Always checked: a foreign index would make the pool write out of bounds. */
  if (b < base || b - base >= (uintptr_t)(p->nblocks * p->block_size)) {
    rv_panic(who_foreign);
  }
  uintptr_t off = b - base;
  uintptr_t idx = index_at(p, off);
#if RV_POOL_CHECKS
  if (idx * p->block_size != off) {
    rv_panic(who_interior);
  }
#else
  (void)who_interior;
#endif
  return (uint32_t)idx; /* < nblocks <= RV_POOL_MAX_BLOCKS */
}

/* Debug state: relaxed is enough, the byte only detects misuse. An exchange
 * (not a load then a store) makes two racing puts of one block see each
 * other: exactly one of them finds it already free. */
static void mark_used(const rv_pool *p, uint32_t idx) {
#if RV_POOL_CHECKS
  atomic_store_explicit(&state_of(p)[idx], (uint8_t)BLOCK_USED, memory_order_relaxed);
#else
  (void)p;
  (void)idx;
#endif
}

static void mark_free(const rv_pool *p, uint32_t idx, const char *who_double) {
#if RV_POOL_CHECKS
  if (atomic_exchange_explicit(&state_of(p)[idx], (uint8_t)BLOCK_FREE, memory_order_relaxed) ==
      BLOCK_FREE) {
    rv_panic(who_double);
  }
#else
  (void)p;
  (void)idx;
  (void)who_double;
#endif
}

bool rv_pool_owns(const rv_pool *p, const void *ptr) {
  uintptr_t b = (uintptr_t)ptr;
  uintptr_t base = (uintptr_t)p->blocks;
  if (!ptr || b < base || b - base >= (uintptr_t)(p->nblocks * p->block_size)) {
    return false;
  }
  return (b - base) % p->block_size == 0;
}

void *rv_pool_get(rv_pool *p) {
  uint32_t idx;
  if (pop_chain(p, &idx, 1) == 0) {
    return NULL;
  }
  mark_used(p, idx);
  return block_at(p, idx);
}

void rv_pool_put(rv_pool *p, void *block) {
  if (!block) {
    return;
  }
  uint32_t idx = block_index(p, block, "rv_pool_put: pointer is not a block of this pool",
                             "rv_pool_put: pointer is inside a block, not at its start");
  mark_free(p, idx, "rv_pool_put: block put twice");
  push_chain(p, &idx, 1);
}

void rv_pool_stats_get(const rv_pool *p, rv_pool_stats *out) {
  struct pool_ctl *c = ctl_of(p);
  out->block_size = p->block_size;
  out->block_align = rv_pool_block_align(p->block_size);
  out->nblocks = p->nblocks;
  out->in_use = atomic_load_explicit(&c->in_use, memory_order_relaxed);
  out->peak_in_use = atomic_load_explicit(&c->peak, memory_order_relaxed);
  out->exhausted = atomic_load_explicit(&c->exhausted, memory_order_relaxed);
  out->contended = atomic_load_explicit(&c->contended, memory_order_relaxed);
}

/* ---- per-thread caches ------------------------------------------------ */

void rv_pool_cache_init(rv_pool_cache *c, rv_pool *p) {
  c->lo = (uintptr_t)p->blocks;
  c->span = p->nblocks * p->block_size; /* fits: checked at init */
  c->count = 0;
  c->checked = RV_POOL_CHECKS;
  c->pool = p;
}

void *rv_pool_cache_get_slow(rv_pool_cache *c) {
  const rv_pool *p = c->pool;
  if (c->count == 0) {
    uint32_t idx[RV_POOL_CACHE_BATCH];
    size_t k = pop_chain(p, idx, RV_POOL_CACHE_BATCH);
    /* Stack order: the list's top block ends last, handed out first. */
    for (size_t i = 0; i < k; i++) {
      c->slot[k - 1 - i] = block_at(p, idx[i]);
    }
    c->count = k;
    if (k == 0) {
      return NULL;
    }
  }
  void *b = c->slot[--c->count];
  if (c->checked) {
    mark_used(p, index_of(p, b));
  }
  return b;
}

/* Return the `k` oldest cached blocks (the bottom of the slot stack). */
static void cache_spill(rv_pool_cache *c, size_t k) {
  const rv_pool *p = c->pool;
  uint32_t idx[RV_POOL_CACHE_SLOTS];
  for (size_t i = 0; i < k; i++) {
    /* In range: only blocks checked by rv_pool_cache_put() or taken from
     * the pool are ever cached. */
    idx[i] = index_of(p, c->slot[i]);
  }
  push_chain(p, idx, k);
  for (size_t i = k; i < c->count; i++) {
    c->slot[i - k] = c->slot[i];
  }
  c->count -= k;
}

void rv_pool_cache_put_slow(rv_pool_cache *c, void *block) {
  if (!block) {
    return;
  }
  const rv_pool *p = c->pool;
  uint32_t idx = block_index(p, block, "rv_pool_cache_put: pointer is not a block of this pool",
                             "rv_pool_cache_put: pointer is inside a block, not at its start");
  if (c->checked) {
    mark_free(p, idx, "rv_pool_cache_put: block put twice");
  }
  if (c->count == RV_POOL_CACHE_SLOTS) {
    cache_spill(c, RV_POOL_CACHE_BATCH);
  }
  c->slot[c->count++] = block_at(p, idx); /* the block's start, whatever was passed */
}

void rv_pool_cache_flush(rv_pool_cache *c) {
  if (c->count > 0) {
    cache_spill(c, c->count);
  }
}
