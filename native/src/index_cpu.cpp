// Exact kNN over rows held in native memory as 16-row panels (see kernels.hpp). Search is a
// blocked matrix product: a block of row panels (~256 rows) stays in L2 while every query panel
// is multiplied against it by the micro-kernel, and each tile of scores is folded into per-query
// top-k heaps at once, so the full score matrix is never materialised.
#include <cmath>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "arbiter/core.hpp"
#include "arbiter/huge_pages.hpp"
#include "bf16_rows.hpp"
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
// Rows a query's bf16 pass holds in doubt per chunk of rows beyond its k best (search_block_bf16);
// more, and the query is searched exactly (none of the route bench's 20,000 real prompts needed more).
constexpr size_t kWindowRows = 128;
// The buffer of doubt per chunk and query: the k best and the rows in doubt below them.
inline size_t doubt_rows(size_t kk) { return kk + kWindowRows; }
// Largest index (bytes of rows) searched in query groups rather than row chunks (see search_block).
constexpr size_t kGroupedBytes = size_t{8} << 20;

// Per query the best kk of its chunks' candidate lists (chunk c's at cand + (c * nq + q) * kk,
// NaN-padded), sorted best first.
void merge_chunks(size_t chunks, size_t nq, size_t kk, const float* cand_s, const int64_t* cand_i, float* out_scores,
                  int64_t* out_ids) {
  const size_t merge_tasks = std::min<size_t>(div_up(nq, 64), detail::pool_threads() * 4);
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
      detail::merge_candidates(gs, gi, chunks * kk, kk, out_scores + q * kk, out_ids + q * kk, ts, ti);
    }
  });
}

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
  CpuIndex(size_t dim, DType dtype) : dim_(dim), dtype_(dtype), bf_(dim) {
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
    bf_.reserve(n0 + n);
    const auto& K = detail::kernels();
    for (size_t i = 0; i < n; ++i) {
      write_row(n0 + i, vectors + i * dim_, K);
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
      bf_.move(r, last);
      labels_.pop_back();
      norm2_.pop_back();
      inv_norm_.pop_back();
      ++removed;
    }
    if (removed)  // a copy dropped for its size or a value may fit again
      bf_.rebuild(
          labels_.size(), [&](size_t r, float* out) { read_row(r, out); }, [&](size_t r) { return inv_norm_[r]; });
    return removed;
  }

  bool get(int64_t label, float* out) const override {
    std::shared_lock<std::shared_mutex> lk(mu_);
    auto it = row_of_.find(label);
    if (it == row_of_.end()) return false;
    read_row(it->second, out);
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
    // the table read once: another thread may change the limit meanwhile (limit_kernels); a small
    // index is searched exactly (as cheap)
    const auto& K = detail::kernels();
    const bool bf16 =
        metric == Metric::Cosine && bf_.usable() && K.micro2_bf16[1] != nullptr && labels_.size() >= 4 * res.k;
    // Blocks of queries bound the candidate buffers (chunks x block x k entries, and the bf16
    // pass's chunks x block x doubt_rows(k)) for any batch.
    const size_t block = std::clamp<size_t>((size_t{1} << 20) / (bf16 ? doubt_rows(res.k) * 8 : res.k), 64, 4096);
    for (size_t q0 = 0; q0 < nq; q0 += block) {
      const size_t m = std::min(block, nq - q0);
      int64_t* ids = res.ids.data() + q0 * res.k;
      float* scores = res.scores.data() + q0 * res.k;
      if (bf16) search_block_bf16(K, queries + q0 * dim_, m, res.k, ids, scores);
      else search_block(queries + q0 * dim_, m, res.k, metric, ids, scores);
    }
    return res;
  }

 private:
  // Exact top-kk (kk <= size) for nq queries into ids/scores (nq x kk). Caller holds mu_ shared.
  void search_block(const float* queries, size_t nq, size_t kk, Metric metric, int64_t* out_ids,
                    float* out_scores) const;
  // The same for cosine, by the bf16 pass and the exact kernel on the rows it leaves in doubt.
  void search_block_bf16(const detail::KernelTable& K, const float* queries, size_t nq, size_t kk, int64_t* out_ids,
                         float* out_scores) const;

  // How a scan of nq queries splits into tasks: chunks of row panels x groups of query panels.
  struct Split {
    size_t chunks = 1, groups = 1, per_chunk = 0, per_group = 0, n_panels = 0, q_panels = 0;
    size_t tasks() const { return chunks * groups; }
  };
  // `bytes`: the rows' size as the tiles read them.
  Split split(size_t nq, size_t bytes) const;
  // One task's tiles: `tile(q0, mr, bp, bcount, out, ldc)` writes the scores of query rows [q0, q0 +
  // mr) against row panels [bp, bp + bcount), which are multiplied by aux (cosine: 1/|row|; l2:
  // 2 dot - |row|^2), then `visit(q, row, row0, ncols)` gets each query's scores of rows [row0,
  // row0 + ncols). Returns the task's queries [qa, qb).
  template <typename Tile, typename Visit>
  std::pair<size_t, size_t> walk(const Split& sp, size_t task, size_t nq, Metric metric, Tile&& tile,
                                 Visit&& visit) const;
  // Per query the best kk by the tiles' scores, sorted best first; ids are labels (with_labels) or
  // row numbers.
  template <typename Tile>
  void scan(size_t nq, size_t kk, Metric metric, size_t bytes, bool with_labels, Tile&& tile, int64_t* out_ids,
            float* out_scores) const;

  void read_row(size_t r, float* out) const {
    for (size_t t = 0; t < dim_; ++t) out[t] = RowStore<T>::dec(rows_[detail::panel_offset(r, t, dim_)]);
  }

  // Row r from v: stored (fp16 rows rounded by the table's bulk conversions, the same bits as
  // float_to_half), its squared norm (a double sum in dimension order) and its bf16 copy.
  void write_row(size_t r, const float* v, const detail::KernelTable& K) {
    thread_local std::vector<float> stored_buf;  // the row as stored (after fp16 rounding), for the bf16 copy
    thread_local std::vector<T> enc_buf;
    const float* stored = v;
    const T* enc = nullptr;
    if constexpr (std::is_same_v<T, float>) {
      enc = v;
    } else {
      enc_buf.resize(dim_);
      stored_buf.resize(dim_);
      K.float_to_half_n(v, enc_buf.data(), dim_);
      K.half_to_float_n(enc_buf.data(), stored_buf.data(), dim_);
      enc = enc_buf.data();
      stored = stored_buf.data();
    }
    T* panel = rows_.data() + detail::panel_offset(r, 0, dim_);
    double ss = 0;
    for (size_t t = 0; t < dim_; ++t) {
      panel[t * detail::kPanel] = enc[t];
      ss += static_cast<double>(stored[t]) * stored[t];
    }
    norm2_[r] = static_cast<float>(ss);
    inv_norm_[r] = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f;
    bf_.write(r, stored, inv_norm_[r]);
  }

  size_t dim_;
  DType dtype_;
  mutable std::shared_mutex mu_;
  HugeVector<T> rows_;  // panel-packed, zero padded
  std::vector<int64_t> labels_;  // row -> label
  std::vector<float> norm2_, inv_norm_;
  std::unordered_map<int64_t, size_t> row_of_;
  detail::Bf16Rows bf_;  // the rows in bf16 for the cosine search's first pass, where the CPU has it
};

