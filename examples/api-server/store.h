/* store.h: the device registry's storage, behind an interface.
 *
 * The HTTP layer only ever talks to an ::api_store through these functions,
 * so a second backend (PostgreSQL) is one more implementation of
 * ::api_store_ops. The SQLite backend (store-sqlite.c) is the embedded
 * default.
 *
 * Threading: one ::api_store is one database connection and is NOT
 * thread-safe; every worker thread opens its own (the SQLite backend runs
 * the database in WAL mode so readers never block the writer, and waits up
 * to `busy_timeout_ms` for the write lock before failing with #RV_EBUSY).
 *
 * Errors (every function): 0, #RV_EINVAL (NULL or out-of-range argument),
 * #RV_ENOTFOUND, #RV_EEXIST, #RV_EBUSY (the database stayed locked longer
 * than the busy timeout: the caller answers 503 with Retry-After), #RV_EIO
 * (any other database failure; the connection stays usable), #RV_ENOMEM.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest device id (bytes, `[A-Za-z0-9._-]`, not starting with `.`). */
#define API_ID_MAX 64u
/** Longest device name (bytes of UTF-8). */
#define API_NAME_MAX 128u
/** Longest model string. */
#define API_MODEL_MAX 64u
/** Longest firmware version string. */
#define API_FIRMWARE_MAX 32u
/** Longest telemetry metric name (`[A-Za-z0-9_.]`). */
#define API_METRIC_MAX 64u

/** A device's status. */
typedef enum api_device_status {
  API_DEVICE_ACTIVE = 0,
  API_DEVICE_DISABLED = 1,
} api_device_status;

/** One device. Strings are NUL-terminated, validated by the HTTP layer. */
typedef struct api_device {
  char id[API_ID_MAX + 1];
  char name[API_NAME_MAX + 1];
  char model[API_MODEL_MAX + 1];       /**< may be empty */
  char firmware[API_FIRMWARE_MAX + 1]; /**< may be empty */
  api_device_status status;
  int64_t created_ms; /**< Unix ms, set by the caller on create */
  int64_t updated_ms; /**< Unix ms, set by the caller on create and update */
  int64_t version;    /**< 1 on create, +1 on every update (set by the store) */
} api_device;

/** One telemetry point. */
typedef struct api_point {
  int64_t ts_ms;                   /**< Unix ms of the measurement */
  char metric[API_METRIC_MAX + 1]; /**< e.g. "temp_c" */
  double value;                    /**< finite */
  int64_t seq;                     /**< out: the store's insertion order (cursor tiebreak) */
} api_point;

/** A telemetry range query. Points come in (ts_ms, seq) ascending order. */
typedef struct api_range {
  int64_t from_ms;    /**< inclusive */
  int64_t to_ms;      /**< exclusive */
  const char *metric; /**< only this metric, or NULL for all */
  bool has_after;     /**< resume after (after_ts, after_seq) (a cursor) */
  int64_t after_ts;   /**< with has_after */
  int64_t after_seq;  /**< with has_after */
  size_t limit;       /**< most points returned, >= 1 */
} api_range;

typedef struct api_store api_store;

