/* map: open-addressing hash map, robin-hood probing, backward-shift deletion.
 *
 * One flat array of 32-byte slots holds everything a lookup needs before
 * the key compare: the full 64-bit XXH3 hash (so a key compare happens
 * only on a real match, with probability 2^-64 of a false one), the probe
 * distance, the key length, the key (pointer or u64) and the value. A
 * lookup therefore touches one slot cache line, then the key bytes.
 *
 * Robin hood: an inserted entry takes the slot of any resident that is
 * closer to its home than the newcomer is, and the resident moves on. That
 * keeps probe lengths short and even, and lets a lookup stop as soon as it
 * meets a resident closer to home than the probe so far. Deletion shifts
 * the following run back by one, so there are no tombstones to clean. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include <rivet/core/map.h>

#include <errno.h>
#include <stdalign.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <rivet/core/err.h>

/* XXH3 from the Debian xxHash package, compiled inline into this file: the
 * short keys a map sees (8 to 64 bytes) hash in a few nanoseconds, and a
 * call through the PLT would be a visible share of that. */
#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct slot {
  uint64_t hash; /* full XXH3 hash of the key */
  uint32_t dist; /* probe length + 1 (1 = in its home slot); 0 = empty */
  uint32_t len;  /* byte-key length (0 for u64 maps) */
  union {
    const uint8_t *p; /* byte key: the map's copy or the caller's bytes */
    uint8_t *owned;   /* the same pointer, when it points into the map's chunks */
    uint64_t u;       /* u64 key */
  } key;
  void *value;
} slot;

/* Copy mode keeps its key copies packed in chunks: one allocation per
 * chunk instead of one per key, keys of a map close together in memory
 * (and on huge pages once chunks are large). A removed key leaves its
 * bytes behind as garbage; when garbage outweighs the live bytes (and a
 * quarter byte per slot), the live keys are packed into one new chunk
 * (compaction), so garbage never exceeds the larger of the two for long. */
typedef struct chunk {
  struct chunk *next; /* older chunk */
  size_t size;        /* data bytes after this header */
  size_t used;        /* data bytes handed out */
} chunk;

struct rv_map {
  chunk *chunks;         /* copy mode: key storage, newest (the one filled) first */
  size_t key_bytes;      /* copy mode: bytes of live keys in the chunks */
  size_t key_garbage;    /* copy mode: bytes of removed keys still in the chunks */
  slot *slots;           /* cap slots, or NULL while cap == 0 */
  size_t cap;            /* a power of two, or 0 */
  size_t len;            /* entries stored */
  uint64_t seed;         /* XXH3 seed */
  uint64_t gen;          /* bumped by every structural change (iterators) */
  const rv_alloc *alloc; /* where slots, key copies and this struct live */
  rv_map_keys keys;      /* key mode */
};

enum {
  HUGE_PAGE = 2 << 20,   /* x86-64 transparent huge page */
  CHUNK_MIN = 16 << 10,  /* first chunk's data bytes; each next one doubles */
  CHUNK_MAX = 4 << 20,   /* up to this (a key larger than it gets its own) */
  COMPACT_MIN = 4 << 10, /* garbage worth a compaction */
  MIN_CAP = 16,
  SLOT_ALIGN = 64, /* with 32-byte slots, no slot straddles a cache line */
};

/* At most 2^32 slots: probe distances then always fit the 32-bit field. */
#define MAX_CAP ((size_t)1 << (sizeof(size_t) > 4 ? 32 : 26))

static uint64_t hash_bytes(const rv_map *m, const void *key, size_t len) {
  return XXH3_64bits_withSeed(key, len, m->seed);
}

static uint64_t hash_u64(const rv_map *m, uint64_t key) {
  return XXH3_64bits_withSeed(&key, sizeof key, m->seed);
}

/* The smallest power-of-two capacity that holds n entries at <= 80% load. */
static int cap_for(size_t n, size_t *out) {
  size_t need;
  if (__builtin_mul_overflow(n, 5, &need)) {
    return RV_EOVERFLOW;
  }
  size_t cap = MIN_CAP;
  while (cap * 4 < need) { /* cap <= MAX_CAP: cap * 4 cannot overflow */
    if (cap >= MAX_CAP) {
      return RV_EOVERFLOW;
    }
    cap *= 2;
  }
  *out = cap;
  return RV_OK;
}

/* Put an entry known to be absent into a table with room, robin-hood style,
 * starting at slot i where its probe distance would be dist: from there on
 * it takes the place of any resident closer to home, which moves on. */
