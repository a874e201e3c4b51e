/* secmem: guarded, locked, non-dumpable slabs carved into canary-checked
 * slots. See rivet/sec/secmem.h for the guarantees.
 *
 * Layout of a slab (one mmap):
 *
 *   [guard page][data page 0][data page 1]...[data page k-1][guard page]
 *
 * Guards stay PROT_NONE from the mmap on (the data pages are opened with
 * mprotect, so a failed mprotect can never leave a guard accessible). Shared
 * slabs cut their data pages into slots of one size class (64..2048 bytes,
 * each a divisor of the page size, so no slot straddles a page); a large
 * secret gets a slab with a single slot. A slot holds
 *
 *   [canary 16][secret, len bytes][canary 16][zero padding]
 *
 * with the trailing canary right after the secret, so a one-byte overflow
 * is caught. Bookkeeping (free stacks, lengths, open counts) lives outside
 * the slabs, in memory from the pool's rv_alloc, so an overflow inside a
 * slab cannot corrupt it. Free slots are all zero. */
/* MAP_ANONYMOUS, MADV_DONTDUMP and mlock are outside strict POSIX. */
#define _DEFAULT_SOURCE
#include "secmem-impl.h"
#include "secmem-sys.h"

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>
#include <rivet/sec/secmem.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

static const uint32_t class_size[NCLASSES] = {64, 128, 256, 512, 1024, 2048};
_Static_assert(RV_SECMEM_SMALL_MAX + 2 * RV_SECMEM_CANARY == 2048, "largest class");

#define KNOWN_FLAGS (RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE | RV_SECMEM_NOACCESS)

int rv_secmem__fail(rv_secmem *pool, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(pool->err, sizeof pool->err, fmt, ap);
  va_end(ap);
  return code;
}

/* Kilobytes this process has locked, from /proc/self/status, or -1. */
static long vmlck_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) {
    return -1;
  }
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmLck:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  (void)fclose(f);
  return kib;
}

/* Say why mlock failed and what to change; the most common cause is
 * RLIMIT_MEMLOCK (8 MiB by default on many systems, 64 KiB on older ones). */
static int fail_mlock(rv_secmem *pool, size_t len, int errnum) {
  struct rlimit rl;
  char lim[48] = "unknown";
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
    if (rl.rlim_cur == RLIM_INFINITY) {
      (void)snprintf(lim, sizeof lim, "unlimited");
    } else {
      (void)snprintf(lim, sizeof lim, "%llu KiB", (unsigned long long)(rl.rlim_cur / 1024));
    }
  }
  return rv_secmem__fail(
      pool, RV_EPERM,
      "secmem: mlock of %zu KiB failed (%s); RLIMIT_MEMLOCK is %s and %ld KiB are "
      "already locked: raise it (ulimit -l, 'memlock' in /etc/security/limits.conf, "
      "LimitMEMLOCK= for a systemd unit, or CAP_IPC_LOCK), or create the pool with "
      "RV_SECMEM_ALLOW_UNLOCKED to accept unlocked memory",
      len / 1024, strerror(errnum), lim, vmlck_kib());
}

int rv_secmem_create(rv_secmem **out, const rv_secmem_config *cfg) {
  rv_secmem_config defaults = {0};
  if (out == NULL) {
    return RV_EINVAL;
  }
  if (cfg == NULL) {
    cfg = &defaults;
  }
  if ((cfg->flags & ~(unsigned)KNOWN_FLAGS) != 0 || cfg->slab_pages > 4096) {
    return RV_EINVAL;
  }
  long page = sysconf(_SC_PAGESIZE);
  if (page < 4096 || (page & (page - 1)) != 0) {
    return RV_EUNSUPPORTED;
  }
  rv_secmem *pool = rv_alloc_get(cfg->alloc, sizeof *pool, _Alignof(rv_secmem));
  if (pool == NULL) {
    return RV_ENOMEM;
  }
  memset(pool, 0, sizeof *pool);
  if (pthread_mutex_init(&pool->mu, NULL) != 0) {
    rv_alloc_free(cfg->alloc, pool, sizeof *pool);
    return RV_ENOMEM;
  }
  pool->alloc = cfg->alloc;
  pool->flags = cfg->flags;
  pool->max_bytes = cfg->max_bytes;
  pool->slab_pages = cfg->slab_pages ? cfg->slab_pages : 16;
  pool->page = (size_t)page;
  /* randombytes_buf initialises its generator on first use and aborts
   * rather than return weak bytes, so there is no error to handle here. */
  randombytes_buf(pool->canary, sizeof pool->canary);
  *out = pool;
  return RV_OK;
}

