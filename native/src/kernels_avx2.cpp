// AVX2 + FMA + F16C inner loops. This file alone is compiled with -mavx2 -mfma -mf16c; the
// table is only used after a run-time check that the CPU supports all three.
#include <immintrin.h>

#include "kernels.hpp"

namespace arbiter::detail {
namespace {

inline __m256 load8_f32(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// MR x 16 block with 2*MR named accumulators (GCC keeps arrays of __m256 on the stack, so the
// rows are spelled out). For MR <= 2 the dimension loop is unrolled by two into independent
// accumulators so that one query is bound by memory bandwidth, not by FMA latency.
template <typename T>
inline __m256 ld(const T* p) {
  if constexpr (sizeof(T) == 4) return load8_f32(reinterpret_cast<const float*>(p));
  else return load8_f16(reinterpret_cast<const uint16_t*>(p));
}

#define ARB_ROW(i)                                         \
  if constexpr (MR > i) {                                  \
    const __m256 av = _mm256_broadcast_ss(a + i * lda + t); \
    c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);            \
    c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);            \
  }
#define ARB_STORE(i)                                       \
  if constexpr (MR > i) {                                  \
    _mm256_storeu_ps(c + i * ldc, c##i##0);                \
    _mm256_storeu_ps(c + i * ldc + 8, c##i##1);            \
  }

template <int MR, typename T>
inline void micro_impl(const float* a, size_t lda, const T* b, size_t d, float* c, size_t ldc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  size_t t = 0;
  if constexpr (MR <= 2) {
    // second set of accumulators for odd dimensions (rows 2..3 registers are free here)
    for (; t + 2 <= d; t += 2) {
      const T* bt = b + t * kPanel;
      const __m256 b0 = ld(bt), b1 = ld(bt + 8), b2 = ld(bt + 16), b3 = ld(bt + 24);
      const __m256 x0 = _mm256_broadcast_ss(a + t), y0 = _mm256_broadcast_ss(a + t + 1);
      c00 = _mm256_fmadd_ps(x0, b0, c00);
      c01 = _mm256_fmadd_ps(x0, b1, c01);
      c20 = _mm256_fmadd_ps(y0, b2, c20);
      c21 = _mm256_fmadd_ps(y0, b3, c21);
      if constexpr (MR == 2) {
        const __m256 x1 = _mm256_broadcast_ss(a + lda + t), y1 = _mm256_broadcast_ss(a + lda + t + 1);
        c10 = _mm256_fmadd_ps(x1, b0, c10);
        c11 = _mm256_fmadd_ps(x1, b1, c11);
        c30 = _mm256_fmadd_ps(y1, b2, c30);
        c31 = _mm256_fmadd_ps(y1, b3, c31);
      }
    }
    c00 = _mm256_add_ps(c00, c20);
    c01 = _mm256_add_ps(c01, c21);
    c10 = _mm256_add_ps(c10, c30);
    c11 = _mm256_add_ps(c11, c31);
    c20 = c21 = c30 = c31 = _mm256_setzero_ps();
  }
  for (; t < d; ++t) {
    const T* bt = b + t * kPanel;
    const __m256 b0 = ld(bt), b1 = ld(bt + 8);
    ARB_ROW(0) ARB_ROW(1) ARB_ROW(2) ARB_ROW(3) ARB_ROW(4) ARB_ROW(5)
  }
  ARB_STORE(0) ARB_STORE(1) ARB_STORE(2) ARB_STORE(3) ARB_STORE(4) ARB_STORE(5)
}
#undef ARB_ROW
#undef ARB_STORE

template <int MR>
void micro_f32(const float* a, size_t lda, const float* b, size_t d, float* c, size_t ldc) {
  micro_impl<MR, float>(a, lda, b, d, c, ldc);
}
template <int MR>
void micro_f16(const float* a, size_t lda, const uint16_t* b, size_t d, float* c, size_t ldc) {
  micro_impl<MR, uint16_t>(a, lda, b, d, c, ldc);
}

void axpy_f32(float w, const float* x, float* y, size_t d) {
  const __m256 wv = _mm256_set1_ps(w);
  size_t i = 0;
  for (; i + 8 <= d; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(wv, load8_f32(x + i), _mm256_loadu_ps(y + i)));
  for (; i < d; ++i) y[i] += w * x[i];
}
void axpy_f16(float w, const uint16_t* x, float* y, size_t d) {
  const __m256 wv = _mm256_set1_ps(w);
  size_t i = 0;
  for (; i + 8 <= d; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(wv, load8_f16(x + i), _mm256_loadu_ps(y + i)));
  for (; i < d; ++i) y[i] += w * _cvtsh_ss(x[i]);
}
void h2f_n(const uint16_t* x, float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load8_f16(x + i));
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}
void f2h_n(const float* x, uint16_t* y, size_t n) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;  // not MXCSR's mode
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), kNearest));
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], kNearest);
}

size_t find_ge(const float* x, size_t n, float thr) {
  const __m256 t = _mm256_set1_ps(thr);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {  // four vectors per test: almost every tile is all below thr
    const __m256 c0 = _mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GE_OQ);
    const __m256 c1 = _mm256_cmp_ps(_mm256_loadu_ps(x + i + 8), t, _CMP_GE_OQ);
    const __m256 c2 = _mm256_cmp_ps(_mm256_loadu_ps(x + i + 16), t, _CMP_GE_OQ);
    const __m256 c3 = _mm256_cmp_ps(_mm256_loadu_ps(x + i + 24), t, _CMP_GE_OQ);
    const __m256 any = _mm256_or_ps(_mm256_or_ps(c0, c1), _mm256_or_ps(c2, c3));
    if (_mm256_movemask_ps(any)) {
      const unsigned m = unsigned(_mm256_movemask_ps(c0)) | unsigned(_mm256_movemask_ps(c1)) << 8 |
                         unsigned(_mm256_movemask_ps(c2)) << 16 | unsigned(_mm256_movemask_ps(c3)) << 24;
      return i + static_cast<size_t>(__builtin_ctz(m));
    }
  }
  for (; i < n; ++i)
    if (x[i] >= thr) return i;
  return n;
}

size_t find_nonfinite(const float* x, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {  // x - x is NaN exactly for NaN and infinities
    __m256 bad = _mm256_setzero_ps();
    for (size_t u = 0; u < 32; u += 8) {
      const __m256 v = _mm256_loadu_ps(x + i + u);
      const __m256 z = _mm256_sub_ps(v, v);
      bad = _mm256_or_ps(bad, _mm256_cmp_ps(z, z, _CMP_UNORD_Q));
    }
    if (_mm256_movemask_ps(bad)) break;  // locate it below
  }
  for (; i < n; ++i)
    if (!(x[i] - x[i] == 0.f)) return i;
  return n;
}

const KernelTable kAvx2 = {
    "avx2+fma+f16c",
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

const KernelTable* avx2_kernels() { return &kAvx2; }

}  // namespace arbiter::detail
