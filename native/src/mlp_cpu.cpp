// Small dense networks. Each layer is x (n x in) times W^T with W (out x in) packed as 16-row
// panels, so the kNN micro-kernel serves here too; bias and activation are fused into the copy
// out of each tile.
#include <cmath>
#include <string>

#include "arbiter/core.hpp"
#include "kernels.hpp"
#include "mlp_common.hpp"
#include "panels.hpp"
#include "parallel.hpp"

namespace arbiter {

void validate_layers(const std::vector<LayerSpec>& layers) {
  if (layers.empty()) throw Error(arbiter::codes::INVALID_ARGUMENT, "an MLP needs at least one layer");
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& L = layers[l];
    const std::string where = "layers[" + std::to_string(l) + "]";
    if (L.in == 0 || L.out == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, where + " must have positive in and out sizes");
    if (l > 0 && L.in != layers[l - 1].out)
      throw Error(arbiter::codes::DIMENSION_MISMATCH, where + ".in (" + std::to_string(L.in) + ") must equal layers[" +
                                                std::to_string(l - 1) + "].out (" + std::to_string(layers[l - 1].out) + ")");
    if (L.weight.size() != L.in * L.out)
      throw Error(arbiter::codes::DIMENSION_MISMATCH, where + ".weight must have out*in = " + std::to_string(L.in * L.out) + " values");
    if (!L.bias.empty() && L.bias.size() != L.out)
      throw Error(arbiter::codes::DIMENSION_MISMATCH, where + ".bias must have out = " + std::to_string(L.out) + " values");
    if (L.activation == Activation::Softmax && l + 1 != layers.size())
      throw Error(arbiter::codes::INVALID_ARGUMENT, where + ": softmax is only allowed on the last layer");
    for (float v : L.weight)
      if (!std::isfinite(v)) throw Error(arbiter::codes::NOT_FINITE, where + ".weight contains a non-finite value");
    for (float v : L.bias)
      if (!std::isfinite(v)) throw Error(arbiter::codes::NOT_FINITE, where + ".bias contains a non-finite value");
  }
}

namespace {

using detail::div_up;
using detail::kMaxMr;
using detail::kPanel;

struct PackedLayer {
  size_t in, out;
  std::vector<float> w;  // panel-packed out x in
  std::vector<float> bias;
  Activation act;
};

class CpuMlp final : public Mlp {
 public:
  explicit CpuMlp(std::vector<LayerSpec> layers) {
    validate_layers(layers);
    for (auto& L : layers) {
      PackedLayer P{L.in, L.out, std::vector<float>(div_up(L.out, kPanel) * kPanel * L.in, 0.f), L.bias, L.activation};
      if (P.bias.empty()) P.bias.assign(L.out, 0.f);
      for (size_t r = 0; r < L.out; ++r)
        for (size_t t = 0; t < L.in; ++t) P.w[detail::panel_offset(r, t, L.in)] = L.weight[r * L.in + t];
      layers_.push_back(std::move(P));
    }
  }
  size_t in_dim() const override { return layers_.front().in; }
  size_t out_dim() const override { return layers_.back().out; }
  Device device() const override { return Device::Cpu; }

  void forward(const float* x, size_t n, float* out) const override {
    if (n == 0) return;
    // Rows are processed in groups; each group runs through all layers while it is hot in cache.
    constexpr size_t kRows = 8 * kMaxMr;
    const size_t groups = div_up(n, kRows);
    size_t widest = 0;
    for (const auto& L : layers_) widest = std::max({widest, L.in, div_up(L.out, kPanel) * kPanel});
    detail::parallel_for(groups, [&](size_t g, unsigned) {
      thread_local std::vector<float> a_buf, b_buf;
      const size_t r0 = g * kRows, rows = std::min(kRows, n - r0);
      float* cur = detail::scratch(a_buf, kRows * widest);
      float* nxt = detail::scratch(b_buf, kRows * widest);
      const float* src = x + r0 * in_dim();
      require_finite(src, rows * in_dim(), "x", r0 * in_dim());  // the group is then hot in cache for the kernel
      for (size_t l = 0; l < layers_.size(); ++l) {
        const PackedLayer& L = layers_[l];
        const size_t ldo = div_up(L.out, kPanel) * kPanel;
        const auto& K = detail::kernels();
        for (size_t q0 = 0; q0 < rows; q0 += kMaxMr) {
          const size_t mr = std::min(kMaxMr, rows - q0);
          detail::micro_panels(K, mr, src + q0 * L.in, L.in, L.w.data(), L.in, ldo / kPanel, nxt + q0 * ldo, ldo);
        }
        const bool last = l + 1 == layers_.size();
        for (size_t i = 0; i < rows; ++i) {
          float* y = last ? out + (r0 + i) * L.out : cur + i * L.out;
          const float* z = nxt + i * ldo;
          for (size_t j = 0; j < L.out; ++j) y[j] = z[j] + L.bias[j];
          detail::activate_row(L.act, y, L.out);
        }
        src = cur;  // next layer reads the compact activations
      }
    });
  }

 private:
  std::vector<PackedLayer> layers_;
};

}  // namespace

std::unique_ptr<Mlp> make_cpu_mlp(std::vector<LayerSpec> layers) { return std::make_unique<CpuMlp>(std::move(layers)); }

}  // namespace arbiter
