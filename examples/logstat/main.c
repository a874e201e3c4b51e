/* logstat: summarise web server access logs, fast.
 *
 *   logstat [options] [FILE]        (FILE "-" or absent: standard input)
 *
 * Reads plain or gzip'd logs (zlib, streamed), splits the input into
 * line-aligned chunks (rv_mapfile: mmap for files), parses them on -j
 * threads (rv_logparse, zero copy) into per-thread tables (rv_map), merges
 * them and prints a report: text (default), --json, or --html FILE. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <rivet/core/err.h>
#include <rivet/perf/logparse.h>
#include <rivet/perf/mapfile.h>

#include "agg.h"
#include "report.h"

static const char usage_text[] =
    "usage: logstat [options] [FILE]\n"
    "Summarise an nginx/Apache access log (plain or .gz; FILE '-' or none: stdin).\n"
    "  --json             machine-readable report on stdout\n"
    "  --html FILE        also write a self-contained HTML report with charts\n"
    "  --format F         combined | common | auto (default) | an nginx log_format string\n"
    "  --status LIST      only these statuses: 5xx, 404, 4xx,500 ...\n"
    "  --since T          only requests at or after T (2024-06-01, 2024-06-01T12:30[:05], "
    "epoch)\n"
    "  --until T          only requests before T\n"
    "  --path-prefix P    only paths starting with P\n"
    "  --top N            entries in the top lists (default 10)\n"
    "  -j N               threads (default: all cores)\n"
    "  --progress / --no-progress   force the progress bar on or off (default: on a TTY)\n"
    "  -h, --help         this text\n";

static const char fmt_combined_rt[] =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\" $request_time";

typedef struct opts {
  const char *path, *html, *format;
  bool json;
  int progress; /* -1 auto, 0 off, 1 on */
  size_t top, threads;
  filter flt;
} opts;

static int parse_args(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->format = "auto";
  o->progress = -1;
  o->top = 10;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  o->threads = nproc > 0 ? (size_t)nproc : 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      exit(0);
    } else if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (strcmp(a, "--progress") == 0) {
      o->progress = 1;
    } else if (strcmp(a, "--no-progress") == 0) {
      o->progress = 0;
    } else if (a[0] == '-' && a[1] != 0) {
      if (!v) {
        fprintf(stderr, "logstat: %s needs a value\n", a);
        return -1;
      }
      i++;
      char *end = NULL;
      if (strcmp(a, "--html") == 0) {
        o->html = v;
      } else if (strcmp(a, "--format") == 0) {
        o->format = v;
      } else if (strcmp(a, "--status") == 0) {
        if (filter_status(&o->flt, v)) {
          fprintf(stderr, "logstat: bad --status '%s' (want e.g. 5xx, 404, 4xx,500)\n", v);
          return -1;
        }
      } else if (strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) {
        int64_t t;
        if (parse_when(v, &t)) {
          fprintf(stderr, "logstat: bad time '%s' (want 2024-06-01[THH:MM[:SS]] or epoch)\n", v);
          return -1;
        }
        if (a[2] == 's') {
          o->flt.since = t;
          o->flt.since_set = true;
        } else {
          o->flt.until = t;
          o->flt.until_set = true;
        }
      } else if (strcmp(a, "--path-prefix") == 0) {
        o->flt.prefix = v;
        o->flt.prefix_len = strlen(v);
      } else if (strcmp(a, "--top") == 0 || strcmp(a, "-j") == 0) {
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || n == 0 || n > 1024) {
          fprintf(stderr, "logstat: bad value for %s: '%s' (1..1024)\n", a, v);
          return -1;
        }
        if (a[1] == 'j')
          o->threads = n;
        else
          o->top = n;
      } else {
        fprintf(stderr, "logstat: unknown option %s\n", a);
        return -1;
      }
    } else if (!o->path) {
      o->path = a;
    } else {
      fprintf(stderr, "logstat: one input file only\n");
      return -1;
    }
  }
  if (!o->path)
    o->path = "-";
  return 0;
}

/* ---- gzip input through zlib ---------------------------------------------- */