static void place_at(slot *slots, size_t mask, slot cur, size_t i, uint32_t dist) {
  cur.dist = dist;
  for (;;) {
    slot *s = &slots[i];
    if (s->dist == 0) {
      *s = cur;
      return;
    }
    if (s->dist < cur.dist) {
      slot t = *s;
      *s = cur;
      cur = t;
    }
    i = (i + 1) & mask;
    cur.dist++;
  }
}

static void place(slot *slots, size_t mask, slot cur) {
  place_at(slots, mask, cur, (size_t)cur.hash & mask, 1);
}

/* Ask for transparent huge pages over a large slot array: lookups land on
 * random slots, and with 4 KiB pages nearly each one is also a TLB miss.
 * Only the 2 MiB-aligned part inside the block is advised (never memory
 * around it), and the advice is a hint: failure (a custom allocator's
 * non-anonymous memory, a kernel without THP) changes nothing. */
static void advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = HUGE_PAGE;
  uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t hi = ((uintptr_t)p + bytes) & ~(huge - 1);
  if (hi > lo) {
    /* An integer-rounded address inside the block we own; madvise only
     * reads it as an address range. */
    (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); // NOLINT(performance-no-int-to-ptr)
  }
#else
  (void)p;
  (void)bytes;
#endif
}

/* Move every entry to a fresh array of cap slots. On failure nothing changes. */
static int rehash(rv_map *m, size_t cap) {
  size_t bytes;
  if (__builtin_mul_overflow(cap, sizeof(slot), &bytes)) {
    return RV_EOVERFLOW;
  }
  slot *ns = rv_alloc_get(m->alloc, bytes, SLOT_ALIGN);
  if (!ns) {
    return RV_ENOMEM;
  }
  advise_huge(ns, bytes);
  memset(ns, 0, bytes);
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].dist != 0) {
      place(ns, cap - 1, m->slots[i]);
    }
  }
  rv_alloc_free(m->alloc, m->slots, m->cap * sizeof(slot));
  m->slots = ns;
  m->cap = cap;
  m->gen++;
  return RV_OK;
}

int rv_map_reserve(rv_map *m, size_t n) {
  size_t cap;
  int rc = cap_for(n, &cap);
  if (rc != RV_OK) {
    return rc;
  }
  return cap > m->cap ? rehash(m, cap) : RV_OK;
}

/* Room for one more entry: grow by doubling past 80% load. */
static int grow_for_one(rv_map *m) {
  size_t n = m->len + 1; /* n <= cap <= MAX_CAP: n * 5 cannot overflow */
  if (m->cap != 0 && n * 5 <= m->cap * 4) {
    return RV_OK;
  }
  return rv_map_reserve(m, n);
}

static int get_seed(uint64_t *seed) {
  uint8_t *p = (uint8_t *)seed; /* filling an object's bytes through a uint8_t view is allowed */
  size_t got = 0;
  while (got < sizeof *seed) {
    ssize_t r = getrandom(p + got, sizeof *seed - got, 0);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      return RV_EIO;
    }
    got += (size_t)r;
  }
  return RV_OK;
}

int rv_map_create(rv_map **out, const rv_map_config *cfg) {
  static const rv_map_config defaults = {0};
  if (!cfg) {
    cfg = &defaults;
  }
  if (cfg->keys != RV_MAP_KEYS_COPY && cfg->keys != RV_MAP_KEYS_BORROW &&
      cfg->keys != RV_MAP_KEYS_U64) {
    return RV_EINVAL;
  }
  uint64_t seed = cfg->seed;
  if (!cfg->use_seed) {
    int rc = get_seed(&seed);
    if (rc != RV_OK) {
      return rc;
    }
  }
  rv_map *m = rv_alloc_get(cfg->alloc, sizeof *m, alignof(rv_map));
  if (!m) {
    return RV_ENOMEM;
  }
  *m = (rv_map){.alloc = cfg->alloc, .keys = cfg->keys, .seed = seed};
  int rc = cfg->capacity ? rv_map_reserve(m, cfg->capacity) : RV_OK;
  if (rc != RV_OK) {
    goto fail;
  }
  *out = m;
  return RV_OK;
fail:
  rv_alloc_free(cfg->alloc, m, sizeof *m);
  return rc;
}

/* ---- key chunks (copy mode) ---------------------------------------------- */

