/* store-sqlite.c: the SQLite backend of store.h.
 *
 * One ::api_store is one connection, opened in multi-thread mode (no
 * connection mutex: the store is used by one thread at a time). Every SQL
 * statement the operations run is prepared once at open and kept for the
 * connection's life; each use ends with sqlite3_reset() so no statement
 * keeps a read transaction (and with it an old WAL snapshot) open.
 *
 * Schema (PRAGMA user_version = 1):
 *   devices(id TEXT PRIMARY KEY, name, model, firmware, status, created_ms,
 *           updated_ms, version)                         WITHOUT ROWID
 *   telemetry(seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id REFERENCES
 *             devices ON DELETE CASCADE, ts_ms, metric, value)
 *   index telemetry_by_device(device_id, ts_ms, seq): range scans and the
 *     cascade's lookups; telemetry_by_metric(device_id, metric, ts_ms, seq):
 *     the same scans filtered by metric.
 * AUTOINCREMENT keeps seq strictly increasing even after deletes, so a
 * (ts, seq) cursor never lands on a reused number.
 *
 * Pagination is keyset only: devices resume with `id > ?`, telemetry with
 * the row value `(ts_ms, seq) > (?, ?)`, both walking an index in order;
 * OFFSET is never used (it rescans every skipped row).
 */
#include "store.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <rivet/core/err.h>

/** The schema version this program writes and understands. */
#define SQ_SCHEMA_VERSION 1
/** Most points one telemetry_append takes. */
#define SQ_APPEND_MAX 1000u
/** Default busy timeout (ms). */
#define SQ_BUSY_DEFAULT_MS 2000u

enum sq_stmt_id {
  ST_BEGIN_IMMEDIATE,
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_DEV_INSERT,
  ST_DEV_GET,
  ST_DEV_UPDATE,
  ST_DEV_VERSION,
  ST_DEV_DELETE,
  ST_DEV_LIST,
  ST_TM_INSERT,
  ST_TM_RANGE,
  ST_TM_RANGE_METRIC,
  ST_PING_READ,
  ST_PING_WRITE,
  ST_COUNT,
};

static const char *const sq_sql[ST_COUNT] = {
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_DEV_INSERT] = "INSERT INTO devices(id, name, model, firmware, status, created_ms, "
                      "updated_ms, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
    [ST_DEV_GET] = "SELECT id, name, model, firmware, status, created_ms, updated_ms, version "
                   "FROM devices WHERE id = ?1",
    [ST_DEV_UPDATE] = "UPDATE devices SET name = ?2, model = ?3, firmware = ?4, status = ?5, "
                      "updated_ms = ?6, version = version + 1 "
                      "WHERE id = ?1 AND (?7 <= 0 OR version = ?7) "
                      "RETURNING version, created_ms",
    [ST_DEV_VERSION] = "SELECT version FROM devices WHERE id = ?1",
    [ST_DEV_DELETE] = "DELETE FROM devices WHERE id = ?1",
    [ST_DEV_LIST] = "SELECT id, name, model, firmware, status, created_ms, updated_ms, version "
                    "FROM devices WHERE id > ?1 ORDER BY id LIMIT ?2",
    [ST_TM_INSERT] = "INSERT INTO telemetry(device_id, ts_ms, metric, value) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [ST_TM_RANGE] = "SELECT ts_ms, metric, value, seq FROM telemetry "
                    "WHERE device_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 "
                    "AND (ts_ms, seq) > (?4, ?5) ORDER BY ts_ms, seq LIMIT ?6",
    [ST_TM_RANGE_METRIC] = "SELECT ts_ms, metric, value, seq FROM telemetry "
                           "WHERE device_id = ?1 AND metric = ?7 AND ts_ms >= ?2 AND ts_ms < ?3 "
                           "AND (ts_ms, seq) > (?4, ?5) ORDER BY ts_ms, seq LIMIT ?6",
    [ST_PING_READ] = "SELECT count(*) FROM devices",
    [ST_PING_WRITE] = "INSERT INTO health(k, v) VALUES ('ping', 1) "
                      "ON CONFLICT(k) DO UPDATE SET v = v + 1",
};