static void slab_unmap(rv_secmem *pool, struct slab *s) {
  /* Wipe before handing pages back. In a NOACCESS pool the data may be
   * PROT_NONE: open it first; if that fails the kernel still zeroes the
   * pages before anyone else gets them. */
  if (RV_SECMEM_SYS(mprotect)(s->data, s->data_len, PROT_READ | PROT_WRITE) == 0) {
    rv_ct_wipe(s->data, s->data_len);
  }
  if (s->locked) {
    (void)RV_SECMEM_SYS(munlock)(s->data, s->data_len);
  }
  (void)RV_SECMEM_SYS(munmap)(s->base, s->map_len);
  pool->st.slabs--;
  pool->st.mapped_bytes -= s->map_len;
  pool->st.guard_pages -= 2;
  if (s->locked) {
    pool->st.locked_bytes -= s->data_len;
  } else {
    pool->st.unlocked_bytes -= s->data_len;
  }
  if (s->dumpable) {
    pool->st.dumpable_bytes -= s->data_len;
  }
}

static size_t slab_meta_size(uint32_t nslots, size_t npages, size_t *off) {
  /* struct, then 8-byte, 4-byte and 1-byte arrays, so each is aligned. */
  size_t n = nslots;
  off[0] = sizeof(struct slab);
  off[1] = off[0] + n * sizeof(size_t);        /* len */
  off[2] = off[1] + n * sizeof(uint32_t);      /* free_top */
  off[3] = off[2] + npages * sizeof(uint32_t); /* page_opens */
  off[4] = off[3] + n;                         /* opens */
  return off[4] + n;                           /* state */
}

/* Map a slab whose data area is data_len bytes (a page multiple) with
 * slots of slot_size bytes; insert it into the sorted slab array. Returns
 * the slab, or NULL with the error code in *rcp. */
static struct slab *slab_fail(int *rcp, int rc) {
  *rcp = rc;
  return NULL;
}

