#include <atomic>
#include <string>

#include "arbiter/core.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace arbiter {
namespace detail {
namespace {
std::atomic<bool> g_force_generic{false};

bool cpu_has_avx2() {
#if defined(ARBITER_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}
}  // namespace

#if !defined(ARBITER_HAVE_AVX2)
const KernelTable* avx2_kernels() { return nullptr; }
#endif

const KernelTable& kernels() {
  static const bool has_avx2 = cpu_has_avx2() && avx2_kernels() != nullptr;
  if (has_avx2 && !g_force_generic.load(std::memory_order_relaxed)) return *avx2_kernels();
  return generic_kernels();
}
}  // namespace detail

void require_finite(const float* x, size_t n, const char* param, size_t offset) {
  const size_t i = detail::kernels().find_nonfinite(x, n);
  if (i < n) throw Error(arbiter::codes::NOT_FINITE, std::string(param) + "[" + std::to_string(i + offset) + "] is not finite");
}

void force_generic_kernels(bool on) { detail::g_force_generic.store(on); }

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
