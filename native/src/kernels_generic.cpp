// Portable inner loops: plain C++ the compiler may auto-vectorise for the baseline ISA.
#include "arbiter/core.hpp"
#include "kernels.hpp"

namespace arbiter::detail {
namespace {

template <int MR>
void micro_f32(const float* a, size_t lda, const float* b, size_t d, float* c, size_t ldc) {
  float acc[MR][kPanel] = {};
  for (size_t t = 0; t < d; ++t) {
    const float* bt = b + t * kPanel;
    for (int i = 0; i < MR; ++i) {
      const float av = a[i * lda + t];
      for (size_t j = 0; j < kPanel; ++j) acc[i][j] += av * bt[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (size_t j = 0; j < kPanel; ++j) c[i * ldc + j] = acc[i][j];
}

template <int MR>
void micro_f16(const float* a, size_t lda, const uint16_t* b, size_t d, float* c, size_t ldc) {
  float acc[MR][kPanel] = {};
  float bt[kPanel];
  for (size_t t = 0; t < d; ++t) {
    for (size_t j = 0; j < kPanel; ++j) bt[j] = half_to_float(b[t * kPanel + j]);
    for (int i = 0; i < MR; ++i) {
      const float av = a[i * lda + t];
      for (size_t j = 0; j < kPanel; ++j) acc[i][j] += av * bt[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (size_t j = 0; j < kPanel; ++j) c[i * ldc + j] = acc[i][j];
}

void axpy_f32(float w, const float* x, float* y, size_t d) {
  for (size_t i = 0; i < d; ++i) y[i] += w * x[i];
}
void axpy_f16(float w, const uint16_t* x, float* y, size_t d) {
  for (size_t i = 0; i < d; ++i) y[i] += w * half_to_float(x[i]);
}
void h2f_n(const uint16_t* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = half_to_float(x[i]);
}
void f2h_n(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
}

size_t find_ge(const float* x, size_t n, float thr) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] >= thr) return i;
  return n;
}

size_t find_nonfinite(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!(x[i] - x[i] == 0.f)) return i;  // inf - inf and NaN - NaN are NaN
  return n;
}

const KernelTable kGeneric = {
    "generic",
    {nullptr, micro_f32<1>, micro_f32<2>, micro_f32<3>, micro_f32<4>, micro_f32<5>, micro_f32<6>},
    {nullptr, micro_f16<1>, micro_f16<2>, micro_f16<3>, micro_f16<4>, micro_f16<5>, micro_f16<6>},
    axpy_f32,
    axpy_f16,
    h2f_n,
    f2h_n,
    find_ge,
    find_nonfinite,
    {},
    {},
    {},
    {},
    nullptr,
    nullptr,
};

}  // namespace

const KernelTable& generic_kernels() { return kGeneric; }

}  // namespace arbiter::detail
