/* test-store.c: the SQLite store (store.h) on temp files under a mkdtemp
 * directory: every operation's success and error cases, pagination,
 * telemetry ranges and cursors, persistence, foreign or newer files, busy
 * handling against a second connection, and 4 concurrent writers. */
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

#include "store.h"

typedef struct fx {
  char dir[64];
  char path[128];
  api_store *s;
} fx;

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

static api_store *open_store(const char *path, unsigned busy_ms, bool ro) {
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

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  (void)snprintf(f->dir, sizeof f->dir, "/tmp/api-store-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  (void)snprintf(f->path, sizeof f->path, "%s/db.sqlite", f->dir);
  f->s = open_store(f->path, 0, false);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  api_store_close(f->s);
  rm_tree(f->dir);
  free(f);
  return 0;
}

static api_device mkdev(const char *id, const char *name) {
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

static void create(api_store *s, const char *id) {
  api_device d = mkdev(id, "sensor");
  assert_int_equal(api_store_device_create(s, &d), 0);
}

/* A scalar query on a separate raw connection (what is really on disk). */
static int64_t raw_count(const char *path, const char *sql) {
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

static const char *raw_text(const char *path, const char *sql, char *buf, size_t cap) {
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

static void raw_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void append_n(api_store *s, const char *id, int64_t ts0, int64_t step, size_t n,
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

static void test_create_get(void **state) {
  fx *f = *state;
  api_device d = mkdev("dev-1", "Boiler room");
  d.status = API_DEVICE_DISABLED;
  d.version = 99;
  assert_int_equal(api_store_device_create(f->s, &d), 0);
  assert_int_equal(d.version, 1);
  api_device g;
  memset(&g, 0xa5, sizeof g);
  assert_int_equal(api_store_device_get(f->s, "dev-1", &g), 0);
  assert_string_equal(g.id, "dev-1");
  assert_string_equal(g.name, "Boiler room");
  assert_string_equal(g.model, "m-1");
  assert_string_equal(g.firmware, "1.0.0");
  assert_int_equal(g.status, API_DEVICE_DISABLED);
  assert_int_equal(g.created_ms, 1700000000000);
  assert_int_equal(g.updated_ms, 1700000000000);
  assert_int_equal(g.version, 1);
  assert_string_equal(api_store_sqlite_last_error(f->s), "");

  /* Empty model and firmware are allowed. */
  api_device e = mkdev("dev-2", "x");
  e.model[0] = '\0';
  e.firmware[0] = '\0';
  assert_int_equal(api_store_device_create(f->s, &e), 0);
  assert_int_equal(api_store_device_get(f->s, "dev-2", &g), 0);
  assert_string_equal(g.model, "");

  api_device dup = mkdev("dev-1", "other");
  assert_int_equal(api_store_device_create(f->s, &dup), RV_EEXIST);
  assert_non_null(strstr(api_store_sqlite_last_error(f->s), "exists"));
  assert_int_equal(api_store_device_get(f->s, "dev-1", &g), 0);
  assert_string_equal(g.name, "Boiler room");

  assert_int_equal(api_store_device_get(f->s, "nope", &g), RV_ENOTFOUND);
  assert_string_equal(f->s->ops->name, "sqlite");
}

static void test_invalid_args(void **state) {
  fx *f = *state;
  api_device d = mkdev("ok", "n");
  api_device g;
  assert_int_equal(api_store_device_create(f->s, NULL), RV_EINVAL);
  d.id[0] = '\0';
  assert_int_equal(api_store_device_create(f->s, &d), RV_EINVAL);
  memset(d.id, 'a', sizeof d.id); /* no NUL within the array */
  assert_int_equal(api_store_device_create(f->s, &d), RV_EINVAL);
  assert_true(strlen(api_store_sqlite_last_error(f->s)) > 0);
  d = mkdev("ok", "");
  assert_int_equal(api_store_device_create(f->s, &d), RV_EINVAL);
  d = mkdev("ok", "n");
  d.status = (api_device_status)7;
  assert_int_equal(api_store_device_create(f->s, &d), RV_EINVAL);
  assert_int_equal(api_store_device_update(f->s, &d, 0), RV_EINVAL);
  assert_int_equal(api_store_device_get(f->s, "", &g), RV_EINVAL);
  assert_int_equal(api_store_device_get(f->s, NULL, &g), RV_EINVAL);
  assert_int_equal(api_store_device_get(f->s, "x", NULL), RV_EINVAL);
  char longid[API_ID_MAX + 2];
  memset(longid, 'b', sizeof longid - 1);
  longid[sizeof longid - 1] = '\0';
  assert_int_equal(api_store_device_get(f->s, longid, &g), RV_EINVAL);
  assert_int_equal(api_store_device_delete(f->s, longid), RV_EINVAL);
  assert_int_equal(api_store_device_update(f->s, NULL, 0), RV_EINVAL);

  size_t n = 9;
  bool more = true;
  assert_int_equal(api_store_device_list(f->s, NULL, 0, &g, &n, &more), RV_EINVAL);
  assert_int_equal(n, 0);
  assert_false(more);
  assert_int_equal(api_store_device_list(f->s, longid, 1, &g, &n, &more), RV_EINVAL);
  assert_int_equal(api_store_device_list(f->s, NULL, 1, NULL, &n, &more), RV_EINVAL);

  create(f->s, "d");
  api_point p = {.ts_ms = 1, .metric = "t", .value = 1.0};
  assert_int_equal(api_store_telemetry_append(f->s, "d", &p, 0), RV_EINVAL);
  assert_int_equal(api_store_telemetry_append(f->s, "d", &p, 1001), RV_EINVAL);
  assert_int_equal(api_store_telemetry_append(f->s, "d", NULL, 1), RV_EINVAL);
  p.value = NAN;
  assert_int_equal(api_store_telemetry_append(f->s, "d", &p, 1), RV_EINVAL);
  p.value = INFINITY;
  assert_int_equal(api_store_telemetry_append(f->s, "d", &p, 1), RV_EINVAL);
  p.value = 1.0;
  p.metric[0] = '\0';
  assert_int_equal(api_store_telemetry_append(f->s, "d", &p, 1), RV_EINVAL);
  assert_non_null(strstr(api_store_sqlite_last_error(f->s), "point 0"));

  api_point out[2];
  api_range q = {.from_ms = 0, .to_ms = 10, .limit = 0};
  assert_int_equal(api_store_telemetry_range(f->s, "d", &q, out, &n, &more), RV_EINVAL);
  q.limit = 2;
  q.to_ms = 0; /* from == to */
  assert_int_equal(api_store_telemetry_range(f->s, "d", &q, out, &n, &more), RV_EINVAL);
  q.to_ms = 10;
  q.metric = "";
  assert_int_equal(api_store_telemetry_range(f->s, "d", &q, out, &n, &more), RV_EINVAL);
  q.metric = NULL;
  assert_int_equal(api_store_telemetry_range(f->s, "d", NULL, out, &n, &more), RV_EINVAL);
  assert_int_equal(api_store_telemetry_range(f->s, "d", &q, out, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_int_equal(f->s->ops->ping(NULL), RV_EINVAL); /* the op itself checks */
  assert_null(api_store_sqlite_last_error(NULL));
  api_store_close(NULL);

  /* Open: bad options, with a message. */
  api_store *s = NULL;
  const char *err = NULL;
  api_sqlite_options o = {.path = NULL};
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EINVAL);
  assert_non_null(err);
  assert_true(strlen(err) > 0);
  o.path = "";
  assert_int_equal(api_store_sqlite_open(&s, &o, NULL), RV_EINVAL);
  assert_int_equal(api_store_sqlite_open(NULL, &o, NULL), RV_EINVAL);
  assert_int_equal(api_store_sqlite_open(&s, NULL, NULL), RV_EINVAL);
}

static void test_update(void **state) {
  fx *f = *state;
  create(f->s, "u1");
  api_device d = mkdev("u1", "renamed");
  d.created_ms = 5; /* ignored: the stored creation time comes back */
  d.updated_ms = 1700000001000;
  d.status = API_DEVICE_DISABLED;
  (void)snprintf(d.firmware, sizeof d.firmware, "2.0.0");
  assert_int_equal(api_store_device_update(f->s, &d, 0), 0);
  assert_int_equal(d.version, 2);
  assert_int_equal(d.created_ms, 1700000000000);
  assert_int_equal(api_store_device_update(f->s, &d, 2), 0);
  assert_int_equal(d.version, 3);

  api_device stale = mkdev("u1", "stale");
  assert_int_equal(api_store_device_update(f->s, &stale, 2), RV_ESTATE);
  assert_non_null(strstr(api_store_sqlite_last_error(f->s), "version"));
  api_device g;
  assert_int_equal(api_store_device_get(f->s, "u1", &g), 0);
  assert_string_equal(g.name, "renamed");
  assert_string_equal(g.firmware, "2.0.0");
  assert_int_equal(g.status, API_DEVICE_DISABLED);
  assert_int_equal(g.updated_ms, 1700000001000);
  assert_int_equal(g.version, 3);

  api_device ghost = mkdev("ghost", "g");
  assert_int_equal(api_store_device_update(f->s, &ghost, 0), RV_ENOTFOUND);
  assert_int_equal(api_store_device_update(f->s, &ghost, 1), RV_ENOTFOUND);
}

static void test_delete_cascades(void **state) {
  fx *f = *state;
  static const char *const m[] = {"temp_c"};
  create(f->s, "a");
  create(f->s, "b");
  append_n(f->s, "a", 1000, 1, 50, m, 1);
  append_n(f->s, "b", 1000, 1, 30, m, 1);
  assert_int_equal(raw_count(f->path, "SELECT count(*) FROM telemetry"), 80);

  assert_int_equal(api_store_device_delete(f->s, "a"), 0);
  assert_int_equal(raw_count(f->path, "SELECT count(*) FROM telemetry WHERE device_id = 'a'"), 0);
  assert_int_equal(raw_count(f->path, "SELECT count(*) FROM telemetry WHERE device_id = 'b'"), 30);
  api_device g;
  assert_int_equal(api_store_device_get(f->s, "a", &g), RV_ENOTFOUND);
  assert_int_equal(api_store_device_delete(f->s, "a"), RV_ENOTFOUND);

  api_point out[4];
  size_t n = 0;
  bool more = false;
  api_range q = {.from_ms = 0, .to_ms = 5000, .limit = 4};
  assert_int_equal(api_store_telemetry_range(f->s, "a", &q, out, &n, &more), RV_ENOTFOUND);
  /* The same id again starts empty. */
  create(f->s, "a");
  assert_int_equal(api_store_telemetry_range(f->s, "a", &q, out, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_false(more);
}

static void list_all(api_store *s, size_t total, size_t page) {
  api_device *out = calloc(page, sizeof *out);
  assert_non_null(out);
  char after[API_ID_MAX + 1] = "";
  size_t seen = 0;
  for (;;) {
    size_t n = 0;
    bool more = false;
    assert_int_equal(api_store_device_list(s, seen == 0 ? NULL : after, page, out, &n, &more), 0);
    for (size_t i = 0; i < n; i++) {
      char want[16];
      (void)snprintf(want, sizeof want, "dev-%03zu", seen + i);
      assert_string_equal(out[i].id, want);
    }
    seen += n;
    assert_true(n == page || !more);
    if (!more) {
      break;
    }
    (void)snprintf(after, sizeof after, "%s", out[n - 1].id);
  }
  assert_int_equal(seen, total);
  free(out);
}

static void test_list_pagination(void **state) {
  fx *f = *state;
  api_device out[10];
  size_t n = 7;
  bool more = true;
  assert_int_equal(api_store_device_list(f->s, NULL, 10, out, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_false(more);
  /* Inserted out of order (a fixed permutation: 7 is coprime to 25). */
  for (size_t i = 0; i < 25; i++) {
    char id[16];
    (void)snprintf(id, sizeof id, "dev-%03zu", (i * 7) % 25);
    create(f->s, id);
  }
  list_all(f->s, 25, 10); /* 10 + 10 + 5 */
  list_all(f->s, 25, 5);  /* ends exactly on a page: the last full page says no more */
  list_all(f->s, 25, 1);
  list_all(f->s, 25, 100);
  assert_int_equal(api_store_device_list(f->s, "dev-013", 10, out, &n, &more), 0);
  assert_int_equal(n, 10);
  assert_true(more); /* dev-024 follows */
  assert_string_equal(out[0].id, "dev-014");
  assert_int_equal(api_store_device_list(f->s, "dev-014", 10, out, &n, &more), 0);
  assert_int_equal(n, 10);
  assert_false(more); /* exactly the last 10 */
  assert_string_equal(out[0].id, "dev-015");
  assert_int_equal(api_store_device_list(f->s, "dev-024", 10, out, &n, &more), 0);
  assert_int_equal(n, 0);
  assert_false(more);
  /* A cursor id that no longer exists still resumes in order. */
  assert_int_equal(api_store_device_list(f->s, "dev-0145", 2, out, &n, &more), 0);
  assert_int_equal(n, 2);
  assert_string_equal(out[0].id, "dev-015");
}

static void test_telemetry_range(void **state) {
  fx *f = *state;
  static const char *const m[] = {"temp_c", "rh"};
  create(f->s, "t");
  create(f->s, "other");
  append_n(f->s, "t", 1000, 1, 10, m, 2);     /* ts 1000..1009, temp_c on even ts */
  append_n(f->s, "other", 1000, 1, 10, m, 2); /* must never show up for "t" */

  api_point out[16];
  size_t n = 0;
  bool more = true;
  api_range q = {.from_ms = 1002, .to_ms = 1006, .limit = 16};
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 4); /* 1002 included, 1006 excluded */
  assert_false(more);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(out[i].ts_ms, 1002 + (int64_t)i);
    assert_true(out[i].value == (double)(2 + i) + 0.5);
    assert_string_equal(out[i].metric, (i % 2) == 0 ? "temp_c" : "rh");
  }

  q.metric = "temp_c";
  q.from_ms = 1000;
  q.to_ms = 1010;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(out[i].metric, "temp_c");
    assert_int_equal(out[i].ts_ms, 1000 + 2 * (int64_t)i);
  }
  q.metric = "nothing";
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 0);

  /* limit and more, then resume from the cursor. */
  q.metric = NULL;
  q.limit = 4;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 4);
  assert_true(more);
  q.has_after = true;
  q.after_ts = out[3].ts_ms;
  q.after_seq = out[3].seq;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 4);
  assert_true(more);
  assert_int_equal(out[0].ts_ms, 1004);
  q.after_ts = out[3].ts_ms;
  q.after_seq = out[3].seq;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 2); /* 1008, 1009 */
  assert_false(more);
  assert_int_equal(out[1].ts_ms, 1009);

  /* Exactly limit points left: no more. */
  q.has_after = false;
  q.limit = 10;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 10);
  assert_false(more);
  /* Range outside the data; extreme bounds. */
  q.from_ms = INT64_MIN;
  q.to_ms = 1000;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 0);
  q.to_ms = INT64_MAX;
  assert_int_equal(api_store_telemetry_range(f->s, "t", &q, out, &n, &more), 0);
  assert_int_equal(n, 10);
  assert_int_equal(api_store_telemetry_range(f->s, "ghost", &q, out, &n, &more), RV_ENOTFOUND);
}

static void test_cursor_equal_ts(void **state) {
  fx *f = *state;
  static const char *const m[] = {"a", "b", "a"};
  create(f->s, "eq");
  append_n(f->s, "eq", 5000, 0, 7, m, 3); /* 7 points, all at ts 5000 */
  append_n(f->s, "eq", 5000, 0, 2, m, 1); /* 2 more at the same ts, later seqs */
  api_point out[3];
  api_range q = {.from_ms = 5000, .to_ms = 5001, .limit = 3};
  int64_t last_seq = 0;
  size_t total = 0;
  for (int page = 0; page < 10; page++) {
    size_t n = 0;
    bool more = false;
    assert_int_equal(api_store_telemetry_range(f->s, "eq", &q, out, &n, &more), 0);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(out[i].ts_ms, 5000);
      assert_true(out[i].seq > last_seq); /* no point twice, none skipped out of order */
      last_seq = out[i].seq;
    }
    total += n;
    if (!more) {
      break;
    }
    q.has_after = true;
    q.after_ts = out[n - 1].ts_ms;
    q.after_seq = out[n - 1].seq;
  }
  assert_int_equal(total, 9);

  /* The same with the metric filter: "a" is points 0, 2, 3, 5, 6 and both later ones. */
  q.has_after = false;
  q.metric = "a";
  q.limit = 2;
  total = 0;
  last_seq = 0;
  for (int page = 0; page < 10; page++) {
    size_t n = 0;
    bool more = false;
    assert_int_equal(api_store_telemetry_range(f->s, "eq", &q, out, &n, &more), 0);
    for (size_t i = 0; i < n; i++) {
      assert_string_equal(out[i].metric, "a");
      assert_true(out[i].seq > last_seq);
      last_seq = out[i].seq;
    }
    total += n;
    if (!more) {
      break;
    }
    q.has_after = true;
    q.after_ts = out[n - 1].ts_ms;
    q.after_seq = out[n - 1].seq;
  }
  assert_int_equal(total, 7);
}

