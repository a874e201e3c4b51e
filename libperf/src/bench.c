/* bench: the benchmark harness (argument parsing, case registry, running).
 * The report (table and JSON lines) is in bench-report.c. */
#include "bench-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rivet/core/err.h>

/* Defaults: enough timed rounds for a stable median on a noisy shared
 * machine, and a couple of warm rounds for caches, page faults and the
 * branch predictor. --quick trades all of that for speed. */
enum {
  DEFAULT_REPS = 11,
  DEFAULT_WARMUP = 2,
  QUICK_REPS = 3,
  QUICK_WARMUP = 1,
  MAX_ROUNDS = 1000000,
};

uint64_t rv_bench_now_ns(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux; should it,
   * a zero time gives zero-length samples, never a crash. */
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* Where rv_bench_escape() stores: volatile, so the store (and therefore
 * the computation of the pointer's target) is observable behaviour. */
static const void *volatile escape_sink;

void rv_bench_escape(const void *p) { escape_sink = p; }

static uint64_t default_clock(void *ctx) {
  (void)ctx;
  return rv_bench_now_ns();
}

static void usage(FILE *f, const char *prog, const char *suite) {
  fprintf(f,
          "usage: %s [options]   (benchmark suite '%s', rivet-perf harness)\n"
          "  --reps N      timed rounds, 1..%d (default %d; %d with --quick)\n"
          "  --warmup N    untimed rounds first, 0..%d (default %d; %d with --quick)\n"
          "  --filter S    only cases whose name or group/name contains S\n"
          "                (the baselines of selected groups still run)\n"
          "  --json FILE   append one JSON line per case to FILE ('-' = stdout)\n"
          "  --no-json     no JSON lines (default: JSON lines on stdout after the table)\n"
          "  --quick       few rounds and small sizes (smoke test)\n"
          "  --help        this text\n"
          "ratio = baseline median / case median: above 1 means faster than the baseline.\n",
          prog, suite, MAX_ROUNDS, DEFAULT_REPS, QUICK_REPS, MAX_ROUNDS, DEFAULT_WARMUP,
          QUICK_WARMUP);
}

/* A whole decimal number in [lo, hi], nothing else (no sign, no spaces). */
static int parse_count(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
  if (s[0] < '0' || s[0] > '9')
    return RV_EINVAL;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return RV_EINVAL;
  *out = (uint32_t)v;
  return RV_OK;
}

/* Names go into the table and into JSON: printable, no quotes or
 * backslashes, so both stay readable. */
static bool clean_name(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      return false;
  }
  return true;
}

static char *dup_str(const rv_alloc *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = rv_alloc_get(a, n, 1);
  if (p)
    memcpy(p, s, n);
  return p;
}

/* Flags that take a value, as "--flag VALUE" or "--flag=VALUE". */
static const char *const value_flags[] = {"--reps", "--warmup", "--filter", "--json"};

static int parse_args(rv_bench *b, int argc, char *const *argv) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "bench";
  bool reps_set = false, warmup_set = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg == NULL)
      break;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(b->out, prog, b->suite);
      b->help = true;
      continue;
    }
    if (strcmp(arg, "--quick") == 0) {
      b->quick = true;
      continue;
    }
    if (strcmp(arg, "--no-json") == 0) {
      b->no_json = true;
      continue;
    }
    const char *flag = NULL, *val = NULL;
    size_t flen = 0;
    for (size_t k = 0; k < sizeof value_flags / sizeof value_flags[0]; k++) {
      size_t n = strlen(value_flags[k]);
      if (strncmp(arg, value_flags[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
        flag = value_flags[k];
        flen = n;
        break;
      }
    }
    if (flag == NULL) {
      fprintf(b->err, "%s: unknown %s '%s' (try --help)\n", prog,
              arg[0] == '-' ? "option" : "argument", arg);
      return RV_EINVAL;
    }
    if (arg[flen] == '=') {
      val = arg + flen + 1;
    } else if (i + 1 < argc && argv[i + 1] != NULL) {
      val = argv[++i];
    } else {
      fprintf(b->err, "%s: %s needs a value (try --help)\n", prog, flag);
      return RV_EINVAL;
    }
    if (strcmp(flag, "--reps") == 0 || strcmp(flag, "--warmup") == 0) {
      bool reps = flag[2] == 'r';
      uint32_t lo = reps ? 1 : 0;
      if (parse_count(val, lo, MAX_ROUNDS, reps ? &b->reps : &b->warmup) != RV_OK) {
        fprintf(b->err, "%s: %s needs a whole number from %u to %d, got '%s'\n", prog, flag,
                (unsigned)lo, MAX_ROUNDS, val);
        return RV_EINVAL;
      }
      *(reps ? &reps_set : &warmup_set) = true;
      continue;
    }
    if (val[0] == '\0') {
      fprintf(b->err, "%s: %s needs a non-empty value\n", prog, flag);
      return RV_EINVAL;
    }
    char **slot = strcmp(flag, "--filter") == 0 ? &b->filter : &b->json_path;
    char *copy = dup_str(b->alloc, val);
    if (copy == NULL)
      return RV_ENOMEM;
    if (*slot)
      rv_alloc_free(b->alloc, *slot, strlen(*slot) + 1);
    *slot = copy;
  }
  if (!reps_set)
    b->reps = b->quick ? QUICK_REPS : DEFAULT_REPS;
  if (!warmup_set)
    b->warmup = b->quick ? QUICK_WARMUP : DEFAULT_WARMUP;
  return RV_OK;
}

