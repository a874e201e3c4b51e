/* agg: per-thread counting for logstat, merging and summaries. */
#include "agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core/err.h>

static int mk(rv_map **m, rv_map_keys k) {
  rv_map_config c = {.keys = k};
  return rv_map_create(m, &c);
}

int agg_init(agg *a, const filter *f) {
  memset(a, 0, sizeof *a);
  a->flt = f;
  int rc = rv_arena_init(&a->counts, NULL, 0);
  if (rc)
    return rc;
  a->tmin = INT64_MAX;
  a->tmax = INT64_MIN;
  a->cur_min = INT64_MIN;
  rc = mk(&a->paths, RV_MAP_KEYS_COPY);
  if (!rc)
    rc = mk(&a->clients, RV_MAP_KEYS_COPY);
  if (!rc)
    rc = mk(&a->minutes, RV_MAP_KEYS_U64);
  if (rc)
    agg_free(a);
  return rc;
}

void agg_free(agg *a) {
  rv_map_destroy(a->paths);
  rv_map_destroy(a->clients);
  rv_map_destroy(a->minutes);
  a->paths = a->clients = a->minutes = NULL;
  rv_arena_free(&a->counts);
}

/* A new counter holding n, from the agg's arena (freed with the agg). */
static uint64_t *counter(agg *a, uint64_t n) {
  uint64_t *c = rv_arena_alloc(&a->counts, sizeof *c, _Alignof(uint64_t));
  if (c)
    *c = n;
  return c;
}

/* Add n to the counter stored under a key (a new one if the key is new). */
static int bump(agg *a, rv_map *m, const uint8_t *k, size_t len, uint64_t n) {
  void **v = rv_map_find(m, k, len);
  if (v) {
    *(uint64_t *)*v += n;
    return 0;
  }
  uint64_t *c = counter(a, n);
  return c ? rv_map_insert(m, k, len, c) : RV_ENOMEM;
}

static int bump_u64(agg *a, rv_map *m, uint64_t k, uint64_t n) {
  void **v = rv_map_find_u64(m, k);
  if (v) {
    *(uint64_t *)*v += n;
    return 0;
  }
  uint64_t *c = counter(a, n);
  return c ? rv_map_insert_u64(m, k, c) : RV_ENOMEM;
}

int agg_flush(agg *a) {
  if (a->cur_cnt) {
    int rc = bump_u64(a, a->minutes, (uint64_t)a->cur_min, a->cur_cnt);
    if (rc && !a->err)
      a->err = rc;
    a->cur_cnt = 0;
  }
  return a->err;
}

static unsigned rt_bucket(uint64_t us) {
  if (us < RT_SUB)
    return (unsigned)us;
  unsigned e = 63u - (unsigned)__builtin_clzll(us); /* us >= 16: e >= 4 */
  unsigned sub = (unsigned)(us >> (e - 4)) & (RT_SUB - 1);
  return (e - 3) * RT_SUB + sub;
}

static uint64_t rt_lower(unsigned b) {
  if (b < RT_SUB)
    return b;
  unsigned e = b / RT_SUB + 3, sub = b % RT_SUB;
  return ((uint64_t)(RT_SUB + sub)) << (e - 4);
}

static bool matches(const filter *f, const rv_log_record *r) {
  if (f->status_set && !(r->status >= 0 && r->status < 1000 &&
                         (f->status_bits[r->status / 32] >> (r->status % 32) & 1u)))
    return false;
  if (f->since_set && r->time < f->since)
    return false;
  if (f->until_set && r->time >= f->until)
    return false;
  if (f->prefix && (r->f[RV_LOG_PATH].len < f->prefix_len ||
                    memcmp(r->f[RV_LOG_PATH].ptr, f->prefix, f->prefix_len) != 0))
    return false;
  return true;
}

