// AVX-512 micro-kernels (F + the F16C conversions it includes). This file alone is compiled with
// -mavx512f -mavx2 -mfma -mf16c; the table is only used after a run-time check that the CPU and
// the OS support AVX-512F. One row panel (16 rows) is exactly one zmm register, so a micro-kernel
// step is one load (and conversion) of the panel and MR broadcast-FMAs: half the instructions of
// the AVX2 kernel per multiply. The other inner loops (axpy, conversions, scans) are the AVX2
// ones: they are bound by memory, not by the vector width.
#include <immintrin.h>

#include "kernels.hpp"

namespace arbiter::detail {
namespace {

template <typename T>
inline __m512 ld16(const T* p) {
  if constexpr (sizeof(T) == 4) return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
  // all lanes converted; the masked form, because GCC 12 warns (a false positive, its bug 105593) on
  // the unmasked one's undefined pass-through register
  else return _mm512_maskz_cvtph_ps(0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// MR x 16 block (the table's MicroF32 / MicroF16 for T = float / uint16_t). For MR <= 2 the
// dimension loop is unrolled by two into independent accumulators so one query is bound by loads,
// not by FMA latency.
template <int MR, typename T>
void micro(const float* a, size_t lda, const T* b, size_t d, float* c, size_t ldc) {
  __m512 acc[MR];
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  size_t t = 0;
  if constexpr (MR <= 2) {
    __m512 odd[MR];
    for (int i = 0; i < MR; ++i) odd[i] = _mm512_setzero_ps();
    for (; t + 2 <= d; t += 2) {
      const __m512 b0 = ld16(b + t * kPanel), b1 = ld16(b + (t + 1) * kPanel);
      for (int i = 0; i < MR; ++i) {
        acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i * lda + t]), b0, acc[i]);
        odd[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i * lda + t + 1]), b1, odd[i]);
      }
    }
    for (int i = 0; i < MR; ++i) acc[i] = _mm512_add_ps(acc[i], odd[i]);
  }
  for (; t < d; ++t) {
    const __m512 bv = ld16(b + t * kPanel);
    for (int i = 0; i < MR; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i * lda + t]), bv, acc[i]);
  }
  for (int i = 0; i < MR; ++i) _mm512_storeu_ps(c + i * ldc, acc[i]);
}

// MR x 32 block over two consecutive panels: 2 x MR accumulators. One panel's MR <= 6 chains each
// wait on the FMA latency (4 cycles) for their next step, ~6 FMAs per 4 cycles; two panels
// issue 12 in ~6, what both FMA pipes take. Each sum is formed in micro's order (bit-identical).
template <int MR, typename T>
void micro2(const float* a, size_t lda, const T* b, size_t d, float* c, size_t ldc) {
  const T* b2 = b + d * kPanel;
  __m512 lo[MR], hi[MR];
  for (int i = 0; i < MR; ++i) lo[i] = hi[i] = _mm512_setzero_ps();
  size_t t = 0;
  if constexpr (MR <= 2) {  // micro's even/odd split of the dimensions, in both panels
    __m512 lo_odd[MR], hi_odd[MR];
    for (int i = 0; i < MR; ++i) lo_odd[i] = hi_odd[i] = _mm512_setzero_ps();
    for (; t + 2 <= d; t += 2) {
      const __m512 x0 = ld16(b + t * kPanel), x1 = ld16(b + (t + 1) * kPanel);
      const __m512 y0 = ld16(b2 + t * kPanel), y1 = ld16(b2 + (t + 1) * kPanel);
      for (int i = 0; i < MR; ++i) {
        const __m512 a0 = _mm512_set1_ps(a[i * lda + t]), a1 = _mm512_set1_ps(a[i * lda + t + 1]);
        lo[i] = _mm512_fmadd_ps(a0, x0, lo[i]);
        hi[i] = _mm512_fmadd_ps(a0, y0, hi[i]);
        lo_odd[i] = _mm512_fmadd_ps(a1, x1, lo_odd[i]);
        hi_odd[i] = _mm512_fmadd_ps(a1, y1, hi_odd[i]);
      }
    }
    for (int i = 0; i < MR; ++i) {
      lo[i] = _mm512_add_ps(lo[i], lo_odd[i]);
      hi[i] = _mm512_add_ps(hi[i], hi_odd[i]);
    }
  }
  for (; t < d; ++t) {
    const __m512 x = ld16(b + t * kPanel), y = ld16(b2 + t * kPanel);
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i * lda + t]);
      lo[i] = _mm512_fmadd_ps(ai, x, lo[i]);
      hi[i] = _mm512_fmadd_ps(ai, y, hi[i]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    _mm512_storeu_ps(c + i * ldc, lo[i]);
    _mm512_storeu_ps(c + i * ldc + kPanel, hi[i]);
  }
}

