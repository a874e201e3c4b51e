/* store-sqlite-internal.h: what the two halves of the SQLite backend share:
 * the connection (store-sqlite.c: open, schema, statements, errors, close)
 * and the operations (store-sqlite-ops.c: devices, telemetry, ping). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/** Most points one telemetry_append takes. */
#define SQ_APPEND_MAX 1000u

/* The statements prepared at open, by purpose. */
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

typedef struct sq_store {
  api_store base; /* first: an api_store * is a sq_store * (see sq_of) */
  sqlite3 *db;
  bool read_only;
  sqlite3_stmt *st[ST_COUNT];
  char err[256];
} sq_store;

/* The backend's operations (store-sqlite-ops.c). */
extern const api_store_ops sq_ops;

static inline sq_store *sq_of(api_store *s) {
  /* base is the first member, so the pointers are interconvertible (C11 6.7.2.1p15). */
  return (sq_store *)s;
}

/* The prepared statement \p id (kept for the connection's life). */
static inline sqlite3_stmt *sq_stmt(sq_store *s, enum sq_stmt_id id) { return s->st[id]; }

/* Map a SQLite result code: BUSY/LOCKED -> RV_EBUSY, NOMEM -> RV_ENOMEM, else RV_EIO. */
int sq_map(int rc);
/* Record the connection's message for a failed call; returns sq_map(rc). */
int sq_fail(sq_store *s, int rc);
/* Record \p msg; returns \p code. */
int sq_set(sq_store *s, int code, const char *msg);
/* Reset a statement and clear its bindings after use. */
void sq_done(sqlite3_stmt *st);
/* Run a statement that returns no rows (BEGIN, COMMIT, ...). */
int sq_exec_stmt(sq_store *s, enum sq_stmt_id id);
/* Roll back the open transaction, keeping the first failure's message. */
void sq_rollback(sq_store *s);
/* Commit; on failure roll back and return the mapped error. */
int sq_commit(sq_store *s);
/* Copy a text column into dst[cap], NUL-terminated; false if it does not fit. */
bool col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
/* Finalize every statement, close the connection, free \p as (NULL allowed). */
void sq_close(api_store *as);
