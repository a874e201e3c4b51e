/* metrics: a registry of families and series, lock-free updates, and the
 * Prometheus text exposition format 0.0.4. */
#include <rivet/net/metrics.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BOUNDS 64u

enum { T_COUNTER = 1, T_GAUGE = 2, T_HISTOGRAM = 3 };

/* Every value is a relaxed atomic: each is an independent statistic, and no
 * other memory is published through it, so no ordering is needed. */
struct rv_counter {
  _Atomic uint64_t v;
};
struct rv_gauge {
  _Atomic uint64_t bits; /* the double's bytes (memcpy'd: no aliasing issue) */
};
struct rv_histogram {
  const double *bounds; /* the family's */
  size_t nbounds;
  size_t size; /* bytes of this allocation */
  _Atomic uint64_t sum_bits;
  _Atomic uint64_t buckets[]; /* nbounds + 1, not cumulative */
};

typedef struct series {
  struct series *next;
  char *labels; /* rendered `k="v",k2="v2"`; NUL-terminated, may be empty */
  size_t labels_len;
  size_t size; /* bytes of this allocation (labels included) */
  rv_counter c;
  rv_gauge g;
  rv_histogram *h;
} series;

typedef struct family {
  char *name;
  char *help;
  int type;
  double *bounds;
  size_t nbounds;
  series *head, *tail;
} family;

struct rv_metrics {
  const rv_alloc *alloc;
  pthread_mutex_t lock; /* guards the family array and the series lists */
  family **fams;
  size_t nfams, capfams;
};

static char *dup_str(const rv_alloc *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = rv_alloc_get(a, n, 1);
  if (p != NULL) {
    memcpy(p, s, n);
  }
  return p;
}

int rv_metrics_create(rv_metrics **out, const rv_alloc *alloc) {
  if (out == NULL) {
    return RV_EINVAL;
  }
  rv_metrics *m = rv_alloc_get(alloc, sizeof *m, _Alignof(rv_metrics));
  if (m == NULL) {
    return RV_ENOMEM;
  }
  memset(m, 0, sizeof *m);
  m->alloc = alloc;
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    rv_alloc_free(alloc, m, sizeof *m);
    return RV_ENOMEM;
  }
  *out = m;
  return RV_OK;
}

static void free_family(const rv_alloc *a, family *f) {
  series *s = f->head;
  while (s != NULL) {
    series *next = s->next;
    if (s->h != NULL) {
      rv_alloc_free(a, s->h, s->h->size);
    }
    rv_alloc_free(a, s, s->size);
    s = next;
  }
  if (f->name != NULL) {
    rv_alloc_free(a, f->name, strlen(f->name) + 1);
  }
  if (f->help != NULL) {
    rv_alloc_free(a, f->help, strlen(f->help) + 1);
  }
  if (f->bounds != NULL) {
    rv_alloc_free(a, f->bounds, f->nbounds * sizeof *f->bounds);
  }
  rv_alloc_free(a, f, sizeof *f);
}

void rv_metrics_destroy(rv_metrics *m) {
  if (m == NULL) {
    return;
  }
  for (size_t i = 0; i < m->nfams; i++) {
    free_family(m->alloc, m->fams[i]);
  }
  rv_alloc_free(m->alloc, m->fams, m->capfams * sizeof(family *));
  pthread_mutex_destroy(&m->lock);
  rv_alloc_free(m->alloc, m, sizeof *m);
}

