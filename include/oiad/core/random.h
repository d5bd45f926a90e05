// A small, portable, seedable random number generator. std::shuffle and the std::
// distributions are implementation-defined, so splits and morph searches use this instead:
// the same seed gives the same indices on every platform and compiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace oiad {

/// xoshiro256** seeded through splitmix64 (Blackman & Vigna 2018).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next_u64();
  /// Uniform integer in [0, n), unbiased (rejection sampling). n > 0.
  uint64_t uniform_index(uint64_t n);
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform01();
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }

 private:
  uint64_t s_[4];
};

/// Fisher-Yates shuffle driven by Rng.
template <typename T>
void shuffle_in_place(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.uniform_index(i));
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace oiad