static struct slab *slab_new(rv_secmem *pool, int cls, size_t data_len, size_t slot_size,
                             int *rcp) {
  size_t page = pool->page;
  size_t map_len;
  if (__builtin_add_overflow(data_len, 2 * page, &map_len)) {
    return slab_fail(rcp,
                     rv_secmem__fail(pool, RV_EOVERFLOW,
                                     "secmem: a %zu-byte slab does not fit in size_t", data_len));
  }
  if (pool->max_bytes != 0 &&
      (map_len > pool->max_bytes || pool->st.mapped_bytes > pool->max_bytes - map_len)) {
    return slab_fail(
        rcp, rv_secmem__fail(
                 pool, RV_ELIMIT,
                 "secmem: mapping %zu more bytes would exceed the pool's max_bytes (%zu, %zu "
                 "mapped)",
                 map_len, pool->max_bytes, pool->st.mapped_bytes));
  }
  uint32_t nslots = (uint32_t)(data_len / slot_size);
  size_t npages = cls < 0 ? 1 : data_len / page;
  size_t off[5];
  size_t meta = slab_meta_size(nslots, npages, off);
  unsigned char *m = NULL;
  unsigned char *base = MAP_FAILED;
  bool locked = false;
  int rc;

  /* Room in the sorted array first, so nothing can fail after mapping but
   * the system calls themselves. */
  if (pool->nslabs == pool->cap) {
    size_t ncap = pool->cap ? pool->cap * 2 : 16;
    struct slab **ns = rv_alloc_resize(pool->alloc, pool->slabs, pool->cap * sizeof(struct slab *),
                                       ncap * sizeof(struct slab *), 0);
    if (ns == NULL) {
      return slab_fail(
          rcp, rv_secmem__fail(pool, RV_ENOMEM, "secmem: out of memory for slab bookkeeping"));
    }
    pool->slabs = ns;
    pool->cap = ncap;
  }
  m = rv_alloc_get(pool->alloc, meta, _Alignof(struct slab));
  if (m == NULL) {
    return slab_fail(
        rcp, rv_secmem__fail(pool, RV_ENOMEM, "secmem: out of memory for slab bookkeeping"));
  }
  memset(m, 0, meta);

  /* PROT_NONE from the start: only the data pages are opened below. */
  base = RV_SECMEM_SYS(mmap)(NULL, map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    rc = rv_secmem__fail(pool, RV_ENOMEM, "secmem: mmap of %zu bytes failed (%s)", map_len,
                         strerror(errno));
    goto fail;
  }
  unsigned char *data = base + page;
  if (RV_SECMEM_SYS(mprotect)(data, data_len, PROT_READ | PROT_WRITE) != 0) {
    rc = rv_secmem__fail(
        pool, RV_ENOMEM,
        "secmem: mprotect of a new slab failed (%s); if this is ENOMEM the process may "
        "have reached vm.max_map_count (sysctl vm.max_map_count)",
        strerror(errno));
    goto fail;
  }
  bool dumpable = false;
  if (RV_SECMEM_SYS(madvise)(data, data_len, MADV_DONTDUMP) != 0) {
    if (!(pool->flags & RV_SECMEM_ALLOW_DUMPABLE)) {
      rc = rv_secmem__fail(
          pool, RV_EUNSUPPORTED,
          "secmem: madvise(MADV_DONTDUMP) failed (%s); secrets would appear in core "
          "dumps: use a kernel with MADV_DONTDUMP (Linux >= 3.4), or create the pool "
          "with RV_SECMEM_ALLOW_DUMPABLE",
          strerror(errno));
      goto fail;
    }
    dumpable = true;
  }
  /* EAGAIN means some pages could not be locked just now (memory pressure),
   * not that the limit is reached: try a few times before failing closed. */
  int lock_rc = -1;
  for (int attempt = 0; attempt < 4; attempt++) {
    lock_rc = RV_SECMEM_SYS(mlock)(data, data_len);
    if (lock_rc == 0 || errno != EAGAIN) {
      break;
    }
  }
  if (lock_rc == 0) {
    locked = true;
  } else if (!(pool->flags & RV_SECMEM_ALLOW_UNLOCKED)) {
    rc = fail_mlock(pool, data_len, errno);
    goto fail;
  }
  if (pool->flags & RV_SECMEM_NOACCESS) {
    if (RV_SECMEM_SYS(mprotect)(data, data_len, PROT_NONE) != 0) {
      rc = rv_secmem__fail(pool, RV_ENOMEM, "secmem: mprotect(PROT_NONE) of a new slab failed (%s)",
                           strerror(errno));
      goto fail;
    }
  }

  /* The bookkeeping block was allocated with struct slab's alignment and
   * the offsets keep every array aligned for its type (see slab_meta_size). */
  struct slab *s = (struct slab *)(void *)m;
  s->base = base;
  s->map_len = map_len;
  s->data = data;
  s->data_len = data_len;
  s->slot_size = slot_size;
  s->nslots = nslots;
  s->nfree = nslots;
  s->cls = cls;
  s->locked = locked;
  s->dumpable = dumpable;
  s->len = (size_t *)(void *)(m + off[0]);
  s->free_top = (uint32_t *)(void *)(m + off[1]);
  s->page_opens = (uint32_t *)(void *)(m + off[2]);
  s->opens = m + off[3];
  s->state = m + off[4];
  /* Lowest index on top, so slots are handed out in address order. */
  for (uint32_t i = 0; i < nslots; i++) {
    s->free_top[i] = nslots - 1 - i;
  }
  size_t pos = pool->nslabs;
  while (pos > 0 && pool->slabs[pos - 1]->base > base) {
    pos--;
  }
  memmove(&pool->slabs[pos + 1], &pool->slabs[pos], (pool->nslabs - pos) * sizeof(struct slab *));
  pool->slabs[pos] = s;
  pool->nslabs++;
  pool->st.slabs++;
  pool->st.mapped_bytes += map_len;
  pool->st.guard_pages += 2;
  if (locked) {
    pool->st.locked_bytes += data_len;
  } else {
    pool->st.unlocked_bytes += data_len;
  }
  if (dumpable) {
    pool->st.dumpable_bytes += data_len;
  }
  return s;

fail:
  if (base != MAP_FAILED) {
    if (locked) {
      (void)RV_SECMEM_SYS(munlock)(data, data_len);
    }
    (void)RV_SECMEM_SYS(munmap)(base, map_len);
  }
  rv_alloc_free(pool->alloc, m, meta);
  *rcp = rc;
  return NULL;
}

