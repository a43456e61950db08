#pragma once
// splitmix64: tiny, and the same sequence on every platform and library. The
// generator, the tests and the benchmarks draw from it; the standard
// distributions are not specified bit for bit across libraries, so none is
// used. Never used by the state machine. Header only.

#include <cstdint>

namespace liql {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }  // [0, n), n > 0; the modulo bias does not matter here
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }  // [lo, hi]
  int64_t signed_between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(uint64_t(hi - lo + 1))); }
  bool chance(uint64_t per_mille) { return below(1000) < per_mille; }

 private:
  uint64_t state_;
};

}  // namespace liql