static void test_batch_1000(void **state) {
  fx *f = *state;
  static const char *const m[] = {"temp_c", "rh", "co2"};
  create(f->s, "big");
  append_n(f->s, "big", 1700000000000, 10, 1000, m, 3);
  api_point *out = calloc(1000, sizeof *out);
  assert_non_null(out);
  size_t n = 0;
  bool more = true;
  api_range q = {.from_ms = 0, .to_ms = INT64_MAX, .limit = 1000};
  assert_int_equal(api_store_telemetry_range(f->s, "big", &q, out, &n, &more), 0);
  assert_int_equal(n, 1000);
  assert_false(more);
  assert_int_equal(out[999].ts_ms, 1700000000000 + 9990);
  free(out);

  /* An unknown device stores nothing. */
  api_point p[3] = {{.ts_ms = 1, .metric = "x", .value = 1},
                    {.ts_ms = 2, .metric = "x"},
                    {.ts_ms = 3, .metric = "x"}};
  assert_int_equal(api_store_telemetry_append(f->s, "ghost", p, 3), RV_ENOTFOUND);
  assert_int_equal(raw_count(f->path, "SELECT count(*) FROM telemetry"), 1000);
}

static void test_reopen_persists(void **state) {
  fx *f = *state;
  char buf[16];
  static const char *const m[] = {"v"};
  create(f->s, "keep");
  api_device d = mkdev("keep", "kept");
  assert_int_equal(api_store_device_update(f->s, &d, 1), 0);
  append_n(f->s, "keep", 10, 1, 20, m, 1);
  api_store_close(f->s);
  f->s = open_store(f->path, 100, false);
  api_device g;
  assert_int_equal(api_store_device_get(f->s, "keep", &g), 0);
  assert_string_equal(g.name, "kept");
  assert_int_equal(g.version, 2);
  api_point out[32];
  size_t n = 0;
  bool more = true;
  api_range q = {.from_ms = 0, .to_ms = 100, .limit = 32};
  assert_int_equal(api_store_telemetry_range(f->s, "keep", &q, out, &n, &more), 0);
  assert_int_equal(n, 20);
  /* Seqs keep growing after a reopen. */
  api_point p = {.ts_ms = 50, .metric = "v", .value = 2};
  assert_int_equal(api_store_telemetry_append(f->s, "keep", &p, 1), 0);
  assert_true(p.seq > out[19].seq);
  assert_string_equal(raw_text(f->path, "PRAGMA journal_mode", buf, sizeof buf), "wal");
  assert_int_equal(raw_count(f->path, "PRAGMA user_version"), 1);
}