static const char sq_schema[] =
    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL,"
    "  model TEXT NOT NULL DEFAULT '',"
    "  firmware TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL CHECK (status IN (0, 1)),"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  version INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE telemetry ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  ts_ms INTEGER NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  value REAL NOT NULL"
    ");"
    "CREATE INDEX telemetry_by_device ON telemetry(device_id, ts_ms, seq);"
    "CREATE INDEX telemetry_by_metric ON telemetry(device_id, metric, ts_ms, seq);"
    "CREATE TABLE health (k TEXT PRIMARY KEY NOT NULL, v INTEGER NOT NULL) WITHOUT ROWID;";

typedef struct sq_store {
  api_store base; /* first: an api_store * is a sq_store * (see sq_of) */
  sqlite3 *db;
  bool read_only;
  sqlite3_stmt *st[ST_COUNT];
  char err[256];
} sq_store;

static const api_store_ops sq_ops;

static sq_store *sq_of(api_store *s) {
  /* base is the first member, so the pointers are interconvertible (C11 6.7.2.1p15). */
  return (sq_store *)s;
}

/* Messages from api_store_sqlite_open live here: the caller gets them
 * after the connection is gone. */
static _Thread_local char sq_open_err[256];

static int sq_map(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return RV_EBUSY;
  case SQLITE_NOMEM:
    return RV_ENOMEM;
  default:
    return RV_EIO;
  }
}

/* Record the connection's message for a failed call and map the code. */
static int sq_fail(sq_store *s, int rc) {
  (void)snprintf(s->err, sizeof s->err, "sqlite: %s (%s)", sqlite3_errmsg(s->db),
                 sqlite3_errstr(rc));
  return sq_map(rc);
}

static int sq_set(sq_store *s, int code, const char *msg) {
  (void)snprintf(s->err, sizeof s->err, "%s", msg);
  return code;
}

/* The prepared statement \p id (kept for the connection's life). */
static sqlite3_stmt *sq_stmt(sq_store *s, enum sq_stmt_id id) { return s->st[id]; }