static uint8_t *chunk_data(chunk *c) {
  return (uint8_t *)(c + 1); /* the data follows the header in one block */
}

static void free_chunks(rv_map *m) {
  chunk *c = m->chunks;
  while (c) {
    chunk *next = c->next;
    rv_alloc_free(m->alloc, c, sizeof(chunk) + c->size);
    c = next;
  }
  m->chunks = NULL;
  m->key_bytes = 0;
  m->key_garbage = 0;
}

/* A new chunk of `size` data bytes, or NULL. */
static chunk *chunk_new(rv_map *m, size_t size) {
  size_t bytes;
  if (__builtin_add_overflow(sizeof(chunk), size, &bytes)) {
    return NULL;
  }
  /* Large chunks start on a 2 MiB boundary so that advise_huge() can cover
   * all of them with huge pages, not only the aligned middle. */
  size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : _Alignof(chunk);
  chunk *c = rv_alloc_get(m->alloc, bytes, align);
  if (!c) {
    return NULL;
  }
  advise_huge(c, bytes);
  c->size = size;
  c->used = 0;
  return c;
}

/* Copy a key into the chunks; undo with key_unstore() until anything else
 * changes. Returns NULL if a needed chunk could not be allocated. */
static uint8_t *key_store(rv_map *m, const uint8_t *key, size_t len) {
  chunk *c = m->chunks;
  if (!c || c->size - c->used < len) {
    size_t size = c ? (c->size < CHUNK_MAX ? c->size * 2 : CHUNK_MAX) : CHUNK_MIN;
    c = chunk_new(m, size < len ? len : size);
    if (!c) {
      return NULL;
    }
    c->next = m->chunks;
    m->chunks = c;
  }
  uint8_t *p = chunk_data(c) + c->used;
  memcpy(p, key, len);
  c->used += len;
  m->key_bytes += len;
  return p;
}

/* Take back the key key_store() just appended (the chunk stays, empty of it). */
static void key_unstore(rv_map *m, size_t len) {
  m->chunks->used -= len;
  m->key_bytes -= len;
}

/* Pack the live keys into one new chunk and free the old ones. Skipped
 * (nothing changes) if the new chunk cannot be allocated. */
static void compact(rv_map *m) {
  if (m->key_bytes == 0) {
    free_chunks(m);
    return;
  }
  chunk *c = chunk_new(m, m->key_bytes < CHUNK_MIN ? CHUNK_MIN : m->key_bytes);
  if (!c) {
    return;
  }
  for (size_t i = 0; i < m->cap; i++) {
    slot *s = &m->slots[i];
    if (s->dist != 0 && s->len != 0) {
      uint8_t *p = chunk_data(c) + c->used;
      memcpy(p, s->key.p, s->len);
      c->used += s->len;
      s->key.owned = p;
    }
  }
  size_t live = m->key_bytes;
  c->next = NULL;
  free_chunks(m);
  m->chunks = c;
  m->key_bytes = live;
}

void rv_map_destroy(rv_map *m) {
  if (!m) {
    return;
  }
  free_chunks(m);
  rv_alloc_free(m->alloc, m->slots, m->cap * sizeof(slot));
  rv_alloc_free(m->alloc, m, sizeof *m);
}

void rv_map_clear(rv_map *m) {
  free_chunks(m);
  if (m->cap != 0) {
    memset(m->slots, 0, m->cap * sizeof(slot));
  }
  m->len = 0;
  m->gen++;
}

size_t rv_map_len(const rv_map *m) { return m->len; }
size_t rv_map_capacity(const rv_map *m) { return m->cap; }
uint64_t rv_map_seed(const rv_map *m) { return m->seed; }

size_t rv_map_max_probe(const rv_map *m) {
  size_t max = 0;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].dist > max) {
      max = m->slots[i].dist;
    }
  }
  return max;
}

/* ---- lookup ------------------------------------------------------------ */

/* Where a probe for an absent key stopped: an insert starts there. */
typedef struct stop {
  size_t index;
  uint32_t dist;
} stop;

/* Find a byte key; when absent, return NULL and say where the probe stopped. */
static slot *probe_bytes(const rv_map *m, uint64_t h, const void *key, size_t len, stop *at) {
  if (m->cap == 0) {
    return NULL;
  }
  size_t mask = m->cap - 1;
  size_t i = (size_t)h & mask;
  for (uint32_t d = 1;; d++) {
    slot *s = &m->slots[i];
    if (s->dist < d) { /* empty, or a resident closer to home: key absent */
      at->index = i;
      at->dist = d;
      return NULL;
    }
    if (s->hash == h && s->len == len && (len == 0 || memcmp(s->key.p, key, len) == 0)) {
      return s;
    }
    i = (i + 1) & mask;
  }
}