static void test_not_a_database(void **state) {
  fx *f = *state;
  char p[160];
  (void)snprintf(p, sizeof p, "%s/text.db", f->dir);
  FILE *fp = fopen(p, "w");
  assert_non_null(fp);
  for (int i = 0; i < 100; i++) {
    (void)fputs("this is not a SQLite database, just some text\n", fp);
  }
  (void)fclose(fp);
  api_store *s = NULL;
  const char *err = NULL;
  api_sqlite_options o = {.path = p};
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EIO);
  assert_null(s);
  assert_non_null(err);
  assert_non_null(strstr(err, "not a database"));

  /* A directory that does not exist. */
  (void)snprintf(p, sizeof p, "%s/no/such/dir.db", f->dir);
  o.path = p;
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EIO);
  assert_true(strlen(err) > 0);
  /* Read-only open of a missing file does not create it. */
  o.read_only = true;
  (void)snprintf(p, sizeof p, "%s/missing.db", f->dir);
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EIO);
  assert_int_equal(access(p, F_OK), -1);
}

static void test_schema_versions(void **state) {
  fx *f = *state;
  api_store_close(f->s);
  f->s = NULL;
  raw_exec(f->path, "PRAGMA user_version = 2");
  api_store *s = NULL;
  const char *err = NULL;
  api_sqlite_options o = {.path = f->path};
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EIO);
  assert_non_null(strstr(err, "schema version 2"));
  o.read_only = true;
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EIO);
  assert_null(s);

  /* Somebody else's database: tables, no version. */
  char p[160];
  (void)snprintf(p, sizeof p, "%s/foreign.db", f->dir);
  raw_exec(p, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  o.path = p;
  o.read_only = false;
  assert_int_equal(api_store_sqlite_open(&s, &o, &err), RV_EIO);
  assert_non_null(strstr(err, "no api-server schema"));
  assert_int_equal(raw_count(p, "SELECT count(*) FROM sqlite_schema"), 1); /* untouched */
}