int agg_ok(void *ctx, const rv_log_record *r) {
  agg *a = ctx;
  a->lines++;
  a->parsed++;
  if (!matches(a->flt, r))
    return 0;
  a->matched++;
  a->bytes += r->bytes;
  if (r->status > 0 && r->status < 1000)
    a->status[r->status]++;
  if (r->present & (1u << RV_LOG_TIME)) {
    int64_t t = r->time;
    if (t < a->tmin)
      a->tmin = t;
    if (t > a->tmax)
      a->tmax = t;
    int64_t m = t >= 0 ? t / 60 : (t - 59) / 60;
    if (m != a->cur_min) {
      agg_flush(a);
      a->cur_min = m;
    }
    a->cur_cnt++;
  }
  if (r->present & (1u << RV_LOG_REQTIME)) {
    a->rt[rt_bucket(r->reqtime_us)]++;
    a->rt_count++;
    if (r->reqtime_us > a->rt_max)
      a->rt_max = r->reqtime_us;
  }
  int rc = 0;
  if (r->present & (1u << RV_LOG_PATH))
    rc = bump(a, a->paths, r->f[RV_LOG_PATH].ptr, r->f[RV_LOG_PATH].len, 1);
  if (!rc && (r->present & (1u << RV_LOG_ADDR)))
    rc = bump(a, a->clients, r->f[RV_LOG_ADDR].ptr, r->f[RV_LOG_ADDR].len, 1);
  if (rc && !a->err)
    a->err = rc;
  return rc;
}

static bool ex_before(const example *x, uint64_t chunk, uint64_t line) {
  return x->chunk < chunk || (x->chunk == chunk && x->line < line);
}

void agg_bad(void *ctx, uint64_t line, rv_log_error e, const uint8_t *p, size_t n) {
  agg *a = ctx;
  a->lines++;
  a->bad[e]++;
  /* Keep the MAX_EXAMPLES earliest malformed lines (by chunk, line). */
  size_t slot = a->nex;
  if (a->nex == MAX_EXAMPLES) {
    size_t last = 0;
    for (size_t i = 1; i < a->nex; i++)
      if (ex_before(&a->ex[last], a->ex[i].chunk, a->ex[i].line))
        last = i;
    if (ex_before(&a->ex[last], a->chunk, line))
      return;
    slot = last;
  } else {
    a->nex++;
  }
  example *x = &a->ex[slot];
  x->chunk = a->chunk;
  x->line = line;
  x->err = e;
  size_t k = 0;
  /* A printable copy for the report (reports escape it for JSON and HTML). */
  for (size_t i = 0; i < n && k < sizeof x->text - 1; i++) {
    uint8_t ch = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : (uint8_t)'.';
    x->text[k++] = (char)ch;
  }
  x->text[k] = 0;
}

static int merge_map(agg *a, rv_map *dst, const rv_map *src, bool u64) {
  rv_map_iter it;
  rv_map_entry e;
  rv_map_iter_init(&it, src);
  while (rv_map_next(&it, &e)) {
    int rc = u64 ? bump_u64(a, dst, e.key_u64, agg_count(e.value))
                 : bump(a, dst, e.key, e.len, agg_count(e.value));
    if (rc)
      return rc;
  }
  return 0;
}

int agg_merge(agg *d, const agg *s) {
  d->lines += s->lines;
  d->parsed += s->parsed;
  d->matched += s->matched;
  d->bytes += s->bytes;
  for (int i = 0; i < RV_LOG_ERROR_COUNT; i++)
    d->bad[i] += s->bad[i];
  for (int i = 0; i < 1000; i++)
    d->status[i] += s->status[i];
  for (int i = 0; i < RT_BUCKETS; i++)
    d->rt[i] += s->rt[i];
  d->rt_count += s->rt_count;
  d->rt_max = s->rt_max > d->rt_max ? s->rt_max : d->rt_max;
  d->tmin = s->tmin < d->tmin ? s->tmin : d->tmin;
  d->tmax = s->tmax > d->tmax ? s->tmax : d->tmax;
  for (size_t i = 0; i < s->nex; i++) {
    const example *x = &s->ex[i];
    uint64_t save = d->chunk;
    d->chunk = x->chunk;
    /* Re-offer through agg_bad's selection without counting it again. */
    uint64_t lines = d->lines, bad = d->bad[x->err];
    agg_bad(d, x->line, x->err, (const uint8_t *)x->text, strlen(x->text));
    d->lines = lines;
    d->bad[x->err] = bad;
    d->chunk = save;
  }
  int rc = merge_map(d, d->paths, s->paths, false);
  if (!rc)
    rc = merge_map(d, d->clients, s->clients, false);
  if (!rc)
    rc = merge_map(d, d->minutes, s->minutes, true);
  if (!rc && s->err)
    rc = s->err;
  return rc;
}

