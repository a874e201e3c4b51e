/**
 * \file rivet/core/map.h
 * \brief Open-addressing hash map keyed by byte strings or by `uint64_t`.
 *
 * Robin-hood probing over one flat array of 32-byte slots (full 64-bit
 * hash, probe distance, key length, key, value), with backward-shift
 * deletion, so there are no tombstones and lookups stop as soon as the
 * probe is longer than the resident's. Keys are hashed with XXH3 (xxHash)
 * under a per-map 64-bit seed drawn from `getrandom()` unless the caller
 * gives one, so keys chosen by an attacker who does not know the seed
 * cannot force collisions.
 *
 * **Keys.** A map is created in one of three key modes (::rv_map_keys):
 * - #RV_MAP_KEYS_COPY: byte-string keys copied into storage the map owns:
 *   chunks of packed key bytes, compacted by a removal once removed keys
 *   outweigh the live ones (and a quarter byte per slot), freed by
 *   rv_map_clear() and rv_map_destroy();
 * - #RV_MAP_KEYS_BORROW: byte-string keys borrowed: the map stores the
 *   caller's pointer, and the caller must keep those bytes alive and
 *   unchanged until the entry is removed, the map is cleared or destroyed;
 * - #RV_MAP_KEYS_U64: `uint64_t` keys, stored inline.
 *
 * Byte-string functions (rv_map_insert(), ...) and `_u64` functions must
 * match the map's mode; a mismatch returns #RV_EINVAL. Byte keys may be
 * empty (length 0, pointer may then be NULL) and at most `UINT32_MAX` bytes.
 *
 * **Values** are `void *`, stored as given and never dereferenced or freed
 * by the map (store an integer with a `uintptr_t` cast if you like).
 *
 * **Memory.** All storage (the slot array and copied keys) comes from the
 * ::rv_alloc given at creation. A call that fails leaves the map exactly as
 * it was. The table grows by doubling when it would pass 80% load.
 *
 * **Pointers into the map** (a value pointer from rv_map_find(), a key
 * pointer from iteration) stay valid until the next call that inserts or
 * removes anything, or reserves, clears or destroys the map.
 *
 * **Threads.** Not thread-safe: one map, one thread at a time, except that
 * any number of threads may call the read-only functions (rv_map_get(),
 * rv_map_find() without writing through the result, rv_map_len(),
 * iteration) concurrently when no thread modifies the map.
 *
 * Freestanding: no (hosted: uses `getrandom()`).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup core_map map: hash map (robin hood, XXH3, seeded)
 *  \{ */

/** \brief An opaque hash map; create with rv_map_create(). */
typedef struct rv_map rv_map;

/** \brief How a map stores its keys (fixed at creation). Append-only. */
typedef enum rv_map_keys {
  RV_MAP_KEYS_COPY = 0,   /**< byte-string keys, copied into map-owned storage */
  RV_MAP_KEYS_BORROW = 1, /**< byte-string keys, caller-owned, kept alive by the caller */
  RV_MAP_KEYS_U64 = 2,    /**< `uint64_t` keys */
} rv_map_keys;

/**
 * \brief Creation options. Zero-initialise it (`rv_map_config c = {0};`)
 *        and set what you need: new fields may be appended in a minor
 *        release and zero always means the default.
 */
typedef struct rv_map_config {
  const rv_alloc *alloc; /**< allocator kept for the map's life; NULL = libc */
  rv_map_keys keys;      /**< key mode; default #RV_MAP_KEYS_COPY */
  int use_seed;          /**< nonzero: hash with #seed; 0: draw a seed from getrandom() */
  uint64_t seed;         /**< the hash seed when #use_seed is nonzero (tests, reproducibility) */
  size_t capacity;       /**< entries to make room for at creation (0: allocate lazily) */
} rv_map_config;

/**
 * \brief Create an empty map.
 * \param[out] out  the new map, owned by the caller until rv_map_destroy();
 *                  untouched on error
 * \param[in]  cfg  options, or NULL for all defaults; not kept
 * \return 0; #RV_EINVAL for an unknown key mode; #RV_ENOMEM if the
 *         allocator failed; #RV_EOVERFLOW if #rv_map_config::capacity is too
 *         large to size; #RV_EIO if `getrandom()` failed.
 * \since 0.2.0
 */
RV_API int rv_map_create(rv_map **out, const rv_map_config *cfg);

/**
 * \brief Free the map, its slot array and (copy mode) its key copies.
 *        Values are not touched. NULL does nothing.
 * \since 0.2.0
 */
RV_API void rv_map_destroy(rv_map *m);

/** \brief Number of entries. \since 0.2.0 */
RV_API size_t rv_map_len(const rv_map *m);

/** \brief Number of slots allocated (0 before the first insert). \since 0.2.0 */
RV_API size_t rv_map_capacity(const rv_map *m);

/** \brief The seed the map hashes with. \since 0.2.0 */
RV_API uint64_t rv_map_seed(const rv_map *m);

/**
 * \brief The longest probe sequence in the table right now (1 means every
 *        entry sits in its home slot; 0 for an empty map). O(capacity);
 *        for tests and diagnostics.
 * \since 0.2.0
 */
RV_API size_t rv_map_max_probe(const rv_map *m);

/**
 * \brief Make room for \p n entries in total without further growth.
 * \return 0, #RV_ENOMEM or #RV_EOVERFLOW (\p n too large to size); on
 *         error the map is unchanged. Invalidates pointers into the map.
 * \since 0.2.0
 */
RV_API int rv_map_reserve(rv_map *m, size_t n);

/**
 * \brief Remove every entry (freeing copied keys), keeping the slot array.
 *        Invalidates pointers into the map.
 * \since 0.2.0
 */
RV_API void rv_map_clear(rv_map *m);

