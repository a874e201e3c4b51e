/* bench-report: the machine header, the aligned table and the JSON lines
 * of a finished benchmark run. */
#include "bench-internal.h"

#include <string.h>
#include <unistd.h>

#include <rivet/core/err.h>

/* The CPU model from /proc/cpuinfo ("model name" on x86, "Model" or
 * "Hardware" on some ARM kernels), or "unknown". */
static void cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f == NULL)
    return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Model", 5) != 0 &&
        strncmp(line, "Hardware", 8) != 0)
      continue;
    const char *v = strchr(line, ':');
    if (v == NULL)
      continue;
    v++;
    while (*v == ' ' || *v == '\t')
      v++;
    size_t n = strcspn(v, "\r\n");
    if (n == 0)
      continue;
    snprintf(buf, cap, "%.*s", (int)n, v);
    /* The model goes into JSON: keep it to printable ASCII without quotes. */
    for (char *p = buf; *p; p++)
      if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\')
        *p = ' ';
    break;
  }
  fclose(f);
}

static long online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

/* Table rows: the default group first, then groups in order of first
 * registration; inside a group the baseline first, then registration
 * order. */
static bool group_seen_before(const rv_bench *b, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (b->cases[j].selected && strcmp(b->cases[j].group, b->cases[i].group) == 0)
      return true;
  return false;
}

static void print_row(const rv_bench *b, const rv_bench_entry *e, int width) {
  const rv_bench_result *r = &e->res;
  char label[320];
  snprintf(label, sizeof label, "%s%s", r->name, e->c.baseline ? " (baseline)" : "");
  char ratio[32];
  if (r->baseline == NULL || r->ratio <= 0.0)
    snprintf(ratio, sizeof ratio, "%9s", "-");
  else
    snprintf(ratio, sizeof ratio, "%8.2fx", r->ratio);
  fprintf(b->out, "  %-*s %14.3f %12.3f %12.3f %s\n", width, label, r->median, r->min, r->max,
          ratio);
}

static void print_group(const rv_bench *b, const char *group, int width) {
  fprintf(b->out, "\n%s%s\n", group[0] ? "group: " : "", group[0] ? group : "(default group)");
  fprintf(b->out, "  %-*s %14s %12s %12s %9s\n", width, "case", "median ns/op", "min", "max",
          "ratio");
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < b->n; i++) {
      const rv_bench_entry *e = &b->cases[i];
      if (e->selected && strcmp(e->group, group) == 0 && e->c.baseline == (pass == 0))
        print_row(b, e, width);
    }
}

static void print_table(const rv_bench *b, const char *cpu, long ncpu) {
  fprintf(b->out,
          "rivet bench: suite %s | cpu: %s | nproc: %ld | reps: %u | warmup: %u%s%s%s\n"
          "ns per operation; ratio = baseline median / case median (>1 = faster than baseline)\n",
          b->suite, cpu, ncpu, (unsigned)b->reps, (unsigned)b->warmup, b->quick ? " | quick" : "",
          b->filter ? " | filter: " : "", b->filter ? b->filter : "");
  int width = 4;
  for (size_t i = 0; i < b->n; i++) {
    const rv_bench_entry *e = &b->cases[i];
    size_t w = strlen(e->c.name) + (e->c.baseline ? 11 : 0);
    if (e->selected && w > (size_t)width)
      width = w > 300 ? 300 : (int)w;
  }
  for (size_t i = 0; i < b->n; i++)
    if (b->cases[i].selected && !group_seen_before(b, i))
      print_group(b, b->cases[i].group, width);
  fputc('\n', b->out);
}

/* Names were checked by rv_bench_add() and the suite by rv_bench_create() (no quotes, backslashes
 * or control characters), so they are written into JSON strings as they are. */
static void print_json_line(FILE *f, const rv_bench *b, const rv_bench_entry *e, const char *cpu,
                            long ncpu) {
  const rv_bench_result *r = &e->res;
  fprintf(f,
          "{\"suite\":\"%s\",\"group\":\"%s\",\"case\":\"%s\",\"ns_per_op_median\":%.6g,"
          "\"min\":%.6g,\"max\":%.6g,",
          b->suite, e->group, r->name, r->median, r->min, r->max);
  if (r->baseline && r->ratio > 0.0)
    fprintf(f, "\"ratio_vs\":\"%s\",\"ratio\":%.6g,", r->baseline, r->ratio);
  else
    fprintf(f, "\"ratio_vs\":null,\"ratio\":null,");
  fprintf(f, "\"reps\":%u,\"ops\":%llu,\"quick\":%s,\"cpu\":\"%s\",\"nproc\":%ld}\n",
          (unsigned)r->reps, (unsigned long long)r->ops, b->quick ? "true" : "false", cpu, ncpu);
}

int rv_bench_report(rv_bench *b) {
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  long ncpu = online_cpus();
  print_table(b, cpu, ncpu);
  if (fflush(b->out) != 0 || ferror(b->out)) {
    fprintf(b->err, "%s: cannot write the report\n", b->suite);
    return RV_EIO;
  }
  if (b->no_json && b->json_path == NULL)
    return RV_OK;
  FILE *f = b->out;
  bool own = b->json_path != NULL && strcmp(b->json_path, "-") != 0;
  if (own) {
    f = fopen(b->json_path, "a");
    if (f == NULL) {
      fprintf(b->err, "%s: cannot open --json file '%s'\n", b->suite, b->json_path);
      return RV_EIO;
    }
  }
  for (size_t i = 0; i < b->n; i++)
    if (b->cases[i].selected)
      print_json_line(f, b, &b->cases[i], cpu, ncpu);
  int rc = RV_OK;
  if (fflush(f) != 0 || ferror(f))
    rc = RV_EIO;
  if (own && fclose(f) != 0)
    rc = RV_EIO;
  if (rc != RV_OK)
    fprintf(b->err, "%s: cannot write the JSON lines\n", b->suite);
  return rc;
}