static void slab_release(rv_secmem *pool, struct slab *s) {
  size_t off[5];
  size_t meta = slab_meta_size(s->nslots, s->cls < 0 ? 1 : s->data_len / pool->page, off);
  slab_unmap(pool, s);
  rv_alloc_free(pool->alloc, s, meta);
}

/* The slab holding address p, or NULL. */
static struct slab *slab_find(const rv_secmem *pool, const unsigned char *p, size_t *pos) {
  size_t lo = 0;
  size_t hi = pool->nslabs;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pool->slabs[mid]->base <= p) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) {
    return NULL;
  }
  struct slab *s = pool->slabs[lo - 1];
  if (p < s->data || p >= s->data + s->data_len) {
    return NULL;
  }
  if (pos != NULL) {
    *pos = lo - 1;
  }
  return s;
}

/* Find the live slot whose secret starts at p. */
static int slot_find(const rv_secmem *pool, const void *p, struct slab **sp, uint32_t *ip,
                     size_t *pos) {
  const unsigned char *c = p;
  struct slab *s = slab_find(pool, c, pos);
  if (s == NULL) {
    return RV_EINVAL;
  }
  size_t rel = (size_t)(c - s->data);
  if (rel % s->slot_size != RV_SECMEM_CANARY) {
    return RV_EINVAL;
  }
  uint32_t i = (uint32_t)(rel / s->slot_size);
  if (s->state[i] != SLOT_LIVE) {
    return RV_ESTATE;
  }
  *sp = s;
  *ip = i;
  return RV_OK;
}

/* The pages a slot lives on, and the index of their open counter. */
static unsigned char *slot_pages(const rv_secmem *pool, const struct slab *s, uint32_t i,
                                 size_t *len, size_t *pg) {
  if (s->cls < 0) {
    *len = s->data_len;
    *pg = 0;
    return s->data;
  }
  *pg = (size_t)i * s->slot_size / pool->page;
  *len = pool->page;
  return s->data + *pg * pool->page;
}

/* NOACCESS pools: count one more user of the slot's page; the first makes
 * it accessible. Other pools: nothing to do. */
int rv_secmem__page_get(rv_secmem *pool, struct slab *s, uint32_t i) {
  if (!(pool->flags & RV_SECMEM_NOACCESS)) {
    return RV_OK;
  }
  size_t len;
  size_t pg;
  unsigned char *addr = slot_pages(pool, s, i, &len, &pg);
  if (s->page_opens[pg] == 0 && RV_SECMEM_SYS(mprotect)(addr, len, PROT_READ | PROT_WRITE) != 0) {
    return rv_secmem__fail(pool, RV_ENOMEM, "secmem: mprotect(PROT_READ|PROT_WRITE) failed (%s)",
                           strerror(errno));
  }
  s->page_opens[pg]++;
  return RV_OK;
}

/* Undo rv_secmem__page_get(); the last user makes the page PROT_NONE again. If that
 * mprotect fails the count still drops (the caller is done with the page)
 * and the error is reported: the page stays accessible until the next
 * rv_secmem__page_put() of a secret on it succeeds in closing it. */
int rv_secmem__page_put(rv_secmem *pool, struct slab *s, uint32_t i) {
  if (!(pool->flags & RV_SECMEM_NOACCESS)) {
    return RV_OK;
  }
  size_t len;
  size_t pg;
  unsigned char *addr = slot_pages(pool, s, i, &len, &pg);
  s->page_opens[pg]--;
  if (s->page_opens[pg] == 0 && RV_SECMEM_SYS(mprotect)(addr, len, PROT_NONE) != 0) {
    return rv_secmem__fail(pool, RV_ENOMEM,
                           "secmem: mprotect(PROT_NONE) failed (%s); the page stays accessible",
                           strerror(errno));
  }
  return RV_OK;
}

static unsigned char *slot_addr(const struct slab *s, uint32_t i) {
  return s->data + (size_t)i * s->slot_size;
}

bool rv_secmem__canaries_ok(const rv_secmem *pool, const struct slab *s, uint32_t i) {
  const unsigned char *slot = slot_addr(s, i);
  uint32_t ok = rv_ct_eq(slot, pool->canary, RV_SECMEM_CANARY);
  ok &= rv_ct_eq(slot + RV_SECMEM_CANARY + s->len[i], pool->canary, RV_SECMEM_CANARY);
  return ok != 0;
}

