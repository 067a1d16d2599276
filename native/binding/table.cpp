// The EmbedTable class: a copied embedding table and async pooling over it.
#include "binding.hpp"

namespace arbiter::binding {
namespace {

constexpr napi_type_tag kTableTag = {0x6172626974657274ULL, 0x61626c6500000001ULL};

// new EmbedTable(table: Float32Array | Uint16Array (fp16 bits), vocab, dim, device)
class TableWrap : public Napi::ObjectWrap<TableWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EmbedTable", {InstanceMethod("pool", &TableWrap::Pool), InstanceMethod("free", &TableWrap::Free)});
  }
  explicit TableWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TableWrap>(info) {
    guard_sync(info.Env(), [&] {
      if (!info[0].IsTypedArray()) throw Error(arbiter::codes::INVALID_ARGUMENT, "table must be a Float32Array or Uint16Array");
      auto arr = info[0].As<Napi::TypedArray>();
      arbiter::DType dt;
      if (arr.TypedArrayType() == napi_float32_array) dt = arbiter::DType::F32;
      else if (arr.TypedArrayType() == napi_uint16_array) dt = arbiter::DType::F16;
      else throw Error(arbiter::codes::INVALID_ARGUMENT, "table must be a Float32Array or Uint16Array");
      const size_t vocab = count(info[1], "vocab"), dim = count(info[2], "dim");
      if (dim == 0 || arr.ElementLength() != vocab * dim)
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "table must hold vocab * dim values");
      info.This().As<Napi::Object>().TypeTag(&kTableTag);
      state_ = std::make_shared<TableState>();
      // the table is copied once: the caller may reuse, transfer or detach its buffer afterwards
      const auto* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
      state_->bytes.assign(src, src + arr.ByteLength());
      state_->view = {state_->bytes.data(), dt, vocab, dim};
      if (dt == arbiter::DType::F32)  // once per table: tables are immutable once handed over
        arbiter::require_finite(static_cast<const float*>(state_->view.data), vocab * dim, "table.data");
      if (device_of(info[3]) == arbiter::Device::Cuda) state_->cuda = arbiter::make_cuda_embed_table(state_->view);
      return 0;
    });
  }

 private:
  // pool(ids: Int32Array, offsets: Int32Array, weights: Float32Array | null, normalize) -> Float32Array
  Napi::Value Pool(const Napi::CallbackInfo& info) {
    return guard_async(info.Env(), [&]() -> Napi::Value {
      if (!state_) throw Error(arbiter::codes::FREED, "the embedding table has been freed");
      auto st = state_;
      auto ids = typed<int32_t>(info[0], napi_int32_array, "ids");
      auto off = typed<int32_t>(info[1], napi_int32_array, "offsets");
      const bool has_w = !info[2].IsNull() && !info[2].IsUndefined();
      Napi::Float32Array w;
      if (has_w) {
        w = typed<float>(info[2], napi_float32_array, "weights");
        if (w.ElementLength() != ids.ElementLength())
          throw Error(arbiter::codes::DIMENSION_MISMATCH, "weights must have one value per id");
      }
      const bool normalize = info[3].IsUndefined() ? true : info[3].ToBoolean().Value();
      if (off.ElementLength() == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets must have n + 1 entries");
      const size_t nb = off.ElementLength() - 1, n_ids = ids.ElementLength(), d = st->view.dim;
      auto iv = copy_of(ids);
      auto ov = copy_of(off);
      auto wv = has_w ? copy_of(w) : nullptr;
      // the worker writes native memory (a terminated thread's JS heap may be gone by then)
      auto out = std::make_shared<std::vector<float>>(nb * d);
      auto* t = new Task(
          info.Env(),
          [st, iv, n_ids, ov, nb, wv, normalize, out] {
            const float* wp = wv ? wv->data() : nullptr;
            if (st->cuda) st->cuda->pool(iv->data(), n_ids, ov->data(), nb, wp, normalize, out->data());
            else arbiter::embed_pool_cpu(st->view, iv->data(), n_ids, ov->data(), nb, wp, normalize, out->data());
          },
          [out](Napi::Env env) -> Napi::Value { return to_js(env, *out); });
      t->keep(Value());
      auto p = t->promise();
      t->Queue();
      return p;
    });
  }
  Napi::Value Free(const Napi::CallbackInfo& info) {
    state_.reset();  // in-flight work holds its own reference
    return info.Env().Undefined();
  }
  std::shared_ptr<TableState> state_;

 public:
  static std::shared_ptr<TableState> of(const Napi::Value& v) {
    auto st = tagged<TableWrap>(v, kTableTag, "table must be an EmbedTable")->state_;
    if (!st) throw Error(arbiter::codes::FREED, "the embedding table has been freed");
    return st;
  }
};


}  // namespace

Napi::Function define_table(Napi::Env env) { return TableWrap::Define(env); }
std::shared_ptr<TableState> table_of(const Napi::Value& v) { return TableWrap::of(v); }

}  // namespace arbiter::binding
