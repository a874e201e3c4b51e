/* genlog: a deterministic generator of realistic access logs in the
 * combined format, for trying logstat, tests and benchmarks.
 *
 *   genlog [--lines N | --size BYTES] [--seed S] [--start EPOCH]
 *          [--rate REQ_PER_S] [--junk PER_MILLE] [--reqtime] [-o FILE]
 *
 * Paths and clients are Zipf-distributed (a few hot pages and heavy
 * clients, a long tail), statuses follow a typical production mix, user
 * agents and referers come from small realistic pools, a quarter of the
 * requests carry query strings, and --junk per mille of the lines are the
 * garbage real logs contain (binary noise, TLS handshakes sent to the plain
 * port, truncated lines, a missing quote). --reqtime appends nginx's
 * $request_time. The same arguments always give the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_s;
static uint64_t rnd(void) {
  /* splitmix64: tiny, fast, good enough for synthetic data */
  uint64_t z = (rng_s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

typedef struct zipf {
  double *cdf;
  size_t n;
} zipf;

static int zipf_init(zipf *z, size_t n, double s) {
  z->cdf = malloc(n * sizeof *z->cdf);
  if (!z->cdf)
    return -1;
  z->n = n;
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    z->cdf[i] = (sum += 1.0 / pow((double)(i + 1), s));
  for (size_t i = 0; i < n; i++)
    z->cdf[i] /= sum;
  return 0;
}

static size_t zipf_pick(const zipf *z) {
  double u = unif();
  size_t lo = 0, hi = z->n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (z->cdf[mid] < u)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

#define NPATHS 4000
#define NCLIENTS 20000

static const char *const sections[] = {"",           "/blog",   "/docs", "/api/v1", "/static/css",
                                       "/static/js", "/images", "/shop", "/user",   "/search"};
static const char *const words[] = {"index",  "about",  "pricing", "login",  "item",   "cart",
                                    "orders", "report", "app",     "main",   "logo",   "style",
                                    "guide",  "intro",  "faq",     "status", "feed",   "rss",
                                    "news",   "photo",  "video",   "team",   "contact"};
static const char *const exts[] = {"", ".html", ".css", ".js", ".png", ".jpg", ".json", ""};
static const char *const agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/7.88.1",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Prometheus/2.48.0",
    "-",
};
static const char *const referers[] = {"-",
                                       "-",
                                       "https://www.google.com/",
                                       "https://example.com/",
                                       "https://example.com/blog/index.html",
                                       "https://news.ycombinator.com/",
                                       "https://duckduckgo.com/"};
static const char *const methods[] = {"GET", "GET", "GET",  "GET",  "GET",  "GET", "GET",   "GET",
                                      "GET", "GET", "POST", "POST", "HEAD", "PUT", "DELETE"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int status_pick(void) {
  /* A typical production mix. */
  static const struct {
    int code;
    int permille;
  } mix[] = {{200, 800}, {304, 60}, {301, 15}, {302, 15}, {206, 5}, {404, 55}, {403, 10},
             {400, 5},   {401, 8},  {429, 7},  {499, 5},  {500, 8}, {502, 4},  {503, 3}};
  int u = (int)(rnd() % 1000), acc = 0;
  for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
    if (u < (acc += mix[i].permille))
      return mix[i].code;
  return 200;
}

static void fmt_time(char *out, size_t cap, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  snprintf(out, cap, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* One junk line; returns the bytes written or -1. */
static int junk_line(FILE *o, const char *ip, const char *ts, const char *good) {
  switch (rnd() % 4) {
  case 0: { /* binary noise */
    char b[48];
    size_t n = 8 + rnd() % 40;
    for (size_t i = 0; i < n; i++) {
      b[i] = (char)(rnd() % 256);
      if (b[i] == '\n')
        b[i] = 0;
    }
    if (fwrite(b, 1, n, o) != n || fputc('\n', o) == EOF)
      return -1;
    return (int)n + 1;
  }
  case 1: /* TLS ClientHello on the plain port, as nginx logs it */
    return fprintf(o,
                   "%s - - [%s] \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" 400 "
                   "157 \"-\" \"-\"\n",
                   ip, ts);
  case 2: /* truncated (disk full, rotated mid-write) */
    return fprintf(o, "%.*s\n", (int)(strlen(good) / 2), good);
  default: /* missing closing quote */
    return fprintf(o, "%s - - [%s] \"GET /index.html HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\n", ip,
                   ts);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: genlog [--lines N | --size BYTES] [--seed S] [--start EPOCH] "
                  "[--rate REQ_PER_S] [--junk PER_MILLE] [--reqtime] [-o FILE]\n");
}

int main(int argc, char **argv) {
  unsigned long long lines = 1000, size = 0, seed = 1, junk = 2;
  long long start = 1717200000; /* 2024-06-01T00:00:00Z */
  double rate = 50;
  int reqtime = 0;
  const char *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (strcmp(a, "--reqtime") == 0) {
      reqtime = 1;
      continue;
    }
    if (!v) {
      usage();
      return 2;
    }
    i++;
    if (strcmp(a, "--lines") == 0)
      lines = strtoull(v, &end, 10);
    else if (strcmp(a, "--size") == 0)
      size = strtoull(v, &end, 10);
    else if (strcmp(a, "--seed") == 0)
      seed = strtoull(v, &end, 10);
    else if (strcmp(a, "--start") == 0)
      start = strtoll(v, &end, 10);
    else if (strcmp(a, "--junk") == 0)
      junk = strtoull(v, &end, 10);
    else if (strcmp(a, "--rate") == 0)
      rate = strtod(v, &end);
    else if (strcmp(a, "-o") == 0) {
      out = v;
      continue;
    } else {
      usage();
      return 2;
    }
    if (!end || *end || junk > 1000 || !(rate > 0)) {
      fprintf(stderr, "genlog: bad value for %s: %s\n", a, v);
      return 2;
    }
  }
  rng_s = seed;
  zipf zp, zc;
  if (zipf_init(&zp, NPATHS, 1.1) || zipf_init(&zc, NCLIENTS, 0.9)) {
    fprintf(stderr, "genlog: out of memory\n");
    return 1;
  }
  FILE *o = out ? fopen(out, "wb") : stdout;
  if (!o) {
    perror(out);
    return 1;
  }
  static char obuf[1 << 20];
  setvbuf(o, obuf, _IOFBF, sizeof obuf);
  /* Path i: a stable name derived from i (hot ones are short and common). */
  uint64_t written = 0;
  double t = (double)start;
  char line[1024], ts[40], ip[40], path[160], q[64];
  for (unsigned long long n = 0; size ? written < size : n < lines; n++) {
    t += -log(1.0 - unif()) / rate; /* Poisson arrivals */
    fmt_time(ts, sizeof ts, (int64_t)t);
    size_t c = zipf_pick(&zc);
    uint32_t h = (uint32_t)(c * 2654435761u);
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", 11 + h % 200, (h >> 8) % 256, (h >> 16) % 256,
             1 + (h >> 24) % 254);
    size_t p = zipf_pick(&zp);
    char tail[24] = "";
    if (p >= 230) /* the long tail: distinct names */
      snprintf(tail, sizeof tail, "-%zu", p);
    snprintf(path, sizeof path, "%s/%s%s%s", sections[p % 10], words[(p / 10) % 23], tail,
             exts[(p / 7) % 8]);
    q[0] = 0;
    if (rnd() % 4 == 0)
      snprintf(q, sizeof q, "?id=%u&page=%u", (unsigned)(rnd() % 5000), (unsigned)(rnd() % 20));
    int st = status_pick();
    unsigned long long bytes = st == 304 ? 0 : 200 + rnd() % 30000;
    int len = snprintf(line, sizeof line, "%s - %s [%s] \"%s %s%s HTTP/1.1\" %d %llu \"%s\" \"%s\"",
                       ip, rnd() % 50 == 0 ? "admin" : "-", ts, methods[rnd() % 15], path, q, st,
                       bytes, referers[rnd() % 7], agents[rnd() % 12]);
    if (reqtime && len > 0 && (size_t)len < sizeof line)
      snprintf(line + len, sizeof line - (size_t)len, " %.3f",
               -log(1.0 - unif()) * (st >= 500 ? 0.8 : 0.05));
    int w = junk && rnd() % 1000 < junk ? junk_line(o, ip, ts, line) : fprintf(o, "%s\n", line);
    if (w < 0) {
      perror("genlog: write");
      return 1;
    }
    written += (uint64_t)w;
  }
  int bad = fflush(o) != 0;
  if (out && fclose(o) != 0)
    bad = 1;
  free(zp.cdf);
  free(zc.cdf);
  if (bad) {
    perror("genlog: write");
    return 1;
  }
  return 0;
}
