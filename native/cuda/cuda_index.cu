// CUDA index: exact kNN by a GEMM (or a GEMV for a few queries) into scores, then a segmented
// top-k and merges; rows in fp32 or fp16 on the device.
#include "cuda_common.cuh"

namespace arbiter {
namespace {

// ---------- segmented top-k ----------
// Grid: x = query row (up to 2^31 - 1), y = segment (up to 65,535). Each block takes `seg`
// consecutive candidates of one query row; every thread keeps a sorted
// list of its best KCAP-bounded k in local memory, then the block merges the lists k times by
// an argmax reduction. Ties prefer the lower id (as on the CPU).
constexpr int kTopkThreads = 128;

__device__ __forceinline__ bool dbetter(float sa, long long ia, float sb, long long ib) {
  return sa > sb || (sa == sb && ia < ib);
}

template <int KCAP>
__global__ void topk_segments(const float* __restrict__ scores, const long long* __restrict__ ids, long ld_in,
                              int len, int seg, long long id_base, int k, float* __restrict__ out_s,
                              long long* __restrict__ out_i) {
  const int q = blockIdx.x, s = blockIdx.y;
  const float* row = scores + (long)q * ld_in;
  const long long* idrow = ids ? ids + (long)q * ld_in : nullptr;
  float ls[KCAP];
  long long li[KCAP];
  int n = 0;
  const int c0 = s * seg, c1 = min(len, c0 + seg);
  for (int c = c0 + threadIdx.x; c < c1; c += blockDim.x) {
    const float v = row[c];
    const long long id = idrow ? idrow[c] : id_base + c;
    if (id < 0 || isnan(v)) continue;
    if (n == k && !dbetter(v, id, ls[k - 1], li[k - 1])) continue;
    int p = n < k ? n++ : k - 1;
    while (p > 0 && dbetter(v, id, ls[p - 1], li[p - 1])) {
      ls[p] = ls[p - 1];
      li[p] = li[p - 1];
      --p;
    }
    ls[p] = v;
    li[p] = id;
  }
  __shared__ float rs[kTopkThreads / 32];
  __shared__ long long ri[kTopkThreads / 32];
  __shared__ int rw[kTopkThreads / 32];
  int head = 0;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  float* os = out_s + ((long)q * gridDim.y + s) * k;
  long long* oi = out_i + ((long)q * gridDim.y + s) * k;
  for (int r = 0; r < k; ++r) {
    float v = head < n ? ls[head] : -INFINITY;
    long long id = head < n ? li[head] : -1;
    int who = head < n ? (int)threadIdx.x : -1;
    for (int o = 16; o > 0; o >>= 1) {
      const float v2 = __shfl_xor_sync(0xffffffffu, v, o);
      const long long id2 = __shfl_xor_sync(0xffffffffu, id, o);
      const int w2 = __shfl_xor_sync(0xffffffffu, who, o);
      if (w2 >= 0 && (who < 0 || dbetter(v2, id2, v, id))) { v = v2; id = id2; who = w2; }
    }
    if (lane == 0) { rs[warp] = v; ri[warp] = id; rw[warp] = who; }
    __syncthreads();
    if (threadIdx.x == 0) {
      float bv = rs[0];
      long long bi = ri[0];
      int bw = rw[0];
      for (int w = 1; w < kTopkThreads / 32; ++w)
        if (rw[w] >= 0 && (bw < 0 || dbetter(rs[w], ri[w], bv, bi))) { bv = rs[w]; bi = ri[w]; bw = rw[w]; }
      os[r] = bw >= 0 ? bv : NAN;
      oi[r] = bw >= 0 ? bi : -1;
      rw[0] = bw;
    }
    __syncthreads();
    if ((int)threadIdx.x == rw[0]) ++head;
    __syncthreads();
  }
}

template <int KCAP>
void launch_topk(const float* sc, const long long* ids, long ld_in, int rows, int len, int seg, long long base, int k,
                 float* os, long long* oi) {
  dim3 grid(rows, (len + seg - 1) / seg);
  topk_segments<KCAP><<<grid, kTopkThreads>>>(sc, ids, ld_in, len, seg, base, k, os, oi);
  CK(cudaGetLastError());
}
void topk(const float* sc, const long long* ids, long ld_in, int rows, int len, int seg, long long base, int k,
          float* os, long long* oi) {
  if (k <= 16) launch_topk<16>(sc, ids, ld_in, rows, len, seg, base, k, os, oi);
  else if (k <= 64) launch_topk<64>(sc, ids, ld_in, rows, len, seg, base, k, os, oi);
  else launch_topk<256>(sc, ids, ld_in, rows, len, seg, base, k, os, oi);
}
constexpr int kCudaMaxK = 256;

// ---------- index ----------
template <typename T>
class CudaIndex final : public Index {
 public:
  CudaIndex(size_t dim, DType dtype) : dim_(dim), dtype_(dtype) {
    if (dim == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, "dim must be a positive integer");
    require_device();
  }
  size_t dim() const override { return dim_; }
  DType dtype() const override { return dtype_; }
  Device device() const override { return Device::Cuda; }
  size_t size() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return labels_.size();
  }
  bool contains(int64_t label) const override {
    std::lock_guard<std::mutex> lk(mu_);
    return row_of_.count(label) > 0;
  }
  void add(const int64_t* labels, const float* v, size_t n) override {
    require_finite(v, n * dim_, "vectors");
    std::lock_guard<std::mutex> lk(mu_);
    std::unordered_set<int64_t> fresh;
    for (size_t i = 0; i < n; ++i)
      if (row_of_.count(labels[i]) || !fresh.insert(labels[i]).second)
        throw Error(arbiter::codes::DUPLICATE_ID, "id " + std::to_string(labels[i]) + " is already in the index");
    const size_t n0 = labels_.size();
    std::vector<T> enc(n * dim_);
    std::vector<float> n2(n), inv(n);
    for (size_t i = 0; i < n; ++i) {
      double ss = 0;
      for (size_t t = 0; t < dim_; ++t) {
        const float x = v[i * dim_ + t];
        if constexpr (sizeof(T) == 2) {
          const uint16_t h = float_to_half(x);
          std::memcpy(&enc[i * dim_ + t], &h, 2);
          const double y = half_to_float(h);
          ss += y * y;
        } else {
          enc[i * dim_ + t] = x;
          ss += static_cast<double>(x) * x;
        }
      }
      n2[i] = static_cast<float>(ss);
      inv[i] = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f;
    }
    const size_t cap = std::max(n0 + n, cap_rows_ * 3 / 2);
    if (n0 + n > cap_rows_) {
      rows_.grow_keep(cap * dim_, n0 * dim_);
      norm2_.grow_keep(cap, n0);
      inv_.grow_keep(cap, n0);
      cap_rows_ = cap;
    }
    rows_.upload(enc.data(), n * dim_, n0 * dim_);
    norm2_.upload(n2.data(), n, n0);
    inv_.upload(inv.data(), n, n0);
    for (size_t i = 0; i < n; ++i) {
      labels_.push_back(labels[i]);
      row_of_[labels[i]] = n0 + i;
    }
  }
  size_t remove(const int64_t* labels, size_t n) override {
    std::lock_guard<std::mutex> lk(mu_);
    size_t removed = 0;
    for (size_t i = 0; i < n; ++i) {
      auto it = row_of_.find(labels[i]);
      if (it == row_of_.end()) continue;
      const size_t r = it->second, last = labels_.size() - 1;
      row_of_.erase(it);
      if (r != last) {
        CK(cudaMemcpy(rows_.get() + r * dim_, rows_.get() + last * dim_, dim_ * sizeof(T), cudaMemcpyDeviceToDevice));
        CK(cudaMemcpy(norm2_.get() + r, norm2_.get() + last, sizeof(float), cudaMemcpyDeviceToDevice));
        CK(cudaMemcpy(inv_.get() + r, inv_.get() + last, sizeof(float), cudaMemcpyDeviceToDevice));
        labels_[r] = labels_[last];
        row_of_[labels_[r]] = r;
      }
      labels_.pop_back();
      ++removed;
    }
    return removed;
  }
  bool get(int64_t label, float* out) const override {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = row_of_.find(label);
    if (it == row_of_.end()) return false;
    std::vector<T> h(dim_);
    rows_.download(h.data(), dim_, it->second * dim_);
    for (size_t t = 0; t < dim_; ++t) {
      if constexpr (sizeof(T) == 2) {
        uint16_t b;
        std::memcpy(&b, &h[t], 2);
        out[t] = half_to_float(b);
      } else {
        out[t] = h[t];
      }
    }
    return true;
  }

