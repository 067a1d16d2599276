// Shared by the CUDA translation units: error checks, a device buffer, and the NT GEMM and GEMV
// kernels the index (scores) and the MLP (layers) both run. Everything here has internal linkage
// (an anonymous namespace), so each .cu gets its own copy and no symbol crosses units.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "../src/topk.hpp"
#include "arbiter/core.hpp"

namespace arbiter {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(arbiter::codes::CUDA_ERROR, std::string(what) + ": " + cudaGetErrorString(e));
}
#define CK(x) check((x), #x)

// Owns one device allocation.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { resize(n); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void resize(size_t n) {  // discards contents
    if (n <= cap_) return;
    release();
    CK(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T)));
    cap_ = n;
  }
  void grow_keep(size_t n, size_t keep) {  // keeps the first `keep` elements
    if (n <= cap_) return;
    T* q = nullptr;
    CK(cudaMalloc(&q, n * sizeof(T)));
    if (keep) CK(cudaMemcpy(q, p_, keep * sizeof(T), cudaMemcpyDeviceToDevice));
    release();
    p_ = q;
    cap_ = n;
  }
  void upload(const T* h, size_t n, size_t at = 0) {
    if (n) CK(cudaMemcpy(p_ + at, h, n * sizeof(T), cudaMemcpyHostToDevice));
  }
  void download(T* h, size_t n, size_t at = 0) const {
    if (n) CK(cudaMemcpy(h, p_ + at, n * sizeof(T), cudaMemcpyDeviceToHost));
  }
  T* get() const { return p_; }

 private:
  void release() {
    if (p_) cudaFree(p_);
    p_ = nullptr;
    cap_ = 0;
  }
  T* p_ = nullptr;
  size_t cap_ = 0;
};

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const __half* p) { return __half2float(*p); }

// ---------- NT GEMM: C[i, j] = epi(sum_t A[i, t] * B[j, t], i, j) ----------
constexpr int TM = 64, TN = 64, TK = 16;  // 256 threads, 4 x 4 outputs each

struct ScoreEpilogue {  // kNN: monotone transform of the dot product for ranking
  int metric;           // 0 ip, 1 cos, 2 l2
  const float* aux;     // per row of B: inverse norm (cos) or squared norm (l2)
  __device__ float operator()(float s, int, int j) const {
    if (metric == 1) return s * aux[j];
    if (metric == 2) return 2.f * s - aux[j];
    return s;
  }
};
struct BiasActEpilogue {  // MLP: bias and element-wise activation (softmax runs after)
  const float* bias;
  int act;  // 0 none, 1 relu, 2 gelu, 3 sigmoid
  __device__ float operator()(float s, int, int j) const {
    float v = s + bias[j];
    if (act == 1) return v > 0.f ? v : 0.f;
    if (act == 2) return 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
    if (act == 3) return 1.f / (1.f + __expf(-v));
    return v;
  }
};

template <typename TB, typename Epi>
__global__ void gemm_nt(const float* __restrict__ A, const TB* __restrict__ B, float* __restrict__ C, int M, int N,
                        int K, long ldc, Epi epi) {
  __shared__ float As[TK][TM + 4];
  __shared__ float Bs[TK][TN + 4];
  const int tid = threadIdx.x;
  const int ty = tid / 16, tx = tid % 16;
  const int i0 = blockIdx.y * TM, j0 = blockIdx.x * TN;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += TK) {
    for (int e = tid; e < TM * TK; e += 256) {  // 64 rows x 16 dims of each operand
      const int r = e / TK, t = e % TK;
      const int gi = i0 + r, gj = j0 + r, gt = k0 + t;
      As[t][r] = (gi < M && gt < K) ? A[(long)gi * K + gt] : 0.f;
      Bs[t][r] = (gj < N && gt < K) ? ld(B + (long)gj * K + gt) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int t = 0; t < TK; ++t) {
      float a[4], b[4];
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        a[u] = As[t][ty * 4 + u];
        b[u] = Bs[t][tx * 4 + u];
      }
#pragma unroll
      for (int u = 0; u < 4; ++u)
#pragma unroll
        for (int v = 0; v < 4; ++v) acc[u][v] = fmaf(a[u], b[v], acc[u][v]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    const int i = i0 + ty * 4 + u;
    if (i >= M) continue;
#pragma unroll
    for (int v = 0; v < 4; ++v) {
      const int j = j0 + tx * 4 + v;
      if (j < N) C[(long)i * ldc + j] = epi(acc[u][v], i, j);
    }
  }
}

// ---------- GEMV for a few queries: one warp per row, queries in shared memory ----------
constexpr int kGemvMaxQ = 8;
template <typename TB>
__global__ void gemv_scores(const float* __restrict__ Q, int nq, const TB* __restrict__ B, int N, int K,
                            float* __restrict__ C, long ldc, ScoreEpilogue epi) {
  extern __shared__ float qs[];  // nq x K
  for (int e = threadIdx.x; e < nq * K; e += blockDim.x) qs[e] = Q[e];
  __syncthreads();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int j = blockIdx.x * warps + warp; j < N; j += gridDim.x * warps) {
    float acc[kGemvMaxQ] = {};
    const TB* row = B + (long)j * K;
    for (int t = lane; t < K; t += 32) {
      const float b = ld(row + t);
#pragma unroll
      for (int q = 0; q < kGemvMaxQ; ++q)
        if (q < nq) acc[q] = fmaf(qs[q * K + t], b, acc[q]);
    }
#pragma unroll
    for (int q = 0; q < kGemvMaxQ; ++q) {
      float v = acc[q];
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (q < nq && lane == 0) C[(long)q * ldc + j] = epi(v, q, j);
    }
  }
}

void require_device() {
  const CudaInfo info = cuda_info();
  if (!info.available) throw Error(arbiter::codes::CUDA_UNAVAILABLE, "CUDA is not available: " + info.reason);
}

}  // namespace
}  // namespace arbiter