static void test_ping_read_only(void **state) {
  fx *f = *state;
  assert_int_equal(api_store_ping(f->s), 0);
  assert_int_equal(api_store_ping(f->s), 0);
  create(f->s, "r");
  api_store *ro = open_store(f->path, 100, true);
  assert_int_equal(api_store_ping(ro), 0); /* reads only */
  api_device g;
  assert_int_equal(api_store_device_get(ro, "r", &g), 0);
  api_device d = mkdev("w", "w");
  assert_int_equal(api_store_device_create(ro, &d), RV_EIO);
  assert_non_null(strstr(api_store_sqlite_last_error(ro), "readonly"));
  /* The connection stays usable after the failure. */
  assert_int_equal(api_store_device_get(ro, "r", &g), 0);
  api_store_close(ro);

  api_store *mem = open_store(":memory:", 0, false);
  assert_int_equal(api_store_ping(mem), 0);
  create(mem, "m");
  assert_int_equal(api_store_device_get(mem, "m", &g), 0);
  api_store_close(mem);
}

static void test_enomem(void **state) {
  fx *f = *state;
  /* SQLite's own allocations fail past the hard heap limit. */
  sqlite3_int64 old = sqlite3_hard_heap_limit64(1);
  api_store *s = NULL;
  const char *err = NULL;
  api_sqlite_options o = {.path = f->path};
  int rc = api_store_sqlite_open(&s, &o, &err);
  (void)sqlite3_hard_heap_limit64(old);
  assert_int_equal(rc, RV_ENOMEM);
  assert_null(s);
  assert_non_null(err);
  /* And everything works again once memory is back. */
  api_store *again = open_store(f->path, 0, false);
  api_store_close(again);
}