static slot *probe_u64(const rv_map *m, uint64_t h, uint64_t key, stop *at) {
  if (m->cap == 0) {
    return NULL;
  }
  size_t mask = m->cap - 1;
  size_t i = (size_t)h & mask;
  for (uint32_t d = 1;; d++) {
    slot *s = &m->slots[i];
    if (s->dist < d) {
      at->index = i;
      at->dist = d;
      return NULL;
    }
    if (s->key.u == key && s->hash == h) {
      return s;
    }
    i = (i + 1) & mask;
  }
}

static slot *find_bytes(const rv_map *m, uint64_t h, const void *key, size_t len) {
  stop at;
  return probe_bytes(m, h, key, len, &at);
}

static slot *find_u64(const rv_map *m, uint64_t h, uint64_t key) {
  stop at;
  return probe_u64(m, h, key, &at);
}

/* A byte-key call is valid for this map and these arguments. */
static int check_bytes(const rv_map *m, const void *key, size_t len) {
  if (m->keys == RV_MAP_KEYS_U64 || (!key && len != 0)) {
    return RV_EINVAL;
  }
  return RV_OK;
}

int rv_map_get(const rv_map *m, const void *key, size_t len, void **value) {
  int rc = check_bytes(m, key, len);
  if (rc != RV_OK) {
    return rc;
  }
  const slot *s = find_bytes(m, hash_bytes(m, key, len), key, len);
  if (!s) {
    return RV_ENOTFOUND;
  }
  if (value) {
    *value = s->value;
  }
  return RV_OK;
}

void **rv_map_find(const rv_map *m, const void *key, size_t len) {
  if (check_bytes(m, key, len) != RV_OK) {
    return NULL;
  }
  slot *s = find_bytes(m, hash_bytes(m, key, len), key, len);
  return s ? &s->value : NULL;
}

int rv_map_get_u64(const rv_map *m, uint64_t key, void **value) {
  if (m->keys != RV_MAP_KEYS_U64) {
    return RV_EINVAL;
  }
  const slot *s = find_u64(m, hash_u64(m, key), key);
  if (!s) {
    return RV_ENOTFOUND;
  }
  if (value) {
    *value = s->value;
  }
  return RV_OK;
}

void **rv_map_find_u64(const rv_map *m, uint64_t key) {
  if (m->keys != RV_MAP_KEYS_U64) {
    return NULL;
  }
  slot *s = find_u64(m, hash_u64(m, key), key);
  return s ? &s->value : NULL;
}

/* ---- insert ------------------------------------------------------------ */

/* Store a new entry, absent: the caller's probe stopped at `at` (unused
 * when the table is empty or must grow). On any failure the map is
 * unchanged and nothing is left allocated. */
static int add(rv_map *m, slot cur, stop at) {
  bool copied = m->keys == RV_MAP_KEYS_COPY && cur.len != 0;
  if (copied) {
    uint8_t *copy = key_store(m, cur.key.p, cur.len);
    if (!copy) {
      return RV_ENOMEM;
    }
    /* Lookups read this back as `p`: the same pointer type but for const,
     * which C11 6.2.5p27 gives the same representation. */
    cur.key.owned = copy;
  }
  size_t cap = m->cap;
  int rc = grow_for_one(m);
  if (rc != RV_OK) {
    if (copied) {
      key_unstore(m, cur.len);
    }
    return rc;
  }
  if (m->cap == cap) { /* same table: carry on from where the probe stopped */
    place_at(m->slots, m->cap - 1, cur, at.index, at.dist);
  } else {
    place(m->slots, m->cap - 1, cur);
  }
  m->len++;
  m->gen++;
  return RV_OK;
}

static int put_bytes(rv_map *m, const void *key, size_t len, void *value, void **old,
                     bool replace) {
  int rc = check_bytes(m, key, len);
  if (rc != RV_OK) {
    return rc;
  }
  if (len > UINT32_MAX) {
    return RV_ELIMIT;
  }
  uint64_t h = hash_bytes(m, key, len);
  stop at = {0, 0};
  slot *s = probe_bytes(m, h, key, len, &at);
  if (s) {
    if (!replace) {
      return RV_EEXIST;
    }
    if (old) {
      *old = s->value;
    }
    s->value = value;
    return RV_OK;
  }
  slot cur = {.hash = h, .len = (uint32_t)len, .key.p = key, .value = value};
  rc = add(m, cur, at);
  if (rc == RV_OK && old) {
    *old = NULL;
  }
  return rc;
}

