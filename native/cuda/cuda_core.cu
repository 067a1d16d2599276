// CUDA implementations of the three kernels. The CUDA runtime is linked statically, so this code
// loads on machines without a GPU or CUDA libraries; cuda_info() then reports why it is unusable.
// This unit: embedding pooling, the MLP, the device embedding table, and cuda_info(); the index is
// in cuda_index.cu, the kernels both use in cuda_common.cuh.
#include "cuda_common.cuh"

namespace arbiter {
namespace {

// ---------- pooling: one block per bag ----------
template <typename T>
__global__ void embed_pool_kernel(const T* __restrict__ table, int d, const int* __restrict__ ids,
                                  const int* __restrict__ offsets, const float* __restrict__ weights, int normalize,
                                  float* __restrict__ out) {
  const int b = blockIdx.x;
  const int j0 = offsets[b], j1 = offsets[b + 1];
  __shared__ float red[256];
  __shared__ float wsum_s;
  float local_ss = 0.f;
  float wsum = 0.f;
  for (int j = j0; j < j1; ++j) wsum += weights ? weights[j] : 1.f;
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    float acc = 0.f;
    for (int j = j0; j < j1; ++j) {
      const float w = weights ? weights[j] : 1.f;
      acc = fmaf(w, ld(table + (long)ids[j] * d + t), acc);
    }
    out[(long)b * d + t] = acc;
    local_ss += acc * acc;
  }
  red[threadIdx.x] = local_ss;
  if (threadIdx.x == 0) wsum_s = wsum;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if ((int)threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  const float ss = red[0];
  float scale;
  if (wsum_s <= 0.f) scale = 0.f;
  else if (normalize) scale = ss > 0.f ? rsqrtf(ss) : 0.f;
  else scale = 1.f / wsum_s;
  for (int t = threadIdx.x; t < d; t += blockDim.x) out[(long)b * d + t] *= scale;
}

__global__ void softmax_rows(float* y, int n, int m) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float* r = y + (long)i * m;
  float mx = r[0];
  for (int j = 1; j < m; ++j) mx = fmaxf(mx, r[j]);
  float sum = 0.f;
  for (int j = 0; j < m; ++j) { r[j] = __expf(r[j] - mx); sum += r[j]; }
  for (int j = 0; j < m; ++j) r[j] /= sum;
}

// ---------- MLP ----------
class CudaMlp final : public Mlp {
 public:
  explicit CudaMlp(std::vector<LayerSpec> layers) {
    validate_layers(layers);
    require_device();
    for (auto& L : layers) {
      auto dl = std::make_unique<DevLayer>();
      dl->in = L.in;
      dl->out = L.out;
      dl->act = L.activation;
      dl->w.resize(L.in * L.out);
      dl->w.upload(L.weight.data(), L.in * L.out);
      std::vector<float> b = L.bias.empty() ? std::vector<float>(L.out, 0.f) : L.bias;
      dl->b.resize(L.out);
      dl->b.upload(b.data(), L.out);
      layers_.push_back(std::move(dl));
    }
  }
  size_t in_dim() const override { return layers_.front()->in; }
  size_t out_dim() const override { return layers_.back()->out; }
  Device device() const override { return Device::Cuda; }
  void forward(const float* x, size_t n, float* out) const override {
    if (n == 0) return;
    require_finite(x, n * in_dim(), "x");
    std::lock_guard<std::mutex> lk(mu_);
    // Blocks of rows keep the grid's y dimension (<= 65,535 tiles of 64 rows) and scratch bounded.
    constexpr size_t kRowBlock = 1 << 18;
    for (size_t r0 = 0; r0 < n; r0 += kRowBlock)
      forward_block(x + r0 * in_dim(), std::min(kRowBlock, n - r0), out + r0 * out_dim());
  }

