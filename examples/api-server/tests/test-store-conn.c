/* test-store-conn.c: the SQLite store's connection (store.h): persistence
 * across reopen, a file that is not a database, schema versions, read-only
 * ping, out of memory, busy handling against a second connection, and 4
 * concurrent writers (also run under ThreadSanitizer). */
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