static void sq_done(sqlite3_stmt *st) {
  (void)sqlite3_reset(st);
  (void)sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows (BEGIN, COMMIT, ...). */
static int sq_exec_stmt(sq_store *s, enum sq_stmt_id id) {
  sqlite3_stmt *st = sq_stmt(s, id);
  int rc = sqlite3_step(st);
  int out = rc == SQLITE_DONE ? 0 : sq_fail(s, rc);
  sq_done(st);
  return out;
}

static void sq_rollback(sq_store *s) {
  /* Keep the first failure's message: ROLLBACK's own outcome is secondary
   * (it fails only when no transaction is open, e.g. SQLite already rolled
   * back after a disk-full error). */
  char keep[sizeof s->err];
  memcpy(keep, s->err, sizeof keep);
  sqlite3_stmt *st = sq_stmt(s, ST_ROLLBACK);
  if (!sqlite3_get_autocommit(s->db)) {
    (void)sqlite3_step(st);
  }
  sq_done(st);
  memcpy(s->err, keep, sizeof keep);
}

static int sq_commit(sq_store *s) {
  int rc = sq_exec_stmt(s, ST_COMMIT);
  if (rc != 0) {
    sq_rollback(s);
  }
  return rc;
}

/* A NUL-terminated string of 1..max bytes (0..max when !nonempty). */
static bool str_ok(const char *p, size_t max, bool nonempty) {
  if (p == NULL) {
    return false;
  }
  size_t n = strnlen(p, max + 1);
  return n <= max && (n > 0 || !nonempty);
}

static bool device_ok(const api_device *d) {
  return str_ok(d->id, API_ID_MAX, true) && str_ok(d->name, API_NAME_MAX, true) &&
         str_ok(d->model, API_MODEL_MAX, false) && str_ok(d->firmware, API_FIRMWARE_MAX, false) &&
         (d->status == API_DEVICE_ACTIVE || d->status == API_DEVICE_DISABLED);
}

static int bind_text(sqlite3_stmt *st, int i, const char *p) {
  return sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
}

/* Copy text column \p col into dst[cap] (NUL-terminated); false if it
 * does not fit (a row this program did not write). */
static bool col_text(sqlite3_stmt *st, int col, char *dst, size_t cap) {
  const unsigned char *p = sqlite3_column_text(st, col);
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  if (p == NULL) {
    n = 0;
  }
  if (n >= cap) {
    return false;
  }
  if (n > 0) {
    memcpy(dst, p, n);
  }
  dst[n] = '\0';
  return true;
}

static int read_device(sq_store *s, sqlite3_stmt *st, api_device *out) {
  int64_t status = sqlite3_column_int64(st, 4);
  if (!col_text(st, 0, out->id, sizeof out->id) || !col_text(st, 1, out->name, sizeof out->name) ||
      !col_text(st, 2, out->model, sizeof out->model) ||
      !col_text(st, 3, out->firmware, sizeof out->firmware) || (status != 0 && status != 1)) {
    return sq_set(s, RV_EIO, "stored device row out of range");
  }
  out->status = status == 0 ? API_DEVICE_ACTIVE : API_DEVICE_DISABLED;
  out->created_ms = sqlite3_column_int64(st, 5);
  out->updated_ms = sqlite3_column_int64(st, 6);
  out->version = sqlite3_column_int64(st, 7);
  return 0;
}

static int bind_device(sqlite3_stmt *st, const api_device *d) {
  int rc = bind_text(st, 1, d->id);
  rc = rc == SQLITE_OK ? bind_text(st, 2, d->name) : rc;
  rc = rc == SQLITE_OK ? bind_text(st, 3, d->model) : rc;
  rc = rc == SQLITE_OK ? bind_text(st, 4, d->firmware) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int(st, 5, (int)d->status) : rc;
  return rc;
}

static int sq_device_create(api_store *as, api_device *d) {
  if (as == NULL || d == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  if (!device_ok(d)) {
    return sq_set(s, RV_EINVAL, "device fields empty, too long or status out of range");
  }
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_INSERT);
  int rc = bind_device(st, d);
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 6, d->created_ms) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 7, d->updated_ms) : rc;
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int out = 0;
  if (rc == SQLITE_DONE) {
    d->version = 1;
  } else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    (void)snprintf(s->err, sizeof s->err, "device '%s' exists", d->id);
    out = RV_EEXIST;
  } else {
    out = sq_fail(s, rc);
  }
  sq_done(st);
  return out;
}

static int sq_device_get(api_store *as, const char *id, api_device *out) {
  if (as == NULL || out == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  if (!str_ok(id, API_ID_MAX, true)) {
    return sq_set(s, RV_EINVAL, "device id empty or too long");
  }
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_GET);
  int rc = bind_text(st, 1, id);
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res;
  if (rc == SQLITE_ROW) {
    res = read_device(s, st, out);
  } else if (rc == SQLITE_DONE) {
    res = sq_set(s, RV_ENOTFOUND, "device not found");
  } else {
    res = sq_fail(s, rc);
  }
  sq_done(st);
  return res;
}

/* After an UPDATE that matched nothing: is the device there (then the
 * version differed) or not? */
static int version_miss(sq_store *s, const char *id) {
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_VERSION);
  int rc = bind_text(st, 1, id);
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res;
  if (rc == SQLITE_ROW) {
    res = sq_set(s, RV_ESTATE, "device version differs from the expected one");
  } else if (rc == SQLITE_DONE) {
    res = sq_set(s, RV_ENOTFOUND, "device not found");
  } else {
    res = sq_fail(s, rc);
  }
  sq_done(st);
  return res;
}

