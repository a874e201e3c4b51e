/* bench-secmem: allocate + write + free one 32-byte secret, many times:
 * rv_secmem (default and NOACCESS pools) against libsodium's
 * sodium_malloc/sodium_free (the baseline: what a user would otherwise
 * pick for guarded secrets) and plain malloc/free (no protection at all).
 *
 * Before the timed table it also reports, untimed, what happens with
 * 100,000 live 32-byte secrets: rv_secmem holds them in a few dozen slabs
 * and rv_secmem_audit() verifies every guard page PROT_NONE against
 * /proc/self/maps; sodium_malloc needs about 4 kernel mappings per secret,
 * so it runs into vm.max_map_count, and the program counts how many of its
 * guard pages the kernel actually shows as PROT_NONE. */
#define _DEFAULT_SOURCE
#include <rivet/perf/bench.h>
#include <rivet/sec.h>

#include <sodium.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET 32

struct ctx {
  rv_secmem *pool;
  size_t n;
  unsigned char fill;
};

static void touch(unsigned char *p, struct ctx *c) {
  memset(p, c->fill++, SECRET);
  rv_bench_do_not_optimize(p);
}

static void run_sodium(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    unsigned char *p = sodium_malloc(SECRET);
    if (p == NULL) {
      abort();
    }
    touch(p, c);
    sodium_free(p);
  }
}

static void run_malloc(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    unsigned char *p = malloc(SECRET);
    if (p == NULL) {
      abort();
    }
    touch(p, c);
    /* Plain free does not wipe: this is the no-protection floor. */
    free(p);
  }
}

static void run_secmem(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    void *p = NULL;
    if (rv_secmem_alloc(c->pool, SECRET, &p) != RV_OK) {
      abort();
    }
    touch(p, c);
    if (rv_secmem_free(c->pool, p) != RV_OK) {
      abort();
    }
  }
}

static void run_secmem_noaccess(void *arg) {
  struct ctx *c = arg;
  for (size_t i = 0; i < c->n; i++) {
    void *p = NULL;
    if (rv_secmem_alloc(c->pool, SECRET, &p) != RV_OK || rv_secmem_open(c->pool, p) != RV_OK) {
      abort();
    }
    touch(p, c);
    if (rv_secmem_close(c->pool, p) != RV_OK || rv_secmem_free(c->pool, p) != RV_OK) {
      abort();
    }
  }
}

/* Is [lo, lo + len) inside one PROT_NONE mapping of /proc/self/maps? The
 * maps are read once into a sorted array by the caller. */
struct vma {
  uintptr_t lo;
  uintptr_t hi;
  int none;
};

/* Read the maps into v (room for cap entries). The array and the FILE come
 * from the caller, allocated before the process runs out of mappings:
 * once sodium_malloc has used up vm.max_map_count, even malloc of a large
 * block (a new mapping) fails. */
static size_t read_maps(FILE *f, struct vma *v, size_t cap) {
  size_t n = 0;
  char line[512];
  rewind(f);
  while (n < cap && fgets(line, sizeof line, f) != NULL) {
    char *end;
    unsigned long long lo = strtoull(line, &end, 16);
    if (*end != '-') {
      continue;
    }
    unsigned long long hi = strtoull(end + 1, &end, 16);
    if (*end != ' ') {
      continue;
    }
    v[n++] = (struct vma){(uintptr_t)lo, (uintptr_t)hi, strncmp(end + 1, "---", 3) == 0};
  }
  return n;
}

static int is_none(const struct vma *v, size_t n, uintptr_t a, size_t page) {
  size_t lo = 0;
  size_t hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid].hi <= a) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < n && v[lo].lo <= a && v[lo].hi >= a + page && v[lo].none;
}