int rv_bench_create_ex(rv_bench **out, const rv_bench_config *cfg, int argc, char *const *argv) {
  FILE *err = cfg && cfg->err ? cfg->err : stderr;
  if (out == NULL || cfg == NULL || argc < 0 || (argc > 0 && argv == NULL)) {
    fprintf(err, "rv_bench: NULL runner, config or argv\n");
    return RV_EINVAL;
  }
  if (cfg->suite == NULL || cfg->suite[0] == '\0' || !clean_name(cfg->suite)) {
    fprintf(err, "rv_bench: a suite name is required (printable, no quotes)\n");
    return RV_EINVAL;
  }
  rv_bench *b = rv_alloc_get(cfg->alloc, sizeof *b, 0);
  if (b == NULL)
    return RV_ENOMEM;
  memset(b, 0, sizeof *b);
  b->alloc = cfg->alloc;
  b->suite = cfg->suite;
  b->out = cfg->out ? cfg->out : stdout;
  b->err = cfg->err ? cfg->err : stderr;
  b->clock = cfg->clock ? cfg->clock : default_clock;
  b->clock_ctx = cfg->clock_ctx;
  int rc = parse_args(b, argc, argv);
  if (rc != RV_OK)
    goto fail;
  *out = b;
  return RV_OK;
fail:
  rv_bench_destroy(b);
  return rc;
}

int rv_bench_create(rv_bench **out, const char *suite, int argc, char *const *argv,
                    const rv_alloc *alloc) {
  rv_bench_config cfg = {.suite = suite, .alloc = alloc};
  return rv_bench_create_ex(out, &cfg, argc, argv);
}

void rv_bench_destroy(rv_bench *b) {
  if (b == NULL)
    return;
  const rv_alloc *a = b->alloc;
  if (b->filter)
    rv_alloc_free(a, b->filter, strlen(b->filter) + 1);
  if (b->json_path)
    rv_alloc_free(a, b->json_path, strlen(b->json_path) + 1);
  rv_alloc_free(a, b->cases, b->cap * sizeof *b->cases);
  rv_alloc_free(a, b->samples, b->samples_len * sizeof *b->samples);
  rv_alloc_free(a, b, sizeof *b);
}

bool rv_bench_quick(const rv_bench *b) { return b->quick; }

size_t rv_bench_pick(const rv_bench *b, size_t full, size_t quick) {
  return b->quick ? quick : full;
}

size_t rv_bench_count(const rv_bench *b) { return b->n; }