static int top_cmp(const void *x, const void *y) {
  const top_entry *a = x, *b = y;
  if (a->count != b->count)
    return a->count < b->count ? 1 : -1;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = n ? memcmp(a->key, b->key, n) : 0;
  return c ? c : (a->len > b->len) - (a->len < b->len);
}

top_entry *agg_top(const rv_map *m, size_t n, size_t *got) {
  size_t len = rv_map_len(m);
  top_entry *all = calloc(len ? len : 1, sizeof *all);
  *got = 0;
  if (!all)
    return NULL;
  rv_map_iter it;
  rv_map_entry e;
  size_t i = 0;
  rv_map_iter_init(&it, m);
  while (rv_map_next(&it, &e))
    all[i++] = (top_entry){e.key, e.len, agg_count(e.value)};
  qsort(all, i, sizeof *all, top_cmp);
  *got = i < n ? i : n;
  return all;
}

uint64_t agg_rt_quantile(const agg *a, double q) {
  if (!a->rt_count)
    return 0;
  uint64_t want = (uint64_t)(q * (double)a->rt_count);
  if (want >= a->rt_count)
    return a->rt_max;
  uint64_t acc = 0;
  for (unsigned b = 0; b < RT_BUCKETS; b++) {
    acc += a->rt[b];
    if (acc > want) {
      uint64_t lo = rt_lower(b);
      return lo > a->rt_max ? a->rt_max : lo;
    }
  }
  return a->rt_max;
}

static int min_cmp(const void *x, const void *y) {
  const minute_count *a = x, *b = y;
  return (a->minute > b->minute) - (a->minute < b->minute);
}

minute_count *agg_minutes(const agg *a, size_t *got) {
  size_t len = rv_map_len(a->minutes);
  minute_count *v = calloc(len ? len : 1, sizeof *v);
  *got = 0;
  if (!v)
    return NULL;
  rv_map_iter it;
  rv_map_entry e;
  size_t i = 0;
  rv_map_iter_init(&it, a->minutes);
  while (rv_map_next(&it, &e))
    v[i++] = (minute_count){(int64_t)e.key_u64, agg_count(e.value)};
  qsort(v, i, sizeof *v, min_cmp);
  *got = i;
  return v;
}

int filter_status(filter *f, const char *spec) {
  memset(f->status_bits, 0, sizeof f->status_bits);
  const char *p = spec;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n != 3 || p[0] < '1' || p[0] > '9')
      return RV_EINVAL;
    bool wild = (p[1] == 'x' || p[1] == 'X') && (p[2] == 'x' || p[2] == 'X');
    if (!wild && !(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
      return RV_EINVAL;
    int lo = (p[0] - '0') * 100, hi = lo + 99;
    if (!wild)
      lo = hi = lo + (p[1] - '0') * 10 + (p[2] - '0');
    for (int s = lo; s <= hi; s++)
      f->status_bits[s / 32] |= 1u << (s % 32);
    p += n + (e ? 1 : 0);
    if (e && !*p)
      return RV_EINVAL;
  }
  if (p == spec)
    return RV_EINVAL;
  f->status_set = true;
  return 0;
}

/* n decimal digits at s, or -1. */
static int num(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int parse_when(const char *s, int64_t *out) {
  size_t len = strlen(s);
  char *end;
  long long v = strtoll(s, &end, 10);
  if (len && !*end && len != 10) {
    *out = v; /* epoch seconds (a 10-character YYYY-MM-DD is a date) */
    return 0;
  }
  /* YYYY-MM-DD, then optionally THH:MM and :SS */
  if (!(len == 10 || len == 16 || len == 19) || s[4] != '-' || s[7] != '-' ||
      (len > 10 && (s[10] != 'T' || s[13] != ':')) || (len == 19 && s[16] != ':'))
    return RV_EINVAL;
  int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
  int h = len > 10 ? num(s + 11, 2) : 0, mi = len > 10 ? num(s + 14, 2) : 0;
  int se = len == 19 ? num(s + 17, 2) : 0;
  if (y < 0 || mo < 1 || mo > 12 || d < 0 || h < 0 || mi < 0 || se < 0)
    return RV_EINVAL;
  static const char *const mn[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d +0000", d, mn[mo - 1], y, h, mi, se);
  return rv_log_parse_time((const uint8_t *)buf, strlen(buf), out) ? RV_EINVAL : 0;
}
