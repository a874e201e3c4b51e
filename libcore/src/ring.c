/* ring: single-producer single-consumer byte and record ring.
 *
 * Freestanding: only memcpy, no allocation, no locks.
 *
 * The two indices run freely (they are never reduced modulo the capacity);
 * `head - tail` is the number of stored bytes, which stays correct across
 * the wrap of size_t because the capacity is a power of two no larger than
 * half of SIZE_MAX + 1. A position in the storage is `index & mask`.
 *
 * Each side keeps a private cached copy of the other side's index and
 * reloads it only when the cached value says there is not enough room (or
 * data). The cache is always an index the other side really published, so
 * it is never ahead of the truth, only behind: the worst it can do is make
 * a call report "full" or "empty" a moment early, and it spares the hot path
 * a load of the other side's cache line. */
#include <rivet/core/ring.h>

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include <rivet/core/err.h>

/* An index that needed a lock would deadlock when the interrupt handler
 * (producer) preempts the main loop (consumer) while it holds the lock. */
#if SIZE_MAX == UINT_MAX
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "rv_ring needs lock-free atomic size_t");
#elif SIZE_MAX == ULONG_MAX
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "rv_ring needs lock-free atomic size_t");
#elif SIZE_MAX == ULLONG_MAX
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "rv_ring needs lock-free atomic size_t");
#else
#error "size_t matches no standard unsigned type"
#endif

_Static_assert(2 * sizeof(size_t) < RV_RING_CACHE_LINE, "rv_ring padding would be empty");
_Static_assert(offsetof(rv_ring, tail) - offsetof(rv_ring, head) >= RV_RING_CACHE_LINE,
               "rv_ring indices must not share a cache line");

#define REC_MAX_LEN ((size_t)UINT32_MAX)

int rv_ring_init(rv_ring *r, void *storage, size_t size) {
  if (!storage || size < 2 || (size & (size - 1)) != 0) {
    return RV_EINVAL;
  }
  r->buf = storage;
  r->mask = size - 1;
  rv_ring_reset(r);
  return RV_OK;
}

void rv_ring_reset(rv_ring *r) {
  /* Both sides are stopped (the contract), so relaxed stores suffice; a
   * thread that starts using the ring afterwards synchronises with this one
   * through whatever started it (thread creation, enabling the interrupt). */
  atomic_store_explicit(&r->head, 0, memory_order_relaxed);
  atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
  r->tail_cache = 0;
  r->head_cache = 0;
}

/* Exported functions are interposable, so calls between them would go
 * through the PLT: the module calls these static helpers instead. */
static size_t ring_cap(const rv_ring *r) { return r->mask + 1; }

static size_t ring_rec_max(const rv_ring *r) {
  size_t cap = ring_cap(r);
  if (cap < RV_RING_REC_HEADER) {
    return 0;
  }
  return cap - RV_RING_REC_HEADER < REC_MAX_LEN ? cap - RV_RING_REC_HEADER : REC_MAX_LEN;
}

size_t rv_ring_capacity(const rv_ring *r) { return ring_cap(r); }

/* rv_ring_used() and rv_ring_space() are called by the producer or the
 * consumer, whose own index cannot move during the call, so the difference
 * of the two loads always lies in [0, capacity], whatever their order. */

size_t rv_ring_used(const rv_ring *r) {
  /* Acquire on both: the caller may act on the count (read or write that
   * many bytes), which needs the other side's work up to that index. */
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  return head - tail;
}

size_t rv_ring_space(const rv_ring *r) {
  /* Acquire on both, as in rv_ring_used(). */
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  return ring_cap(r) - (head - tail);
}

/* ---- the two sides' views ------------------------------------------------ */

/* Producer: its own index. Relaxed: only the producer stores head, and a
 * thread always sees its own latest store. */
static size_t prod_head(const rv_ring *r) {
  return atomic_load_explicit(&r->head, memory_order_relaxed);
}

/* Producer: free bytes at \p head, reloading tail if the cache shows fewer
 * than \p want. */
static size_t prod_space(rv_ring *r, size_t head, size_t want) {
  size_t cap = r->mask + 1;
  size_t space = cap - (head - r->tail_cache);
  if (space < want) {
    /* Acquire pairs with the consumer's release store of tail: its reads of
     * the bytes before tail happened before we overwrite them. */
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    space = cap - (head - r->tail_cache);
  }
  return space;
}

/* Producer: make \p n bytes written at head visible to the consumer. */
static void prod_publish(rv_ring *r, size_t head, size_t n) {
  /* Release pairs with the consumer's acquire load of head: the bytes we
   * copied in happen before the consumer reads them. */
  atomic_store_explicit(&r->head, head + n, memory_order_release);
}

