/* test-store.c: the SQLite store's operations (store.h) on temp files:
 * every operation's success and error cases, pagination, telemetry ranges
 * and cursors, a full batch. The connection itself (persistence, foreign
 * or newer files, read-only, memory, busy, concurrent writers) is
 * test-store-conn.c. */
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
  };
  return cmocka_run_group_tests_name("api-store", tests, NULL, NULL);
}
