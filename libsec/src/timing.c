/* timing: a dudect-style constant-time checker.
 *
 * One batch: draw a class per measurement (a fair coin from a seeded
 * xoshiro256** generator), prepare all the batch's inputs, then time each
 * call of the code under test with the cycle counter. Preparing first keeps
 * input generation out of the timed region and the two classes interleaved,
 * so slow drifts of the machine (frequency, other processes) hit both alike.
 * The first batch is a warm-up that only sets the percentile crops. */
#define _DEFAULT_SOURCE /* clock_gettime with CLOCK_MONOTONIC under strict POSIX flags */
#include <rivet/core/err.h>
#include <rivet/sec/timing.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rv_timing_welch_push(rv_timing_welch *w, int cls, double x) {
  int c = cls != 0;
  /* Welford's update: numerically stable for millions of samples. */
  w->n[c] += 1.0;
  double d = x - w->mean[c];
  w->mean[c] += d / w->n[c];
  w->m2[c] += d * (x - w->mean[c]);
}

double rv_timing_welch_t(const rv_timing_welch *w) {
  if (w->n[0] < 2.0 || w->n[1] < 2.0) {
    return 0.0;
  }
  double v0 = w->m2[0] / (w->n[0] - 1.0);
  double v1 = w->m2[1] / (w->n[1] - 1.0);
  double se = sqrt(v0 / w->n[0] + v1 / w->n[1]);
  if (!(se > 0.0)) {
    return 0.0;
  }
  return (w->mean[0] - w->mean[1]) / se;
}

const char *rv_timing_verdict_name(rv_timing_verdict v) {
  switch (v) {
  case RV_TIMING_TOO_FEW:
    return "too few measurements";
  case RV_TIMING_NO_LEAK:
    return "no leak found";
  case RV_TIMING_MAYBE:
    return "possible leak: measure more";
  case RV_TIMING_LEAK:
    return "leak: timing depends on the input";
  }
  return "unknown verdict";
}

#if defined(__x86_64__) || defined(__i386__)
#define TIMER_NAME "rdtsc+lfence"
/* rdtsc is not a serialising instruction: without fences the CPU may read
 * the counter before earlier instructions (the code under test) finished,
 * or start later ones before the read. The leading lfence waits for all
 * earlier instructions to complete; the trailing one keeps later ones from
 * starting before the counter is read (Intel SDM, RDTSC). */