/* A slab of class cls with a free slot: the head of the class's list, or a
 * new one. NULL with *rcp set on failure. */
static struct slab *class_slab(rv_secmem *pool, int cls, int *rcp) {
  struct slab *s = pool->avail[cls];
  if (s != NULL) {
    return s;
  }
  size_t data_len;
  if (__builtin_mul_overflow(pool->slab_pages, pool->page, &data_len)) {
    *rcp = rv_secmem__fail(pool, RV_EOVERFLOW, "secmem: slab size overflows");
    return NULL;
  }
  s = slab_new(pool, cls, data_len, class_size[cls], rcp);
  if (s != NULL) {
    s->in_avail = true;
    pool->avail[cls] = s;
  }
  return s;
}

int rv_secmem_alloc(rv_secmem *pool, size_t size, void **out) {
  if (pool == NULL || out == NULL || size == 0) {
    return RV_EINVAL;
  }
  if (size > SIZE_MAX / 2) {
    return RV_EOVERFLOW;
  }
  int cls = -1;
  size_t need = size + (size_t)2 * RV_SECMEM_CANARY;
  for (int c = 0; c < NCLASSES; c++) {
    if (need <= class_size[c]) {
      cls = c;
      break;
    }
  }
  int rc = RV_OK;
  pthread_mutex_lock(&pool->mu);
  struct slab *s;
  if (cls >= 0) {
    s = class_slab(pool, cls, &rc);
  } else {
    size_t data_len = (need + pool->page - 1) & ~(pool->page - 1);
    s = slab_new(pool, -1, data_len, data_len, &rc);
  }
  if (s == NULL) {
    goto out;
  }
  uint32_t i = s->free_top[s->nfree - 1];
  rc = rv_secmem__page_get(pool, s, i);
  if (rc != RV_OK) {
    goto undo_large;
  }
  unsigned char *slot = slot_addr(s, i);
  memcpy(slot, pool->canary, RV_SECMEM_CANARY);
  memcpy(slot + RV_SECMEM_CANARY + size, pool->canary, RV_SECMEM_CANARY);
  rc = rv_secmem__page_put(pool, s, i);
  if (rc != RV_OK) {
    rv_ct_wipe(slot, s->slot_size);
    goto undo_large;
  }
  s->nfree--;
  s->len[i] = size;
  s->state[i] = SLOT_LIVE;
  if (s->nfree == 0 && s->in_avail) {
    /* Only the list head is ever allocated from, so only it can fill up. */
    pool->avail[cls] = s->next;
    s->next = NULL;
    s->in_avail = false;
  }
  pool->st.live++;
  pool->st.live_bytes += size;
  *out = slot + RV_SECMEM_CANARY;
  rc = RV_OK;
  goto out;

undo_large:
  if (cls < 0) {
    size_t pos;
    (void)slab_find(pool, s->data, &pos);
    memmove(&pool->slabs[pos], &pool->slabs[pos + 1],
            (pool->nslabs - pos - 1) * sizeof(struct slab *));
    pool->nslabs--;
    slab_release(pool, s);
  }
out:
  pthread_mutex_unlock(&pool->mu);
  return rc;
}

