/* store-sqlite.c: the SQLite backend of store.h: the connection (open,
 * schema, prepared statements, error mapping, close). The operations are in
 * store-sqlite-ops.c.
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
#include "store-sqlite-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/core/err.h>

/** The schema version this program writes and understands. */
#define SQ_SCHEMA_VERSION 1
/** Default busy timeout (ms). */
#define SQ_BUSY_DEFAULT_MS 2000u

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

/* Messages from api_store_sqlite_open live here: the caller gets them
 * after the connection is gone. */
static _Thread_local char sq_open_err[256];

int sq_map(int rc) {
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
int sq_fail(sq_store *s, int rc) {
  (void)snprintf(s->err, sizeof s->err, "sqlite: %s (%s)", sqlite3_errmsg(s->db),
                 sqlite3_errstr(rc));
  return sq_map(rc);
}

int sq_set(sq_store *s, int code, const char *msg) {
  (void)snprintf(s->err, sizeof s->err, "%s", msg);
  return code;
}

void sq_done(sqlite3_stmt *st) {
  (void)sqlite3_reset(st);
  (void)sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows (BEGIN, COMMIT, ...). */
int sq_exec_stmt(sq_store *s, enum sq_stmt_id id) {
  sqlite3_stmt *st = sq_stmt(s, id);
  int rc = sqlite3_step(st);
  int out = rc == SQLITE_DONE ? 0 : sq_fail(s, rc);
  sq_done(st);
  return out;
}

void sq_rollback(sq_store *s) {
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

int sq_commit(sq_store *s) {
  int rc = sq_exec_stmt(s, ST_COMMIT);
  if (rc != 0) {
    sq_rollback(s);
  }
  return rc;
}

/* Copy text column \p col into dst[cap] (NUL-terminated); false if it
 * does not fit (a row this program did not write). */
bool col_text(sqlite3_stmt *st, int col, char *dst, size_t cap) {
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

void sq_close(api_store *as) {
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