/** The backend's operations. */
typedef struct api_store_ops {
  const char *name; /**< "sqlite" */
  /** Insert \p d (version set to 1). #RV_EEXIST if the id exists. */
  int (*device_create)(api_store *s, api_device *d);
  /** Fetch by id into \p out. #RV_ENOTFOUND. */
  int (*device_get)(api_store *s, const char *id, api_device *out);
  /** Replace name, model, firmware, status, updated_ms of `d->id`; bumps
   *  and returns `d->version`. When \p expect_version > 0 and differs from
   *  the stored one: #RV_ESTATE (nothing changed). #RV_ENOTFOUND. */
  int (*device_update)(api_store *s, api_device *d, int64_t expect_version);
  /** Delete a device and all its telemetry (one transaction). #RV_ENOTFOUND. */
  int (*device_delete)(api_store *s, const char *id);
  /** Devices in id order, strictly after \p after_id (NULL = from the
   *  start), at most \p limit (>= 1) into \p out; \p n receives the count.
   *  \p more is set when further devices follow. */
  int (*device_list)(api_store *s, const char *after_id, size_t limit, api_device *out, size_t *n,
                     bool *more);
  /** Append \p n points (1..1000) to device \p id in one transaction; sets
   *  each point's seq. #RV_ENOTFOUND (no such device: nothing stored). */
  int (*telemetry_append)(api_store *s, const char *id, api_point *pts, size_t n);
  /** Points of device \p id matching \p q into \p out (room for q->limit);
   *  \p n receives the count, \p more is set when further points match.
   *  #RV_ENOTFOUND when the device does not exist; #RV_EINVAL when
   *  `from_ms >= to_ms`, `limit` is 0 or `metric` is empty or too long. */
  int (*telemetry_range)(api_store *s, const char *id, const api_range *q, api_point *out,
                         size_t *n, bool *more);
  /** Readiness: the database answers a query and is writable (SQLite:
   *  commits a one-row write to a `health` table, so a read-only file or a
   *  full disk fails with #RV_EIO; a store opened `read_only` checks the
   *  read only). #RV_EBUSY while another connection holds the write lock. */
  int (*ping)(api_store *s);
  /** Close the connection and free \p s. */
  void (*close)(api_store *s);
} api_store_ops;

/** Every backend's object starts with this. */
struct api_store {
  const api_store_ops *ops;
};

/** SQLite backend options. Zero-initialise; set `path`. */
typedef struct api_sqlite_options {
  const char *path;         /**< the database file (created if missing), or ":memory:" */
  unsigned busy_timeout_ms; /**< wait this long for a lock before #RV_EBUSY; 0 = 2000 */
  bool read_only;           /**< open read-only (no schema creation) */
} api_sqlite_options;

/**
 * Open (creating the schema if needed, WAL mode, foreign keys on) a SQLite
 * store. \p err (may be NULL) receives a message on failure (static or
 * owned by nothing: valid until the next call in this thread).
 * \return 0, #RV_EINVAL, #RV_EIO (cannot open, not a database, schema of
 *         an unknown version), #RV_EBUSY, #RV_ENOMEM.
 */
int api_store_sqlite_open(api_store **out, const api_sqlite_options *opt, const char **err);

/**
 * The message of the SQLite store's last failed call (for an error log
 * line: #RV_EIO and #RV_EBUSY carry SQLite's own text, e.g. "sqlite: disk
 * I/O error (disk I/O error)"), or "" when the last call succeeded. Owned
 * by \p s: valid until its next call or api_store_close(). NULL when \p s
 * is NULL or not a SQLite store. Same thread rules as the store.
 */
const char *api_store_sqlite_last_error(const api_store *s);

/* Convenience wrappers: s->ops->fn(s, ...). */
static inline int api_store_device_create(api_store *s, api_device *d) {
  return s->ops->device_create(s, d);
}
static inline int api_store_device_get(api_store *s, const char *id, api_device *out) {
  return s->ops->device_get(s, id, out);
}
static inline int api_store_device_update(api_store *s, api_device *d, int64_t expect_version) {
  return s->ops->device_update(s, d, expect_version);
}
static inline int api_store_device_delete(api_store *s, const char *id) {
  return s->ops->device_delete(s, id);
}
static inline int api_store_device_list(api_store *s, const char *after_id, size_t limit,
                                        api_device *out, size_t *n, bool *more) {
  return s->ops->device_list(s, after_id, limit, out, n, more);
}
static inline int api_store_telemetry_append(api_store *s, const char *id, api_point *pts,
                                             size_t n) {
  return s->ops->telemetry_append(s, id, pts, n);
}
static inline int api_store_telemetry_range(api_store *s, const char *id, const api_range *q,
                                            api_point *out, size_t *n, bool *more) {
  return s->ops->telemetry_range(s, id, q, out, n, more);
}
static inline int api_store_ping(api_store *s) { return s->ops->ping(s); }
static inline void api_store_close(api_store *s) {
  if (s != NULL) {
    s->ops->close(s);
  }
}
