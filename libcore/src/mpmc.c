/* mpmc: Vyukov's bounded MPMC queue with per-cell sequence numbers.
 *
 * Each cell holds an atomic sequence number `seq` followed by the element.
 * For the cell at index i = pos & mask, on the lap that position `pos`
 * belongs to:
 *   seq == pos          the cell is free for the producer of `pos`;
 *   seq == pos + 1      the producer of `pos` has published its element;
 *   seq == pos + cap    the consumer of `pos` has released the cell, which
 *                       is now free for the producer of `pos + cap`.
 * Producers claim a position by advancing `enq` with a CAS, consumers by
 * advancing `deq`. The difference `seq - pos` (computed modulo 2^N and read
 * as signed) tells a thread whether the cell is ready, still busy from the
 * previous lap (full / empty), or already taken by a faster thread (reload
 * the position). Positions wrap modulo 2^N, which is harmless because only
 * differences are compared and cap <= 2^(N-1).
 *
 * Freestanding: no libc beyond memcpy; waiting lives in mpmc-wait.c. */
#include <rivet/core/mpmc.h>

#include <stdint.h>
#include <string.h>

#include <rivet/core/err.h>

/* The sequence number at the start of cell `idx`. The cast is correct:
 * rv_mpmc_init() checked that `cells` is aligned to
 * RV_MPMC_STORAGE_ALIGN and cell_size is a multiple of it, so every cell
 * start is suitably aligned for an atomic_size_t, and init placed one
 * there with atomic_init; the storage is the queue's alone (documented),
 * so no other type ever accesses those bytes. */
static inline atomic_size_t *cell_seq(const rv_mpmc *q, size_t idx) {
  return (atomic_size_t *)(void *)(q->cells + idx * q->cell_size);
}

/* The element bytes of cell `idx`, right after its sequence number; only
 * ever accessed with memcpy, so they need no alignment. */
static inline unsigned char *cell_data(const rv_mpmc *q, size_t idx) {
  return q->cells + idx * q->cell_size + sizeof(atomic_size_t);
}

/* Copy one element. The common small sizes get a constant-size memcpy,
 * which the compiler turns into a plain load and store; other sizes call
 * memcpy. */
static inline void copy_elem(void *dst, const void *src, size_t n) {
  switch (n) {
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
    memcpy(dst, src, n);
    break;
  }
}

/* `a - b` modulo 2^N read as signed: the conversion of an out-of-range
 * size_t to ptrdiff_t is implementation-defined and every supported
 * compiler (gcc, clang) defines it as two's-complement wrap-around, which
 * is exactly the circular difference wanted. */
static inline ptrdiff_t circ_diff(size_t a, size_t b) { return (ptrdiff_t)(a - b); }

int rv_mpmc_storage_size(size_t cap, size_t elem_size, size_t *size) {
  if (!size || cap < 2 || (cap & (cap - 1)) != 0 || elem_size == 0) {
    return RV_EINVAL;
  }
  /* Positions are compared as signed differences, so a lap must be at
   * most half the position space. */
  if (cap > (SIZE_MAX >> 1)) {
    return RV_EOVERFLOW;
  }
  size_t cell;
  size_t total;
  if (__builtin_add_overflow(sizeof(atomic_size_t), elem_size, &cell) ||
      __builtin_add_overflow(cell, RV_MPMC_STORAGE_ALIGN - 1, &cell)) {
    return RV_EOVERFLOW;
  }
  cell = cell / RV_MPMC_STORAGE_ALIGN * RV_MPMC_STORAGE_ALIGN;
  if (__builtin_mul_overflow(cap, cell, &total)) {
    return RV_EOVERFLOW;
  }
  *size = total;
  return RV_OK;
}