static void test_busy(void **state) {
  fx *f = *state;
  api_store_close(f->s);
  f->s = open_store(f->path, 50, false);
  create(f->s, "pre");

  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open_v2(f->path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

  api_device d = mkdev("new", "n");
  assert_int_equal(api_store_device_create(f->s, &d), RV_EBUSY);
  assert_true(strlen(api_store_sqlite_last_error(f->s)) > 0);
  api_point p[2] = {{.ts_ms = 1, .metric = "x", .value = 1}, {.ts_ms = 2, .metric = "x"}};
  assert_int_equal(api_store_telemetry_append(f->s, "pre", p, 2), RV_EBUSY);
  api_device u = mkdev("pre", "renamed");
  assert_int_equal(api_store_device_update(f->s, &u, 0), RV_EBUSY);
  assert_int_equal(api_store_device_delete(f->s, "pre"), RV_EBUSY);
  assert_int_equal(api_store_ping(f->s), RV_EBUSY);
  /* Readers are not blocked by the writer (WAL). */
  api_device g;
  assert_int_equal(api_store_device_get(f->s, "pre", &g), 0);
  assert_string_equal(g.name, "sensor");

  assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(other), SQLITE_OK);

  /* Nothing was written while busy; now everything goes through. */
  assert_int_equal(api_store_device_get(f->s, "new", &g), RV_ENOTFOUND);
  assert_int_equal(raw_count(f->path, "SELECT count(*) FROM telemetry"), 0);
  assert_int_equal(api_store_device_get(f->s, "pre", &g), 0);
  assert_int_equal(g.version, 1);
  assert_int_equal(api_store_device_create(f->s, &d), 0);
  assert_int_equal(api_store_telemetry_append(f->s, "pre", p, 2), 0);
  assert_int_equal(api_store_device_update(f->s, &u, 0), 0);
  assert_int_equal(api_store_ping(f->s), 0);
  assert_int_equal(raw_count(f->path, "SELECT count(*) FROM telemetry"), 2);
}