// One query against single rows of several panels (the table's lanes kernels): micro<1, T>'s sums
// (its even/odd split, the same order) for each panel, four panels' chains in flight where one
// panel's two wait on the FMA latency.
template <typename T>
void lanes(const float* a, const T* const* panels, const uint32_t* lane, size_t count, size_t d, float* out) {
  for (size_t j0 = 0; j0 < count; j0 += 4) {
    const size_t m = count - j0 < 4 ? count - j0 : 4;
    const T* p[4];
    for (size_t i = 0; i < 4; ++i) p[i] = panels[j0 + (i < m ? i : m - 1)];  // a short group repeats its last
    __m512 even[4], odd[4];
    for (int i = 0; i < 4; ++i) even[i] = odd[i] = _mm512_setzero_ps();
    size_t t = 0;
    for (; t + 2 <= d; t += 2) {
      const __m512 a0 = _mm512_set1_ps(a[t]), a1 = _mm512_set1_ps(a[t + 1]);
      for (int i = 0; i < 4; ++i) {
        even[i] = _mm512_fmadd_ps(a0, ld16(p[i] + t * kPanel), even[i]);
        odd[i] = _mm512_fmadd_ps(a1, ld16(p[i] + (t + 1) * kPanel), odd[i]);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      __m512 acc = _mm512_add_ps(even[i], odd[i]);
      if (t < d) acc = _mm512_fmadd_ps(_mm512_set1_ps(a[t]), ld16(p[i] + t * kPanel), acc);
      alignas(64) float v[kPanel];
      _mm512_store_ps(v, acc);
      out[j0 + i] = v[lane[j0 + i]];
    }
  }
}

KernelTable make_table() {
  KernelTable t = *avx2_kernels();  // built together: the AVX2 table is always there when this is
  t.name = "avx512f";
  const MicroF32 f32[] = {nullptr, micro<1, float>, micro<2, float>, micro<3, float>,
                          micro<4, float>, micro<5, float>, micro<6, float>};
  const MicroF16 f16[] = {nullptr, micro<1, uint16_t>, micro<2, uint16_t>, micro<3, uint16_t>,
                          micro<4, uint16_t>, micro<5, uint16_t>, micro<6, uint16_t>};
  const MicroF32 f32x2[] = {nullptr, micro2<1, float>, micro2<2, float>, micro2<3, float>,
                            micro2<4, float>, micro2<5, float>, micro2<6, float>};
  const MicroF16 f16x2[] = {nullptr, micro2<1, uint16_t>, micro2<2, uint16_t>, micro2<3, uint16_t>,
                            micro2<4, uint16_t>, micro2<5, uint16_t>, micro2<6, uint16_t>};
  static_assert(sizeof(f32) / sizeof(f32[0]) == kMaxMr + 1, "one micro-kernel per MR");
  static_assert(sizeof(f16x2) / sizeof(f16x2[0]) == kMaxMr + 1, "one two-panel micro-kernel per MR");
  for (size_t i = 0; i <= kMaxMr; ++i) {
    t.micro_f32[i] = f32[i];
    t.micro_f16[i] = f16[i];
    t.micro2_f32[i] = f32x2[i];
    t.micro2_f16[i] = f16x2[i];
  }
  t.lanes_f32 = lanes<float>;
  t.lanes_f16 = lanes<uint16_t>;
  return t;
}

}  // namespace

const KernelTable* avx512_kernels() {
  static const KernelTable table = make_table();
  return &table;
}

}  // namespace arbiter::detail
