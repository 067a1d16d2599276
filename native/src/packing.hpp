// Internal: panel packing shared by the index (rows), the MLP (weights) and queries.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "arbiter/core.hpp"
#include "kernels.hpp"

namespace arbiter::detail {

inline size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

// Packs n x d row-major queries into panels of up to kMaxMr rows (layout t * mr + i).
inline void pack_queries(const float* x, size_t n, size_t d, float* dst) {
  for (size_t r0 = 0; r0 < n; r0 += kMaxMr) {
    const size_t mr = std::min(kMaxMr, n - r0);
    float* p = dst + r0 * d;
    for (size_t i = 0; i < mr; ++i) {
      const float* row = x + (r0 + i) * d;
      for (size_t t = 0; t < d; ++t) p[t * mr + i] = row[t];
    }
  }
}

// Element offset of (row r, dim t) in a panel-packed matrix with d columns.
inline size_t panel_offset(size_t r, size_t t, size_t d) {
  return (r / kPanel) * kPanel * d + t * kPanel + (r % kPanel);
}

// A scratch vector per thread that only ever grows: steady-state calls allocate nothing.
template <typename T>
T* scratch(std::vector<T>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace arbiter::detail
