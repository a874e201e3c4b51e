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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <rivet/core/err.h>
#include <rivet/core/workers.h>
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

typedef struct slot {
  agg a;
  rv_logparse *p;
  atomic_int busy;
} slot;

typedef struct run {
  slot *slots;
  size_t nslots;
  rv_mapfile *mf;
  atomic_uint_fast64_t done_bytes;
  atomic_int err;
} run;

typedef struct job {
  run *r;
  rv_mapfile_chunk c;
  uint64_t idx;
  uint64_t lines; /* lines in the chunk, written by the job */
} job;

static void parse_chunk(slot *s, job *j) {
  rv_logparse_reset(s->p, 1);
  s->a.chunk = j->idx;
  int rc = rv_logparse_feed(s->p, j->c.ptr, j->c.len, agg_ok, agg_bad, &s->a);
  if (!rc)
    rc = rv_logparse_finish(s->p, agg_ok, agg_bad, &s->a);
  j->lines = rv_logparse_lines(s->p);
  if (rc) {
    int z = 0;
    /* relaxed: an error flag read after rv_workers_wait(), which orders it */
    atomic_compare_exchange_strong_explicit(&j->r->err, &z, rc, memory_order_relaxed,
                                            memory_order_relaxed);
  }
}

static void job_fn(void *arg) {
  job *j = arg;
  run *r = j->r;
  /* At most nslots jobs run at once (one per pool thread), so a free slot
   * always exists; acquire pairs with the release below (the previous
   * user's writes to the slot are visible). */
  slot *s = NULL;
  for (size_t i = 0;; i = (i + 1) % r->nslots) {
    int z = 0;
    if (atomic_compare_exchange_strong_explicit(&r->slots[i].busy, &z, 1, memory_order_acquire,
                                                memory_order_relaxed)) {
      s = &r->slots[i];
      break;
    }
  }
  parse_chunk(s, j);
  size_t len = j->c.len;
  rv_mapfile_release(r->mf, &j->c);
  atomic_store_explicit(&s->busy, 0, memory_order_release);
  /* relaxed: a progress counter only */
  atomic_fetch_add_explicit(&r->done_bytes, len, memory_order_relaxed);
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
  int status = 1;
  gzFile gz = NULL;
  rv_mapfile *mf = NULL;
  rv_logformat *fmt = NULL;
  rv_workers *pool = NULL;
  run r = {0};
  job **jobs = NULL;
  size_t njobs = 0, capjobs = 0;
  rv_mapfile_chunk first = {0};
  bool have_first = false;
  int rc;
  uint64_t total = 0;

  /* Open: gzip through zlib (stdin too: gzread passes plain data through). */
  bool stdin_in = strcmp(o.path, "-") == 0;
  if (is_gzip(o.path) || stdin_in) {
    gz = stdin_in ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(o.path, "rb");
    if (!gz) {
      fprintf(stderr, "logstat: %s: %s\n", o.path, strerror(errno));
      goto out;
    }
    gzbuffer(gz, 1u << 20);
    rc = rv_mapfile_open_reader(&mf, gz_read, gz, NULL);
  } else {
    rc = rv_mapfile_open(&mf, o.path, NULL);
  }
  if (rc) {
    fprintf(stderr, "logstat: %s: %s\n", o.path, rv_strerror(rc));
    goto out;
  }
  total = rv_mapfile_size(mf);
  r.mf = mf;

  rc = rv_mapfile_next(mf, &first);
  if (rc && rc != RV_EEMPTY) {
    fprintf(stderr, "logstat: %s: read error: %s\n", o.path, rv_strerror(rc));
    goto out;
  }
  have_first = rc == 0;
  const char *fmt_text = o.format;
  if (strcmp(fmt_text, "auto") == 0)
    fmt_text = have_first ? detect_format(first.ptr, first.len) : "combined";
  rv_diag d = {0};
  rc = rv_logformat_compile(&fmt, fmt_text, NULL, &d);
  if (rc) {
    fprintf(stderr, "logstat: bad --format at offset %zu: %s\n", d.offset,
            d.msg ? d.msg : rv_strerror(rc));
    status = 2;
    goto out;
  }
  const char *fmt_name = fmt_text == fmt_combined_rt ? "combined + $request_time" : fmt_text;

  r.nslots = o.threads;
  r.slots = calloc(r.nslots, sizeof *r.slots);
  if (!r.slots)
    goto nomem;
  for (size_t i = 0; i < r.nslots; i++) {
    if (agg_init(&r.slots[i].a, &o.flt) || rv_logparse_create(&r.slots[i].p, fmt, NULL)) {
      r.nslots = i + 1;
      goto nomem;
    }
  }
  if (o.threads > 1) {
    size_t cap = 2;
    while (cap < 2 * o.threads)
      cap *= 2;
    rc = rv_workers_create(&pool, NULL, o.threads, cap);
    if (rc) {
      fprintf(stderr, "logstat: cannot start threads: %s\n", rv_strerror(rc));
      goto out;
    }
  }
  bool bar = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO) && !o.json);
  double t0 = now_s(), last = t0;
  uint64_t read_bytes = 0;
  for (uint64_t idx = 0; have_first; idx++) {
    rv_mapfile_chunk c = first;
    if (idx > 0) {
      rc = rv_mapfile_next(mf, &c);
      if (rc == RV_EEMPTY)
        break;
      if (rc) {
        fprintf(stderr, "\nlogstat: %s: read error: %s\n", o.path, rv_strerror(rc));
        goto out;
      }
    }
    read_bytes += c.len - c.cut;
    if (njobs == capjobs) {
      capjobs = capjobs ? capjobs * 2 : 64;
      job **nj = realloc(jobs, capjobs * sizeof *nj);
      if (!nj) {
        rv_mapfile_release(mf, &c);
        goto nomem;
      }
      jobs = nj;
    }
    job *j = calloc(1, sizeof *j);
    if (!j) {
      rv_mapfile_release(mf, &c);
      goto nomem;
    }
    *j = (job){.r = &r, .c = c, .idx = idx};
    jobs[njobs++] = j;
    if (pool)
      rv_workers_submit(pool, job_fn, j);
    else
      job_fn(j);
    if (bar) {
      double t = now_s();
      if (t - last > 0.1) {
        uint64_t done = gz ? (uint64_t)gzoffset(gz) : rv_mapfile_consumed(mf);
        progress(done, gz ? 0 : total, t0, false);
        last = t;
      }
    }
  }
  if (pool)
    rv_workers_wait(pool);
  if (bar)
    progress(gz ? (uint64_t)gzoffset(gz) : rv_mapfile_consumed(mf), gz ? 0 : total, t0, true);
  double elapsed = now_s() - t0;
  int jerr = atomic_load_explicit(&r.err, memory_order_relaxed);
  if (jerr) {
    fprintf(stderr, "logstat: %s\n", rv_strerror(jerr));
    goto out;
  }

  /* Merge into slot 0 and resolve example line numbers. */
  agg *a = &r.slots[0].a;
  for (size_t i = 0; i < r.nslots; i++)
    if (agg_flush(&r.slots[i].a))
      goto nomem;
  for (size_t i = 1; i < r.nslots; i++)
    if (agg_merge(a, &r.slots[i].a))
      goto nomem;
  qsort(a->ex, a->nex, sizeof a->ex[0], ex_cmp);
  uint64_t ex_line[MAX_EXAMPLES];
  uint64_t before = 0;
  size_t e = 0;
  for (size_t k = 0; k < njobs && e < a->nex; k++) {
    while (e < a->nex && a->ex[e].chunk == k)
      ex_line[e] = before + a->ex[e].line, e++;
    before += jobs[k]->lines;
  }
  report rep = {.a = a,
                .source = stdin_in ? "(stdin)" : o.path,
                .format = fmt_name,
                .input_bytes = read_bytes,
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
    if (!h || report_html(h, &rep) != 0 || fclose(h) != 0) {
      fprintf(stderr, "logstat: %s: cannot write the HTML report\n", o.html);
      goto out;
    }
  }
  if (bar || getenv("LOGSTAT_TIMING"))
    fprintf(stderr, "logstat: %.1f MB in %.3f s (%.0f MB/s, %zu thread%s, %s)\n",
            (double)read_bytes / 1e6, elapsed, elapsed > 0 ? (double)read_bytes / elapsed / 1e6 : 0,
            o.threads, o.threads == 1 ? "" : "s",
            rv_mapfile_is_mapped(mf) ? "mmap"
            : gz                     ? "zlib"
                                     : "read");
  status = rv_mapfile_shrunk(mf) ? 1 : 0;
  goto out;
nomem:
  fprintf(stderr, "logstat: out of memory\n");
out:
  if (pool) {
    rv_workers_wait(pool);
    rv_workers_destroy(pool);
  }
  for (size_t i = 0; i < njobs; i++)
    free(jobs[i]);
  free(jobs);
  if (r.slots) {
    for (size_t i = 0; i < r.nslots; i++) {
      agg_free(&r.slots[i].a);
      rv_logparse_destroy(r.slots[i].p);
    }
    free(r.slots);
  }
  rv_logformat_free(fmt);
  rv_mapfile_close(mf);
  if (gz)
    gzclose(gz);
  return status;
}
