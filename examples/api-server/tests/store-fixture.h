/* store-fixture.h: what the store tests share: a store on a fresh temp
 * directory per test, device and point builders, and raw SQLite access to
 * the file (what is really on disk). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/** One test's directory, database path and open store. */
typedef struct fx {
  char dir[64];
  char path[128];
  api_store *s;
} fx;

/** Open \p path (asserting success). */
api_store *open_store(const char *path, unsigned busy_ms, bool ro);
/** cmocka setup/teardown: a fx with a store on a fresh temp directory. */
int setup(void **state);
int teardown(void **state);
/** A valid device with this id and name. */
api_device mkdev(const char *id, const char *name);
/** Create device \p id (asserting success). */
void create(api_store *s, const char *id);
/** A scalar / text query, and a statement, on a separate raw connection. */
int64_t raw_count(const char *path, const char *sql);
const char *raw_text(const char *path, const char *sql, char *buf, size_t cap);
void raw_exec(const char *path, const char *sql);
/** Append \p n points ts0, ts0+step, ... cycling through \p metrics (asserting success). */
void append_n(api_store *s, const char *id, int64_t ts0, int64_t step, size_t n,
              const char *const *metrics, size_t nmetrics);
