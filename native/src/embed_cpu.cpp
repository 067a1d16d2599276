#include <cmath>
#include <string>

#include "arbiter/core.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace arbiter {

void embed_pool_cpu(const EmbedTableView& table, const int32_t* ids, size_t n_ids, const int32_t* offsets,
                    size_t n_bags, const float* weights, bool normalize, float* out) {
  const size_t d = table.dim;
  // Validate everything before writing anything.
  if (n_bags > 0) {
    if (offsets[0] != 0) throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets[0] must be 0");
    if (static_cast<size_t>(offsets[n_bags]) != n_ids)
      throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets[n] must equal the number of ids");
    for (size_t i = 0; i < n_bags; ++i)
      if (offsets[i + 1] < offsets[i]) throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets must be non-decreasing");
  }
  for (size_t j = 0; j < n_ids; ++j)
    if (ids[j] < 0 || static_cast<size_t>(ids[j]) >= table.vocab)
      throw Error(arbiter::codes::OUT_OF_RANGE, "ids[" + std::to_string(j) + "] = " + std::to_string(ids[j]) +
                                          " is outside the table (vocab " + std::to_string(table.vocab) + ")");

  const auto& K = detail::kernels();
  constexpr size_t kBagsPerTask = 32;
  const size_t tasks = (n_bags + kBagsPerTask - 1) / kBagsPerTask;
  detail::parallel_for(tasks, [&](size_t task, unsigned) {
    const size_t b1 = std::min(n_bags, (task + 1) * kBagsPerTask);
    for (size_t b = task * kBagsPerTask; b < b1; ++b) {
      float* y = out + b * d;
      for (size_t t = 0; t < d; ++t) y[t] = 0.f;
      double wsum = 0;
      for (int32_t j = offsets[b]; j < offsets[b + 1]; ++j) {
        const float w = weights ? weights[j] : 1.f;
        if (w == 0.f) continue;
        wsum += w;
        const size_t row = static_cast<size_t>(ids[j]) * d;
        if (table.dtype == DType::F32) K.axpy_f32(w, static_cast<const float*>(table.data) + row, y, d);
        else K.axpy_f16(w, static_cast<const uint16_t*>(table.data) + row, y, d);
      }
      if (wsum <= 0) {
        for (size_t t = 0; t < d; ++t) y[t] = 0.f;
        continue;
      }
      float scale;
      if (normalize) {
        double ss = 0;
        for (size_t t = 0; t < d; ++t) ss += static_cast<double>(y[t]) * y[t];
        scale = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f;
      } else {
        scale = static_cast<float>(1.0 / wsum);
      }
      for (size_t t = 0; t < d; ++t) y[t] *= scale;
    }
  });
}

}  // namespace arbiter
