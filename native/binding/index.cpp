// The Index class: add, remove, search (async), size, get, free.
#include "binding.hpp"

namespace arbiter::binding {
namespace {

constexpr napi_type_tag kIndexTag = {0x6172626974657269ULL, 0x6e64657800000001ULL};

class IndexWrap : public Napi::ObjectWrap<IndexWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Index",
                       {InstanceMethod("add", &IndexWrap::Add), InstanceMethod("remove", &IndexWrap::Remove),
                        InstanceMethod("search", &IndexWrap::Search), InstanceMethod("size", &IndexWrap::Size),
                        InstanceMethod("get", &IndexWrap::Get), InstanceMethod("getRows", &IndexWrap::GetRows),
                        InstanceMethod("free", &IndexWrap::Free)});
  }
  // new Index(dim, dtype, device)
  explicit IndexWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IndexWrap>(info) {
    guard_sync(info.Env(), [&] {
      info.This().As<Napi::Object>().TypeTag(&kIndexTag);
      const size_t dim = count(info[0], "dim");
      const auto dtype = arbiter::parse_dtype(info[1].IsUndefined() ? "f32" : str(info[1], "dtype"));
      const auto dev = device_of(info[2]);
      idx_ = dev == arbiter::Device::Cuda ? std::shared_ptr<arbiter::Index>(arbiter::make_cuda_index(dim, dtype))
                                          : std::shared_ptr<arbiter::Index>(arbiter::make_cpu_index(dim, dtype));
      return 0;
    });
  }

 private:
  std::shared_ptr<arbiter::Index> live() const {
    if (!idx_) throw Error(arbiter::codes::FREED, "the index has been freed");
    return idx_;
  }
  // add(labels: BigInt64Array, vectors: Float32Array)
  Napi::Value Add(const Napi::CallbackInfo& info) {
    return guard_async(info.Env(), [&]() -> Napi::Value {
      auto idx = live();
      auto labels = typed<int64_t>(info[0], napi_bigint64_array, "ids");
      auto vecs = typed<float>(info[1], napi_float32_array, "vectors");
      const size_t n = labels.ElementLength();
      if (vecs.ElementLength() != n * idx->dim())
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "vectors must hold ids.length * dim values");
      auto lv = copy_of(labels);
      auto vv = copy_of(vecs);
      auto* t = new Task(info.Env(), [idx, lv, vv, n] { idx->add(lv->data(), vv->data(), n); },
                         [](Napi::Env env) { return env.Undefined(); });
      t->keep(Value());
      auto p = t->promise();
      t->Queue();
      return p;
    });
  }
  Napi::Value Remove(const Napi::CallbackInfo& info) {
    return guard_async(info.Env(), [&]() -> Napi::Value {
      auto idx = live();
      auto labels = typed<int64_t>(info[0], napi_bigint64_array, "ids");
      auto lv = copy_of(labels);
      const size_t n = lv->size();
      auto removed = std::make_shared<size_t>(0);
      auto* t = new Task(info.Env(), [idx, lv, n, removed] { *removed = idx->remove(lv->data(), n); },
                         [removed](Napi::Env env) { return Napi::Number::New(env, static_cast<double>(*removed)); });
      t->keep(Value());
      auto p = t->promise();
      t->Queue();
      return p;
    });
  }
  // search(queries: Float32Array, k, metric) -> {ids: BigInt64Array, scores: Float32Array, k}
  Napi::Value Search(const Napi::CallbackInfo& info) {
    return guard_async(info.Env(), [&]() -> Napi::Value {
      auto idx = live();
      auto q = typed<float>(info[0], napi_float32_array, "queries");
      const size_t k = count(info[1], "k");
      if (k == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, "k must be a positive integer");
      const auto metric = arbiter::parse_metric(str(info[2], "metric"));
      if (q.ElementLength() % idx->dim() != 0)
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "queries.length must be a multiple of dim");
      const size_t nq = q.ElementLength() / idx->dim();
      auto qv = copy_of(q);
      auto res = std::make_shared<arbiter::SearchResult>();
      auto* t = new Task(
          info.Env(), [idx, qv, nq, k, metric, res] { *res = idx->search(qv->data(), nq, k, metric); },
          [res](Napi::Env env) -> Napi::Value {
            auto ids = Napi::BigInt64Array::New(env, res->ids.size());
            auto scores = Napi::Float32Array::New(env, res->scores.size());
            std::copy(res->ids.begin(), res->ids.end(), ids.Data());
            std::copy(res->scores.begin(), res->scores.end(), scores.Data());
            Napi::Object o = Napi::Object::New(env);
            o.Set("ids", ids);
            o.Set("scores", scores);
            o.Set("k", Napi::Number::New(env, static_cast<double>(res->k)));
            return o;
          });
      t->keep(Value());
      auto p = t->promise();
      t->Queue();
      return p;
    });
  }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), static_cast<double>(live()->size()));
    });
  }
  // get(label: bigint) -> Float32Array | null
  Napi::Value Get(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      auto idx = live();
      if (!info[0].IsBigInt()) throw Error(arbiter::codes::INVALID_ARGUMENT, "id must be a bigint");
      bool lossless = false;
      const int64_t label = info[0].As<Napi::BigInt>().Int64Value(&lossless);
      auto out = Napi::Float32Array::New(info.Env(), idx->dim());
      if (!lossless || !idx->get(label, out.Data())) return info.Env().Null();
      return out;
    });
  }
  // getRows(labels: BigInt64Array, out: Float32Array of labels x dim) -> number of labels found.
  // A found label's row goes to its place in out; an absent one's place is zeros. One call for
  // many rows (a manifold's snapshot): get's Float32Array per row cost more than the copy.
  Napi::Value GetRows(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      auto idx = live();
      auto labels = typed<int64_t>(info[0], napi_bigint64_array, "ids");
      auto out = typed<float>(info[1], napi_float32_array, "out");
      const size_t n = labels.ElementLength(), d = idx->dim();
      if (out.ElementLength() != n * d)
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "out must hold ids x dim values");
      size_t found = 0;
      for (size_t i = 0; i < n; ++i) {
        float* row = out.Data() + i * d;
        if (idx->get(labels.Data()[i], row)) ++found;
        else std::fill(row, row + d, 0.f);
      }
      return Napi::Number::New(info.Env(), static_cast<double>(found));
    });
  }
  Napi::Value Free(const Napi::CallbackInfo& info) {
    idx_.reset();  // in-flight work holds its own reference
    return info.Env().Undefined();
  }

  std::shared_ptr<arbiter::Index> idx_;

 public:
  static std::shared_ptr<arbiter::Index> of(const Napi::Value& v) {
    return tagged<IndexWrap>(v, kIndexTag, "index must be an Index")->live();
  }
};


}  // namespace

Napi::Function define_index(Napi::Env env) { return IndexWrap::Define(env); }
std::shared_ptr<arbiter::Index> index_of(const Napi::Value& v) { return IndexWrap::of(v); }

}  // namespace arbiter::binding
