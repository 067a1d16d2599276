// Internal: bf16 copies of an index's rows, for the cosine search's first pass. The pass scores
// every row with bf16 dot products (AVX512-BF16: about twice the fp32 kernel's speed), keeps a
// wider list than asked, and rescores the rows that can still be in the true top-k with the exact
// kernel. Which rows can is decided by a proven bound on the bf16 scores' error, so the result is
// the exact search's (a query whose window of doubt overflows the wide list is searched exactly):
//
//   q' = bf16(q), b' = bf16(b); with r_q = |q - q'| / |q| and r_b = |b - b'| / |b| (measured),
//   |q.b - q'.b'| <= |q||b| (r_q + r_b + r_q r_b)                   (Cauchy-Schwarz, three terms)
//   fp32 sums of d exact products: + gamma_d |q'||b'|, gamma_d = d u / (1 - d u), u = 2^-24
//   denormal inputs and products flushed to zero: + d 2^-90 (values below 2^32 in magnitude)
//
// Rows live in pair panels: element (row r, dim t) at (r / 16) * 16 * 2 * d2 + (t / 2) * 32 +
// (r % 16) * 2 + (t % 2), d2 = ceil(d / 2) (an odd d has a zero pad dimension), so one 64-byte
// load is a dimension pair of 16 rows: one vdpbf16ps operand.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "arbiter/huge_pages.hpp"
#include "kernels.hpp"