static bool name_ok(const char *s, bool colon) {
  if (s == NULL || *s == '\0') {
    return false;
  }
  for (size_t i = 0; s[i] != '\0'; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

/* Render the label pairs as `k="v",...`, escaping values. */
static int render_labels(const char *const *labels, size_t n, bool histogram, rv_buf *b) {
  for (size_t i = 0; i < n; i++) {
    const char *k = labels[2 * i], *v = labels[2 * i + 1];
    if (!name_ok(k, false) || v == NULL || (k[0] == '_' && k[1] == '_') ||
        (histogram && strcmp(k, "le") == 0)) {
      return RV_EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(labels[2 * j], k) == 0) {
        return RV_EINVAL;
      }
    }
    int rc = (i > 0 ? rv_buf_push(b, ',') : RV_OK);
    rc = rc != RV_OK ? rc : rv_buf_append(b, k, strlen(k));
    rc = rc != RV_OK ? rc : rv_buf_append(b, "=\"", 2);
    for (const char *p = v; rc == RV_OK && *p != '\0'; p++) {
      if (*p == '\\') {
        rc = rv_buf_append(b, "\\\\", 2);
      } else if (*p == '"') {
        rc = rv_buf_append(b, "\\\"", 2);
      } else if (*p == '\n') {
        rc = rv_buf_append(b, "\\n", 2);
      } else {
        rc = rv_buf_push(b, (uint8_t)*p);
      }
    }
    rc = rc != RV_OK ? rc : rv_buf_push(b, '"');
    if (rc != RV_OK) {
      return rc;
    }
  }
  return rv_buf_push(b, 0);
}

static int find_or_add_family(rv_metrics *m, const char *name, const char *help, int type,
                              const double *bounds, size_t nbounds, family **out) {
  for (size_t i = 0; i < m->nfams; i++) {
    family *f = m->fams[i];
    if (strcmp(f->name, name) == 0) {
      if (f->type != type) {
        return RV_EEXIST;
      }
      if (type == T_HISTOGRAM &&
          (f->nbounds != nbounds ||
           (nbounds > 0 && memcmp(f->bounds, bounds, nbounds * sizeof *bounds) != 0))) {
        return RV_EINVAL;
      }
      *out = f;
      return RV_OK;
    }
  }
  if (m->nfams == m->capfams) {
    size_t ncap = m->capfams == 0 ? 8 : m->capfams * 2;
    family **nf = m->fams == NULL
                      ? rv_alloc_array(m->alloc, ncap, sizeof(family *), _Alignof(family *))
                      : rv_alloc_resize(m->alloc, m->fams, m->capfams * sizeof(family *),
                                        ncap * sizeof(family *), _Alignof(family *));
    if (nf == NULL) {
      return RV_ENOMEM;
    }
    m->fams = nf;
    m->capfams = ncap;
  }
  family *f = rv_alloc_get(m->alloc, sizeof *f, _Alignof(family));
  if (f == NULL) {
    return RV_ENOMEM;
  }
  memset(f, 0, sizeof *f);
  f->type = type;
  f->name = dup_str(m->alloc, name);
  f->help = dup_str(m->alloc, help);
  if (nbounds > 0) {
    f->bounds = rv_alloc_array(m->alloc, nbounds, sizeof *bounds, _Alignof(double));
    if (f->bounds != NULL) {
      memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
      f->nbounds = nbounds;
    }
  }
  if (f->name == NULL || f->help == NULL || (nbounds > 0 && f->bounds == NULL)) {
    free_family(m->alloc, f);
    return RV_ENOMEM;
  }
  m->fams[m->nfams++] = f;
  *out = f;
  return RV_OK;
}

static int add_series(rv_metrics *m, const char *name, const char *help, int type,
                      const char *const *labels, size_t nlabels, const double *bounds,
                      size_t nbounds, series **out) {
  if (m == NULL || !name_ok(name, true) || help == NULL || (labels == NULL && nlabels > 0)) {
    return RV_EINVAL;
  }
  if (type == T_HISTOGRAM) {
    if ((bounds == NULL && nbounds > 0) || nbounds > MAX_BOUNDS) {
      return RV_EINVAL;
    }
    for (size_t i = 0; i < nbounds; i++) {
      if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
        return RV_EINVAL;
      }
    }
  }
  rv_buf lb;
  rv_buf_init(&lb, m->alloc);
  int rc = render_labels(labels, nlabels, type == T_HISTOGRAM, &lb);
  if (rc != RV_OK) {
    rv_buf_free(&lb);
    return rc;
  }
  pthread_mutex_lock(&m->lock);
  family *f = NULL;
  series *s = NULL;
  rc = find_or_add_family(m, name, help, type, bounds, nbounds, &f);
  if (rc != RV_OK) {
    goto fail;
  }
  for (s = f->head; s != NULL; s = s->next) {
    if (strcmp(s->labels, (const char *)lb.data) == 0) {
      goto done; /* already registered: the same handle */
    }
  }
  size_t size;
  if (__builtin_add_overflow(sizeof *s, lb.len, &size)) {
    rc = RV_EOVERFLOW;
    goto fail;
  }
  s = rv_alloc_get(m->alloc, size, _Alignof(series));
  if (s == NULL) {
    rc = RV_ENOMEM;
    goto fail;
  }
  memset(s, 0, sizeof *s);
  s->size = size;
  s->labels = (char *)(s + 1);
  memcpy(s->labels, lb.data, lb.len);
  s->labels_len = lb.len - 1;
  if (type == T_HISTOGRAM) {
    size_t hsize = sizeof *s->h + (f->nbounds + 1) * sizeof(_Atomic uint64_t);
    s->h = rv_alloc_get(m->alloc, hsize, _Alignof(rv_histogram));
    if (s->h == NULL) {
      rv_alloc_free(m->alloc, s, size);
      s = NULL;
      rc = RV_ENOMEM;
      goto fail;
    }
    memset(s->h, 0, hsize);
    s->h->size = hsize;
    s->h->bounds = f->bounds;
    s->h->nbounds = f->nbounds;
  }
  if (f->tail != NULL) {
    f->tail->next = s;
  } else {
    f->head = s;
  }
  f->tail = s;
done:
  pthread_mutex_unlock(&m->lock);
  rv_buf_free(&lb);
  *out = s;
  return RV_OK;
fail:
  pthread_mutex_unlock(&m->lock);
  rv_buf_free(&lb);
  return rc;
}