int rv_mpmc_init(rv_mpmc *q, void *storage, size_t storage_size, size_t cap, size_t elem_size) {
  size_t need;
  if (!q || !storage) {
    return RV_EINVAL;
  }
  int rc = rv_mpmc_storage_size(cap, elem_size, &need);
  if (rc != RV_OK) {
    return rc;
  }
  /* Checking the address as an integer is the portable way to test
   * alignment; uintptr_t round-trips every object pointer. */
  if (((uintptr_t)storage & (RV_MPMC_STORAGE_ALIGN - 1)) != 0) {
    return RV_EINVAL;
  }
  if (storage_size < need) {
    return RV_ENOMEM;
  }
  q->cells = storage;
  q->mask = cap - 1;
  q->elem_size = elem_size;
  q->cell_size = RV_MPMC_CELL_SIZE(elem_size);
  for (size_t i = 0; i < cap; i++) {
    /* Not yet shared: plain initialisation. Whoever publishes the queue to
     * other threads provides the happens-before edge. */
    atomic_init(cell_seq(q, i), i);
  }
  atomic_init(&q->enq, 0);
  atomic_init(&q->deq, 0);
  return RV_OK;
}

size_t rv_mpmc_capacity(const rv_mpmc *q) { return q->mask + 1; }

size_t rv_mpmc_elem_size(const rv_mpmc *q) { return q->elem_size; }

size_t rv_mpmc_size_approx(const rv_mpmc *q) {
  /* Relaxed: a statistic, documented as a possibly stale snapshot. Reading
   * deq first makes enq - deq >= 0 in practice; the clamps keep the result
   * in range whatever interleaving the two loads see. */
  size_t d = atomic_load_explicit((atomic_size_t *)&q->deq, memory_order_relaxed);
  size_t e = atomic_load_explicit((atomic_size_t *)&q->enq, memory_order_relaxed);
  ptrdiff_t n = circ_diff(e, d);
  if (n <= 0) {
    return 0;
  }
  return (size_t)n > q->mask + 1 ? q->mask + 1 : (size_t)n;
}

