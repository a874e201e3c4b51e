/* ratelimit: GCRA per key over a libcore map of borrowed keys (each key's
 * bytes live in its own entry block, next to its TAT). */
#include <rivet/net/ratelimit.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <rivet/core/map.h>

typedef struct entry {
  uint64_t tat; /* theoretical arrival time, ns */
  size_t len;   /* key bytes that follow */
  uint8_t key[];
} entry;

struct rv_ratelimit {
  rv_ratelimit_config cfg;
  uint64_t interval; /* ns between requests at the steady rate */
  uint64_t window;   /* interval * limit: how far ahead the TAT may run */
  pthread_mutex_t lock;
  rv_map *map;   /* key -> entry (key borrowed from the entry) */
  entry **sweep; /* scratch for max_keys entries */
};

static uint64_t mono_ns(void *ctx) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int rv_ratelimit_create(rv_ratelimit **out, const rv_ratelimit_config *cfg) {
  if (out == NULL || cfg == NULL || cfg->limit == 0 || cfg->max_keys == 0 ||
      cfg->period_ns < cfg->limit) {
    return RV_EINVAL;
  }
  const rv_alloc *a = cfg->alloc;
  int rc = RV_ENOMEM;
  rv_ratelimit *rl = rv_alloc_get(a, sizeof *rl, _Alignof(rv_ratelimit));
  if (rl == NULL) {
    return RV_ENOMEM;
  }
  memset(rl, 0, sizeof *rl);
  rl->cfg = *cfg;
  if (rl->cfg.clock == NULL) {
    rl->cfg.clock = mono_ns;
  }
  rl->interval = cfg->period_ns / cfg->limit;
  rl->window = rl->interval * cfg->limit; /* ≤ period_ns: cannot overflow */
  rl->sweep = rv_alloc_array(a, cfg->max_keys, sizeof(entry *), _Alignof(entry *));
  if (rl->sweep == NULL) {
    goto fail;
  }
  rv_map_config mc = {.alloc = a, .keys = RV_MAP_KEYS_BORROW};
  rc = rv_map_create(&rl->map, &mc);
  if (rc != RV_OK) {
    goto fail;
  }
  if (pthread_mutex_init(&rl->lock, NULL) != 0) {
    rc = RV_ENOMEM;
    goto fail;
  }
  *out = rl;
  return RV_OK;
fail:
  rv_map_destroy(rl->map);
  if (rl->sweep != NULL) {
    rv_alloc_free(a, rl->sweep, cfg->max_keys * sizeof(entry *));
  }
  rv_alloc_free(a, rl, sizeof *rl);
  return rc;
}

static void free_entry(const rv_alloc *a, entry *e) { rv_alloc_free(a, e, sizeof *e + e->len); }

void rv_ratelimit_destroy(rv_ratelimit *rl) {
  if (rl == NULL) {
    return;
  }
  rv_map_iter it;
  rv_map_entry me;
  rv_map_iter_init(&it, rl->map);
  size_t n = 0;
  while (rv_map_next(&it, &me)) {
    rl->sweep[n++] = *me.value;
  }
  rv_map_destroy(rl->map); /* borrowed keys: free the entries after the map */
  for (size_t i = 0; i < n; i++) {
    free_entry(rl->cfg.alloc, rl->sweep[i]);
  }
  rv_alloc_free(rl->cfg.alloc, rl->sweep, rl->cfg.max_keys * sizeof(entry *));
  pthread_mutex_destroy(&rl->lock);
  rv_alloc_free(rl->cfg.alloc, rl, sizeof *rl);
}

/* Drop every key whose TAT has passed: it behaves exactly like an absent key. */
static void sweep(rv_ratelimit *rl, uint64_t now) {
  rv_map_iter it;
  rv_map_entry me;
  size_t n = 0;
  rv_map_iter_init(&it, rl->map);
  while (rv_map_next(&it, &me)) {
    entry *e = *me.value;
    if (e->tat <= now) {
      rl->sweep[n++] = e;
    }
  }
  for (size_t i = 0; i < n; i++) {
    (void)rv_map_remove(rl->map, rl->sweep[i]->key, rl->sweep[i]->len, NULL);
    free_entry(rl->cfg.alloc, rl->sweep[i]);
  }
}

static uint64_t ceil_s(uint64_t ns) { return ns / 1000000000u + (ns % 1000000000u != 0); }

int rv_ratelimit_check(rv_ratelimit *rl, const void *key, size_t len, rv_ratelimit_result *res) {
  if (rl == NULL || res == NULL || (key == NULL && len > 0)) {
    return RV_EINVAL;
  }
  int rc = RV_OK;
  pthread_mutex_lock(&rl->lock);
  uint64_t now = rl->cfg.clock(rl->cfg.clock_ctx);
  void **slot = rv_map_find(rl->map, key, len);
  entry *e = slot != NULL ? *slot : NULL;
  uint64_t tat = e != NULL && e->tat > now ? e->tat : now;
  uint64_t new_tat = tat + rl->interval;
  res->limit = rl->cfg.limit;
  if (new_tat - now > rl->window) {
    res->allowed = false;
    res->remaining = 0;
    res->reset_s = ceil_s(tat - now);
    uint64_t wait = new_tat - rl->window - now;
    res->retry_after_s = wait < 1000000000u ? 1 : ceil_s(wait);
    goto done;
  }
  if (e == NULL) {
    if (rv_map_len(rl->map) >= rl->cfg.max_keys) {
      sweep(rl, now);
      if (rv_map_len(rl->map) >= rl->cfg.max_keys) {
        rc = RV_EFULL;
        goto done;
      }
    }
    size_t size;
    if (__builtin_add_overflow(sizeof *e, len, &size)) {
      rc = RV_EOVERFLOW;
      goto done;
    }
    e = rv_alloc_get(rl->cfg.alloc, size, _Alignof(entry));
    if (e == NULL) {
      rc = RV_ENOMEM;
      goto done;
    }
    e->len = len;
    if (len > 0) {
      memcpy(e->key, key, len);
    }
    rc = rv_map_insert(rl->map, e->key, len, e);
    if (rc != RV_OK) {
      free_entry(rl->cfg.alloc, e);
      goto done;
    }
  }
  e->tat = new_tat;
  res->allowed = true;
  res->remaining = (rl->window - (new_tat - now)) / rl->interval;
  res->reset_s = ceil_s(new_tat - now);
  res->retry_after_s = 0;
done:
  pthread_mutex_unlock(&rl->lock);
  return rc;
}

size_t rv_ratelimit_keys(rv_ratelimit *rl) {
  pthread_mutex_lock(&rl->lock);
  size_t n = rv_map_len(rl->map);
  pthread_mutex_unlock(&rl->lock);
  return n;
}

int rv_ratelimit_write_headers(rv_http_response *r, const rv_ratelimit_result *res) {
  rv_http_response_header_u64(r, "RateLimit-Limit", res->limit);
  rv_http_response_header_u64(r, "RateLimit-Remaining", res->remaining);
  int rc = rv_http_response_header_u64(r, "RateLimit-Reset", res->reset_s);
  if (!res->allowed) {
    rc = rv_http_response_header_u64(r, "Retry-After", res->retry_after_s);
  }
  return rc;
}