/* 4 writer threads, each with its own connection, a bounded number of
 * batches and a few seconds at most. cmocka is not thread-safe: threads
 * record, the main thread asserts. */
#define W_THREADS 4
#define W_ROUNDS 40
#define W_POINTS 25

typedef struct writer {
  const char *path;
  int index;
  int ok;
  int busy;
  int other; /* any other code: a failure */
  int open_rc;
} writer;

static double now_s(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *writer_main(void *arg) {
  writer *w = arg;
  /* Half the writers give up after 1 ms, so RV_EBUSY really happens
   * (how often depends on scheduling: counted, never asserted). */
  api_sqlite_options o = {.path = w->path, .busy_timeout_ms = (w->index % 2) == 0 ? 1 : 2000};
  api_store *s = NULL;
  w->open_rc = api_store_sqlite_open(&s, &o, NULL);
  if (w->open_rc != 0) {
    return NULL;
  }
  char id[16];
  (void)snprintf(id, sizeof id, "w%d", w->index);
  double deadline = now_s() + 5.0;
  api_point p[W_POINTS];
  for (int r = 0; r < W_ROUNDS && now_s() < deadline; r++) {
    for (int i = 0; i < W_POINTS; i++) {
      memset(&p[i], 0, sizeof p[i]);
      p[i].ts_ms = (int64_t)r * 1000 + i;
      (void)snprintf(p[i].metric, sizeof p[i].metric, "m%d", i % 3);
      p[i].value = (double)(r * W_POINTS + i);
    }
    int rc = api_store_telemetry_append(s, id, p, W_POINTS);
    if (rc == 0) {
      w->ok++;
    } else if (rc == RV_EBUSY) {
      w->busy++;
    } else {
      w->other++;
    }
    /* A read between writes, as an API worker would do. */
    api_device g;
    rc = api_store_device_get(s, id, &g);
    if (rc != 0 && rc != RV_EBUSY) {
      w->other++;
    }
  }
  api_store_close(s);
  return NULL;
}

static void test_concurrent_writers(void **state) {
  fx *f = *state;
  writer w[W_THREADS];
  pthread_t t[W_THREADS];
  for (int i = 0; i < W_THREADS; i++) {
    char id[16];
    (void)snprintf(id, sizeof id, "w%d", i);
    create(f->s, id);
    w[i] = (writer){.path = f->path, .index = i};
  }
  for (int i = 0; i < W_THREADS; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
  }
  for (int i = 0; i < W_THREADS; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
  }
  api_point *out = calloc(W_ROUNDS * W_POINTS + 1, sizeof *out);
  assert_non_null(out);
  for (int i = 0; i < W_THREADS; i++) {
    print_message("writer %d: %d batches stored, %d busy, %d other\n", i, w[i].ok, w[i].busy,
                  w[i].other);
    assert_int_equal(w[i].open_rc, 0);
    assert_int_equal(w[i].other, 0);
    assert_true(w[i].ok + w[i].busy <= W_ROUNDS);
    char id[16];
    (void)snprintf(id, sizeof id, "w%d", i);
    size_t n = 0;
    bool more = true;
    api_range q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = W_ROUNDS * W_POINTS + 1};
    assert_int_equal(api_store_telemetry_range(f->s, id, &q, out, &n, &more), 0);
    /* Every acknowledged batch is there, whole; no busy batch left a row. */
    assert_int_equal(n, (size_t)w[i].ok * W_POINTS);
    assert_false(more);
    for (size_t k = 0; k < n; k++) {
      assert_int_equal(out[k].ts_ms % 1000, (int64_t)(k % W_POINTS));
    }
  }
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
      cmocka_unit_test_setup_teardown(test_telemetry_range, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cursor_equal_ts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_1000, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ping_read_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_enomem, setup, teardown),
      cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
  };
  return cmocka_run_group_tests_name("api-store", tests, NULL, NULL);
}