static int sq_device_update(api_store *as, api_device *d, int64_t expect_version) {
  if (as == NULL || d == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  if (!device_ok(d)) {
    return sq_set(s, RV_EINVAL, "device fields empty, too long or status out of range");
  }
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_UPDATE);
  int rc = bind_device(st, d);
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 6, d->updated_ms) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 7, expect_version) : rc;
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res = 0;
  if (rc == SQLITE_ROW) {
    int64_t version = sqlite3_column_int64(st, 0);
    int64_t created = sqlite3_column_int64(st, 1);
    /* Step to the end: the UPDATE commits when the statement completes. */
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
      d->version = version;
      d->created_ms = created;
    } else {
      res = sq_fail(s, rc);
    }
    sq_done(st);
    return res;
  }
  if (rc != SQLITE_DONE) {
    res = sq_fail(s, rc);
    sq_done(st);
    return res;
  }
  sq_done(st);
  /* Nothing matched. A concurrent delete between the two statements makes
   * this RV_ENOTFOUND, which is what the update would have met a moment later. */
  return version_miss(s, d->id);
}

static int sq_device_delete(api_store *as, const char *id) {
  if (as == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  if (!str_ok(id, API_ID_MAX, true)) {
    return sq_set(s, RV_EINVAL, "device id empty or too long");
  }
  /* One statement, one (autocommit) transaction: the foreign key's ON
   * DELETE CASCADE removes the telemetry inside it, through the
   * telemetry_by_device index. */
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_DELETE);
  int rc = bind_text(st, 1, id);
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res = 0;
  if (rc != SQLITE_DONE) {
    res = sq_fail(s, rc);
  } else if (sqlite3_changes(s->db) == 0) {
    res = sq_set(s, RV_ENOTFOUND, "device not found");
  }
  sq_done(st);
  return res;
}

static int sq_device_list(api_store *as, const char *after_id, size_t limit, api_device *out,
                          size_t *n, bool *more) {
  if (as == NULL || out == NULL || n == NULL || more == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  *n = 0;
  *more = false;
  if (limit == 0 || (after_id != NULL && !str_ok(after_id, API_ID_MAX, false))) {
    return sq_set(s, RV_EINVAL, "limit is 0 or the cursor id is too long");
  }
  /* Every id is non-empty, so `id > ''` starts at the beginning. One row
   * past the page tells whether more follow. */
  int64_t fetch = limit < (size_t)INT64_MAX ? (int64_t)limit + 1 : INT64_MAX;
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_LIST);
  int rc = bind_text(st, 1, after_id != NULL ? after_id : "");
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 2, fetch) : rc;
  int res = 0;
  size_t got = 0;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
      break;
    }
    if (got == limit) {
      *more = true;
      rc = SQLITE_DONE;
      break;
    }
    res = read_device(s, st, &out[got]);
    if (res != 0) {
      break;
    }
    got++;
  }
  if (res == 0 && rc != SQLITE_DONE) {
    res = sq_fail(s, rc);
  }
  sq_done(st);
  if (res != 0) {
    *more = false;
    return res;
  }
  *n = got;
  return 0;
}

/* Is device \p id there? 0, RV_ENOTFOUND or a database error. */
static int device_exists(sq_store *s, const char *id) {
  sqlite3_stmt *st = sq_stmt(s, ST_DEV_VERSION);
  int rc = bind_text(st, 1, id);
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res = 0;
  if (rc == SQLITE_DONE) {
    res = sq_set(s, RV_ENOTFOUND, "device not found");
  } else if (rc != SQLITE_ROW) {
    res = sq_fail(s, rc);
  }
  sq_done(st);
  return res;
}

static int insert_point(sq_store *s, sqlite3_stmt *st, const char *id, api_point *p) {
  int rc = bind_text(st, 1, id);
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 2, p->ts_ms) : rc;
  rc = rc == SQLITE_OK ? bind_text(st, 3, p->metric) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_double(st, 4, p->value) : rc;
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res = 0;
  if (rc == SQLITE_DONE) {
    p->seq = sqlite3_last_insert_rowid(s->db);
  } else {
    res = sq_fail(s, rc);
  }
  sq_done(st);
  return res;
}