static int gz_read(void *ctx, void *buf, size_t cap, size_t *got) {
  gzFile g = ctx;
  unsigned want = cap > (1u << 30) ? (1u << 30) : (unsigned)cap;
  int n = gzread(g, buf, want);
  if (n < 0)
    return RV_EIO;
  *got = (size_t)n;
  return 0;
}

static bool is_gzip(const char *path) {
  if (strcmp(path, "-") == 0)
    return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  unsigned char m[2];
  bool gz = read(fd, m, 2) == 2 && m[0] == 0x1f && m[1] == 0x8b;
  close(fd);
  return gz;
}

/* ---- parallel parsing -------------------------------------------------- */

/* Every thread (the main one included) loops: take the next chunk under the
 * lock, parse it into its own tables without any lock, record the chunk's
 * line count under the lock. Nobody waits for a queue, so on a small
 * machine no core is lost to a producer spinning on a full queue. */
typedef struct run {
  pthread_mutex_t lock;
  rv_mapfile *mf;
  gzFile gz;
  const rv_logformat *fmt;
  rv_mapfile_chunk first; /* already read (format detection), handed out first */
  bool have_first, eof;
  uint64_t next_idx;
  uint64_t *lines; /* lines per chunk, by chunk index */
  size_t cap_lines;
  uint64_t read_bytes;
  int err;
  bool bar;
  uint64_t total;
  double t0, last;
} run;

typedef struct worker {
  run *r;
  agg a;
  rv_logparse *p;
  pthread_t tid;
  bool started;
} worker;

static double now_s(void);
static void progress(uint64_t done, uint64_t total, double t0, bool final);

static uint64_t done_bytes(const run *r) {
  return r->gz ? (uint64_t)gzoffset(r->gz) : rv_mapfile_consumed(r->mf);
}

/* Under the lock: the next chunk, or false at the end (or on an error). */
static bool take(run *r, rv_mapfile_chunk *c, uint64_t *idx) {
  if (r->eof || r->err)
    return false;
  if (r->have_first) {
    *c = r->first;
    r->have_first = false;
  } else {
    int rc = rv_mapfile_next(r->mf, c);
    if (rc) {
      r->eof = true;
      if (rc != RV_EEMPTY)
        r->err = rc;
      return false;
    }
  }
  *idx = r->next_idx++;
  r->read_bytes += c->len - c->cut;
  if (r->bar) {
    double t = now_s();
    if (t - r->last > 0.1) {
      progress(done_bytes(r), r->gz ? 0 : r->total, r->t0, false);
      r->last = t;
    }
  }
  return true;
}

static void *work(void *arg) {
  worker *w = arg;
  run *r = w->r;
  for (;;) {
    rv_mapfile_chunk c;
    uint64_t idx;
    pthread_mutex_lock(&r->lock);
    bool got = take(r, &c, &idx);
    pthread_mutex_unlock(&r->lock);
    if (!got)
      break;
    rv_logparse_reset(w->p, 1);
    w->a.chunk = idx;
    int rc = rv_logparse_feed(w->p, c.ptr, c.len, agg_ok, agg_bad, &w->a);
    if (!rc)
      rc = rv_logparse_finish(w->p, agg_ok, agg_bad, &w->a);
    uint64_t n = rv_logparse_lines(w->p);
    pthread_mutex_lock(&r->lock);
    rv_mapfile_release(r->mf, &c);
    if (!rc && idx >= r->cap_lines) {
      size_t cap = r->cap_lines ? r->cap_lines : 64;
      while (cap <= idx)
        cap *= 2;
      uint64_t *nl = realloc(r->lines, cap * sizeof *nl);
      if (nl) {
        memset(nl + r->cap_lines, 0, (cap - r->cap_lines) * sizeof *nl);
        r->lines = nl;
        r->cap_lines = cap;
      } else {
        rc = RV_ENOMEM;
      }
    }
    if (!rc)
      r->lines[idx] = n;
    else if (!r->err)
      r->err = rc;
    pthread_mutex_unlock(&r->lock);
  }
  return NULL;
}

