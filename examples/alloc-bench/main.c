/* alloc-bench: a region (arena) allocator against general-purpose
 * allocators, on the allocation pattern of a log parser.
 *
 * The workload: a chunk of access-log lines is parsed (rv_logparse); for
 * every request the program keeps its own copies of the client address,
 * the path, the query and the user agent (many small strings, 5..200
 * bytes), as a tool that indexes or batches requests would; at the end of
 * the chunk everything is dropped and the next chunk starts. With malloc
 * that is one malloc() per string and one free() per string at the end of
 * the chunk; with the arena it is one bump per string and one
 * rv_arena_reset_retain() per chunk.
 *
 * The allocators: glibc malloc; jemalloc and mimalloc, swapped in the way
 * users do it, with LD_PRELOAD (the program re-runs itself once per
 * allocator, so the code measured is the very same malloc()/free() calls);
 * and rivet's rv_arena. The table gives time per allocation, throughput,
 * the speed relative to glibc, and the peak resident memory.
 *
 *   alloc-bench [--chunks N] [--lines N]   (defaults: 20 chunks of 20000 lines,
 *                                            5 rounds, the fastest counts)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rivet/core/arena.h>
#include <rivet/perf/logparse.h>

/* ---- the input: a deterministic chunk of combined-format lines ---------- */

