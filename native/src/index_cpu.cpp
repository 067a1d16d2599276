// Exact kNN over rows held in native memory as 16-row panels (see kernels.hpp). Search is a
// blocked matrix product: a block of row panels (~256 rows) stays in L2 while every query panel
// is multiplied against it by the micro-kernel, and each tile of scores is folded into per-query
// top-k heaps at once, so the full score matrix is never materialised.
#include <cmath>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "arbiter/core.hpp"
#include "kernels.hpp"
#include "panels.hpp"
#include "parallel.hpp"
#include "topk.hpp"

namespace arbiter {
namespace {

using detail::div_up;
using detail::kMaxMr;
using detail::kPanel;

constexpr size_t kBlockPanels = 16;  // 256 rows per block: 256 KiB of fp32 rows at d = 256
// Largest index (bytes of rows) searched in query groups rather than row chunks (see search_block).
constexpr size_t kGroupedBytes = size_t{8} << 20;

template <typename T>
struct RowStore;
template <>
struct RowStore<float> {
  static float enc(float v) { return v; }
  static float dec(float v) { return v; }
};
template <>
struct RowStore<uint16_t> {
  static uint16_t enc(float v) { return float_to_half(v); }
  static float dec(uint16_t v) { return half_to_float(v); }
};

template <typename T>
class CpuIndex final : public Index {
 public:
  CpuIndex(size_t dim, DType dtype) : dim_(dim), dtype_(dtype) {
    if (dim == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, "dim must be a positive integer");
  }
  size_t dim() const override { return dim_; }
  DType dtype() const override { return dtype_; }
  Device device() const override { return Device::Cpu; }
  size_t size() const override {
    std::shared_lock<std::shared_mutex> lk(mu_);
    return labels_.size();
  }
  bool contains(int64_t label) const override {
    std::shared_lock<std::shared_mutex> lk(mu_);
    return row_of_.count(label) > 0;
  }

  void add(const int64_t* labels, const float* vectors, size_t n) override {
    require_finite(vectors, n * dim_, "vectors");
    std::unique_lock<std::shared_mutex> lk(mu_);
    {  // validate first: the index is unchanged on error
      std::unordered_set<int64_t> fresh;
      fresh.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        if (row_of_.count(labels[i]) || !fresh.insert(labels[i]).second)
          throw Error(arbiter::codes::DUPLICATE_ID, "id " + std::to_string(labels[i]) + " is already in the index");
      }
    }
    const size_t n0 = labels_.size();
    const size_t need = div_up(n0 + n, kPanel) * kPanel * dim_;
    if (rows_.size() < need) rows_.resize(std::max(need, rows_.size() * 3 / 2));
    labels_.resize(n0 + n);
    norm2_.resize(n0 + n);
    inv_norm_.resize(n0 + n);
    row_of_.reserve(n0 + n);
    for (size_t i = 0; i < n; ++i) {
      write_row(n0 + i, vectors + i * dim_);
      labels_[n0 + i] = labels[i];
      row_of_[labels[i]] = n0 + i;
    }
  }

  size_t remove(const int64_t* labels, size_t n) override {
    std::unique_lock<std::shared_mutex> lk(mu_);
    size_t removed = 0;
    for (size_t i = 0; i < n; ++i) {
      auto it = row_of_.find(labels[i]);
      if (it == row_of_.end()) continue;
      const size_t r = it->second, last = labels_.size() - 1;
      row_of_.erase(it);
      if (r != last) {  // move the last row into the hole
        for (size_t t = 0; t < dim_; ++t)
          rows_[detail::panel_offset(r, t, dim_)] = rows_[detail::panel_offset(last, t, dim_)];
        labels_[r] = labels_[last];
        norm2_[r] = norm2_[last];
        inv_norm_[r] = inv_norm_[last];
        row_of_[labels_[r]] = r;
      }
      for (size_t t = 0; t < dim_; ++t) rows_[detail::panel_offset(last, t, dim_)] = T{};  // keep padding zero
      labels_.pop_back();
      norm2_.pop_back();
      inv_norm_.pop_back();
      ++removed;
    }
    return removed;
  }

  bool get(int64_t label, float* out) const override {
    std::shared_lock<std::shared_mutex> lk(mu_);
    auto it = row_of_.find(label);
    if (it == row_of_.end()) return false;
    for (size_t t = 0; t < dim_; ++t) out[t] = RowStore<T>::dec(rows_[detail::panel_offset(it->second, t, dim_)]);
    return true;
  }

