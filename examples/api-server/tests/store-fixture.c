/* store-fixture.c: see store-fixture.h. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <rivet/core/err.h>

#include "store-fixture.h"

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return;
  }
  const struct dirent *e;
  char p[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    (void)snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    (void)unlink(p);
  }
  (void)closedir(d);
  (void)rmdir(dir);
}

api_store *open_store(const char *path, unsigned busy_ms, bool ro) {
  api_sqlite_options o = {.path = path, .busy_timeout_ms = busy_ms, .read_only = ro};
  api_store *s = NULL;
  const char *err = NULL;
  int rc = api_store_sqlite_open(&s, &o, &err);
  if (rc != 0) {
    print_error("open %s: %d %s\n", path, rc, err != NULL ? err : "(null)");
  }
  assert_int_equal(rc, 0);
  assert_non_null(s);
  return s;
}

int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  (void)snprintf(f->dir, sizeof f->dir, "/tmp/api-store-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  (void)snprintf(f->path, sizeof f->path, "%s/db.sqlite", f->dir);
  f->s = open_store(f->path, 0, false);
  *state = f;
  return 0;
}

int teardown(void **state) {
  fx *f = *state;
  api_store_close(f->s);
  rm_tree(f->dir);
  free(f);
  return 0;
}

api_device mkdev(const char *id, const char *name) {
  api_device d;
  memset(&d, 0, sizeof d);
  (void)snprintf(d.id, sizeof d.id, "%s", id);
  (void)snprintf(d.name, sizeof d.name, "%s", name);
  (void)snprintf(d.model, sizeof d.model, "m-1");
  (void)snprintf(d.firmware, sizeof d.firmware, "1.0.0");
  d.status = API_DEVICE_ACTIVE;
  d.created_ms = 1700000000000;
  d.updated_ms = 1700000000000;
  return d;
}

void create(api_store *s, const char *id) {
  api_device d = mkdev(id, "sensor");
  assert_int_equal(api_store_device_create(s, &d), 0);
}

/* A scalar query on a separate raw connection (what is really on disk). */
int64_t raw_count(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

const char *raw_text(const char *path, const char *sql, char *buf, size_t cap) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  (void)snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return buf;
}

void raw_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

void append_n(api_store *s, const char *id, int64_t ts0, int64_t step, size_t n,
              const char *const *metrics, size_t nmetrics) {
  api_point *p = calloc(n, sizeof *p);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++) {
    p[i].ts_ms = ts0 + (int64_t)i * step;
    (void)snprintf(p[i].metric, sizeof p[i].metric, "%s", metrics[i % nmetrics]);
    p[i].value = (double)i + 0.5;
  }
  assert_int_equal(api_store_telemetry_append(s, id, p, n), 0);
  for (size_t i = 1; i < n; i++) {
    assert_true(p[i].seq > p[i - 1].seq);
  }
  free(p);
}
