// bench-vec-std: the C++ baseline for bench-vec, std::vector<uint64_t>.
// Kept in its own file so the C benchmark builds without a C++ compiler.
#include <cstdint>
#include <vector>

extern "C" std::uint64_t rv_bench_std_vector_push(std::uint64_t n, int reserve);

// One repetition: fill a fresh vector with 0..n-1 by push_back and destroy
// it; returns the last element so the work cannot be optimised away.
extern "C" std::uint64_t rv_bench_std_vector_push(std::uint64_t n, int reserve) {
  std::vector<std::uint64_t> v;
  if (reserve != 0) {
    v.reserve(n);
  }
  for (std::uint64_t i = 0; i < n; i++) {
    v.push_back(i);
  }
  // Tell the compiler the contents are used.
  __asm__ volatile("" : : "r"(v.data()) : "memory");
  return v.empty() ? 0 : v.back();
}