  SearchResult search(const float* queries, size_t nq, size_t k, Metric metric) const override {
    require_finite(queries, nq * dim_, "queries");
    std::shared_lock<std::shared_mutex> lk(mu_);
    SearchResult res;
    res.k = std::min(k, labels_.size());
    if (nq == 0 || res.k == 0) return res;
    res.ids.resize(nq * res.k);
    res.scores.resize(nq * res.k);
    // Blocks of queries bound the candidate buffers (chunks x block x k entries) for any batch.
    const size_t block = std::clamp<size_t>((size_t{1} << 20) / res.k, 64, 4096);
    for (size_t q0 = 0; q0 < nq; q0 += block)
      search_block(queries + q0 * dim_, std::min(block, nq - q0), res.k, metric, res.ids.data() + q0 * res.k,
                   res.scores.data() + q0 * res.k);
    return res;
  }

 private:
  // Exact top-kk (kk <= size) for nq queries into ids/scores (nq x kk). Caller holds mu_ shared.
  void search_block(const float* queries, size_t nq, size_t kk, Metric metric, int64_t* out_ids,
                    float* out_scores) const;

  void write_row(size_t r, const float* v) {
    double ss = 0;
    for (size_t t = 0; t < dim_; ++t) {
      const T e = RowStore<T>::enc(v[t]);
      rows_[detail::panel_offset(r, t, dim_)] = e;
      const double x = RowStore<T>::dec(e);
      ss += x * x;
    }
    norm2_[r] = static_cast<float>(ss);
    inv_norm_[r] = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f;
  }