static inline uint64_t cycles_now(void) {
  uint32_t lo;
  uint32_t hi;
  __asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
  return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
#define TIMER_NAME "cntvct"
/* The isb keeps the counter read in program order with the code under test. */
static inline uint64_t cycles_now(void) {
  uint64_t v;
  __asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
  return v;
}
#else
#define TIMER_NAME "clock_gettime"
static inline uint64_t cycles_now(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

uint64_t rv_timing_cycles(void) { return cycles_now(); }

static double now_seconds(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xoshiro256** (Blackman, Vigna), seeded through splitmix64. */
struct rng {
  uint64_t s[4];
};

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void rng_seed(struct rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) {
    seed += 0x9e3779b97f4a7c15u;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    r->s[i] = z ^ (z >> 31);
  }
}

static uint64_t rng_next(struct rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

static void rng_fill(struct rng *r, uint8_t *p, size_t n) {
  while (n > 0) {
    uint64_t v = rng_next(r);
    size_t k = n < 8 ? n : 8;
    memcpy(p, &v, k);
    p += k;
    n -= k;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a;
  uint64_t y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

struct run {
  rv_timing_welch tests[RV_TIMING_TESTS];
  double crop[RV_TIMING_PERCENTILES];
};

/* dudect's crops: thresholds at 1 - 0.5^(10 (i+1) / 100) of the warm-up
 * distribution, i.e. from the 6.7th percentile up to 99.9th, denser at the
 * top where interrupts and preemption put their outliers. */
static void set_crops(struct run *r, uint64_t *sorted, size_t n) {
  qsort(sorted, n, sizeof *sorted, cmp_u64);
  for (int i = 0; i < RV_TIMING_PERCENTILES; i++) {
    double q = 1.0 - pow(0.5, 10.0 * (double)(i + 1) / RV_TIMING_PERCENTILES);
    size_t k = (size_t)(q * (double)n);
    if (k >= n) {
      k = n - 1;
    }
    r->crop[i] = (double)sorted[k];
  }
}

static void update(struct run *r, int cls, double x) {
  rv_timing_welch_push(&r->tests[0], cls, x);
  for (int i = 0; i < RV_TIMING_PERCENTILES; i++) {
    if (x < r->crop[i]) {
      rv_timing_welch_push(&r->tests[1 + i], cls, x);
    }
  }
  /* Second order: once the means are stable, compare the classes' spread
   * (squared distance to their own mean), which catches leaks that change
   * the variance but not the mean. */
  rv_timing_welch *t0 = &r->tests[0];
  if (t0->n[0] + t0->n[1] > RV_TIMING_ENOUGH) {
    double d = x - t0->mean[cls != 0];
    rv_timing_welch_push(&r->tests[RV_TIMING_TESTS - 1], cls, d * d);
  }
}

static void summarise(const struct run *r, rv_timing_result *res) {
  res->max_t = 0.0;
  res->max_test = 0;
  res->max_test_n = 0;
  for (int i = 0; i < RV_TIMING_TESTS; i++) {
    const rv_timing_welch *w = &r->tests[i];
    double n = w->n[0] + w->n[1];
    if (n < RV_TIMING_ENOUGH) {
      continue;
    }
    double t = fabs(rv_timing_welch_t(w));
    if (t > res->max_t || res->max_test_n == 0) {
      res->max_t = t;
      res->max_test = i;
      res->max_test_n = (size_t)n;
    }
  }
  res->max_tau = res->max_test_n ? res->max_t / sqrt((double)res->max_test_n) : 0.0;
  res->mean[0] = r->tests[0].mean[0];
  res->mean[1] = r->tests[0].mean[1];
  if (res->max_test_n == 0) {
    res->verdict = RV_TIMING_TOO_FEW;
  } else if (res->max_t >= RV_TIMING_T_LEAK) {
    res->verdict = RV_TIMING_LEAK;
  } else if (res->max_t >= RV_TIMING_T_CLEAN) {
    res->verdict = RV_TIMING_MAYBE;
  } else {
    res->verdict = RV_TIMING_NO_LEAK;
  }
}

int rv_timing_check(const rv_timing_config *cfg, rv_timing_result *res) {
  if (cfg == NULL || res == NULL || cfg->run == NULL || cfg->input_len == 0 ||
      (cfg->samples != NULL && cfg->sample_class == NULL)) {
    return RV_EINVAL;
  }
  size_t batch = cfg->batch ? cfg->batch : 10000;
  size_t limit = cfg->max_measurements ? cfg->max_measurements : 1000000;
  size_t in_bytes;
  size_t cyc_bytes;
  if (__builtin_mul_overflow(batch, cfg->input_len, &in_bytes) ||
      __builtin_mul_overflow(batch, sizeof(uint64_t), &cyc_bytes)) {
    return RV_EOVERFLOW;
  }
  const rv_alloc *a = cfg->alloc;
  int rc = RV_ENOMEM;
  uint8_t *inputs = rv_alloc_get(a, in_bytes, 0);
  uint8_t *cls = rv_alloc_get(a, batch, 0);
  uint64_t *cyc = rv_alloc_get(a, cyc_bytes, 0);
  uint8_t *rnd = rv_alloc_get(a, cfg->input_len, 0);
  struct run *r = rv_alloc_get(a, sizeof *r, 0);
  if (inputs == NULL || cls == NULL || cyc == NULL || rnd == NULL || r == NULL) {
    goto fail;
  }
  memset(r, 0, sizeof *r);
  memset(res, 0, sizeof *res);
  res->timer = TIMER_NAME;
  struct rng g;
  rng_seed(&g, cfg->seed);
  double start = now_seconds();
  bool warm = false;
  size_t len = cfg->input_len;
  while (res->measurements < limit) {
    for (size_t j = 0; j < batch; j++) {
      uint8_t c = (uint8_t)(rng_next(&g) & 1);
      uint8_t *in = inputs + j * len;
      cls[j] = c;
      if (cfg->prepare != NULL) {
        rng_fill(&g, rnd, len);
        cfg->prepare(cfg->ctx, c, in, len, rnd);
      } else if (c == 0) {
        if (cfg->fixed != NULL) {
          memcpy(in, cfg->fixed, len);
        } else {
          memset(in, 0, len);
        }
      } else {
        rng_fill(&g, in, len);
      }
    }
    for (size_t j = 0; j < batch; j++) {
      const uint8_t *in = inputs + j * len;
      uint64_t t0 = cycles_now();
      cfg->run(cfg->ctx, in, len);
      uint64_t t1 = cycles_now();
      cyc[j] = t1 - t0;
    }
    if (!warm) {
      set_crops(r, cyc, batch); /* sorts cyc: the warm-up batch is dropped */
      warm = true;
    } else {
      size_t take = limit - res->measurements < batch ? limit - res->measurements : batch;
      for (size_t j = 0; j < take; j++) {
        update(r, cls[j], (double)cyc[j]);
        if (cfg->samples != NULL && res->samples_stored < cfg->samples_cap) {
          cfg->samples[res->samples_stored] = cyc[j];
          cfg->sample_class[res->samples_stored] = cls[j];
          res->samples_stored++;
        }
      }
      res->measurements += take;
      summarise(r, res);
      if (cfg->stop_t > 0 && res->max_t >= cfg->stop_t) {
        break;
      }
    }
    if (cfg->max_seconds > 0 && now_seconds() - start >= cfg->max_seconds) {
      break;
    }
  }
  summarise(r, res);
  res->seconds = now_seconds() - start;
  rc = RV_OK;
fail:
  rv_alloc_free(a, r, sizeof *r);
  rv_alloc_free(a, rnd, cfg->input_len);
  rv_alloc_free(a, cyc, cyc_bytes);
  rv_alloc_free(a, cls, batch);
  rv_alloc_free(a, inputs, in_bytes);
  return rc;
}
