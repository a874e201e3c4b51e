// The C++ side of the map benchmark: std::unordered_map<std::string, void *>
// used as a C++ programmer would, behind a small C interface.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "map-std.h"

struct stdmap_bench {
  std::vector<std::string> keys;    // the keys as a C++ program would hold them
  std::vector<std::string> queries; // the keys to look up, in lookup order
  std::unordered_map<std::string, void *> map;
};

extern "C" stdmap_bench *stdmap_create(const char *const *keys, const size_t *lens, size_t n,
                                       const uint32_t *order) {
  auto *b = new stdmap_bench;
  b->keys.reserve(n);
  b->queries.reserve(n);
  for (size_t i = 0; i < n; i++) {
    b->keys.emplace_back(keys[i], lens[i]);
  }
  for (size_t i = 0; i < n; i++) {
    b->queries.emplace_back(keys[order[i]], lens[order[i]]);
  }
  return b;
}

extern "C" void stdmap_destroy(stdmap_bench *b) { delete b; }

extern "C" void stdmap_fill(stdmap_bench *b) {
  for (size_t i = 0; i < b->keys.size(); i++) {
    // Copies the key into the node, like rv_map's copy mode.
    b->map.emplace(b->keys[i], reinterpret_cast<void *>(static_cast<uintptr_t>(i)));
  }
}

extern "C" void stdmap_clear(stdmap_bench *b) {
  std::unordered_map<std::string, void *>().swap(b->map); // release the memory too
}

extern "C" uintptr_t stdmap_lookup(const stdmap_bench *b) {
  uintptr_t sum = 0;
  for (const auto &q : b->queries) {
    auto it = b->map.find(q);
    sum += reinterpret_cast<uintptr_t>(it->second);
  }
  return sum;
}