/* Consumer: its own index (relaxed for the same reason as prod_head). */
static size_t cons_tail(const rv_ring *r) {
  return atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* Consumer: stored bytes at \p tail, reloading head if the cache shows fewer
 * than \p want. */
static size_t cons_avail(rv_ring *r, size_t tail, size_t want) {
  size_t avail = r->head_cache - tail;
  if (avail < want) {
    /* Acquire pairs with the producer's release store of head: the bytes
     * before head are fully written before we read them. */
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    avail = r->head_cache - tail;
  }
  return avail;
}

/* Consumer: hand \p n bytes at tail back to the producer. */
static void cons_release(rv_ring *r, size_t tail, size_t n) {
  /* Release pairs with the producer's acquire load of tail: our reads of the
   * bytes happen before the producer overwrites them. */
  atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

/* Copy n bytes into the storage at index pos, splitting at the end. */
static void copy_in(rv_ring *r, size_t pos, const void *src, size_t n) {
  size_t off = pos & r->mask;
  size_t first = r->mask + 1 - off;
  if (first > n) {
    first = n;
  }
  if (first) {
    memcpy(r->buf + off, src, first);
  }
  if (n > first) {
    memcpy(r->buf, (const unsigned char *)src + first, n - first);
  }
}

/* Copy n bytes out of the storage from index pos, splitting at the end. */
static void copy_out(const rv_ring *r, size_t pos, void *dst, size_t n) {
  size_t off = pos & r->mask;
  size_t first = r->mask + 1 - off;
  if (first > n) {
    first = n;
  }
  if (first) {
    memcpy(dst, r->buf + off, first);
  }
  if (n > first) {
    memcpy((unsigned char *)dst + first, r->buf, n - first);
  }
}

/* The 4-byte record header. A constant-size memcpy compiles to one store
 * (or load); only a header split by the end of the storage takes the
 * general path. */
static void hdr_in(rv_ring *r, size_t pos, uint32_t hdr) {
  size_t off = pos & r->mask;
  if (r->mask + 1 - off >= RV_RING_REC_HEADER) {
    memcpy(r->buf + off, &hdr, RV_RING_REC_HEADER);
  } else {
    copy_in(r, pos, &hdr, RV_RING_REC_HEADER);
  }
}

static uint32_t hdr_out(const rv_ring *r, size_t pos) {
  uint32_t hdr;
  size_t off = pos & r->mask;
  if (r->mask + 1 - off >= RV_RING_REC_HEADER) {
    memcpy(&hdr, r->buf + off, RV_RING_REC_HEADER);
  } else {
    copy_out(r, pos, &hdr, RV_RING_REC_HEADER);
  }
  return hdr;
}

/* ---- byte API ------------------------------------------------------------ */

size_t rv_ring_write(rv_ring *r, const void *src, size_t n) {
  size_t head = prod_head(r);
  size_t space = prod_space(r, head, n);
  if (n > space) {
    n = space;
  }
  if (n) {
    copy_in(r, head, src, n);
    prod_publish(r, head, n);
  }
  return n;
}

static size_t peek_at(rv_ring *r, size_t tail, void *dst, size_t n) {
  size_t avail = cons_avail(r, tail, n);
  if (n > avail) {
    n = avail;
  }
  if (n) {
    copy_out(r, tail, dst, n);
  }
  return n;
}

size_t rv_ring_peek(rv_ring *r, void *dst, size_t n) { return peek_at(r, cons_tail(r), dst, n); }

size_t rv_ring_read(rv_ring *r, void *dst, size_t n) {
  size_t tail = cons_tail(r);
  n = peek_at(r, tail, dst, n);
  if (n) {
    cons_release(r, tail, n);
  }
  return n;
}

size_t rv_ring_discard(rv_ring *r, size_t n) {
  size_t tail = cons_tail(r);
  size_t avail = cons_avail(r, tail, n);
  if (n > avail) {
    n = avail;
  }
  if (n) {
    cons_release(r, tail, n);
  }
  return n;
}

size_t rv_ring_write_span(rv_ring *r, void **span) {
  size_t head = prod_head(r);
  size_t off = head & r->mask;
  size_t to_end = r->mask + 1 - off;
  size_t n = prod_space(r, head, to_end);
  if (n > to_end) {
    n = to_end;
  }
  *span = n ? r->buf + off : NULL;
  return n;
}

int rv_ring_write_commit(rv_ring *r, size_t n) {
  size_t head = prod_head(r);
  if (n > prod_space(r, head, n)) {
    return RV_ERANGE;
  }
  if (n) {
    prod_publish(r, head, n);
  }
  return RV_OK;
}

size_t rv_ring_read_span(rv_ring *r, const void **span) {
  size_t tail = cons_tail(r);
  size_t off = tail & r->mask;
  size_t to_end = r->mask + 1 - off;
  size_t n = cons_avail(r, tail, to_end);
  if (n > to_end) {
    n = to_end;
  }
  *span = n ? r->buf + off : NULL;
  return n;
}

int rv_ring_read_commit(rv_ring *r, size_t n) {
  size_t tail = cons_tail(r);
  if (n > cons_avail(r, tail, n)) {
    return RV_ERANGE;
  }
  if (n) {
    cons_release(r, tail, n);
  }
  return RV_OK;
}

/* ---- record API ---------------------------------------------------------- */

size_t rv_ring_rec_max(const rv_ring *r) { return ring_rec_max(r); }

/* Push a record of len bytes made of nparts checked pieces. */
static int rec_push(rv_ring *r, const rv_slice *parts, size_t nparts, size_t len) {
  if (ring_cap(r) < RV_RING_REC_HEADER || len > ring_rec_max(r)) {
    return RV_ELIMIT;
  }
  size_t head = prod_head(r);
  size_t need = len + RV_RING_REC_HEADER; /* cannot overflow: len <= capacity - header */
  if (prod_space(r, head, need) < need) {
    return RV_EFULL;
  }
  /* len <= REC_MAX_LEN, checked above through ring_rec_max(). */
  uint32_t hdr = (uint32_t)len;
  hdr_in(r, head, hdr);
  size_t pos = head + RV_RING_REC_HEADER;
  for (size_t i = 0; i < nparts; i++) {
    if (parts[i].len) {
      copy_in(r, pos, parts[i].ptr, parts[i].len);
      pos += parts[i].len;
    }
  }
  /* One release for header and payload: the consumer sees all or nothing. */
  prod_publish(r, head, need);
  return RV_OK;
}

int rv_ring_rec_pushv(rv_ring *r, const rv_slice *parts, size_t nparts) {
  if (!parts && nparts) {
    return RV_EINVAL;
  }
  size_t len = 0;
  for (size_t i = 0; i < nparts; i++) {
    if (!parts[i].ptr && parts[i].len) {
      return RV_EINVAL;
    }
    if (__builtin_add_overflow(len, parts[i].len, &len)) {
      return RV_ELIMIT;
    }
  }
  return rec_push(r, parts, nparts, len);
}

int rv_ring_rec_push(rv_ring *r, const void *rec, size_t len) {
  if (!rec && len) {
    return RV_EINVAL;
  }
  rv_slice part = rv_slice_make(rec, len);
  return rec_push(r, &part, 1, len);
}

/* Consumer: locate the next record. On success *tail_out is the consumer
 * index, *len the payload length (the payload starts at tail + header). */
static int rec_locate(rv_ring *r, size_t *tail_out, size_t *len) {
  size_t tail = cons_tail(r);
  size_t avail = cons_avail(r, tail, RV_RING_REC_HEADER);
  if (avail == 0) {
    return RV_EEMPTY;
  }
  /* The producer publishes whole records, so anything shorter than a
   * header, or a header promising more than is stored, was not written by
   * the record API. */
  if (avail < RV_RING_REC_HEADER) {
    return RV_EMALFORMED;
  }
  uint32_t hdr = hdr_out(r, tail);
  size_t need = (size_t)hdr;
  if (need > avail - RV_RING_REC_HEADER) {
    /* The cached head may be older than the record; SIZE_MAX forces a reload. */
    avail = cons_avail(r, tail, SIZE_MAX);
    if (need > avail - RV_RING_REC_HEADER) {
      return RV_EMALFORMED;
    }
  }
  *tail_out = tail;
  *len = need;
  return RV_OK;
}

int rv_ring_rec_next(rv_ring *r, size_t *len) {
  size_t tail;
  return rec_locate(r, &tail, len);
}

/* Copy the next record out; on success *tail_out is where it starts. */
static int rec_copy(rv_ring *r, void *dst, size_t dst_size, size_t *len, size_t *tail_out) {
  size_t n;
  int rc = rec_locate(r, tail_out, &n);
  if (rc != RV_OK) {
    return rc;
  }
  *len = n;
  if (n > dst_size) {
    return RV_ERANGE;
  }
  if (n) {
    copy_out(r, *tail_out + RV_RING_REC_HEADER, dst, n);
  }
  return RV_OK;
}

int rv_ring_rec_peek(rv_ring *r, void *dst, size_t dst_size, size_t *len) {
  size_t tail;
  return rec_copy(r, dst, dst_size, len, &tail);
}

int rv_ring_rec_pop(rv_ring *r, void *dst, size_t dst_size, size_t *len) {
  size_t tail;
  int rc = rec_copy(r, dst, dst_size, len, &tail);
  if (rc == RV_OK) {
    cons_release(r, tail, *len + RV_RING_REC_HEADER);
  }
  return rc;
}

int rv_ring_rec_view(rv_ring *r, rv_slice view[2]) {
  size_t tail;
  size_t n;
  int rc = rec_locate(r, &tail, &n);
  if (rc != RV_OK) {
    return rc;
  }
  size_t pos = tail + RV_RING_REC_HEADER;
  size_t off = pos & r->mask;
  size_t first = r->mask + 1 - off;
  if (first > n) {
    first = n;
  }
  view[0] = rv_slice_make(r->buf + off, first);
  view[1] = rv_slice_make(n > first ? r->buf : NULL, n - first);
  return RV_OK;
}

int rv_ring_rec_drop(rv_ring *r) {
  size_t tail;
  size_t n;
  int rc = rec_locate(r, &tail, &n);
  if (rc == RV_OK) {
    cons_release(r, tail, n + RV_RING_REC_HEADER);
  }
  return rc;
}
