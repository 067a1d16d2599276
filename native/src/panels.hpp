// Internal: panel layout helpers shared by the index (rows) and the MLP (weights).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "arbiter/core.hpp"
#include "kernels.hpp"

namespace arbiter::detail {

inline size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

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
