// AVX512-BF16 micro-kernels: the cosine search's first pass (see bf16_rows.hpp). This file alone is
// compiled with -mavx512bf16 (and AVX-512F); its table is only used after a run-time check that the
// CPU has AVX512-BF16. One vdpbf16ps multiplies a query's dimension pair by the same pair of 16
// rows and adds both products to the 16 sums: half the instructions of the fp32 kernel per
// dimension, ~1.9x its speed on one Zen 4 core. Products of bf16 values are exact in fp32; the
// sums are fp32, with denormal inputs and results flushed to zero (the instruction's rule, which
// the error bound allows for).
#include <immintrin.h>

#include "kernels.hpp"

namespace arbiter::detail {
namespace {

inline __m512bh pair_of(uint32_t v) { return (__m512bh)_mm512_set1_epi32(static_cast<int>(v)); }
inline __m512bh panel_at(const uint16_t* p) { return (__m512bh)_mm512_loadu_si512(p); }

// MR x 16 over one pair panel; for MR <= 2 the pairs alternate between two accumulator sets so one
// query is bound by loads, not by the instruction's latency.
template <int MR>
void micro(const uint32_t* a, size_t lda, const uint16_t* b, size_t d2, float* c, size_t ldc) {
  __m512 acc[MR], odd[MR];
  for (int i = 0; i < MR; ++i) acc[i] = odd[i] = _mm512_setzero_ps();
  size_t t = 0;
  if constexpr (MR <= 2) {
    for (; t + 2 <= d2; t += 2) {
      const __m512bh b0 = panel_at(b + t * 2 * kPanel), b1 = panel_at(b + (t + 1) * 2 * kPanel);
      for (int i = 0; i < MR; ++i) {
        acc[i] = _mm512_dpbf16_ps(acc[i], pair_of(a[i * lda + t]), b0);
        odd[i] = _mm512_dpbf16_ps(odd[i], pair_of(a[i * lda + t + 1]), b1);
      }
    }
  }
  for (; t < d2; ++t) {
    const __m512bh bv = panel_at(b + t * 2 * kPanel);
    for (int i = 0; i < MR; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], pair_of(a[i * lda + t]), bv);
  }
  for (int i = 0; i < MR; ++i) _mm512_storeu_ps(c + i * ldc, _mm512_add_ps(acc[i], odd[i]));
}

// MR x 32 over two consecutive pair panels: 2 x MR independent sums.
template <int MR>
void micro2(const uint32_t* a, size_t lda, const uint16_t* b, size_t d2, float* c, size_t ldc) {
  const uint16_t* b2 = b + 2 * kPanel * d2;
  __m512 lo[MR], hi[MR];
  for (int i = 0; i < MR; ++i) lo[i] = hi[i] = _mm512_setzero_ps();
  for (size_t t = 0; t < d2; ++t) {
    const __m512bh x = panel_at(b + t * 2 * kPanel), y = panel_at(b2 + t * 2 * kPanel);
    for (int i = 0; i < MR; ++i) {
      const __m512bh ai = pair_of(a[i * lda + t]);
      lo[i] = _mm512_dpbf16_ps(lo[i], ai, x);
      hi[i] = _mm512_dpbf16_ps(hi[i], ai, y);
    }
  }
  for (int i = 0; i < MR; ++i) {
    _mm512_storeu_ps(c + i * ldc, lo[i]);
    _mm512_storeu_ps(c + i * ldc + kPanel, hi[i]);
  }
}

KernelTable make_table() {
  KernelTable t = *avx512_kernels();  // built together: the AVX-512 table is always there when this is
  t.name = "avx512bf16";
  const MicroBf16 one[] = {nullptr, micro<1>, micro<2>, micro<3>, micro<4>, micro<5>, micro<6>};
  const MicroBf16 two[] = {nullptr, micro2<1>, micro2<2>, micro2<3>, micro2<4>, micro2<5>, micro2<6>};
  static_assert(sizeof(one) / sizeof(one[0]) == kMaxMr + 1, "one bf16 micro-kernel per MR");
  for (size_t i = 0; i <= kMaxMr; ++i) {
    t.micro_bf16[i] = one[i];
    t.micro2_bf16[i] = two[i];
  }
  return t;
}

}  // namespace

const KernelTable* avx512bf16_kernels() {
  static const KernelTable table = make_table();
  return &table;
}

}  // namespace arbiter::detail