static char *make_chunk(size_t lines, size_t *len) {
  static const char *const paths[] = {"/",
                                      "/index.html",
                                      "/blog/2024/06/01/a-long-post-title",
                                      "/static/css/site.css",
                                      "/api/v1/orders",
                                      "/img/logo.png"};
  static const char *const agents[] = {
      "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "curl/8.5.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/17.4 Mobile/15E148 Safari/604.1"};
  size_t cap = lines * 400, n = 0;
  *len = 0;
  char *buf = malloc(cap);
  if (!buf)
    return NULL;
  uint32_t x = 12345;
  for (size_t i = 0; i < lines; i++) {
    x = x * 1103515245u + 12345u; /* LCG: fixed sequence */
    int w = snprintf(buf + n, cap - n,
                     "10.%u.%u.%u - - [01/Jun/2024:00:%02u:%02u +0000] \"GET %s?id=%u HTTP/1.1\" "
                     "200 %u \"-\" \"%s\"\n",
                     x >> 24, (x >> 16) & 255, (x >> 8) & 255, (unsigned)(i / 60 % 60),
                     (unsigned)(i % 60), paths[(x >> 5) % 6], x % 100000, x % 30000,
                     agents[(x >> 9) % 3]);
    if (w < 0 || (size_t)w >= cap - n)
      break;
    n += (size_t)w;
  }
  *len = n;
  return buf;
}

/* ---- one run ------------------------------------------------------------ */

typedef struct state {
  bool arena, none;
  rv_arena a;
  char **kept; /* malloc mode: the strings of this chunk */
  size_t nkept, cap;
  uint64_t allocs, bytes;
  int err;
} state;

static const char *keep(state *s, const rv_slice *f) {
  char *p;
  if (s->none) { /* the floor: parse and touch the bytes, allocate nothing */
    s->allocs++;
    s->bytes += f->ptr[0] + f->len + 1;
    return (const char *)f->ptr;
  }
  if (s->arena) {
    p = rv_arena_alloc(&s->a, f->len + 1, 1);
  } else {
    p = malloc(f->len + 1);
    if (p)
      s->kept[s->nkept++] = p;
  }
  if (!p)
    return NULL;
  memcpy(p, f->ptr, f->len);
  p[f->len] = 0;
  s->allocs++;
  s->bytes += f->len + 1;
  return p;
}

static int on_record(void *ctx, const rv_log_record *r) {
  state *s = ctx;
  static const rv_log_field keepf[] = {RV_LOG_ADDR, RV_LOG_PATH, RV_LOG_QUERY, RV_LOG_AGENT};
  for (size_t i = 0; i < 4; i++) {
    if (!(r->present >> keepf[i] & 1u))
      continue;
    if (!keep(s, &r->f[keepf[i]])) {
      s->err = 1;
      return 1;
    }
  }
  return 0;
}

static int run(const char *mode, size_t chunks, size_t lines) {
  size_t len = 0;
  char *text = make_chunk(lines, &len);
  rv_logformat *fmt = NULL;
  rv_logparse *p = NULL;
  state s = {.arena = strcmp(mode, "arena") == 0, .none = strcmp(mode, "none") == 0};
  s.cap = lines * 4;
  s.kept = malloc(s.cap * sizeof *s.kept);
  int status = 1;
  if (!text || !s.kept || rv_logformat_compile(&fmt, "combined", NULL, NULL) ||
      rv_logparse_create(&p, fmt, NULL) || (s.arena && rv_arena_init(&s.a, NULL, 1 << 20))) {
    fprintf(stderr, "alloc-bench: setup failed\n");
    s.arena = false;
    goto fail;
  }
  /* Five rounds, the fastest one counts: the machine may be shared. */
  double secs = 0;
  uint64_t allocs = 0, bytes = 0;
  for (int round = 0; round < 5 && !s.err; round++) {
    struct timespec t0, t1;
    s.allocs = s.bytes = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t c = 0; c < chunks && !s.err; c++) {
      rv_logparse_reset(p, 1);
      rv_logparse_feed(p, text, len, on_record, NULL, &s);
      /* End of chunk: everything goes. */
      if (s.arena) {
        rv_arena_reset_retain(&s.a);
      } else {
        for (size_t i = 0; i < s.nkept; i++)
          free(s.kept[i]);
        s.nkept = 0;
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (round == 0 || t < secs)
      secs = t;
    allocs = s.allocs;
    bytes = s.bytes;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%.6f %" PRIu64 " %" PRIu64 " %ld\n", secs, allocs, bytes, ru.ru_maxrss);
  status = s.err;
fail:
  if (s.arena)
    rv_arena_free(&s.a);
  rv_logparse_destroy(p);
  rv_logformat_free(fmt);
  free(s.kept);
  free(text);
  return status;
}

/* ---- the driver: one child per allocator --------------------------------- */

typedef struct row {
  const char *name, *mode, *preload, *probe;
  double secs;
  uint64_t allocs, bytes;
  long rss_kb;
  bool ok;
} row;

static bool run_child(const char *self, row *r, const char *chunks, const char *lines) {
  int fd[2];
  if (pipe(fd) != 0)
    return false;
  pid_t pid = fork();
  if (pid < 0)
    return false;
  if (pid == 0) {
    dup2(fd[1], STDOUT_FILENO);
    close(fd[0]);
    close(fd[1]);
    if (r->preload)
      setenv("LD_PRELOAD", r->preload, 1);
    execl(self, self, "--run", r->mode, "--probe", r->probe ? r->probe : "-", "--chunks", chunks,
          "--lines", lines, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char buf[256] = "";
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 && (k = read(fd[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)k;
  buf[n] = 0;
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  /* The child prints: seconds allocations bytes maxrss_kb */
  char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
  r->secs = strtod(buf, &e1);
  r->allocs = strtoull(e1, &e2, 10);
  r->bytes = strtoull(e2, &e3, 10);
  r->rss_kb = strtol(e3, &e4, 10);
  r->ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && e4 != e3 && *e4 == '\n';
  return r->ok;
}

int main(int argc, char **argv) {
  const char *mode = NULL, *probe = "-", *chunks = "20", *lines = "20000";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--run") == 0)
      mode = argv[i + 1];
    else if (strcmp(argv[i], "--probe") == 0)
      probe = argv[i + 1];
    else if (strcmp(argv[i], "--chunks") == 0)
      chunks = argv[i + 1];
    else if (strcmp(argv[i], "--lines") == 0)
      lines = argv[i + 1];
    else {
      fprintf(stderr, "usage: alloc-bench [--chunks N] [--lines N]\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    fprintf(stderr, "usage: alloc-bench [--chunks N] [--lines N]\n");
    return 2;
  }
  char *end1, *end2;
  long nc = strtol(chunks, &end1, 10), nl = strtol(lines, &end2, 10);
  if (*end1 || *end2 || nc <= 0 || nl <= 0 || nl > 10000000) {
    fprintf(stderr, "alloc-bench: --chunks and --lines must be positive (lines <= 10^7)\n");
    return 2;
  }
  if (mode) {
    /* Child: make sure the preloaded allocator really is the one in use. */
    if (strcmp(probe, "-") != 0 && !dlsym(RTLD_DEFAULT, probe)) {
      fprintf(stderr, "alloc-bench: %s not loaded\n", probe);
      return 3;
    }
    return run(mode, (size_t)nc, (size_t)nl);
  }
  row rows[] = {
      {"parse only", "none", NULL, NULL, 0, 0, 0, 0, false},
      {"glibc malloc", "malloc", NULL, NULL, 0, 0, 0, 0, false},
      {"jemalloc", "malloc", "libjemalloc.so.2", "mallctl", 0, 0, 0, 0, false},
      {"mimalloc", "malloc", "libmimalloc.so.2", "mi_version", 0, 0, 0, 0, false},
      {"rv_arena", "arena", NULL, NULL, 0, 0, 0, 0, false},
  };
  printf("alloc-bench: %ld chunks x %ld log lines; per request 4 strings kept until the chunk "
         "ends\n\n",
         nc, nl);
  printf("%-14s %12s %9s %14s %12s %9s %10s\n", "allocator", "allocations", "seconds",
         "alloc ns/each", "Mallocs/s", "vs glibc", "peak RSS");
  double floor = 0, base = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    row *r = &rows[i];
    if (!run_child("/proc/self/exe", r, chunks, lines)) {
      printf("%-14s %12s\n", r->name, "(not available)");
      continue;
    }
    if (i == 0) {
      floor = r->secs;
      printf("%-14s %12s %9.3f %14s %12s %9s %7.1f MB\n", r->name, "-", r->secs, "-", "-", "-",
             (double)r->rss_kb / 1024.0);
      continue;
    }
    /* What the allocator adds over parsing alone, per allocation (and free). */
    double over = r->secs > floor ? r->secs - floor : 0;
    double ns = over * 1e9 / (double)r->allocs;
    if (i == 1)
      base = ns;
    printf("%-14s %12" PRIu64 " %9.3f %14.1f %12.1f %8.2fx %7.1f MB\n", r->name, r->allocs, r->secs,
           ns, ns > 0 ? 1e3 / ns : 0, ns > 0 ? base / ns : 0, (double)r->rss_kb / 1024.0);
  }
  printf("\n'seconds': fastest of 5 rounds, parsing included; 'alloc ns/each' = (seconds - parse "
         "only) / allocations,\n"
         "i.e. one allocation plus its share of the freeing; 'vs glibc' > 1 means faster.\n");
  return rows[0].ok && rows[1].ok && rows[4].ok ? 0 : 1;
}
