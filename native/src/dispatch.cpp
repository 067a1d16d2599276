#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "arbiter/core.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace arbiter {
namespace detail {
namespace {
// 0: the widest supported; 1: at most AVX-512F (no BF16); 2: at most AVX2; 3: generic
int limit_of(const std::string& v) {
  return v == "generic" ? 3 : v == "avx2" ? 2 : v == "avx512f" ? 1 : v == "best" ? 0 : -1;
}
// ARBITER_KERNELS=avx512f|avx2|generic caps the width from the start (e.g. where AVX-512 lowers
// the clock more than it gains); an unknown value is ignored, as ARBITER_THREADS's are
int initial_limit() {
  const char* env = std::getenv("ARBITER_KERNELS");
  return std::max(0, limit_of(env ? env : ""));
}

std::atomic<int> g_limit{initial_limit()};

#if defined(ARBITER_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
// libgcc reports avx512f only when the OS saves the zmm state (XCR0), as it must
bool cpu_has_avx512() { return cpu_has_avx2() && __builtin_cpu_supports("avx512f"); }
bool cpu_has_avx512bf16() { return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16"); }
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
bool cpu_has_avx512bf16() { return false; }
#endif
}  // namespace

#if !defined(ARBITER_HAVE_AVX2)
const KernelTable* avx2_kernels() { return nullptr; }
#endif
#if !defined(ARBITER_HAVE_AVX512)
const KernelTable* avx512_kernels() { return nullptr; }
#endif
#if !defined(ARBITER_HAVE_AVX512BF16)
const KernelTable* avx512bf16_kernels() { return nullptr; }
#endif

bool bf16_supported() {
  static const bool yes = cpu_has_avx512bf16() && avx512bf16_kernels() != nullptr;
  return yes;
}

const KernelTable& kernels() {
  static const KernelTable* bf16 = bf16_supported() ? avx512bf16_kernels() : nullptr;
  static const KernelTable* avx512 = cpu_has_avx512() ? avx512_kernels() : nullptr;
  static const KernelTable* avx2 = cpu_has_avx2() ? avx2_kernels() : nullptr;
  const int limit = g_limit.load(std::memory_order_relaxed);
  if (bf16 && limit == 0) return *bf16;
  if (avx512 && limit <= 1) return *avx512;
  if (avx2 && limit <= 2) return *avx2;
  return generic_kernels();
}
}  // namespace detail

void require_finite(const float* x, size_t n, const char* param, size_t offset) {
  const size_t i = detail::kernels().find_nonfinite(x, n);
  if (i < n) throw Error(arbiter::codes::NOT_FINITE, std::string(param) + "[" + std::to_string(i + offset) + "] is not finite");
}

void limit_kernels(const std::string& widest) {
  const int limit = detail::limit_of(widest);
  if (limit < 0)
    throw Error(arbiter::codes::INVALID_ARGUMENT,
                "kernel limit must be best, avx512f, avx2 or generic, got '" + widest + "'");
  detail::g_limit.store(limit);
}
void force_generic_kernels(bool on) { limit_kernels(on ? "generic" : "best"); }

CpuInfo cpu_info() { return CpuInfo{detail::kernels().name, detail::pool_threads()}; }

DType parse_dtype(const std::string& s) {
  if (s == "f32" || s == "fp32" || s == "float32") return DType::F32;
  if (s == "f16" || s == "fp16" || s == "float16") return DType::F16;
  throw Error(arbiter::codes::INVALID_ARGUMENT, "dtype must be 'f32' or 'f16', got '" + s + "'");
}
Metric parse_metric(const std::string& s) {
  if (s == "ip" || s == "dot") return Metric::InnerProduct;
  if (s == "cos" || s == "cosine") return Metric::Cosine;
  if (s == "l2" || s == "l2sq") return Metric::L2;
  throw Error(arbiter::codes::INVALID_ARGUMENT, "metric must be 'ip', 'cos' or 'l2', got '" + s + "'");
}
Activation parse_activation(const std::string& s) {
  if (s == "none" || s == "linear" || s.empty()) return Activation::None;
  if (s == "relu") return Activation::Relu;
  if (s == "gelu") return Activation::Gelu;
  if (s == "sigmoid") return Activation::Sigmoid;
  if (s == "softmax") return Activation::Softmax;
  throw Error(arbiter::codes::INVALID_ARGUMENT, "activation must be none, relu, gelu, sigmoid or softmax, got '" + s + "'");
}

}  // namespace arbiter
