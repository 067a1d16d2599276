// The Mlp class: small dense heads, forward passes off the JS thread.
#include "binding.hpp"

namespace arbiter::binding {
namespace {

// new Mlp(layers: [{in, out, weight: Float32Array, bias?: Float32Array, activation: string}], device)
class MlpWrap : public Napi::ObjectWrap<MlpWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Mlp", {InstanceMethod("forward", &MlpWrap::Forward), InstanceMethod("forwardSync", &MlpWrap::ForwardSync),
                                      InstanceMethod("free", &MlpWrap::Free)});
  }
  explicit MlpWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MlpWrap>(info) {
    guard_sync(info.Env(), [&] {
      if (!info[0].IsArray()) throw Error(arbiter::codes::INVALID_ARGUMENT, "layers must be an array");
      auto arr = info[0].As<Napi::Array>();
      std::vector<arbiter::LayerSpec> layers;
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        const Napi::Value lv = arr.Get(i);
        if (!lv.IsObject()) throw Error(arbiter::codes::INVALID_ARGUMENT, "each layer must be an object");
        const Napi::Object o = lv.As<Napi::Object>();
        arbiter::LayerSpec L;
        L.in = count(o.Get("in"), "layer.in");
        L.out = count(o.Get("out"), "layer.out");
        auto w = typed<float>(o.Get("weight"), napi_float32_array, "layer.weight");
        L.weight.assign(w.Data(), w.Data() + w.ElementLength());
        const Napi::Value b = o.Get("bias");
        if (!b.IsUndefined() && !b.IsNull()) {
          auto bb = typed<float>(b, napi_float32_array, "layer.bias");
          L.bias.assign(bb.Data(), bb.Data() + bb.ElementLength());
        }
        const Napi::Value a = o.Get("activation");
        L.activation = arbiter::parse_activation(a.IsUndefined() ? "none" : str(a, "layer.activation"));
        layers.push_back(std::move(L));
      }
      mlp_ = device_of(info[1]) == arbiter::Device::Cuda ? std::shared_ptr<arbiter::Mlp>(arbiter::make_cuda_mlp(layers))
                                                          : std::shared_ptr<arbiter::Mlp>(arbiter::make_cpu_mlp(layers));
      return 0;
    });
  }

 private:
  // forward(x: Float32Array) -> Float32Array (n x out)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guard_async(info.Env(), [&]() -> Napi::Value {
      if (!mlp_) throw Error(arbiter::codes::FREED, "the MLP has been freed");
      auto net = mlp_;
      auto x = typed<float>(info[0], napi_float32_array, "x");
      if (x.ElementLength() % net->in_dim() != 0)
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "x.length must be a multiple of the input size");
      const size_t n = x.ElementLength() / net->in_dim();
      auto xv = copy_of(x);
      auto out = std::make_shared<std::vector<float>>(n * net->out_dim());
      auto* t = new Task(
          info.Env(), [net, xv, n, out] { net->forward(xv->data(), n, out->data()); },
          [out](Napi::Env env) -> Napi::Value { return to_js(env, *out); });
      t->keep(Value());
      auto p = t->promise();
      t->Queue();
      return p;
    });
  }
  // forwardSync(x) -> Float32Array: the same on the calling thread alone, for a few rows (where
  // handing the work to another thread costs more than doing it)
  Napi::Value ForwardSync(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      if (!mlp_) throw Error(arbiter::codes::FREED, "the MLP has been freed");
      auto x = typed<float>(info[0], napi_float32_array, "x");
      if (x.ElementLength() % mlp_->in_dim() != 0)
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "x.length must be a multiple of the input size");
      const size_t n = x.ElementLength() / mlp_->in_dim();
      const std::vector<float> xv(x.Data(), x.Data() + x.ElementLength());
      std::vector<float> out(n * mlp_->out_dim());
      const arbiter::SerialScope serial;
      mlp_->forward(xv.data(), n, out.data());
      return to_js(info.Env(), out);
    });
  }
  Napi::Value Free(const Napi::CallbackInfo& info) {
    mlp_.reset();
    return info.Env().Undefined();
  }
  std::shared_ptr<arbiter::Mlp> mlp_;
};


}  // namespace

Napi::Function define_mlp(Napi::Env env) { return MlpWrap::Define(env); }

}  // namespace arbiter::binding