template <typename T>
typename CpuIndex<T>::Split CpuIndex<T>::split(size_t nq, size_t bytes) const {
  Split sp;
  sp.n_panels = div_up(labels_.size(), kPanel);
  sp.q_panels = div_up(nq, kMaxMr);
  // Tasks are chunks of row panels × groups of query panels; each keeps a top-k per query over its
  // rows, merged below. Many queries over a cache-sized index: groups of queries over all rows
  // (one top-k per query, so the fewest candidates pushed: a top-k filling from empty in every
  // chunk pushed ~6x more at 10,000 rows, where pushing is a large share of the work); otherwise
  // chunks of rows, each row block read once for all queries (every group would stream an index
  // that does not fit in cache from memory again: 100,000 x 256 fp32 rows, 64 queries, went
  // 3,252 -> 2,519 queries/s that way).
  const size_t threads = detail::pool_threads();
  if (sp.q_panels >= threads * 4 && bytes <= kGroupedBytes) {
    sp.groups = threads * 4;
  } else {
    const size_t min_panels = std::max<size_t>(1, (size_t{1} << 16) / std::max<size_t>(1, dim_ * nq));  // ~64K MACs/chunk
    sp.chunks = std::max<size_t>(1, std::min(std::min(sp.n_panels, threads * 4), sp.n_panels / min_panels));
  }
  sp.per_chunk = div_up(sp.n_panels, sp.chunks);
  sp.chunks = div_up(sp.n_panels, sp.per_chunk);
  sp.per_group = div_up(sp.q_panels, sp.groups);
  sp.groups = div_up(sp.q_panels, sp.per_group);
  return sp;
}

