/* ctcheck: is this compare constant time? A dudect run (rivet/sec/timing.h)
 * on one of two 512-byte compares, with a report and an SVG plot of the
 * two classes' timing distributions.
 *
 *   ctcheck [--target ct|leaky] [-n MEASUREMENTS] [--seconds S]
 *           [--seed N] [--svg FILE]
 *
 * Class 0 compares the secret with itself (every byte equal), class 1 with
 * random bytes (almost always differing at byte 0). A byte-by-byte early-exit
 * compare ("leaky") is fast on class 1 and slow on class 0; rv_ct_eq ("ct")
 * takes the same time on both. Exit status: 1 when a leak is found
 * (|t| >= 10), 2 on a usage or run error, 0 otherwise (the report says
 * whether the result is clean or only inconclusive). */
#include <rivet/sec.h>

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN 512
#define MAX_SAMPLES 200000
#define BINS 80

static uint8_t secret[LEN];
static volatile uint32_t sink;

static void run_ct(void *ctx, const uint8_t *in, size_t len) {
  (void)ctx;
  sink = rv_ct_eq(in, secret, len);
}

/* The classic mistake: stop at the first difference. Volatile reads keep
 * the compiler from substituting a library memcmp. */
static void run_leaky(void *ctx, const uint8_t *in, size_t len) {
  (void)ctx;
  const volatile uint8_t *a = in;
  uint32_t r = 1;
  for (size_t i = 0; i < len; i++) {
    if (a[i] != secret[i]) {
      r = 0;
      break;
    }
  }
  sink = r;
}

static void prepare(void *ctx, int cls, uint8_t *input, size_t len, const uint8_t *random) {
  (void)ctx;
  memcpy(input, cls == 0 ? secret : random, len);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a;
  uint64_t y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Two step histograms over [p1, p95] of all samples, one per class,
 * normalised so each class's bars sum to 1. The top 5% are left out: on a
 * busy machine they stretch far (preemption) and would squash the bulk of
 * both distributions into the first bar. */
static int write_svg(const char *path, const char *target, const uint64_t *s, const uint8_t *c,
                     size_t n, const rv_timing_result *r) {
  uint64_t *sorted = malloc(n * sizeof *sorted);
  if (sorted == NULL) {
    return -1;
  }
  memcpy(sorted, s, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_u64);
  size_t p1 = n / 100;
  size_t p95 = n - 1 - n / 20;
  double lo = (double)sorted[p1];
  double hi = (double)sorted[p95] + 1.0;
  free(sorted);
  /* Whole-cycle bins (counts are integers): at most BINS of them. */
  double width = ceil((hi - lo) / BINS);
  int nbins = (int)ceil((hi - lo) / width);
  hi = lo + width * nbins;
  double h[2][BINS] = {{0}};
  double cnt[2] = {0, 0};
  for (size_t i = 0; i < n; i++) {
    double x = (double)s[i];
    int k = c[i] != 0;
    cnt[k] += 1;
    if (x >= lo && x < hi) {
      h[k][(int)((x - lo) / width)] += 1;
    }
  }
  double top = 0;
  for (int k = 0; k < 2; k++) {
    for (int b = 0; b < nbins; b++) {
      h[k][b] = cnt[k] > 0 ? h[k][b] / cnt[k] : 0;
      top = h[k][b] > top ? h[k][b] : top;
    }
  }
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    return -1;
  }
  const double W = 800, H = 420, L = 70, R = 20, T = 50, B = 60;
  const char *color[2] = {"#d62728", "#1f77b4"};
  const char *label[2] = {"class 0: fixed input (equal to the secret)", "class 1: random input"};
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n",
          W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f,
          "<text x=\"%.0f\" y=\"22\" font-size=\"15\">ctcheck: %s compare, %zu "
          "measurements, max |t| = %.2f (%s)</text>\n",
          L, target, r->measurements, r->max_t, rv_timing_verdict_name(r->verdict));
  fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B,
          W - R, H - B);
  fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L,
          H - B);
  for (int t = 0; t <= 4; t++) {
    double x = L + (W - L - R) * t / 4.0;
    fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", x, H - B + 18,
            lo + (hi - lo) * t / 4.0);
  }
  fprintf(f,
          "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">cycles per call (%s), "
          "1st to 95th percentile</text>\n",
          (L + W - R) / 2, H - 18, r->timer);
  fprintf(f,
          "<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" "
          "text-anchor=\"middle\">share of class</text>\n",
          (T + H - B) / 2, (T + H - B) / 2);
  for (int k = 0; k < 2; k++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color[k]);
    for (int b = 0; b < nbins; b++) {
      double x0 = L + (W - L - R) * b / nbins;
      double x1 = L + (W - L - R) * (b + 1) / nbins;
      double y = H - B - (top > 0 ? h[k][b] / top : 0) * (H - B - T);
      fprintf(f, "%.1f,%.1f %.1f,%.1f ", x0, y, x1, y);
    }
    fprintf(f, "\"/>\n");
    fprintf(f, "<rect x=\"%.0f\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", W - 330,
            36 + 16 * k, color[k]);
    fprintf(f, "<text x=\"%.0f\" y=\"%d\">%s</text>\n", W - 313, 46 + 16 * k, label[k]);
  }
  fprintf(f, "</svg>\n");
  return fclose(f) == 0 ? 0 : -1;
}