namespace arbiter::detail {

// Round to nearest even (finite inputs below 2^32 in magnitude cannot overflow).
inline uint16_t to_bf16(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  b += 0x7fffu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}
inline float from_bf16(uint16_t h) {
  const uint32_t b = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

// Largest magnitude the bound allows for (rows and queries): products and sums stay finite.
constexpr double kBf16MaxAbs = 4294967296.0;

// A vector's bf16 pairs (d2 = ceil(d / 2) words, the pad dimension zero) and what the bound needs.
struct Bf16Vector {
  double norm = 0;      // |v|, in double
  double residual = 0;  // |v - bf16(v)| / |v| (0 for v = 0), rounded up
  bool ok = true;       // every |v_t| <= 2^32
};
inline Bf16Vector to_bf16_pairs(const float* v, size_t d, uint32_t* pairs) {
  Bf16Vector r;
  double ss = 0, rr = 0;
  for (size_t t = 0; t < d; t += 2) {
    uint32_t word = 0;
    for (size_t h = 0; h < 2 && t + h < d; ++h) {
      const float x = v[t + h];
      const uint16_t b = to_bf16(x);
      const double e = static_cast<double>(x) - from_bf16(b);
      ss += static_cast<double>(x) * x;
      rr += e * e;
      if (!(std::fabs(x) <= kBf16MaxAbs)) r.ok = false;
      word |= static_cast<uint32_t>(b) << (16 * h);
    }
    pairs[t / 2] = word;
  }
  r.norm = std::sqrt(ss);
  r.residual = ss > 0 ? std::sqrt(rr / ss) * (1 + 1e-12) : 0;
  return r;
}

// An index's rows in bf16 pair panels, with the largest row residual and 1/|row| seen (bounds
// that only grow until a rebuild). Kept only where the CPU runs the bf16 kernels and up to
// kMaxElements (64 MiB); past that the copy is dropped until removals bring the rows under it
// again (then rebuilt, once). A row holding a value beyond 2^32 drops it for good (embeddings are
// far smaller; a rebuild at every removal would cost a pass over all rows each).
class Bf16Rows {
 public:
  static constexpr size_t kMaxElements = size_t{1} << 25;

  explicit Bf16Rows(size_t d) : d_(d), d2_((d + 1) / 2), valid_(bf16_supported()) {}

  size_t d2() const { return d2_; }
  bool usable() const { return valid_; }
  const uint16_t* data() const { return panels_.data(); }
  double max_residual() const { return max_residual_; }
  double max_inv_norm() const { return max_inv_norm_; }

  // Room for `rows` rows; past the cap the copy is dropped.
  void reserve(size_t rows) {
    if (!valid_) return;
    const size_t need = (rows + kPanel - 1) / kPanel * kPanel * 2 * d2_;
    if (need > kMaxElements) return drop(false);
    if (panels_.size() < need) panels_.resize(std::max(need, std::min(kMaxElements, panels_.size() * 3 / 2)));
  }
  // Row r (the stored values, as the exact search reads them) and its 1/|row|.
  void write(size_t r, const float* v, float inv_norm) {
    if (!valid_) return;
    thread_local std::vector<uint32_t> pairs;
    pairs.resize(d2_);
    const Bf16Vector b = to_bf16_pairs(v, d_, pairs.data());
    if (!b.ok) return drop(true);
    uint16_t* p = panels_.data() + (r / kPanel) * kPanel * 2 * d2_ + (r % kPanel) * 2;
    for (size_t t = 0; t < d2_; ++t) std::memcpy(p + t * 2 * kPanel, &pairs[t], 4);
    max_residual_ = std::max(max_residual_, b.residual);
    max_inv_norm_ = std::max(max_inv_norm_, static_cast<double>(inv_norm));
  }
  // Row src's values into row dst, and row src zeroed (the padding stays zero).
  void move(size_t dst, size_t src) {
    if (!valid_) return;
    for (size_t t = 0; t < d2_; ++t) {
      uint16_t* base = panels_.data() + t * 2 * kPanel;
      uint16_t* to = base + (dst / kPanel) * kPanel * 2 * d2_ + (dst % kPanel) * 2;
      uint16_t* from = base + (src / kPanel) * kPanel * 2 * d2_ + (src % kPanel) * 2;
      if (dst != src) std::memcpy(to, from, 4);
      std::memset(from, 0, 4);
    }
  }
  // Rebuilds a dropped copy from n rows (row_at(r, out) writes row r, inv_norm_at(r) its 1/|row|)
  // when the CPU has the kernels and the rows fit; otherwise it stays dropped.
  template <typename RowAt, typename InvNormAt>
  void rebuild(size_t n, RowAt&& row_at, InvNormAt&& inv_norm_at) {
    if (valid_ || for_good_ || !bf16_supported()) return;
    valid_ = true;
    max_residual_ = max_inv_norm_ = 0;
    panels_.assign(0, 0);
    reserve(n);
    std::vector<float> row(d_);
    for (size_t r = 0; r < n && valid_; ++r) {
      row_at(r, row.data());
      write(r, row.data(), inv_norm_at(r));
    }
  }

 private:
  void drop(bool for_good) {
    valid_ = false;
    for_good_ = for_good;
    decltype(panels_)().swap(panels_);
  }

  size_t d_, d2_;
  bool valid_, for_good_ = false;
  HugeVector<uint16_t> panels_;
  double max_residual_ = 0, max_inv_norm_ = 0;
};

// The half-width, in the scan's units (dot x 1/|row|), of the interval around a bf16 score that
// holds the exact kernel's score of the same row as ranked (fp32 sums, x 1/|row|, / |q|, x |q|).
inline double bf16_window(size_t d2, const Bf16Vector& q, const Bf16Rows& rows) {
  const double d = static_cast<double>(2 * d2), u = std::ldexp(1.0, -24);
  const double gamma = d * u / (1 - d * u);
  const double rq = q.residual, rb = rows.max_residual();
  // bf16 rounding of both sides and the bf16 pass's fp32 sums, then the exact kernel's own fp32
  // sums and its roundings (x 1/|row|, / |q|) against the real value
  const double rel = rq + rb + rq * rb + gamma * (1 + rq) * (1 + rb) + gamma + std::ldexp(1.0, -21);
  const double flushed = d * std::ldexp(1.0, -90) * rows.max_inv_norm();
  return (q.norm * (1 + std::ldexp(1.0, -22)) * rel + flushed) * 1.001;
}

// Scores of mr bf16 query pair rows against `count` consecutive pair panels (two a call, then one).
inline void micro_panels_bf16(const KernelTable& K, size_t mr, const uint32_t* a, size_t lda, const uint16_t* b,
                              size_t d2, size_t count, float* c, size_t ldc) {
  const size_t step = 2 * kPanel * d2;
  size_t j = 0;
  for (; j + 2 <= count; j += 2) K.micro2_bf16[mr](a, lda, b + j * step, d2, c + j * kPanel, ldc);
  for (; j < count; ++j) K.micro_bf16[mr](a, lda, b + j * step, d2, c + j * kPanel, ldc);
}

}  // namespace arbiter::detail