int rv_secmem_free(rv_secmem *pool, void *p) {
  if (p == NULL) {
    return RV_OK;
  }
  if (pool == NULL) {
    return RV_EINVAL;
  }
  struct slab *s;
  uint32_t i;
  size_t pos;
  pthread_mutex_lock(&pool->mu);
  int rc = slot_find(pool, p, &s, &i, &pos);
  if (rc != RV_OK) {
    goto out;
  }
  rc = rv_secmem__page_get(pool, s, i);
  if (rc != RV_OK) {
    goto out;
  }
  bool ok = rv_secmem__canaries_ok(pool, s, i);
  size_t secret_len = s->len[i];
  rv_ct_wipe(slot_addr(s, i), s->slot_size);
  /* Close whatever the caller left open, then our own rv_secmem__page_get(). */
  size_t len;
  size_t pg;
  (void)slot_pages(pool, s, i, &len, &pg);
  if (pool->flags & RV_SECMEM_NOACCESS) {
    s->page_opens[pg] -= s->opens[i];
  }
  s->opens[i] = 0;
  /* Released even if re-protecting fails: it is wiped already. */
  int prc = rv_secmem__page_put(pool, s, i);
  pool->st.live--;
  pool->st.live_bytes -= s->len[i];
  s->len[i] = 0;
  if (s->cls < 0) {
    memmove(&pool->slabs[pos], &pool->slabs[pos + 1],
            (pool->nslabs - pos - 1) * sizeof(struct slab *));
    pool->nslabs--;
    slab_release(pool, s);
  } else if (!ok) {
    s->state[i] = SLOT_RETIRED;
    pool->st.retired++;
  } else {
    s->state[i] = SLOT_FREE;
    s->free_top[s->nfree++] = i;
    if (!s->in_avail) {
      s->next = pool->avail[s->cls];
      pool->avail[s->cls] = s;
      s->in_avail = true;
    }
  }
  if (!ok) {
    rc = rv_secmem__fail(
        pool, RV_EVERIFY,
        "secmem: canary of a %zu-byte secret overwritten: buffer overflow or underflow",
        secret_len);
  } else {
    rc = prc;
  }
out:
  pthread_mutex_unlock(&pool->mu);
  return rc;
}

int rv_secmem_open(rv_secmem *pool, void *p) {
  if (pool == NULL) {
    return RV_EINVAL;
  }
  struct slab *s;
  uint32_t i;
  pthread_mutex_lock(&pool->mu);
  int rc = slot_find(pool, p, &s, &i, NULL);
  if (rc != RV_OK) {
    rc = RV_EINVAL;
    goto out;
  }
  if (s->opens[i] == UINT8_MAX) {
    rc = rv_secmem__fail(pool, RV_ELIMIT, "secmem: a secret is already open 255 times");
    goto out;
  }
  rc = rv_secmem__page_get(pool, s, i);
  if (rc == RV_OK) {
    s->opens[i]++;
  }
out:
  pthread_mutex_unlock(&pool->mu);
  return rc;
}

int rv_secmem_close(rv_secmem *pool, void *p) {
  if (pool == NULL) {
    return RV_EINVAL;
  }
  struct slab *s;
  uint32_t i;
  pthread_mutex_lock(&pool->mu);
  int rc = slot_find(pool, p, &s, &i, NULL);
  if (rc != RV_OK) {
    rc = RV_EINVAL;
    goto out;
  }
  if (s->opens[i] == 0) {
    rc = rv_secmem__fail(pool, RV_ESTATE, "secmem: closing a secret that is not open");
    goto out;
  }
  s->opens[i]--;
  rc = rv_secmem__page_put(pool, s, i);
out:
  pthread_mutex_unlock(&pool->mu);
  return rc;
}

int rv_secmem_size(rv_secmem *pool, const void *p, size_t *size) {
  if (pool == NULL || size == NULL) {
    return RV_EINVAL;
  }
  struct slab *s;
  uint32_t i;
  pthread_mutex_lock(&pool->mu);
  int rc = slot_find(pool, p, &s, &i, NULL);
  if (rc == RV_OK) {
    *size = s->len[i];
  } else {
    rc = RV_EINVAL;
  }
  pthread_mutex_unlock(&pool->mu);
  return rc;
}

void rv_secmem_stats_get(rv_secmem *pool, rv_secmem_stats *st) {
  pthread_mutex_lock(&pool->mu);
  *st = pool->st;
  pthread_mutex_unlock(&pool->mu);
}

size_t rv_secmem_last_error(rv_secmem *pool, char *buf, size_t len) {
  pthread_mutex_lock(&pool->mu);
  size_t n = strlen(pool->err);
  if (len > 0) {
    size_t c = n < len - 1 ? n : len - 1;
    memcpy(buf, pool->err, c);
    buf[c] = '\0';
  }
  pthread_mutex_unlock(&pool->mu);
  return n;
}

void rv_secmem_destroy(rv_secmem *pool) {
  if (pool == NULL) {
    return;
  }
  for (size_t k = 0; k < pool->nslabs; k++) {
    slab_release(pool, pool->slabs[k]);
  }
  rv_alloc_free(pool->alloc, pool->slabs, pool->cap * sizeof(struct slab *));
  rv_ct_wipe(pool->canary, sizeof pool->canary);
  pthread_mutex_destroy(&pool->mu);
  const rv_alloc *a = pool->alloc;
  rv_alloc_free(a, pool, sizeof *pool);
}