/**
 * \brief Insert a new byte-string key.
 * \param[in,out] m      the map (copy or borrow mode)
 * \param[in]     key    the key bytes (copied or borrowed per the mode);
 *                       NULL only with \p len 0
 * \param[in]     len    key length in bytes, at most `UINT32_MAX`
 * \param[in]     value  the value to store
 * \return 0; #RV_EEXIST if the key is present (map unchanged); #RV_EINVAL
 *         for a u64 map or a NULL key with \p len > 0; #RV_ELIMIT if \p len
 *         exceeds `UINT32_MAX`; #RV_ENOMEM or #RV_EOVERFLOW if growing failed
 *         (map unchanged).
 * \since 0.2.0
 */
RV_API int rv_map_insert(rv_map *m, const void *key, size_t len, void *value);

/**
 * \brief Insert a byte-string key, or replace the value of an existing one
 *        (the stored key is kept, not replaced).
 * \param[in,out] m      the map (copy or borrow mode)
 * \param[in]     key    the key bytes; NULL only with \p len 0
 * \param[in]     len    key length in bytes, at most `UINT32_MAX`
 * \param[in]     value  the value to store
 * \param[out]    old    if not NULL: the replaced value, or NULL when inserted
 * \return as rv_map_insert() but never #RV_EEXIST; \p old is untouched on error.
 * \since 0.2.0
 */
RV_API int rv_map_set(rv_map *m, const void *key, size_t len, void *value, void **old);

/**
 * \brief Look a byte-string key up.
 * \param[in]  m      the map (copy or borrow mode)
 * \param[in]  key    the key bytes (read only during the call); NULL only with \p len 0
 * \param[in]  len    key length in bytes
 * \param[out] value  if not NULL: the value; untouched when not found
 * \return 0, #RV_ENOTFOUND, or #RV_EINVAL (u64 map, NULL key with \p len > 0).
 * \since 0.2.0
 */
RV_API int rv_map_get(const rv_map *m, const void *key, size_t len, void **value);

/**
 * \brief Look a byte-string key up and return where its value is stored,
 *        for reading or updating in place.
 * \param[in] m    the map (copy or borrow mode)
 * \param[in] key  the key bytes; NULL only with \p len 0
 * \param[in] len  key length in bytes
 * \return a pointer to the value, valid until the next insert, remove,
 *         reserve, clear or destroy; NULL when not found or on a mode mismatch.
 * \since 0.2.0
 */
RV_API void **rv_map_find(const rv_map *m, const void *key, size_t len);

/**
 * \brief Remove a byte-string key (freeing the map's copy in copy mode).
 * \param[in,out] m      the map (copy or borrow mode)
 * \param[in]     key    the key bytes; NULL only with \p len 0
 * \param[in]     len    key length in bytes
 * \param[out]    value  if not NULL: the removed value
 * \return 0, #RV_ENOTFOUND (map unchanged) or #RV_EINVAL (as rv_map_get()).
 * \since 0.2.0
 */
RV_API int rv_map_remove(rv_map *m, const void *key, size_t len, void **value);

/** \brief rv_map_insert() for a u64 map. \return as rv_map_insert(). \since 0.2.0 */
RV_API int rv_map_insert_u64(rv_map *m, uint64_t key, void *value);

/** \brief rv_map_set() for a u64 map. \return as rv_map_set(). \since 0.2.0 */
RV_API int rv_map_set_u64(rv_map *m, uint64_t key, void *value, void **old);

/** \brief rv_map_get() for a u64 map. \return as rv_map_get(). \since 0.2.0 */
RV_API int rv_map_get_u64(const rv_map *m, uint64_t key, void **value);

/** \brief rv_map_find() for a u64 map. \return as rv_map_find(). \since 0.2.0 */
RV_API void **rv_map_find_u64(const rv_map *m, uint64_t key);

/** \brief rv_map_remove() for a u64 map. \return as rv_map_remove(). \since 0.2.0 */
RV_API int rv_map_remove_u64(rv_map *m, uint64_t key, void **value);

/**
 * \brief An iteration cursor. Fields are private; initialise with
 *        rv_map_iter_init().
 *
 * Any insert, remove, reserve, clear (and destroy) invalidates every
 * iterator of the map; calling rv_map_next() on an invalidated iterator is
 * a contract violation reported through rv_panic(). Replacing a value with
 * rv_map_set() on an existing key, or writing through
 * ::rv_map_entry::value, does not invalidate. To remove entries while
 * walking, collect their keys first and remove them after the walk.
 */
typedef struct rv_map_iter {
  const rv_map *map; /**< private: the map walked */
  size_t index;      /**< private: next slot to look at */
  uint64_t gen;      /**< private: the map's change count when started */
} rv_map_iter;

/** \brief One entry seen by rv_map_next(). */
typedef struct rv_map_entry {
  const uint8_t *key; /**< byte-string key (NULL for u64 maps and empty keys) */
  size_t len;         /**< key length (8 for u64 maps) */
  uint64_t key_u64;   /**< the key of a u64 map (0 for byte-string maps) */
  void **value;       /**< where the value is stored; may be written */
} rv_map_entry;

/**
 * \brief Start walking \p m. Entries come in an unspecified order that
 *        depends on the seed.
 * \since 0.2.0
 */
RV_API void rv_map_iter_init(rv_map_iter *it, const rv_map *m);

/**
 * \brief Advance to the next entry.
 * \param[in,out] it  the cursor
 * \param[out]    e   the entry (valid as described for ::rv_map_iter)
 * \return true with \p e filled, or false when every entry has been seen.
 * \since 0.2.0
 */
RV_API bool rv_map_next(rv_map_iter *it, rv_map_entry *e);

/** \} */

#ifdef __cplusplus
}
#endif
