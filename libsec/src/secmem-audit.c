/* secmem-audit: check a pool against the kernel's view of the process
 * (/proc/self/maps) and check every live secret's canaries. */
#define _DEFAULT_SOURCE /* match secmem.c: the shared structs see the same headers */
#include "secmem-impl.h"
#include "secmem-sys.h"

#include <rivet/core/err.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One mapping of /proc/self/maps. */
struct vma {
  uintptr_t lo;
  uintptr_t hi;
  bool none; /* "---p": no access */
};

static bool vma_next(FILE *f, struct vma *v) {
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    size_t n = strlen(line);
    /* A long path name: skip the rest of the line. */
    while (n > 0 && line[n - 1] != '\n') {
      if (fgets(line + 256, (int)(sizeof line - 256), f) == NULL) {
        break;
      }
      n = strlen(line);
    }
    char *end;
    unsigned long long lo = strtoull(line, &end, 16);
    if (*end != '-') {
      continue;
    }
    unsigned long long hi = strtoull(end + 1, &end, 16);
    if (*end != ' ') {
      continue;
    }
    v->lo = (uintptr_t)lo;
    v->hi = (uintptr_t)hi;
    v->none = strncmp(end + 1, "---", 3) == 0;
    return true;
  }
  return false;
}

/* Check every guard page against the kernel's view. Slabs and the lines of
 * /proc/self/maps are both sorted by address, so one merge pass does it. */
static int audit_guards(const rv_secmem *pool, rv_secmem_audit_report *r) {
  FILE *f = RV_SECMEM_SYS(fopen)("/proc/self/maps", "r");
  if (f == NULL) {
    return RV_EIO;
  }
  struct vma v = {0, 0, false};
  bool have = vma_next(f, &v);
  for (size_t k = 0; k < pool->nslabs; k++) {
    const struct slab *s = pool->slabs[k];
    uintptr_t guards[2] = {(uintptr_t)s->base, (uintptr_t)(s->data + s->data_len)};
    for (int g = 0; g < 2; g++) {
      uintptr_t lo = guards[g];
      while (have && v.hi <= lo) {
        have = vma_next(f, &v);
      }
      r->guard_pages++;
      if (!have || v.lo > lo || v.hi < lo + pool->page || !v.none) {
        r->guard_bad++;
      }
    }
  }
  (void)fclose(f);
  return RV_OK;
}

int rv_secmem_audit(rv_secmem *pool, rv_secmem_audit_report *r) {
  rv_secmem_audit_report local;
  if (r == NULL) {
    r = &local;
  }
  memset(r, 0, sizeof *r);
  pthread_mutex_lock(&pool->mu);
  int rc = audit_guards(pool, r);
  if (rc != RV_OK) {
    rc = rv_secmem__fail(pool, RV_EIO, "secmem: cannot read /proc/self/maps (%s)", strerror(errno));
    goto out;
  }
  for (size_t k = 0; k < pool->nslabs; k++) {
    struct slab *s = pool->slabs[k];
    for (uint32_t i = 0; i < s->nslots; i++) {
      if (s->state[i] != SLOT_LIVE) {
        continue;
      }
      rc = rv_secmem__page_get(pool, s, i);
      if (rc != RV_OK) {
        goto out;
      }
      r->secrets++;
      if (!rv_secmem__canaries_ok(pool, s, i)) {
        r->canary_bad++;
      }
      rc = rv_secmem__page_put(pool, s, i);
      if (rc != RV_OK) {
        goto out;
      }
    }
  }
  if (r->guard_bad != 0 || r->canary_bad != 0) {
    rc = rv_secmem__fail(pool, RV_EVERIFY,
                         "secmem: audit found %zu bad guard pages and %zu bad canaries",
                         r->guard_bad, r->canary_bad);
  }
out:
  pthread_mutex_unlock(&pool->mu);
  return rc;
}