static int sq_telemetry_append(api_store *as, const char *id, api_point *pts, size_t n) {
  if (as == NULL || pts == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  if (!str_ok(id, API_ID_MAX, true) || n == 0 || n > SQ_APPEND_MAX) {
    return sq_set(s, RV_EINVAL, "device id empty or too long, or not 1..1000 points");
  }
  for (size_t i = 0; i < n; i++) {
    if (!str_ok(pts[i].metric, API_METRIC_MAX, true) || !isfinite(pts[i].value)) {
      (void)snprintf(s->err, sizeof s->err, "point %zu: empty or long metric, or value not finite",
                     i);
      return RV_EINVAL;
    }
  }
  /* BEGIN IMMEDIATE takes the write lock now (waiting up to the busy
   * timeout), so a busy database fails here rather than at COMMIT after
   * the work is done. */
  int res = sq_exec_stmt(s, ST_BEGIN_IMMEDIATE);
  if (res != 0) {
    return res;
  }
  res = device_exists(s, id);
  if (res != 0) {
    goto fail;
  }
  sqlite3_stmt *st = sq_stmt(s, ST_TM_INSERT);
  for (size_t i = 0; i < n; i++) {
    res = insert_point(s, st, id, &pts[i]);
    if (res != 0) {
      goto fail;
    }
  }
  return sq_commit(s);

fail:
  sq_rollback(s);
  return res;
}

static bool range_ok(const api_range *q) {
  return q->limit >= 1 && q->from_ms < q->to_ms &&
         (q->metric == NULL || str_ok(q->metric, API_METRIC_MAX, true));
}

static int range_rows(sq_store *s, const char *id, const api_range *q, api_point *out, size_t *n,
                      bool *more) {
  sqlite3_stmt *st = sq_stmt(s, q->metric != NULL ? ST_TM_RANGE_METRIC : ST_TM_RANGE);
  /* Without a cursor, (ts, seq) > (INT64_MIN, INT64_MIN) admits every
   * row: seq starts at 1. */
  int64_t after_ts = q->has_after ? q->after_ts : INT64_MIN;
  int64_t after_seq = q->has_after ? q->after_seq : INT64_MIN;
  int64_t fetch = q->limit < (size_t)INT64_MAX ? (int64_t)q->limit + 1 : INT64_MAX;
  int rc = bind_text(st, 1, id);
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 2, q->from_ms) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 3, q->to_ms) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 4, after_ts) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 5, after_seq) : rc;
  rc = rc == SQLITE_OK ? sqlite3_bind_int64(st, 6, fetch) : rc;
  if (rc == SQLITE_OK && q->metric != NULL) {
    rc = bind_text(st, 7, q->metric);
  }
  int res = 0;
  size_t got = 0;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
      break;
    }
    if (got == q->limit) {
      *more = true;
      rc = SQLITE_DONE;
      break;
    }
    api_point *p = &out[got];
    p->ts_ms = sqlite3_column_int64(st, 0);
    if (!col_text(st, 1, p->metric, sizeof p->metric)) {
      res = sq_set(s, RV_EIO, "stored metric name too long");
      break;
    }
    p->value = sqlite3_column_double(st, 2);
    p->seq = sqlite3_column_int64(st, 3);
    got++;
  }
  if (res == 0 && rc != SQLITE_DONE) {
    res = sq_fail(s, rc);
  }
  sq_done(st);
  *n = got;
  return res;
}