int rv_metrics_counter(rv_metrics *m, const char *name, const char *help, const char *const *labels,
                       size_t nlabels, rv_counter **out) {
  series *s;
  if (out == NULL) {
    return RV_EINVAL;
  }
  int rc = add_series(m, name, help, T_COUNTER, labels, nlabels, NULL, 0, &s);
  if (rc == RV_OK) {
    *out = &s->c;
  }
  return rc;
}

int rv_metrics_gauge(rv_metrics *m, const char *name, const char *help, const char *const *labels,
                     size_t nlabels, rv_gauge **out) {
  series *s;
  if (out == NULL) {
    return RV_EINVAL;
  }
  int rc = add_series(m, name, help, T_GAUGE, labels, nlabels, NULL, 0, &s);
  if (rc == RV_OK) {
    *out = &s->g;
  }
  return rc;
}

int rv_metrics_histogram(rv_metrics *m, const char *name, const char *help,
                         const char *const *labels, size_t nlabels, const double *bounds,
                         size_t nbounds, rv_histogram **out) {
  series *s;
  if (out == NULL) {
    return RV_EINVAL;
  }
  int rc = add_series(m, name, help, T_HISTOGRAM, labels, nlabels, bounds, nbounds, &s);
  if (rc == RV_OK) {
    *out = s->h;
  }
  return rc;
}

static uint64_t d2u(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u); /* bit copy: doubles live in 64-bit atomics */
  return u;
}

