/* C interface to the std::unordered_map side of the map benchmark. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stdmap_bench stdmap_bench;

/* Copy the n keys into std::strings, and again in lookup order (order is a
 * permutation of 0..n-1) as the queries; the map starts empty. */
stdmap_bench *stdmap_create(const char *const *keys, const size_t *lens, size_t n,
                            const uint32_t *order);
void stdmap_destroy(stdmap_bench *b);
/* Insert every key (value = its index), copying it into the map. */
void stdmap_fill(stdmap_bench *b);
/* Empty the map and release its memory. */
void stdmap_clear(stdmap_bench *b);
/* Look up every query; returns the sum of the values found. */
uintptr_t stdmap_lookup(const stdmap_bench *b);

#ifdef __cplusplus
}
#endif