  SearchResult search(const float* queries, size_t nq, size_t k, Metric metric) const override {
    require_finite(queries, nq * dim_, "queries");
    std::lock_guard<std::mutex> lk(mu_);  // one search at a time per index: scratch buffers are shared
    SearchResult res;
    res.k = std::min(k, labels_.size());
    if (nq == 0 || res.k == 0) return res;
    if (res.k > static_cast<size_t>(kCudaMaxK))
      throw Error(arbiter::codes::UNSUPPORTED, "cuda search supports k <= " + std::to_string(kCudaMaxK));
    res.ids.resize(nq * res.k);
    res.scores.resize(nq * res.k);
    // Blocks of queries bound the score scratch (kQueryBlock x chunk floats) for any batch size.
    for (size_t q0 = 0; q0 < nq; q0 += kQueryBlock) {
      const size_t nb = std::min(kQueryBlock, nq - q0);
      search_block(queries + q0 * dim_, nb, res.k, metric, res.ids.data() + q0 * res.k, res.scores.data() + q0 * res.k);
    }
    return res;
  }

 private:
  static constexpr size_t kQueryBlock = 8192;

  // Exact top-kk for nq <= kQueryBlock queries, written to ids/scores (nq x kk). Holds mu_.
  void search_block(const float* queries, size_t nq, size_t kk_, Metric metric, int64_t* out_ids, float* out_scores) const {
    const size_t n = labels_.size(), d = dim_;
    const int kk = static_cast<int>(kk_);
    q_.resize(nq * d);
    q_.upload(queries, nq * d);
    const int mcode = metric == Metric::InnerProduct ? 0 : metric == Metric::Cosine ? 1 : 2;
    ScoreEpilogue epi{mcode, mcode == 1 ? inv_.get() : norm2_.get()};
    // Score a chunk of rows at a time (bounded scratch), fold each chunk into the running top-k.
    const size_t chunk = std::min(n, std::max<size_t>(4096, (size_t{64} << 20) / nq));  // <= 256 MiB of scores
    const int seg = 4096;
    const size_t max_segs = (chunk + seg - 1) / seg;
    scores_.resize(nq * chunk);
    cand_s_.resize(nq * (max_segs + 1) * kk);
    cand_i_.resize(nq * (max_segs + 1) * kk);
    best_s_.resize(nq * kk);
    best_i_.resize(nq * kk);
    const bool gemv = nq <= static_cast<size_t>(kGemvMaxQ) && nq * d * sizeof(float) <= 48 * 1024;
    for (size_t c0 = 0; c0 < n; c0 += chunk) {
      const size_t len = std::min(chunk, n - c0);
      ScoreEpilogue e = epi;
      e.aux += c0;
      const T* B = rows_.get() + c0 * d;
      if (gemv) {
        const int blocks = static_cast<int>(std::min<size_t>(4096, (len + 7) / 8));
        gemv_scores<<<blocks, 256, nq * d * sizeof(float)>>>(q_.get(), (int)nq, dev(B), (int)len, (int)d,
                                                              scores_.get(), (long)len, e);
      } else {
        dim3 grid(static_cast<unsigned>((len + TN - 1) / TN), static_cast<unsigned>((nq + TM - 1) / TM));
        gemm_nt<<<grid, 256>>>(q_.get(), dev(B), scores_.get(), (int)nq, (int)len, (int)d, (long)len, e);
      }
      CK(cudaGetLastError());
      const int segs = static_cast<int>((len + seg - 1) / seg);
      // stage 1: per-segment top-k of this chunk (ids are global row numbers)
      topk(scores_.get(), nullptr, (long)len, (int)nq, (int)len, seg, (long long)c0, kk,
           cand_s_.get() + 0, cand_i_.get() + 0);
      // stage 2: merge segments (+ the running best from earlier chunks) into best
      const int width = segs * kk;
      if (c0 > 0) {
        // the running best from earlier chunks joins as one more segment: [nq x (width + kk)]
        merge_prev(width, kk, (int)nq);
        topk(cand2_s_.get(), cand2_i_.get(), (long)(width + kk), (int)nq, width + kk, width + kk, 0, kk,
             best_s_.get(), best_i_.get());
      } else {
        topk(cand_s_.get(), cand_i_.get(), (long)width, (int)nq, width, width, 0, kk, best_s_.get(), best_i_.get());
      }
    }
    CK(cudaDeviceSynchronize());
    std::vector<long long> rows(nq * kk);
    best_s_.download(out_scores, nq * kk);
    best_i_.download(rows.data(), nq * kk);
    for (size_t q = 0; q < nq; ++q) {
      double qn2 = 0;
      for (size_t t = 0; t < d; ++t) qn2 += static_cast<double>(queries[q * d + t]) * queries[q * d + t];
      for (int j = 0; j < kk; ++j) {
        const long long r = rows[q * kk + j];
        float& s = out_scores[q * kk + j];
        out_ids[q * kk + j] = r >= 0 ? labels_[static_cast<size_t>(r)] : -1;
        if (metric == Metric::Cosine) s = qn2 > 0 ? static_cast<float>(s / std::sqrt(qn2)) : 0.f;
        else if (metric == Metric::L2) s = std::max(0.f, static_cast<float>(qn2 - s));
      }
      // equal scores: order by label, as the CPU does
      float* ss = out_scores + q * kk;
      int64_t* ii = out_ids + q * kk;
      for (int a = 1; a < kk; ++a)
        for (int b = a; b > 0 && ss[b] == ss[b - 1] && ii[b] < ii[b - 1]; --b) std::swap(ii[b], ii[b - 1]);
    }
  }