int rv_mpmc_try_push(rv_mpmc *q, const void *elem) {
  /* Relaxed: the position is only a guess, validated by the cell's seq and
   * the CAS below. */
  size_t pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
  size_t idx;
  for (;;) {
    idx = pos & q->mask;
    /* Acquire: pairs with the release in which the previous lap's consumer
     * freed this cell, so its read of the old element happens before our
     * overwrite. */
    size_t seq = atomic_load_explicit(cell_seq(q, idx), memory_order_acquire);
    ptrdiff_t dif = circ_diff(seq, pos);
    if (dif == 0) {
      /* Relaxed CAS: it only decides which producer owns `pos`; the data
       * hand-off is ordered by the cell's seq, not by enq. Weak: a spurious
       * failure just reloads pos and retries. */
      if (atomic_compare_exchange_weak_explicit(&q->enq, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
        break;
      }
    } else if (dif < 0) {
      return RV_EFULL; /* the cell still holds the previous lap's element */
    } else {
      pos = atomic_load_explicit(&q->enq, memory_order_relaxed); /* overtaken: reload */
    }
  }
  copy_elem(cell_data(q, idx), elem, q->elem_size);
  /* Release: publishes the element to the consumer whose acquire load
   * sees pos + 1. */
  atomic_store_explicit(cell_seq(q, idx), pos + 1, memory_order_release);
  return RV_OK;
}

int rv_mpmc_try_pop(rv_mpmc *q, void *elem) {
  size_t pos = atomic_load_explicit(&q->deq, memory_order_relaxed); /* a guess, as in push */
  size_t idx;
  for (;;) {
    idx = pos & q->mask;
    /* Acquire: pairs with the producer's release that published pos + 1,
     * making the element bytes visible before we copy them. */
    size_t seq = atomic_load_explicit(cell_seq(q, idx), memory_order_acquire);
    ptrdiff_t dif = circ_diff(seq, pos + 1);
    if (dif == 0) {
      /* Relaxed CAS: ownership of `pos` only, as in push. */
      if (atomic_compare_exchange_weak_explicit(&q->deq, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
        break;
      }
    } else if (dif < 0) {
      return RV_EEMPTY; /* not yet published on this lap */
    } else {
      pos = atomic_load_explicit(&q->deq, memory_order_relaxed);
    }
  }
  copy_elem(elem, cell_data(q, idx), q->elem_size);
  /* Release: our read of the element happens before the next lap's
   * producer (acquire load of pos + cap) overwrites it. */
  atomic_store_explicit(cell_seq(q, idx), pos + q->mask + 1, memory_order_release);
  return RV_OK;
}

/* Count how many consecutive cells from position `pos` are in state
 * `pos + i + off` (off 0: free for producers; off 1: published for
 * consumers), up to `n`. Acquire on each load, for the same reasons as in
 * the single-element paths: the cells we claim are then safe to write
 * (push) or read (pop). Sets *first_dif to the first cell's difference so
 * the caller can tell full/empty from "overtaken" when the count is 0. */
static size_t ready_run(const rv_mpmc *q, size_t pos, size_t n, size_t off, ptrdiff_t *first_dif) {
  size_t limit = n < q->mask + 1 ? n : q->mask + 1;
  size_t k = 0;
  while (k < limit) {
    size_t seq = atomic_load_explicit(cell_seq(q, (pos + k) & q->mask), memory_order_acquire);
    ptrdiff_t dif = circ_diff(seq, pos + k + off);
    if (k == 0) {
      *first_dif = dif;
    }
    if (dif != 0) {
      break;
    }
    k++;
  }
  return k;
}

/* Claim a run of up to n ready cells by advancing *ctr with one CAS. The
 * run stays ours after the check: a cell's seq changes only through the
 * owner of its position, and nobody else can own positions in
 * [pos, pos + k) unless *ctr moved past pos, which makes our CAS fail. */
static size_t claim_run(const rv_mpmc *q, atomic_size_t *ctr, size_t n, size_t off, size_t *start) {
  size_t pos = atomic_load_explicit(ctr, memory_order_relaxed); /* a guess */
  for (;;) {
    ptrdiff_t dif = 0;
    size_t k = ready_run(q, pos, n, off, &dif);
    if (k == 0) {
      if (dif < 0) {
        return 0; /* full (push) or empty (pop) */
      }
      pos = atomic_load_explicit(ctr, memory_order_relaxed); /* overtaken */
      continue;
    }
    /* Relaxed CAS: ownership only; data ordering is carried by each seq. */
    if (atomic_compare_exchange_weak_explicit(ctr, &pos, pos + k, memory_order_relaxed,
                                              memory_order_relaxed)) {
      *start = pos;
      return k;
    }
  }
}

size_t rv_mpmc_try_push_n(rv_mpmc *q, const void *elems, size_t n) {
  if (n == 0) {
    return 0;
  }
  size_t pos = 0;
  size_t k = claim_run(q, &q->enq, n, 0, &pos);
  const unsigned char *src = elems;
  for (size_t i = 0; i < k; i++) {
    size_t idx = (pos + i) & q->mask;
    copy_elem(cell_data(q, idx), src + i * q->elem_size, q->elem_size);
    /* Release: publishes this element, as in rv_mpmc_try_push(). */
    atomic_store_explicit(cell_seq(q, idx), pos + i + 1, memory_order_release);
  }
  return k;
}

size_t rv_mpmc_try_pop_n(rv_mpmc *q, void *elems, size_t n) {
  if (n == 0) {
    return 0;
  }
  size_t pos = 0;
  size_t k = claim_run(q, &q->deq, n, 1, &pos);
  unsigned char *dst = elems;
  for (size_t i = 0; i < k; i++) {
    size_t idx = (pos + i) & q->mask;
    copy_elem(dst + i * q->elem_size, cell_data(q, idx), q->elem_size);
    /* Release: frees the cell for the next lap, as in rv_mpmc_try_pop(). */
    atomic_store_explicit(cell_seq(q, idx), pos + i + q->mask + 1, memory_order_release);
  }
  return k;
}