static void live_report(size_t want, size_t sodium_cap) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  rv_secmem *pool = NULL;
  void **p = calloc(want, sizeof *p);
  if (p == NULL || rv_secmem_create(&pool, NULL) != RV_OK) {
    abort();
  }
  size_t got = 0;
  while (got < want && rv_secmem_alloc(pool, SECRET, &p[got]) == RV_OK) {
    got++;
  }
  rv_secmem_audit_report r;
  int rc = rv_secmem_audit(pool, &r);
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  printf("live secrets: rv_secmem   %zu of %zu allocated, %zu slabs, %zu guard pages, %zu not "
         "PROT_NONE, audit %s, %zu KiB locked\n",
         got, want, st.slabs, r.guard_pages, r.guard_bad, rv_err_name(rc), st.locked_bytes / 1024);
  if (got < want) {
    char msg[400];
    (void)rv_secmem_last_error(pool, msg, sizeof msg);
    printf("              stopped with: %s\n", msg);
  }
  rv_secmem_destroy(pool);

  /* sodium_malloc layout for a secret of under a page: [size page][guard]
   * [data page, mlocked][guard]; the secret sits at the end of the data
   * page, so the guards are the pages right below and right above it. */
  size_t n = want < sodium_cap ? want : sodium_cap;
  size_t vcap = 4 * n + 70000; /* > vm.max_map_count (65530 by default) */
  struct vma *v = calloc(vcap, sizeof *v);
  FILE *maps = fopen("/proc/self/maps", "r");
  if (v == NULL || maps == NULL) {
    abort();
  }
  size_t sgot = 0;
  while (sgot < n && (p[sgot] = sodium_malloc(SECRET)) != NULL) {
    sgot++;
  }
  size_t nv = read_maps(maps, v, vcap);
  (void)fclose(maps);
  size_t bad = 0;
  for (size_t i = 0; i < sgot; i++) {
    uintptr_t data = (uintptr_t)p[i] & ~(uintptr_t)(page - 1);
    bad += !is_none(v, nv, data - page, page);
    bad += !is_none(v, nv, data + page, page);
  }
  printf("live secrets: sodium_malloc %zu of %zu allocated%s, %zu guard pages, %zu not "
         "PROT_NONE (silently accessible), %zu mappings\n",
         sgot, n, sgot < n ? " (then NULL)" : "", 2 * sgot, bad, nv);
  free(v);
  for (size_t i = 0; i < sgot; i++) {
    sodium_free(p[i]);
  }
  free(p);
}

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, "secmem", argc, argv, NULL) != 0) {
    return 2;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "bench-secmem: sodium_init failed\n");
    return 2;
  }
  live_report(rv_bench_pick(b, 100000, 2000), rv_bench_pick(b, 30000, 200));

  rv_secmem *pool = NULL;
  rv_secmem *sealed = NULL;
  rv_secmem_config sc = {.flags = RV_SECMEM_NOACCESS};
  if (rv_secmem_create(&pool, NULL) != RV_OK || rv_secmem_create(&sealed, &sc) != RV_OK) {
    return 2;
  }
  size_t n = rv_bench_pick(b, 4000, 200);
  struct ctx cs = {NULL, n, 0};
  struct ctx cm = {NULL, n, 0};
  struct ctx cr = {pool, n, 0};
  struct ctx cn = {sealed, n, 0};
  const char *g = "alloc+write+free 32 B";
  rv_bench_case cases[] = {
      {.name = "sodium_malloc+sodium_free",
       .group = g,
       .fn = run_sodium,
       .ctx = &cs,
       .ops = n,
       .baseline = true},
      {.name = "malloc+free (no protection)", .group = g, .fn = run_malloc, .ctx = &cm, .ops = n},
      {.name = "rv_secmem_alloc+free", .group = g, .fn = run_secmem, .ctx = &cr, .ops = n},
      {.name = "rv_secmem NOACCESS +open/close",
       .group = g,
       .fn = run_secmem_noaccess,
       .ctx = &cn,
       .ops = n},
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && rc == 0; i++) {
    rc = rv_bench_add(b, &cases[i]);
  }
  if (rc == 0) {
    rc = rv_bench_run(b);
  }
  rv_bench_destroy(b);
  rv_secmem_destroy(pool);
  rv_secmem_destroy(sealed);
  return rc == 0 ? 0 : 1;
}