/* ---- progress bar ------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(uint64_t done, uint64_t total, double t0, bool final) {
  double el = now_s() - t0;
  double mbs = el > 0 ? (double)done / el / 1e6 : 0;
  if (total) {
    int w = 30, k = (int)((double)w * (double)done / (double)total);
    k = k > w ? w : k;
    fprintf(stderr, "\r[%.*s%.*s] %3d%% %7.1f/%.1f MB %6.0f MB/s", k,
            "##############################", w - k, "..............................",
            (int)(100.0 * (double)done / (double)total), (double)done / 1e6, (double)total / 1e6,
            mbs);
  } else {
    fprintf(stderr, "\r%7.1f MB %6.0f MB/s", (double)done / 1e6, mbs);
  }
  if (final)
    fputc('\n', stderr);
}

/* ---- format detection -------------------------------------------------- */

static const char *detect_format(const uint8_t *p, size_t n) {
  static const char *const cand[] = {fmt_combined_rt, "combined", "common"};
  size_t best = 1, best_ok = 0;
  for (size_t k = 0; k < 3; k++) {
    rv_logformat *f;
    if (rv_logformat_compile(&f, cand[k], NULL, NULL))
      continue;
    size_t ok = 0, pos = 0, lines = 0;
    while (pos < n && lines < 200) {
      const uint8_t *nl = memchr(p + pos, '\n', n - pos);
      size_t len = nl ? (size_t)(nl - p - pos) : n - pos;
      rv_log_record r;
      ok += rv_log_parse_line(f, p + pos, len, &r) == RV_LOG_OK;
      lines++;
      pos += len + 1;
    }
    rv_logformat_free(f);
    if (ok > best_ok) {
      best_ok = ok;
      best = k;
    }
  }
  return cand[best];
}

/* ---- main -------------------------------------------------------------- */

static int ex_cmp(const void *x, const void *y) {
  const example *a = x, *b = y;
  if (a->chunk != b->chunk)
    return a->chunk < b->chunk ? -1 : 1;
  return (a->line > b->line) - (a->line < b->line);
}

