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

  void write_row(size_t r, const float* v) {
    thread_local std::vector<float> stored;  // the row as stored (after fp16 rounding), for the bf16 copy
    stored.resize(dim_);
    double ss = 0;
    for (size_t t = 0; t < dim_; ++t) {
      const T e = RowStore<T>::enc(v[t]);
      rows_[detail::panel_offset(r, t, dim_)] = e;
      stored[t] = RowStore<T>::dec(e);
      ss += static_cast<double>(stored[t]) * stored[t];
    }
    norm2_[r] = static_cast<float>(ss);
    inv_norm_[r] = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f;
    bf_.write(r, stored.data(), inv_norm_[r]);
  }

  size_t dim_;
  DType dtype_;
  mutable std::shared_mutex mu_;
  std::vector<T> rows_;          // panel-packed, zero padded
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

// The bf16 pass: every query's best kk by bf16 scores (a heap per chunk of rows, as the exact
// search keeps) and, beside it, every row whose bf16 score lies within two window widths of that
// heap's k-th (bf16_rows.hpp): the rows that can be in the exact top-k. The k-th only rises as the
// scan goes, so a row below the margin when seen can never be needed; those the buffer holds are
// dropped when it fills. After the scan the rows within the margin of the k-th over all chunks are
// rescored with the exact kernel (one query against each one's row panel: the scores the exact
// search gives a lone query) and ranked. A query with more rows in doubt than a buffer holds, or
// that the bound does not cover (zero norm, a value beyond 2^32), is searched exactly. (This took
// the place of a 64-row heap per query, whose pushes cost as much as the bf16 dot products.)
template <typename T>
void CpuIndex<T>::search_block_bf16(const detail::KernelTable& K, const float* queries, size_t nq, size_t kk,
                                    int64_t* out_ids, float* out_scores) const {
  const size_t d = dim_, d2 = bf_.d2();
  std::vector<uint32_t> pairs(nq * d2);
  std::vector<detail::Bf16Vector> qv(nq);
  std::vector<double> margin(nq);
  for (size_t q = 0; q < nq; ++q) {
    qv[q] = detail::to_bf16_pairs(queries + q * d, d, pairs.data() + q * d2);
    margin[q] = 2 * detail::bf16_window(d2, qv[q], bf_);
  }
  const Split sp = split(nq, labels_.size() * 2 * d2 * sizeof(uint16_t));
  const size_t lists = sp.chunks * nq, cap = doubt_rows(kk);  // one heap and one buffer per chunk and query
  std::vector<float> heap_s(lists * kk, std::numeric_limits<float>::quiet_NaN());
  std::vector<int64_t> heap_i(lists * kk);
  std::vector<float> doubt_s(lists * cap);
  std::vector<uint32_t> doubt_r(lists * cap);
  std::vector<uint32_t> doubt_n(lists, 0);
  std::vector<char> overflow(lists, 0);
  // the lowest float at or below (k-th - margin), in double: a row below it is out of doubt
  auto floor_of = [&](float kth, size_t q) {
    const double lo = static_cast<double>(kth) - margin[q];
    float f = static_cast<float>(lo);
    if (static_cast<double>(f) > lo) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
  };
  detail::parallel_for(sp.tasks(), [&](size_t task, unsigned) {
    thread_local std::vector<size_t> count_buf;
    size_t* counts = detail::scratch(count_buf, nq);
    std::fill(counts, counts + nq, size_t{0});
    const size_t chunk = task / sp.groups;
    walk(
        sp, task, nq, Metric::Cosine,
        [&](size_t q0, size_t mr, size_t bp, size_t bcount, float* tile, size_t ldc) {
          detail::micro_panels_bf16(K, mr, pairs.data() + q0 * d2, d2, bf_.data() + bp * 2 * kPanel * d2, d2, bcount,
                                    tile, ldc);
        },
        [&](size_t q, const float* row, size_t row0, size_t ncols) {
          const size_t list = chunk * nq + q;
          detail::TopK h{heap_s.data() + list * kk, heap_i.data() + list * kk, kk, counts[q]};
          float* ds = doubt_s.data() + list * cap;
          uint32_t* dr = doubt_r.data() + list * cap;
          uint32_t& dn = doubt_n[list];
          float lo = floor_of(h.threshold(), q);
          for (size_t c = K.find_ge(row, ncols, lo); c < ncols;) {
            const float v = row[c];
            h.push(v, static_cast<int64_t>(row0 + c));
            lo = floor_of(h.threshold(), q);
            if (dn == cap) {  // full: keep the rows still in doubt
              uint32_t kept = 0;
              for (uint32_t j = 0; j < dn; ++j)
                if (ds[j] >= lo) {
                  ds[kept] = ds[j];
                  dr[kept++] = dr[j];
                }
              dn = kept;
            }
            if (dn < cap) {
              ds[dn] = v;
              dr[dn++] = static_cast<uint32_t>(row0 + c);
            } else {
              overflow[list] = 1;  // more rows in doubt than a buffer holds
            }
            ++c;
            c += K.find_ge(row + c, ncols - c, lo);
          }
          counts[q] = h.n;
        });
  });
  // per query: the k-th bf16 score over all chunks, then the rows within the margin below it
  std::vector<float> best_s(nq * kk);
  std::vector<int64_t> best_i(nq * kk);
  merge_chunks(sp.chunks, nq, kk, heap_s.data(), heap_i.data(), best_s.data(), best_i.data());
  std::vector<char> redo(nq, 0);
  for (size_t l = 0; l < lists; ++l)
    if (overflow[l]) redo[l % nq] = 1;
  detail::parallel_for(div_up(nq, 16), [&](size_t task, unsigned) {
    thread_local std::vector<float> hs, dots;
    thread_local std::vector<int64_t> hi;
    thread_local std::vector<uint32_t> rows_buf, lanes_buf;
    thread_local std::vector<const T*> panels_buf;
    float* h_s = detail::scratch(hs, kk);
    int64_t* h_i = detail::scratch(hi, kk);
    for (size_t q = task * 16; q < std::min(nq, task * 16 + 16); ++q) {
      const double lo = static_cast<double>(best_s[q * kk + kk - 1]) - margin[q];
      if (redo[q] || !qv[q].ok || !(qv[q].norm > 0) || std::isnan(lo)) {
        redo[q] = 1;
        continue;
      }
      // the rows in doubt, scored exactly: each row's lane of its panel, several panels at a time
      rows_buf.clear();
      for (size_t c = 0; c < sp.chunks; ++c) {
        const size_t list = c * nq + q;
        for (uint32_t j = 0; j < doubt_n[list]; ++j)
          if (static_cast<double>(doubt_s[list * cap + j]) >= lo) rows_buf.push_back(doubt_r[list * cap + j]);
      }
      const size_t m = rows_buf.size();
      const T** panels = detail::scratch(panels_buf, m);
      uint32_t* lanes = detail::scratch(lanes_buf, m);
      float* dot = detail::scratch(dots, m);
      for (size_t j = 0; j < m; ++j) {
        panels[j] = rows_.data() + (rows_buf[j] / kPanel) * kPanel * d;
        lanes[j] = static_cast<uint32_t>(rows_buf[j] % kPanel);
      }
      detail::score_lanes(K, queries + q * d, panels, lanes, m, d, dot);
      detail::TopK h{h_s, h_i, kk};
      for (size_t j = 0; j < m; ++j) {
        const size_t r = rows_buf[j];
        const float s = dot[j] * inv_norm_[r];
        h.push(static_cast<float>(s / qv[q].norm), labels_[r]);
      }
      detail::drain_sorted(h, out_scores + q * kk, out_ids + q * kk);
    }
  });
  std::vector<float> again;
  std::vector<size_t> which;
  for (size_t q = 0; q < nq; ++q)
    if (redo[q]) {
      which.push_back(q);
      again.insert(again.end(), queries + q * d, queries + (q + 1) * d);
    }
  if (which.empty()) return;
  std::vector<int64_t> ids(which.size() * kk);
  std::vector<float> scores(which.size() * kk);
  search_block(again.data(), which.size(), kk, Metric::Cosine, ids.data(), scores.data());
  for (size_t j = 0; j < which.size(); ++j) {
    std::copy_n(ids.data() + j * kk, kk, out_ids + which[j] * kk);
    std::copy_n(scores.data() + j * kk, kk, out_scores + which[j] * kk);
  }
}

}  // namespace

std::unique_ptr<Index> make_cpu_index(size_t dim, DType dtype) {
  if (dtype == DType::F16) return std::make_unique<CpuIndex<uint16_t>>(dim, dtype);
  return std::make_unique<CpuIndex<float>>(dim, dtype);
}

}  // namespace arbiter