static int usage(void) {
  fprintf(stderr, "usage: ctcheck [--target ct|leaky] [-n MEASUREMENTS] [--seconds S] "
                  "[--seed N] [--svg FILE]\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *target = "ct";
  const char *svg = NULL;
  rv_timing_config cfg = {.prepare = prepare,
                          .input_len = LEN,
                          .seed = 1,
                          .max_measurements = 1000000,
                          .max_seconds = 30};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) {
      return usage();
    }
    if (strcmp(a, "--target") == 0) {
      target = v;
    } else if (strcmp(a, "-n") == 0) {
      cfg.max_measurements = strtoul(v, NULL, 10);
    } else if (strcmp(a, "--seconds") == 0) {
      cfg.max_seconds = strtod(v, NULL);
    } else if (strcmp(a, "--seed") == 0) {
      cfg.seed = strtoull(v, NULL, 0);
    } else if (strcmp(a, "--svg") == 0) {
      svg = v;
    } else {
      return usage();
    }
    i++;
  }
  if (strcmp(target, "ct") == 0) {
    cfg.run = run_ct;
  } else if (strcmp(target, "leaky") == 0) {
    cfg.run = run_leaky;
  } else {
    return usage();
  }
  for (size_t i = 0; i < LEN; i++) {
    secret[i] = (uint8_t)(i * 131 + 17);
  }
  cfg.samples = malloc(MAX_SAMPLES * sizeof *cfg.samples);
  cfg.sample_class = malloc(MAX_SAMPLES);
  cfg.samples_cap = MAX_SAMPLES;
  if (cfg.samples == NULL || cfg.sample_class == NULL) {
    fprintf(stderr, "ctcheck: out of memory\n");
    free(cfg.samples);
    free(cfg.sample_class);
    return 2;
  }
  rv_timing_result r;
  int rc = rv_timing_check(&cfg, &r);
  if (rc != RV_OK) {
    fprintf(stderr, "ctcheck: %s\n", rv_strerror(rc));
    free(cfg.samples);
    free(cfg.sample_class);
    return 2;
  }
  printf("target        %s compare of %d-byte buffers\n", target, LEN);
  printf("timer         %s\n", r.timer);
  printf("measurements  %zu in %.2f s (seed %llu)\n", r.measurements, r.seconds,
         (unsigned long long)cfg.seed);
  printf("mean cycles   class 0 (fixed) %.1f, class 1 (random) %.1f\n", r.mean[0], r.mean[1]);
  const char *kind = r.max_test == 0                     ? "uncropped"
                     : r.max_test == RV_TIMING_TESTS - 1 ? "second order"
                                                         : "cropped";
  printf("max |t|       %.2f (test %d, %s, %zu measurements; tau %.5f)\n", r.max_t, r.max_test,
         kind, r.max_test_n, r.max_tau);
  printf("verdict       %s (leak at |t| >= %.0f, clean below %.1f)\n",
         rv_timing_verdict_name(r.verdict), RV_TIMING_T_LEAK, RV_TIMING_T_CLEAN);
  if (svg != NULL && r.samples_stored > 0) {
    if (write_svg(svg, target, cfg.samples, cfg.sample_class, r.samples_stored, &r) != 0) {
      fprintf(stderr, "ctcheck: cannot write %s\n", svg);
      free(cfg.samples);
      free(cfg.sample_class);
      return 2;
    }
    printf("plot          %s (%zu samples)\n", svg, r.samples_stored);
  }
  free(cfg.samples);
  free(cfg.sample_class);
  return r.verdict == RV_TIMING_LEAK ? 1 : 0;
}
