// Internal: activation functions shared by the CPU and CUDA MLP paths (CPU side).
#pragma once
#include <cmath>
#include <cstddef>

#include "arbiter/core.hpp"

namespace arbiter::detail {

inline float gelu(float x) { return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f)); }
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// Applies an element-wise activation to n values, or softmax over one row of n values.
inline void activate_row(Activation act, float* y, size_t n) {
  switch (act) {
    case Activation::None: return;
    case Activation::Relu: for (size_t j = 0; j < n; ++j) y[j] = y[j] > 0.f ? y[j] : 0.f; return;
    case Activation::Gelu: for (size_t j = 0; j < n; ++j) y[j] = gelu(y[j]); return;
    case Activation::Sigmoid: for (size_t j = 0; j < n; ++j) y[j] = sigmoid(y[j]); return;
    case Activation::Softmax: {
      float m = y[0];
      for (size_t j = 1; j < n; ++j) m = y[j] > m ? y[j] : m;
      double sum = 0;
      for (size_t j = 0; j < n; ++j) { y[j] = std::exp(y[j] - m); sum += y[j]; }
      const float inv = static_cast<float>(1.0 / sum);
      for (size_t j = 0; j < n; ++j) y[j] *= inv;
      return;
    }
  }
}

}  // namespace arbiter::detail