int rv_bench_add(rv_bench *b, const rv_bench_case *c) {
  if (b->state != RV_BENCH_READY)
    return RV_ESTATE;
  if (c == NULL || c->name == NULL || c->name[0] == '\0' || !clean_name(c->name) ||
      (c->group && !clean_name(c->group)) || c->fn == NULL || c->ops == 0)
    return RV_EINVAL;
  const char *group = c->group ? c->group : "";
  for (size_t i = 0; i < b->n; i++) {
    const rv_bench_entry *e = &b->cases[i];
    if (strcmp(e->group, group) != 0)
      continue;
    if (strcmp(e->c.name, c->name) == 0 || (c->baseline && e->c.baseline))
      return RV_EEXIST;
  }
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap : 8;
    size_t old_bytes = b->cap * sizeof *b->cases, new_bytes;
    /* Overflow here would need more cases than memory can hold: report
     * it as the allocation failure it stands for. */
    if ((b->cap && __builtin_mul_overflow(b->cap, (size_t)2, &ncap)) ||
        __builtin_mul_overflow(ncap, sizeof *b->cases, &new_bytes))
      return RV_ENOMEM;
    rv_bench_entry *p = rv_alloc_resize(b->alloc, b->cases, old_bytes, new_bytes, 0);
    if (p == NULL)
      return RV_ENOMEM;
    b->cases = p;
    b->cap = ncap;
  }
  rv_bench_entry *e = &b->cases[b->n++];
  memset(e, 0, sizeof *e);
  e->c = *c;
  e->group = group;
  return RV_OK;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

int rv_bench_stats(uint64_t *samples, size_t n, double *median, double *min, double *max) {
  if (n == 0 || samples == NULL)
    return RV_EINVAL;
  qsort(samples, n, sizeof *samples, cmp_u64);
  /* The mean of the two middle values of an even count, computed as
   * lo + (hi - lo) / 2 so that it cannot overflow. */
  uint64_t lo = samples[(n - 1) / 2], hi = samples[n / 2];
  *median = (double)lo + (double)(hi - lo) / 2.0;
  *min = (double)samples[0];
  *max = (double)samples[n - 1];
  return RV_OK;
}

double rv_bench_ratio(double baseline_median, double case_median) {
  if (!(baseline_median > 0.0) || !(case_median > 0.0))
    return 0.0;
  return baseline_median / case_median;
}

/* Does group + "/" + name (or name alone, or group alone) contain f? */
static bool joined_contains(const char *group, const char *name, const char *f) {
  if (strstr(name, f) || strstr(group, f))
    return true;
  size_t gl = strlen(group), nl = strlen(name), fl = strlen(f), total = gl + 1 + nl;
  for (size_t start = 0; start + fl <= total; start++) {
    size_t k = 0;
    for (; k < fl; k++) {
      size_t at = start + k;
      char ch = '/';
      if (at < gl)
        ch = group[at];
      else if (at > gl)
        ch = name[at - gl - 1];
      if (ch != f[k])
        break;
    }
    if (k == fl)
      return true;
  }
  return false;
}

static void select_cases(rv_bench *b) {
  for (size_t i = 0; i < b->n; i++) {
    rv_bench_entry *e = &b->cases[i];
    e->selected = b->filter == NULL || joined_contains(e->group, e->c.name, b->filter);
  }
  /* A group's baseline runs whenever any case of its group does, so each
   * selected case still gets its ratio. */
  for (size_t i = 0; i < b->n; i++) {
    rv_bench_entry *e = &b->cases[i];
    if (!e->c.baseline || e->selected)
      continue;
    for (size_t j = 0; j < b->n; j++)
      if (b->cases[j].selected && strcmp(b->cases[j].group, e->group) == 0) {
        e->selected = true;
        break;
      }
  }
}

void rv_bench_round_order(size_t n, size_t round, size_t *order) {
  /* Rotate by one every two rounds and reverse on odd rounds: over 2n
   * rounds each case runs in every position equally often, and with two
   * cases the order goes AB, BA, BA, AB, ... */
  if (n == 0)
    return;
  size_t offset = (round / 2) % n;
  for (size_t k = 0; k < n; k++)
    order[k] = (round % 2 == 0) ? (offset + k) % n : (offset + n - 1 - k) % n;
}