static double u2d(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* Relaxed add of a double held as bits: a CAS loop (no atomic double add). */
static void add_bits(_Atomic uint64_t *a, double d) {
  uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(a, &old, d2u(u2d(old) + d), memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

void rv_counter_add(rv_counter *c, uint64_t n) {
  atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t rv_counter_value(const rv_counter *c) {
  return atomic_load_explicit(&((rv_counter *)c)->v, memory_order_relaxed);
}

void rv_gauge_set(rv_gauge *g, double v) {
  atomic_store_explicit(&g->bits, d2u(v), memory_order_relaxed);
}

void rv_gauge_add(rv_gauge *g, double d) { add_bits(&g->bits, d); }

double rv_gauge_value(const rv_gauge *g) {
  return u2d(atomic_load_explicit(&((rv_gauge *)g)->bits, memory_order_relaxed));
}

void rv_histogram_observe(rv_histogram *h, double v) {
  size_t i = 0;
  while (i < h->nbounds && !(v <= h->bounds[i])) {
    i++; /* NaN fails every comparison and lands in +Inf */
  }
  atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
  add_bits(&h->sum_bits, v);
}

uint64_t rv_histogram_count(const rv_histogram *h) {
  uint64_t n = 0;
  for (size_t i = 0; i <= h->nbounds; i++) {
    n += atomic_load_explicit(&((rv_histogram *)h)->buckets[i], memory_order_relaxed);
  }
  return n;
}

/* The shortest decimal that reads back as v; Prometheus spellings of the
 * special values. */
static void fmt_double(char buf[32], double v) {
  if (isnan(v)) {
    memcpy(buf, "NaN", 4);
  } else if (isinf(v)) {
    memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
  } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    snprintf(buf, 32, "%.0f", v); /* integral values in full: 120000, not 1.2e+05 */
  } else {
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, 32, "%.*g", prec, v);
      if (strtod(buf, NULL) == v) {
        break;
      }
    }
  }
}

typedef struct writer {
  rv_buf *b;
  int rc;
} writer;

static void w_put(writer *w, const char *s, size_t n) {
  if (w->rc == RV_OK) {
    w->rc = rv_buf_append(w->b, s, n);
  }
}

static void w_str(writer *w, const char *s) { w_put(w, s, strlen(s)); }

static void w_u64(writer *w, uint64_t v) {
  char num[24];
  int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  w_put(w, num, (size_t)n);
}

static void w_double(writer *w, double v) {
  char num[32];
  fmt_double(num, v);
  w_str(w, num);
}

/* name + suffix + {labels[,extra]} */
static void w_series(writer *w, const family *f, const char *suffix, const series *s,
                     const char *extra) {
  w_str(w, f->name);
  w_str(w, suffix);
  if (s->labels_len > 0 || extra != NULL) {
    w_put(w, "{", 1);
    w_put(w, s->labels, s->labels_len);
    if (extra != NULL) {
      if (s->labels_len > 0) {
        w_put(w, ",", 1);
      }
      w_str(w, extra);
    }
    w_put(w, "}", 1);
  }
  w_put(w, " ", 1);
}

static void w_family(writer *w, const family *f) {
  static const char *const types[] = {"", "counter", "gauge", "histogram"};
  w_str(w, "# HELP ");
  w_str(w, f->name);
  w_put(w, " ", 1);
  for (const char *p = f->help; *p != '\0'; p++) {
    if (*p == '\\') {
      w_put(w, "\\\\", 2);
    } else if (*p == '\n') {
      w_put(w, "\\n", 2);
    } else {
      w_put(w, p, 1);
    }
  }
  w_str(w, "\n# TYPE ");
  w_str(w, f->name);
  w_put(w, " ", 1);
  w_str(w, types[f->type]);
  w_put(w, "\n", 1);
  for (const series *s = f->head; s != NULL; s = s->next) {
    if (f->type == T_COUNTER) {
      w_series(w, f, "", s, NULL);
      w_u64(w, rv_counter_value(&s->c));
    } else if (f->type == T_GAUGE) {
      w_series(w, f, "", s, NULL);
      w_double(w, rv_gauge_value(&s->g));
    } else {
      uint64_t cum = 0;
      for (size_t i = 0; i <= f->nbounds; i++) {
        char le[48] = "le=\"+Inf\"";
        if (i < f->nbounds) {
          char num[32];
          fmt_double(num, f->bounds[i]);
          snprintf(le, sizeof le, "le=\"%s\"", num);
        }
        cum += atomic_load_explicit(&s->h->buckets[i], memory_order_relaxed);
        w_series(w, f, "_bucket", s, le);
        w_u64(w, cum);
        w_put(w, "\n", 1);
      }
      w_series(w, f, "_sum", s, NULL);
      w_double(w, u2d(atomic_load_explicit(&s->h->sum_bits, memory_order_relaxed)));
      w_put(w, "\n", 1);
      w_series(w, f, "_count", s, NULL);
      w_u64(w, cum);
    }
    w_put(w, "\n", 1);
  }
}

int rv_metrics_expose(rv_metrics *m, rv_buf *out) {
  if (m == NULL || out == NULL) {
    return RV_EINVAL;
  }
  size_t start = out->len;
  writer w = {out, RV_OK};
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->nfams; i++) {
    w_family(&w, m->fams[i]);
  }
  pthread_mutex_unlock(&m->lock);
  if (w.rc != RV_OK) {
    (void)rv_buf_resize(out, start); /* shrinking never allocates */
  }
  return w.rc;
}