int main(int argc, char **argv) {
  opts o;
  if (parse_args(argc, argv, &o))
    return 2;
  int status = 1, rc;
  rv_mapfile *mf = NULL;
  rv_logformat *fmt = NULL;
  worker *ws = NULL;
  size_t nws = 0;
  run r = {.lock = PTHREAD_MUTEX_INITIALIZER};

  /* Open: gzip through zlib (stdin too: gzread passes plain data through). */
  bool stdin_in = strcmp(o.path, "-") == 0;
  if (is_gzip(o.path) || stdin_in) {
    r.gz = stdin_in ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(o.path, "rb");
    if (!r.gz) {
      fprintf(stderr, "logstat: %s: %s\n", o.path, strerror(errno));
      goto out;
    }
    gzbuffer(r.gz, 1u << 20);
    rc = rv_mapfile_open_reader(&mf, gz_read, r.gz, NULL);
  } else {
    rc = rv_mapfile_open(&mf, o.path, NULL);
  }
  if (rc) {
    fprintf(stderr, "logstat: %s: %s\n", o.path, rv_strerror(rc));
    goto out;
  }
  r.mf = mf;
  r.total = rv_mapfile_size(mf);

  /* The first chunk picks the format (--format auto). */
  rc = rv_mapfile_next(mf, &r.first);
  if (rc && rc != RV_EEMPTY) {
    fprintf(stderr, "logstat: %s: read error: %s\n", o.path, rv_strerror(rc));
    goto out;
  }
  r.have_first = rc == 0;
  r.eof = rc != 0;
  const char *fmt_text = o.format;
  if (strcmp(fmt_text, "auto") == 0)
    fmt_text = r.have_first ? detect_format(r.first.ptr, r.first.len) : "combined";
  rv_diag d = {0};
  rc = rv_logformat_compile(&fmt, fmt_text, NULL, &d);
  if (rc) {
    fprintf(stderr, "logstat: bad --format at offset %zu: %s\n", d.offset,
            d.msg ? d.msg : rv_strerror(rc));
    status = 2;
    goto out;
  }
  const char *fmt_name = fmt_text == fmt_combined_rt ? "combined + $request_time" : fmt_text;
  r.fmt = fmt;

  ws = calloc(o.threads, sizeof *ws);
  if (!ws)
    goto nomem;
  for (; nws < o.threads; nws++) {
    ws[nws].r = &r;
    if (agg_init(&ws[nws].a, &o.flt))
      goto nomem;
    if (rv_logparse_create(&ws[nws].p, fmt, NULL)) {
      agg_free(&ws[nws].a);
      goto nomem;
    }
  }
  r.bar = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO) && !o.json);
  r.t0 = r.last = now_s();
  for (size_t i = 1; i < nws; i++) {
    if (pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0) {
      fprintf(stderr, "logstat: cannot start thread %zu; going on with %zu\n", i, i);
      break;
    }
    ws[i].started = true;
  }
  work(&ws[0]); /* the main thread works too */
  for (size_t i = 1; i < nws; i++)
    if (ws[i].started)
      pthread_join(ws[i].tid, NULL);
  if (r.bar)
    progress(done_bytes(&r), r.gz ? 0 : r.total, r.t0, true);
  double elapsed = now_s() - r.t0;
  if (r.err) {
    fprintf(stderr, "logstat: %s: %s\n", o.path, rv_strerror(r.err));
    goto out;
  }

  /* Merge into worker 0 and turn (chunk, line) into absolute line numbers. */
  agg *a = &ws[0].a;
  for (size_t i = 0; i < nws; i++)
    if (agg_flush(&ws[i].a))
      goto nomem;
  for (size_t i = 1; i < nws; i++)
    if (agg_merge(a, &ws[i].a))
      goto nomem;
  qsort(a->ex, a->nex, sizeof a->ex[0], ex_cmp);
  uint64_t ex_line[MAX_EXAMPLES];
  uint64_t before = 0;
  size_t e = 0;
  for (uint64_t k = 0; k < r.next_idx && e < a->nex; k++) {
    while (e < a->nex && a->ex[e].chunk == k) {
      ex_line[e] = before + a->ex[e].line;
      e++;
    }
    before += r.lines[k];
  }
  report rep = {.a = a,
                .source = stdin_in ? "(stdin)" : o.path,
                .format = fmt_name,
                .input_bytes = r.read_bytes,
                .top = o.top,
                .has_reqtime = rv_logformat_has(fmt, RV_LOG_REQTIME),
                .shrunk = rv_mapfile_shrunk(mf),
                .ex = a->ex,
                .ex_line = ex_line,
                .nex = a->nex};
  if ((o.json ? report_json(stdout, &rep) : report_text(stdout, &rep)) != 0 ||
      fflush(stdout) != 0) {
    fprintf(stderr, "logstat: cannot write the report\n");
    goto out;
  }
  if (o.html) {
    FILE *h = fopen(o.html, "w");
    int bad = !h || report_html(h, &rep) != 0;
    if ((h && fclose(h) != 0) || bad) {
      fprintf(stderr, "logstat: %s: cannot write the HTML report\n", o.html);
      goto out;
    }
  }
  if (r.bar || getenv("LOGSTAT_TIMING"))
    fprintf(stderr, "logstat: %.1f MB in %.3f s (%.0f MB/s, %zu thread%s, %s)\n",
            (double)r.read_bytes / 1e6, elapsed,
            elapsed > 0 ? (double)r.read_bytes / elapsed / 1e6 : 0, nws, nws == 1 ? "" : "s",
            rv_mapfile_is_mapped(mf) ? "mmap"
            : r.gz                   ? "zlib"
                                     : "read");
  if (rep.shrunk) {
    fprintf(stderr, "logstat: %s shrank while being read; the report misses its end\n", o.path);
    goto out;
  }
  status = 0;
  goto out;
nomem:
  fprintf(stderr, "logstat: out of memory\n");
out:
  for (size_t i = 0; i < nws; i++) {
    agg_free(&ws[i].a);
    rv_logparse_destroy(ws[i].p);
  }
  free(ws);
  free(r.lines);
  if (r.have_first)
    rv_mapfile_release(mf, &r.first);
  rv_logformat_free(fmt);
  rv_mapfile_close(mf);
  if (r.gz)
    gzclose(r.gz);
  return status;
}
