/* store-sqlite-ops.c: the operations of the SQLite backend (store.h):
 * devices, telemetry and ping, each over a statement prepared at open
 * (store-sqlite.c) and reset after use. */
#include "store-sqlite-internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rivet/core/err.h>

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

const api_store_ops sq_ops = {
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