static int sq_telemetry_range(api_store *as, const char *id, const api_range *q, api_point *out,
                              size_t *n, bool *more) {
  if (as == NULL || q == NULL || out == NULL || n == NULL || more == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  *n = 0;
  *more = false;
  if (!str_ok(id, API_ID_MAX, true) || !range_ok(q)) {
    return sq_set(s, RV_EINVAL, "bad device id, limit 0, from >= to or bad metric");
  }
  /* One read transaction: the existence check and the rows come from the
   * same snapshot. */
  int res = sq_exec_stmt(s, ST_BEGIN);
  if (res != 0) {
    return res;
  }
  res = device_exists(s, id);
  if (res == 0) {
    res = range_rows(s, id, q, out, n, more);
  }
  if (res != 0) {
    *n = 0;
    *more = false;
    sq_rollback(s);
    return res;
  }
  return sq_commit(s);
}

static int sq_ping(api_store *as) {
  if (as == NULL) {
    return RV_EINVAL;
  }
  sq_store *s = sq_of(as);
  s->err[0] = '\0';
  sqlite3_stmt *st = sq_stmt(s, ST_PING_READ);
  int rc = sqlite3_step(st);
  int res = rc == SQLITE_ROW ? 0 : sq_fail(s, rc);
  sq_done(st);
  if (res != 0 || s->read_only) {
    return res;
  }
  if (sqlite3_db_readonly(s->db, "main") == 1) {
    return sq_set(s, RV_EIO, "database is read-only");
  }
  /* A committed one-row write: fails when the file, the WAL or the disk
   * cannot take writes (read-only file system, disk full, I/O error). */
  return sq_exec_stmt(s, ST_PING_WRITE);
}

static void sq_close(api_store *as) {
  if (as == NULL) {
    return;
  }
  sq_store *s = sq_of(as);
  for (size_t i = 0; i < ST_COUNT; i++) {
    (void)sqlite3_finalize(s->st[i]);
  }
  (void)sqlite3_close(s->db);
  free(s);
}

static const api_store_ops sq_ops = {
    .name = "sqlite",
    .device_create = sq_device_create,
    .device_get = sq_device_get,
    .device_update = sq_device_update,
    .device_delete = sq_device_delete,
    .device_list = sq_device_list,
    .telemetry_append = sq_telemetry_append,
    .telemetry_range = sq_telemetry_range,
    .ping = sq_ping,
    .close = sq_close,
};

/* Run one pragma or statement whose rows (if any) are ignored. */
static int sq_exec(sq_store *s, const char *sql) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : sq_fail(s, rc);
}

/* Read one integer or text pragma into *iv / txt. */
static int sq_query1(sq_store *s, const char *sql, int64_t *iv, char *txt, size_t cap) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
  int res = 0;
  if (rc == SQLITE_ROW) {
    if (iv != NULL) {
      *iv = sqlite3_column_int64(st, 0);
    }
    if (txt != NULL && !col_text(st, 0, txt, cap)) {
      res = sq_set(s, RV_EIO, "unexpected pragma answer");
    }
  } else {
    res = sq_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
  }
  (void)sqlite3_finalize(st);
  return res;
}

static int sq_setup_wal(sq_store *s, const char *path) {
  char mode[16];
  int res = sq_query1(s, "PRAGMA journal_mode=WAL", NULL, mode, sizeof mode);
  if (res != 0) {
    return res;
  }
  bool memory = strcmp(path, ":memory:") == 0;
  if (strcmp(mode, "wal") != 0 && !(memory && strcmp(mode, "memory") == 0)) {
    (void)snprintf(s->err, sizeof s->err, "cannot switch to WAL mode (journal_mode is %s)", mode);
    return RV_EIO;
  }
  return sq_exec(s, "PRAGMA synchronous=NORMAL");
}