  size_t dim_;
  DType dtype_;
  mutable std::shared_mutex mu_;
  std::vector<T> rows_;          // panel-packed, zero padded
  std::vector<int64_t> labels_;  // row -> label
  std::vector<float> norm2_, inv_norm_;
  std::unordered_map<int64_t, size_t> row_of_;
};

template <typename T>
void CpuIndex<T>::search_block(const float* queries, size_t nq, size_t kk, Metric metric, int64_t* out_ids,
                               float* out_scores) const {
  const size_t n = labels_.size(), d = dim_;

  const size_t n_panels = div_up(n, kPanel);
  const size_t q_panels = div_up(nq, kMaxMr);
  // Tasks are chunks of row panels × groups of query panels; each keeps a top-k per query over its
  // rows, merged below. Many queries over a cache-sized index: groups of queries over all rows
  // (one top-k per query, so the fewest candidates pushed: a top-k filling from empty in every
  // chunk pushed ~6x more at 10,000 rows, where pushing is a large share of the work); otherwise
  // chunks of rows, each row block read once for all queries (every group would stream an index
  // that does not fit in cache from memory again: 100,000 x 256 fp32 rows, 64 queries, went
  // 3,252 -> 2,519 queries/s that way).
  const size_t threads = detail::pool_threads();
  size_t groups = 1, chunks = 1;
  if (q_panels >= threads * 4 && n * d * sizeof(T) <= kGroupedBytes) {
    groups = threads * 4;
  } else {
    const size_t min_panels = std::max<size_t>(1, (size_t{1} << 16) / std::max<size_t>(1, d * nq));  // ~64K MACs/chunk
    chunks = std::max<size_t>(1, std::min(std::min(n_panels, threads * 4), n_panels / min_panels));
  }
  const size_t per_chunk = div_up(n_panels, chunks);
  chunks = div_up(n_panels, per_chunk);
  const size_t per_group = div_up(q_panels, groups);
  groups = div_up(q_panels, per_group);

  thread_local std::vector<float> cand_s_buf;
  thread_local std::vector<int64_t> cand_i_buf;
  float* cand_s = detail::scratch(cand_s_buf, chunks * nq * kk);
  int64_t* cand_i = detail::scratch(cand_i_buf, chunks * nq * kk);
  const float* aux = metric == Metric::Cosine ? inv_norm_.data() : norm2_.data();

  const auto& K = detail::kernels();
  detail::parallel_for(chunks * groups, [&](size_t task, unsigned) {
    const size_t chunk = task / groups, group = task % groups;
    thread_local std::vector<float> tile_buf;
    thread_local std::vector<size_t> count_buf;
    float* tile = detail::scratch(tile_buf, kMaxMr * kBlockPanels * kPanel);
    size_t* counts = detail::scratch(count_buf, nq);
    const size_t qp0 = group * per_group, qp1 = std::min(q_panels, qp0 + per_group);
    const size_t qa = qp0 * kMaxMr, qb = std::min(nq, qp1 * kMaxMr);  // this task's queries
    std::fill(counts + qa, counts + qb, size_t{0});
    float* cs = cand_s + chunk * nq * kk;
    int64_t* ci = cand_i + chunk * nq * kk;
    const size_t p0 = chunk * per_chunk, p1 = std::min(n_panels, p0 + per_chunk);
    constexpr size_t ldc = kBlockPanels * kPanel;
    for (size_t bp = p0; bp < p1; bp += kBlockPanels) {
      const size_t bcount = std::min(kBlockPanels, p1 - bp);
      const size_t row0 = bp * kPanel;
      const size_t ncols = std::min(bcount * kPanel, n - row0);
      for (size_t qp = qp0; qp < qp1; ++qp) {
        const size_t q0 = qp * kMaxMr, mr = std::min(kMaxMr, nq - q0);
        const float* a = queries + q0 * d;
        detail::micro_panels(K, mr, a, d, rows_.data() + bp * kPanel * d, d, bcount, tile, ldc);
        for (size_t i = 0; i < mr; ++i) {
          float* row = tile + i * ldc;  // cosine and l2 are ranked by a monotone transform of the dot
          const float* ax = aux + row0;
          if (metric == Metric::Cosine) {
            for (size_t c = 0; c < ncols; ++c) row[c] *= ax[c];
          } else if (metric == Metric::L2) {
            for (size_t c = 0; c < ncols; ++c) row[c] = 2.f * row[c] - ax[c];
          }
          detail::TopK h{cs + (q0 + i) * kk, ci + (q0 + i) * kk, kk, counts[q0 + i]};
          for (size_t c = K.find_ge(row, ncols, h.threshold()); c < ncols;) {
            h.push(row[c], labels_[row0 + c]);
            ++c;
            c += K.find_ge(row + c, ncols - c, h.threshold());
          }
          counts[q0 + i] = h.n;
        }
      }
    }
    for (size_t q = qa; q < qb; ++q)  // pad short lists
      for (size_t j = counts[q]; j < kk; ++j) cs[q * kk + j] = std::numeric_limits<float>::quiet_NaN();
  });

  const size_t merge_tasks = std::min<size_t>(div_up(nq, 64), threads * 4);
  const size_t per_task = div_up(nq, merge_tasks);
  detail::parallel_for(merge_tasks, [&](size_t task, unsigned) {
    thread_local std::vector<float> m_s, t_s;
    thread_local std::vector<int64_t> m_i, t_i;
    float* gs = detail::scratch(m_s, chunks * kk);
    int64_t* gi = detail::scratch(m_i, chunks * kk);
    float* ts = detail::scratch(t_s, kk);
    int64_t* ti = detail::scratch(t_i, kk);
    const size_t qa0 = task * per_task, qa1 = std::min(nq, qa0 + per_task);
    for (size_t q = qa0; q < qa1; ++q) {
      for (size_t c = 0; c < chunks; ++c)
        for (size_t j = 0; j < kk; ++j) {
          gs[c * kk + j] = cand_s[(c * nq + q) * kk + j];
          gi[c * kk + j] = cand_i[(c * nq + q) * kk + j];
        }
      float* os = out_scores + q * kk;
      int64_t* oi = out_ids + q * kk;
      detail::merge_candidates(gs, gi, chunks * kk, kk, os, oi, ts, ti);
      double qn2 = 0;
      if (metric != Metric::InnerProduct) {
        const float* qv = queries + q * d;
        for (size_t t = 0; t < d; ++t) qn2 += static_cast<double>(qv[t]) * qv[t];
      }
      for (size_t j = 0; j < kk; ++j) {
        if (std::isnan(os[j])) continue;
        if (metric == Metric::Cosine) os[j] = qn2 > 0 ? static_cast<float>(os[j] / std::sqrt(qn2)) : 0.f;
        else if (metric == Metric::L2) os[j] = std::max(0.f, static_cast<float>(qn2 - os[j]));
      }
    }
  });
}

}  // namespace

std::unique_ptr<Index> make_cpu_index(size_t dim, DType dtype) {
  if (dtype == DType::F16) return std::make_unique<CpuIndex<uint16_t>>(dim, dtype);
  return std::make_unique<CpuIndex<float>>(dim, dtype);
}

}  // namespace arbiter
