/* secmem-impl.h: what secmem.c and secmem-audit.c share. Private to
 * libsec (hidden symbols); see secmem.c for the layout of a slab. */
#pragma once

#include <rivet/core/api.h>
#include <rivet/sec/secmem.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NCLASSES 6

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_RETIRED = 2 };

struct slab {
  unsigned char *base; /* the mapping, starting with the first guard */
  size_t map_len;      /* whole mapping, guards included */
  unsigned char *data; /* first data page */
  size_t data_len;     /* data pages only */
  size_t slot_size;    /* class size, or data_len for a large slab */
  uint32_t nslots;
  uint32_t nfree;
  int cls;              /* class index, or -1 for a large slab */
  bool locked;          /* mlock succeeded */
  bool dumpable;        /* MADV_DONTDUMP failed (allowed by policy) */
  bool in_avail;        /* on its class's list of slabs with free slots */
  struct slab *next;    /* next slab on that list */
  uint32_t *free_top;   /* stack of free slot indices, nfree entries */
  size_t *len;          /* secret length per slot (0 when not live) */
  uint32_t *page_opens; /* per data page (large slab: one entry), NOACCESS */
  uint8_t *opens;       /* open nesting per slot */
  uint8_t *state;       /* SLOT_* per slot */
};

struct rv_secmem {
  pthread_mutex_t mu;
  const rv_alloc *alloc;
  unsigned flags;
  size_t max_bytes;
  size_t slab_pages;
  size_t page;
  struct slab **slabs; /* sorted by base address, for pointer lookup */
  size_t nslabs;
  size_t cap;
  struct slab *avail[NCLASSES];
  rv_secmem_stats st;
  unsigned char canary[RV_SECMEM_CANARY];
  char err[320];
};

/* Record a failure message in the pool and return code. Lock held. */
RV_PRINTF(3, 4)
int rv_secmem__fail(rv_secmem *pool, int code, const char *fmt, ...);

/* NOACCESS pools: one more user of slot i's page (the first opens it). */
int rv_secmem__page_get(rv_secmem *pool, struct slab *s, uint32_t i);

/* Undo rv_secmem__page_get(); the last user closes the page again. */
int rv_secmem__page_put(rv_secmem *pool, struct slab *s, uint32_t i);

/* Both canaries of live slot i intact? Compared in constant time. */
bool rv_secmem__canaries_ok(const rv_secmem *pool, const struct slab *s, uint32_t i);