/* Create the schema in an empty database, accept ours, refuse the rest. */
static int sq_setup_schema(sq_store *s) {
  int64_t version = 0;
  int64_t tables = 0;
  int res = sq_query1(s, "PRAGMA user_version", &version, NULL, 0);
  if (res != 0) {
    return res;
  }
  if (s->read_only || version == SQ_SCHEMA_VERSION) {
    goto check;
  }
  /* Decide and create under the write lock: two processes opening a new
   * file at once must not both create the tables. */
  res = sq_exec(s, "BEGIN IMMEDIATE");
  if (res != 0) {
    return res;
  }
  res = sq_query1(s, "PRAGMA user_version", &version, NULL, 0);
  if (res == 0 && version == 0) {
    res = sq_query1(s, "SELECT count(*) FROM sqlite_schema", &tables, NULL, 0);
    if (res == 0 && tables != 0) {
      res = sq_set(s, RV_EIO, "database has tables but no api-server schema version");
    }
    if (res == 0) {
      res = sq_exec(s, sq_schema);
    }
    if (res == 0) {
      res = sq_exec(s, "PRAGMA user_version=1");
      version = SQ_SCHEMA_VERSION;
    }
  }
  if (res == 0) {
    res = sq_exec(s, "COMMIT");
  }
  if (res != 0) {
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return res;
  }
check:
  if (version != SQ_SCHEMA_VERSION) {
    (void)snprintf(s->err, sizeof s->err,
                   "database schema version %lld is not the one this program uses (%d)",
                   (long long)version, SQ_SCHEMA_VERSION);
    return RV_EIO;
  }
  return 0;
}

static int sq_prepare_all(sq_store *s) {
  for (size_t i = 0; i < ST_COUNT; i++) {
    int rc = sqlite3_prepare_v3(s->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (rc != SQLITE_OK) {
      return sq_fail(s, rc);
    }
  }
  return 0;
}

int api_store_sqlite_open(api_store **out, const api_sqlite_options *opt, const char **err) {
  sq_open_err[0] = '\0';
  if (err != NULL) {
    *err = NULL;
  }
  if (out == NULL || opt == NULL || opt->path == NULL || opt->path[0] == '\0' ||
      opt->busy_timeout_ms > (unsigned)INT32_MAX) {
    (void)snprintf(sq_open_err, sizeof sq_open_err, "missing database path or bad option");
    if (err != NULL) {
      *err = sq_open_err;
    }
    return RV_EINVAL;
  }
  *out = NULL;
  int res = RV_ENOMEM;
  sq_store *s = calloc(1, sizeof *s);
  if (s == NULL) {
    (void)snprintf(sq_open_err, sizeof sq_open_err, "out of memory");
    goto fail;
  }
  s->base.ops = &sq_ops;
  s->read_only = opt->read_only;
  int flags = (opt->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(opt->path, &s->db, flags, NULL);
  if (rc != SQLITE_OK) {
    if (s->db != NULL) {
      res = sq_fail(s, rc);
    } else {
      res = sq_map(rc);
      (void)snprintf(s->err, sizeof s->err, "sqlite: %s", sqlite3_errstr(rc));
    }
    goto fail;
  }
  (void)sqlite3_extended_result_codes(s->db, 1);
  (void)sqlite3_busy_timeout(
      s->db, (int)(opt->busy_timeout_ms != 0 ? opt->busy_timeout_ms : SQ_BUSY_DEFAULT_MS));
  if (!opt->read_only) {
    res = sq_setup_wal(s, opt->path);
    if (res != 0) {
      goto fail;
    }
  }
  res = sq_exec(s, "PRAGMA foreign_keys=ON");
  if (res == 0) {
    res = sq_setup_schema(s);
  }
  if (res == 0) {
    res = sq_prepare_all(s);
  }
  if (res != 0) {
    goto fail;
  }
  s->err[0] = '\0';
  *out = &s->base;
  return 0;

fail:
  if (s != NULL) {
    memcpy(sq_open_err, s->err, sizeof sq_open_err);
    sq_close(&s->base);
  }
  if (err != NULL) {
    *err = sq_open_err;
  }
  return res;
}

const char *api_store_sqlite_last_error(const api_store *s) {
  if (s == NULL || s->ops != &sq_ops) {
    return NULL;
  }
  /* ops identifies the backend, so this is a sq_store (first member). */
  return ((const sq_store *)s)->err;
}