 private:
  void forward_block(const float* x, size_t n, float* out) const {
    size_t widest = 0;
    for (auto& L : layers_) widest = std::max({widest, L->in, L->out});
    a_.resize(n * widest);
    b_.resize(n * widest);
    a_.upload(x, n * in_dim());
    float* cur = a_.get();
    float* nxt = b_.get();
    for (auto& L : layers_) {
      const int act = L->act == Activation::Relu ? 1 : L->act == Activation::Gelu ? 2 : L->act == Activation::Sigmoid ? 3 : 0;
      dim3 grid(static_cast<unsigned>((L->out + TN - 1) / TN), static_cast<unsigned>((n + TM - 1) / TM));
      gemm_nt<<<grid, 256>>>(cur, L->w.get(), nxt, (int)n, (int)L->out, (int)L->in, (long)L->out,
                             BiasActEpilogue{L->b.get(), act});
      CK(cudaGetLastError());
      if (L->act == Activation::Softmax) {
        softmax_rows<<<static_cast<unsigned>((n + 127) / 128), 128>>>(nxt, (int)n, (int)L->out);
        CK(cudaGetLastError());
      }
      std::swap(cur, nxt);
    }
    CK(cudaMemcpy(out, cur, n * out_dim() * sizeof(float), cudaMemcpyDeviceToHost));
  }

  struct DevLayer {
    size_t in, out;
    Activation act;
    DeviceBuffer<float> w, b;
  };
  std::vector<std::unique_ptr<DevLayer>> layers_;
  mutable std::mutex mu_;
  mutable DeviceBuffer<float> a_, b_;
};

// ---------- embedding table ----------
class CudaTable final : public CudaEmbedTable {
 public:
  explicit CudaTable(const EmbedTableView& t) : vocab_(t.vocab), dim_(t.dim), dtype_(t.dtype) {
    require_device();
    const size_t bytes = t.vocab * t.dim * (t.dtype == DType::F16 ? 2 : 4);
    table_.resize(bytes);
    table_.upload(static_cast<const unsigned char*>(t.data), bytes);
  }
  void pool(const int32_t* ids, size_t n_ids, const int32_t* offsets, size_t n_bags, const float* weights,
            bool normalize, float* out) const override {
    if (n_bags == 0) return;
    if (offsets[0] != 0 || static_cast<size_t>(offsets[n_bags]) != n_ids)
      throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets must start at 0 and end at the number of ids");
    for (size_t i = 0; i < n_bags; ++i)
      if (offsets[i + 1] < offsets[i]) throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets must be non-decreasing");
    for (size_t j = 0; j < n_ids; ++j)
      if (ids[j] < 0 || static_cast<size_t>(ids[j]) >= vocab_)
        throw Error(arbiter::codes::OUT_OF_RANGE, "ids[" + std::to_string(j) + "] is outside the table");
    std::lock_guard<std::mutex> lk(mu_);
    ids_.resize(n_ids);
    ids_.upload(ids, n_ids);
    off_.resize(n_bags + 1);
    off_.upload(offsets, n_bags + 1);
    if (weights) {
      w_.resize(n_ids);
      w_.upload(weights, n_ids);
    }
    out_.resize(n_bags * dim_);
    const int threads = dim_ >= 256 ? 256 : dim_ >= 128 ? 128 : 64;
    if (dtype_ == DType::F16)
      embed_pool_kernel<<<static_cast<unsigned>(n_bags), threads>>>(reinterpret_cast<const __half*>(table_.get()), (int)dim_, ids_.get(),
                                             off_.get(), weights ? w_.get() : nullptr, normalize, out_.get());
    else
      embed_pool_kernel<<<static_cast<unsigned>(n_bags), threads>>>(reinterpret_cast<const float*>(table_.get()), (int)dim_, ids_.get(),
                                             off_.get(), weights ? w_.get() : nullptr, normalize, out_.get());
    CK(cudaGetLastError());
    out_.download(out, n_bags * dim_);
  }

 private:
  size_t vocab_, dim_;
  DType dtype_;
  DeviceBuffer<unsigned char> table_;
  mutable std::mutex mu_;
  mutable DeviceBuffer<int> ids_, off_;
  mutable DeviceBuffer<float> w_, out_;
};

}  // namespace

CudaInfo cuda_info() {
  static const CudaInfo info = [] {
    CudaInfo i;
    i.compiled = true;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      i.reason = std::string("no usable CUDA driver or device (") + cudaGetErrorString(e) + ")";
      return i;
    }
    i.device_count = n;
    if (n == 0) {
      i.reason = "no CUDA device found";
      return i;
    }
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) i.device = p.name;
    i.available = true;
    return i;
  }();
  return info;
}

std::unique_ptr<Mlp> make_cuda_mlp(std::vector<LayerSpec> layers) { return std::make_unique<CudaMlp>(std::move(layers)); }
std::unique_ptr<CudaEmbedTable> make_cuda_embed_table(const EmbedTableView& t) { return std::make_unique<CudaTable>(t); }

}  // namespace arbiter