static void run_round(rv_bench *b, const size_t *sel, size_t nsel, size_t *order, size_t round,
                      bool timed) {
  rv_bench_round_order(nsel, round, order);
  for (size_t k = 0; k < nsel; k++) {
    size_t idx = sel[order[k]];
    rv_bench_entry *e = &b->cases[idx];
    if (e->c.setup)
      e->c.setup(e->c.ctx);
    uint64_t t0 = b->clock(b->clock_ctx);
    e->c.fn(e->c.ctx);
    uint64_t t1 = b->clock(b->clock_ctx);
    if (e->c.teardown)
      e->c.teardown(e->c.ctx);
    if (timed)
      b->samples[idx * b->reps + (round - b->warmup)] = t1 >= t0 ? t1 - t0 : 0;
  }
}

static void compute_results(rv_bench *b) {
  for (size_t i = 0; i < b->n; i++) {
    rv_bench_entry *e = &b->cases[i];
    rv_bench_result *r = &e->res;
    r->name = e->c.name;
    r->group = e->group;
    r->ops = e->c.ops;
    r->ran = e->selected;
    if (!e->selected)
      continue;
    r->reps = b->reps;
    double med = 0, lo = 0, hi = 0;
    /* reps >= 1 always (parse_args), so this cannot fail. */
    (void)rv_bench_stats(&b->samples[i * b->reps], b->reps, &med, &lo, &hi);
    double ops = (double)e->c.ops;
    r->median = med / ops;
    r->min = lo / ops;
    r->max = hi / ops;
  }
  for (size_t i = 0; i < b->n; i++) {
    rv_bench_entry *e = &b->cases[i];
    if (!e->selected)
      continue;
    for (size_t j = 0; j < b->n; j++) {
      const rv_bench_entry *base = &b->cases[j];
      if (base->selected && base->c.baseline && strcmp(base->group, e->group) == 0) {
        e->res.baseline = base->c.name;
        e->res.ratio = rv_bench_ratio(base->res.median, e->res.median);
        break;
      }
    }
  }
}

int rv_bench_run(rv_bench *b) {
  if (b->state != RV_BENCH_READY)
    return RV_ESTATE;
  b->state = RV_BENCH_FAILED;
  if (b->help) {
    b->state = RV_BENCH_DONE;
    return RV_OK;
  }
  int rc = RV_OK;
  size_t *sel = NULL, *order = NULL, nsel = 0, idx_bytes = 0;
  select_cases(b);
  for (size_t i = 0; i < b->n; i++)
    nsel += b->cases[i].selected;
  if (nsel == 0) {
    fprintf(b->err, "%s: no benchmark case %s%s%s\n", b->suite,
            b->filter ? "matches --filter '" : "was registered", b->filter ? b->filter : "",
            b->filter ? "'" : "");
    return RV_ENOTFOUND;
  }
  if (__builtin_mul_overflow(b->n, (size_t)b->reps, &b->samples_len) ||
      __builtin_mul_overflow(nsel, sizeof *sel, &idx_bytes)) {
    /* More samples than memory can hold: an allocation failure. */
    b->samples_len = 0;
    return RV_ENOMEM;
  }
  b->samples = rv_alloc_array(b->alloc, b->samples_len, sizeof *b->samples, 0);
  sel = rv_alloc_get(b->alloc, idx_bytes, 0);
  order = rv_alloc_get(b->alloc, idx_bytes, 0);
  if (b->samples == NULL || sel == NULL || order == NULL) {
    rc = RV_ENOMEM;
    goto fail;
  }
  memset(b->samples, 0, b->samples_len * sizeof *b->samples);
  nsel = 0;
  for (size_t i = 0; i < b->n; i++)
    if (b->cases[i].selected)
      sel[nsel++] = i;
  size_t rounds = (size_t)b->warmup + b->reps;
  for (size_t round = 0; round < rounds; round++)
    run_round(b, sel, nsel, order, round, round >= b->warmup);
  compute_results(b);
  rc = rv_bench_report(b);
  if (rc == RV_OK)
    b->state = RV_BENCH_DONE;
fail:
  rv_alloc_free(b->alloc, sel, idx_bytes);
  rv_alloc_free(b->alloc, order, idx_bytes);
  if (b->samples == NULL)
    b->samples_len = 0;
  return rc;
}

int rv_bench_get_result(const rv_bench *b, size_t i, rv_bench_result *out) {
  if (b->state != RV_BENCH_DONE)
    return RV_ESTATE;
  if (i >= b->n)
    return RV_ERANGE;
  *out = b->cases[i].res;
  return RV_OK;
}