int rv_map_insert(rv_map *m, const void *key, size_t len, void *value) {
  return put_bytes(m, key, len, value, NULL, false);
}

int rv_map_set(rv_map *m, const void *key, size_t len, void *value, void **old) {
  return put_bytes(m, key, len, value, old, true);
}

static int put_u64(rv_map *m, uint64_t key, void *value, void **old, bool replace) {
  if (m->keys != RV_MAP_KEYS_U64) {
    return RV_EINVAL;
  }
  uint64_t h = hash_u64(m, key);
  stop at = {0, 0};
  slot *s = probe_u64(m, h, key, &at);
  if (s) {
    if (!replace) {
      return RV_EEXIST;
    }
    if (old) {
      *old = s->value;
    }
    s->value = value;
    return RV_OK;
  }
  slot cur = {.hash = h, .key.u = key, .value = value};
  int rc = add(m, cur, at);
  if (rc == RV_OK && old) {
    *old = NULL;
  }
  return rc;
}

int rv_map_insert_u64(rv_map *m, uint64_t key, void *value) {
  return put_u64(m, key, value, NULL, false);
}

int rv_map_set_u64(rv_map *m, uint64_t key, void *value, void **old) {
  return put_u64(m, key, value, old, true);
}

/* ---- remove ------------------------------------------------------------ */

/* Take out the entry at s: shift the rest of its run back by one slot until
 * an empty slot or an entry already in its home slot, so no tombstone stays. */
static void erase(rv_map *m, slot *s, void **value) {
  if (value) {
    *value = s->value;
  }
  if (m->keys == RV_MAP_KEYS_COPY) {
    m->key_bytes -= s->len;
    m->key_garbage += s->len;
  }
  size_t mask = m->cap - 1;
  size_t i = (size_t)(s - m->slots);
  for (;;) {
    size_t j = (i + 1) & mask;
    if (m->slots[j].dist <= 1) {
      break;
    }
    m->slots[i] = m->slots[j];
    m->slots[i].dist--;
    i = j;
  }
  memset(&m->slots[i], 0, sizeof(slot));
  m->len--;
  m->gen++;
  /* compact() scans every slot: waiting for cap / 4 bytes of garbage as
   * well keeps that O(1) per removed byte even in a big, emptied table. */
  if (m->key_garbage >= COMPACT_MIN && m->key_garbage > m->key_bytes &&
      m->key_garbage >= m->cap / 4) {
    compact(m);
  }
}

int rv_map_remove(rv_map *m, const void *key, size_t len, void **value) {
  int rc = check_bytes(m, key, len);
  if (rc != RV_OK) {
    return rc;
  }
  slot *s = find_bytes(m, hash_bytes(m, key, len), key, len);
  if (!s) {
    return RV_ENOTFOUND;
  }
  erase(m, s, value);
  return RV_OK;
}

int rv_map_remove_u64(rv_map *m, uint64_t key, void **value) {
  if (m->keys != RV_MAP_KEYS_U64) {
    return RV_EINVAL;
  }
  slot *s = find_u64(m, hash_u64(m, key), key);
  if (!s) {
    return RV_ENOTFOUND;
  }
  erase(m, s, value);
  return RV_OK;
}

/* ---- iteration --------------------------------------------------------- */

void rv_map_iter_init(rv_map_iter *it, const rv_map *m) {
  it->map = m;
  it->index = 0;
  it->gen = m->gen;
}

bool rv_map_next(rv_map_iter *it, rv_map_entry *e) {
  const rv_map *m = it->map;
  if (it->gen != m->gen) {
    rv_panic("rv_map_next: the map changed since rv_map_iter_init()");
  }
  while (it->index < m->cap) {
    slot *s = &m->slots[it->index++];
    if (s->dist == 0) {
      continue;
    }
    if (m->keys == RV_MAP_KEYS_U64) {
      *e = (rv_map_entry){.len = sizeof(uint64_t), .key_u64 = s->key.u, .value = &s->value};
    } else {
      *e = (rv_map_entry){.key = s->key.p, .len = s->len, .value = &s->value};
    }
    return true;
  }
  return false;
}