template <typename T>
template <typename Tile, typename Visit>
std::pair<size_t, size_t> CpuIndex<T>::walk(const Split& sp, size_t task, size_t nq, Metric metric, Tile&& tile,
                                            Visit&& visit) const {
  const size_t n = labels_.size();
  const size_t chunk = task / sp.groups, group = task % sp.groups;
  thread_local std::vector<float> tile_buf;
  float* scores = detail::scratch(tile_buf, kMaxMr * kBlockPanels * kPanel);
  const size_t qp0 = group * sp.per_group, qp1 = std::min(sp.q_panels, qp0 + sp.per_group);
  const float* aux = metric == Metric::Cosine ? inv_norm_.data() : norm2_.data();
  const size_t p0 = chunk * sp.per_chunk, p1 = std::min(sp.n_panels, p0 + sp.per_chunk);
  constexpr size_t ldc = kBlockPanels * kPanel;
  for (size_t bp = p0; bp < p1; bp += kBlockPanels) {
    const size_t bcount = std::min(kBlockPanels, p1 - bp);
    const size_t row0 = bp * kPanel;
    const size_t ncols = std::min(bcount * kPanel, n - row0);
    for (size_t qp = qp0; qp < qp1; ++qp) {
      const size_t q0 = qp * kMaxMr, mr = std::min(kMaxMr, nq - q0);
      tile(q0, mr, bp, bcount, scores, ldc);
      for (size_t i = 0; i < mr; ++i) {
        float* row = scores + i * ldc;  // cosine and l2 are ranked by a monotone transform of the dot
        const float* ax = aux + row0;
        if (metric == Metric::Cosine) {
          for (size_t c = 0; c < ncols; ++c) row[c] *= ax[c];
        } else if (metric == Metric::L2) {
          for (size_t c = 0; c < ncols; ++c) row[c] = 2.f * row[c] - ax[c];
        }
        visit(q0 + i, row, row0, ncols);
      }
    }
  }
  return {qp0 * kMaxMr, std::min(nq, qp1 * kMaxMr)};
}

template <typename T>
template <typename Tile>
void CpuIndex<T>::scan(size_t nq, size_t kk, Metric metric, size_t bytes, bool with_labels, Tile&& tile,
                       int64_t* out_ids, float* out_scores) const {
  const Split sp = split(nq, bytes);
  thread_local std::vector<float> cand_s_buf;
  thread_local std::vector<int64_t> cand_i_buf;
  float* cand_s = detail::scratch(cand_s_buf, sp.chunks * nq * kk);
  int64_t* cand_i = detail::scratch(cand_i_buf, sp.chunks * nq * kk);
  const auto& K = detail::kernels();
  detail::parallel_for(sp.tasks(), [&](size_t task, unsigned) {
    thread_local std::vector<size_t> count_buf;
    size_t* counts = detail::scratch(count_buf, nq);
    std::fill(counts, counts + nq, size_t{0});
    float* cs = cand_s + (task / sp.groups) * nq * kk;
    int64_t* ci = cand_i + (task / sp.groups) * nq * kk;
    const auto [qa, qb] = walk(sp, task, nq, metric, tile, [&](size_t q, const float* row, size_t row0, size_t ncols) {
      detail::TopK h{cs + q * kk, ci + q * kk, kk, counts[q]};
      for (size_t c = K.find_ge(row, ncols, h.threshold()); c < ncols;) {
        h.push(row[c], with_labels ? labels_[row0 + c] : static_cast<int64_t>(row0 + c));
        ++c;
        c += K.find_ge(row + c, ncols - c, h.threshold());
      }
      counts[q] = h.n;
    });
    for (size_t q = qa; q < qb; ++q)  // pad short lists
      for (size_t j = counts[q]; j < kk; ++j) cs[q * kk + j] = std::numeric_limits<float>::quiet_NaN();
  });
  merge_chunks(sp.chunks, nq, kk, cand_s, cand_i, out_scores, out_ids);
}

template <typename T>
void CpuIndex<T>::search_block(const float* queries, size_t nq, size_t kk, Metric metric, int64_t* out_ids,
                               float* out_scores) const {
  const size_t d = dim_;
  const auto& K = detail::kernels();
  scan(
      nq, kk, metric, labels_.size() * d * sizeof(T), true,
      [&](size_t q0, size_t mr, size_t bp, size_t bcount, float* tile, size_t ldc) {
        detail::micro_panels(K, mr, queries + q0 * d, d, rows_.data() + bp * kPanel * d, d, bcount, tile, ldc);
      },
      out_ids, out_scores);
  for (size_t q = 0; q < nq; ++q) {
    double qn2 = 0;
    if (metric != Metric::InnerProduct) {
      const float* qv = queries + q * d;
      for (size_t t = 0; t < d; ++t) qn2 += static_cast<double>(qv[t]) * qv[t];
    }
    float* os = out_scores + q * kk;
    for (size_t j = 0; j < kk; ++j) {
      if (std::isnan(os[j])) continue;
      if (metric == Metric::Cosine) os[j] = qn2 > 0 ? static_cast<float>(os[j] / std::sqrt(qn2)) : 0.f;
      else if (metric == Metric::L2) os[j] = std::max(0.f, static_cast<float>(qn2 - os[j]));
    }
  }
}

#include "index_cpu_bf16.inl"

}  // namespace

std::unique_ptr<Index> make_cpu_index(size_t dim, DType dtype) {
  if (dtype == DType::F16) return std::make_unique<CpuIndex<uint16_t>>(dim, dtype);
  return std::make_unique<CpuIndex<float>>(dim, dtype);
}

}  // namespace arbiter
