// The module: exports the classes (index.cpp, table.cpp, mlp.cpp, tokenizer.cpp) and the addon's
// functions (info, setThreads, forceGenericKernels, limitKernels). Shared pieces: binding.hpp.
#include "binding.hpp"

namespace arbiter::binding {
namespace {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {InstanceValue("Index", define_index(env)),
                          InstanceValue("EmbedTable", define_table(env)),
                          InstanceValue("Mlp", define_mlp(env)),
                          InstanceValue("Tokenizer", define_tokenizer(env)),
                          InstanceValue("Analyzer", define_analyzer(env)),
                          InstanceValue("RoutePass", define_route_pass(env)), InstanceMethod("info", &Addon::Info),
                          InstanceMethod("setThreads", &Addon::SetThreads),
                          InstanceMethod("forceGenericKernels", &Addon::ForceGeneric),
                          InstanceMethod("limitKernels", &Addon::LimitKernels)});
  }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto cpu = arbiter::cpu_info();
    const auto cu = arbiter::cuda_info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("simd", cpu.simd);
    o.Set("threads", cpu.threads);
    Napi::Object c = Napi::Object::New(env);
    c.Set("compiled", cu.compiled);
    c.Set("available", cu.available);
    c.Set("reason", cu.reason);
    c.Set("device", cu.device);
    c.Set("deviceCount", cu.device_count);
    o.Set("cuda", c);
    return o;
  }
  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      arbiter::set_threads(static_cast<unsigned>(count(info[0], "threads")));
      return info.Env().Undefined();
    });
  }
  Napi::Value ForceGeneric(const Napi::CallbackInfo& info) {
    arbiter::force_generic_kernels(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }
  // limitKernels('best' | 'avx512f' | 'avx2' | 'generic'): as ARBITER_KERNELS, for the whole process
  Napi::Value LimitKernels(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      if (!info[0].IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, "limit must be a string");
      arbiter::limit_kernels(info[0].As<Napi::String>().Utf8Value());
      return info.Env().Undefined();
    });
  }
};


}  // namespace
}  // namespace arbiter::binding

using arbiter::binding::Addon;
NODE_API_ADDON(Addon)
