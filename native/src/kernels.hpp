// Internal: the inner loops that differ between instruction sets, selected once at run time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace arbiter::detail {

// Row panels: the core stores matrices whose rows are searched or multiplied as panels of
// kPanel rows interleaved by dimension: element (row r, dim t) of panel p lives at
// p * kPanel * d + t * kPanel + (r % kPanel). A micro-kernel multiplies up to kMaxMr row-major
// query rows (read in place: they stay in L1) by one row panel.
constexpr size_t kPanel = 16;
constexpr size_t kMaxMr = 6;

// C[i * ldc + j] = sum_t A[i * lda + t] * B[t * 16 + j], i < mr, j < 16.
using MicroF32 = void (*)(const float* a, size_t lda, const float* b, size_t d, float* c, size_t ldc);
using MicroF16 = void (*)(const float* a, size_t lda, const uint16_t* b, size_t d, float* c, size_t ldc);
// The same over bf16 pairs: a holds mr query rows of d2 = ceil(d / 2) dimension pairs (two bf16
// in a uint32, the lower dimension in the low half), b one bf16 pair panel (bf16_panel_offset).
using MicroBf16 = void (*)(const uint32_t* a, size_t lda, const uint16_t* b, size_t d2, float* c, size_t ldc);
// One query (a, d values) against single rows of row panels: out[j] = the score of lane lanes[j] of
// the panel at panels[j], exactly what micro_*[1] gives for it (the same sums in the same order).
using LanesF32 = void (*)(const float* a, const float* const* panels, const uint32_t* lanes, size_t count, size_t d,
                          float* out);
using LanesF16 = void (*)(const float* a, const uint16_t* const* panels, const uint32_t* lanes, size_t count,
                          size_t d, float* out);

struct KernelTable {
  const char* name;
  MicroF32 micro_f32[kMaxMr + 1];  // indexed by mr (1..6)
  MicroF16 micro_f16[kMaxMr + 1];
  void (*axpy_f32)(float w, const float* x, float* y, size_t d);
  void (*axpy_f16)(float w, const uint16_t* x, float* y, size_t d);
  void (*half_to_float_n)(const uint16_t* x, float* y, size_t n);
  // Round to nearest even, as float_to_half (the same bits for every non-NaN input; NaN stays NaN).
  void (*float_to_half_n)(const float* x, uint16_t* y, size_t n);
  // Index of the first x[i] >= thr (ordered compare: NaN never matches), or n.
  size_t (*find_ge)(const float* x, size_t n, float thr);
  // Index of the first NaN or infinity, or n.
  size_t (*find_nonfinite)(const float* x, size_t n);
  // Two consecutive row panels at once (b and b + kPanel * d into c and c + kPanel), the same
  // sums in the same order as two micro calls; null where the table has none (an AVX2 panel is
  // already two registers: enough independent accumulators).
  MicroF32 micro2_f32[kMaxMr + 1];
  MicroF16 micro2_f16[kMaxMr + 1];
  // bf16 dot products (AVX512-BF16), the cosine search's first pass (bf16_rows.hpp); null elsewhere.
  // Two consecutive bf16 pair panels a call (b and b + 2 * kPanel * d2), or one.
  MicroBf16 micro_bf16[kMaxMr + 1];
  MicroBf16 micro2_bf16[kMaxMr + 1];
  // Single rows of several panels at once (score_lanes); null where micro_*[1] per panel serves.
  LanesF32 lanes_f32;
  LanesF16 lanes_f16;
};


// Scores of mr query rows (a, lda) against `count` consecutive row panels of b (panel j at
// b + j * kPanel * d) into c (panel j's kPanel columns at c + j * kPanel): two panels a call where
// the table has a two-panel kernel, one at a time otherwise and for the last odd one.
template <typename T>
inline void micro_panels(const KernelTable& K, size_t mr, const float* a, size_t lda, const T* b, size_t d,
                         size_t count, float* c, size_t ldc) {
  using Micro = void (*)(const float*, size_t, const T*, size_t, float*, size_t);
  Micro one, two;
  if constexpr (sizeof(T) == 4) {
    one = K.micro_f32[mr];
    two = K.micro2_f32[mr];
  } else {
    one = K.micro_f16[mr];
    two = K.micro2_f16[mr];
  }
  const size_t step = kPanel * d;
  size_t j = 0;
  if (two)
    for (; j + 2 <= count; j += 2) two(a, lda, b + j * step, d, c + j * kPanel, ldc);
  for (; j < count; ++j) one(a, lda, b + j * step, d, c + j * kPanel, ldc);
}

// One query against single rows of row panels (see LanesF32): the table's lanes kernel, else
// micro_*[1] a panel at a time. Rescoring a few scattered rows, where one panel's single query
// waits on the FMA latency, several panels' in flight take a fraction of the time.
template <typename T>
inline void score_lanes(const KernelTable& K, const float* a, const T* const* panels, const uint32_t* lanes,
                        size_t count, size_t d, float* out) {
  if constexpr (sizeof(T) == 4) {
    if (K.lanes_f32) return K.lanes_f32(a, panels, lanes, count, d, out);
  } else {
    if (K.lanes_f16) return K.lanes_f16(a, panels, lanes, count, d, out);
  }
  float tile[kPanel];
  for (size_t j = 0; j < count; ++j) {
    micro_panels(K, 1, a, d, panels[j], d, 1, tile, kPanel);
    out[j] = tile[lanes[j]];
  }
}

const KernelTable& generic_kernels();
// Returns nullptr when the binary was built without AVX2 support.
const KernelTable* avx2_kernels();
// Returns nullptr when the binary was built without AVX-512 support (built only with AVX2's).
const KernelTable* avx512_kernels();
// The AVX-512 table with the bf16 dot-product kernels; nullptr when built without them.
const KernelTable* avx512bf16_kernels();
// Whether this CPU (and build) can run the bf16 kernels at all, whatever limit is set now: an
// index keeps bf16 copies of its rows only then.
bool bf16_supported();
// The table in use: the widest the CPU supports (AVX-512F with BF16, AVX-512F, else
// AVX2+FMA+F16C, else generic) up to the limit set with limit_kernels.
const KernelTable& kernels();

}  // namespace arbiter::detail