  static const float* dev(const float* p) { return p; }
  static const __half* dev(const uint16_t* p) { return reinterpret_cast<const __half*>(p); }

  // cand2 = [cand (width) | best (kk)] per query row
  void merge_prev(int width, int kk, int nq) const {
    const size_t w2 = static_cast<size_t>(width + kk);
    cand2_s_.resize(nq * w2);
    cand2_i_.resize(nq * w2);
    CK(cudaMemcpy2D(cand2_s_.get(), w2 * sizeof(float), cand_s_.get(), width * sizeof(float), width * sizeof(float), nq,
                    cudaMemcpyDeviceToDevice));
    CK(cudaMemcpy2D(cand2_s_.get() + width, w2 * sizeof(float), best_s_.get(), kk * sizeof(float), kk * sizeof(float),
                    nq, cudaMemcpyDeviceToDevice));
    CK(cudaMemcpy2D(cand2_i_.get(), w2 * sizeof(long long), cand_i_.get(), width * sizeof(long long),
                    width * sizeof(long long), nq, cudaMemcpyDeviceToDevice));
    CK(cudaMemcpy2D(cand2_i_.get() + width, w2 * sizeof(long long), best_i_.get(), kk * sizeof(long long),
                    kk * sizeof(long long), nq, cudaMemcpyDeviceToDevice));
  }

  size_t dim_;
  DType dtype_;
  mutable std::mutex mu_;
  DeviceBuffer<T> rows_;  // row-major n x d (fp32, or fp16 bits)
  DeviceBuffer<float> norm2_, inv_;
  size_t cap_rows_ = 0;
  std::vector<int64_t> labels_;
  std::unordered_map<int64_t, size_t> row_of_;
  mutable DeviceBuffer<float> q_, scores_, cand_s_, best_s_, cand2_s_;
  mutable DeviceBuffer<long long> cand_i_, best_i_, cand2_i_;
};

}  // namespace

std::unique_ptr<Index> make_cuda_index(size_t dim, DType dtype) {
  if (dtype == DType::F16) return std::make_unique<CudaIndex<uint16_t>>(dim, dtype);
  return std::make_unique<CudaIndex<float>>(dim, dtype);
}

}  // namespace arbiter
