// Thin node-addon-api binding over the arbiter core. All heavy work runs in AsyncWorkers (libuv
// pool), never on the JS thread; every C++ exception becomes a rejected promise whose Error has a
// stable `code`. Typed-array inputs are copied into native memory before a worker is queued (and
// embedding tables when they are handed over), so nothing JS does to its arrays during a call —
// mutating, transferring or detaching the buffer, shrinking a resizable one — can change what the
// core validates and uses, or crash it. Results are delivered with every N-API call guarded: a
// worker that completes while its environment is being torn down (a terminated worker thread)
// drops its result instead of aborting the process.
#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arbiter/core.hpp"

namespace {

using arbiter::Error;

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

// Runs `work` off the JS thread, then `done` on it to build the resolved value.
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env, "arbiter"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        done_(std::move(done)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void keep(Napi::Value v) { refs_.emplace_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const Error& e) {
      code_ = e.code();
      error_ = e.what();
    } catch (const std::bad_alloc&) {
      code_ = arbiter::codes::OUT_OF_MEMORY;
      error_ = "out of memory";
    } catch (const std::exception& e) {
      code_ = arbiter::codes::NATIVE_ERROR;
      error_ = e.what();
    }
    if (!error_.empty()) SetError(error_);
  }
  // node-addon-api's version opens a HandleScope and builds the Error outside any guard: in an
  // environment being torn down either throws, and a C++ exception escaping a libuv callback
  // aborts the process. Here everything that touches N-API is guarded.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) {
      try {
        Napi::HandleScope scope(env);
        if (error_.empty()) OnOK();
        else OnError(Napi::Error::New(env, error_));
      } catch (...) {
      }
    }
    Destroy();
  }
  // Any N-API call here can fail when the environment is shutting down (worker.terminate() with a
  // call in flight): then nobody is waiting for the promise, and the failure must not escape.
  void OnOK() override {
    try {
      Napi::Env env = Env();
      try {
        deferred_.Resolve(done_(env));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    } catch (...) {
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(make_error(Env(), code_, e.Message()).Value());
    } catch (...) {
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  std::vector<Napi::ObjectReference> refs_;
  std::string code_ = arbiter::codes::NATIVE_ERROR;
  std::string error_;
};

// A native copy of a typed array's current contents (what the worker validates and reads).
template <typename T>
std::shared_ptr<const std::vector<T>> copy_of(const Napi::TypedArrayOf<T>& a) {
  const T* p = a.Data();
  const size_t n = a.ElementLength();
  return std::make_shared<const std::vector<T>>(p == nullptr ? nullptr : p, p == nullptr ? nullptr : p + n);
}

Napi::Value to_js(Napi::Env env, const std::vector<float>& v) {
  auto a = Napi::Float32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

Napi::Value rejected(Napi::Env env, const std::string& code, const std::string& msg) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(make_error(env, code, msg).Value());
  return d.Promise();
}

// Argument helpers: throw arbiter::Error, turned into a rejection by guard().
template <typename T>
Napi::TypedArrayOf<T> typed(const Napi::Value& v, napi_typedarray_type type, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " has the wrong type");
  return v.As<Napi::TypedArrayOf<T>>();
}
size_t count(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a non-negative integer");
  return static_cast<size_t>(d);
}
std::string str(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
arbiter::Device device_of(const Napi::Value& v) {
  const std::string s = v.IsUndefined() ? "cpu" : str(v, "device");
  if (s == "cpu") return arbiter::Device::Cpu;
  if (s == "cuda") return arbiter::Device::Cuda;
  throw Error(arbiter::codes::INVALID_ARGUMENT, "device must be 'cpu' or 'cuda'");
}

// Runs body; an arbiter::Error thrown while reading arguments becomes a rejected promise
// (async methods) or a thrown JS error (sync methods and constructors). No C++ exception ever
// leaves these guards: node-addon-api turns an escaping Napi::Error into a JS exception, and when
// the environment is shutting down (a worker thread being terminated) that fails with a second
// C++ exception thrown from a catch handler — std::terminate. Here a failed throw is dropped.
void throw_js(Napi::Env env, napi_value error) noexcept {
  napi_throw(env, error);  // fails only while the environment shuts down: nobody would see it
}
template <typename F>
Napi::Value guard_async(Napi::Env env, F&& body) noexcept {
  try {
    try {
      return body();
    } catch (const Error& e) {
      return rejected(env, e.code(), e.what());
    } catch (const std::exception& e) {
      return rejected(env, arbiter::codes::NATIVE_ERROR, e.what());
    }
  } catch (...) {
    return Napi::Value();
  }
}
template <typename F>
auto guard_sync(Napi::Env env, F&& body) noexcept -> decltype(body()) {
  try {
    try {
      return body();
    } catch (const Error& e) {
      throw_js(env, make_error(env, e.code(), e.what()).Value());
    } catch (const Napi::Error& e) {
      throw_js(env, e.Value());
    } catch (const std::exception& e) {
      throw_js(env, make_error(env, arbiter::codes::NATIVE_ERROR, e.what()).Value());
    }
  } catch (...) {
  }
  return decltype(body()){};
}

// ---------------- Index ----------------
class IndexWrap : public Napi::ObjectWrap<IndexWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Index",
                       {InstanceMethod("add", &IndexWrap::Add), InstanceMethod("remove", &IndexWrap::Remove),
                        InstanceMethod("search", &IndexWrap::Search), InstanceMethod("size", &IndexWrap::Size),
                        InstanceMethod("get", &IndexWrap::Get), InstanceMethod("free", &IndexWrap::Free)});
  }
  // new Index(dim, dtype, device)
  explicit IndexWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IndexWrap>(info) {
    guard_sync(info.Env(), [&] {
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
  Napi::Value Free(const Napi::CallbackInfo& info) {
    idx_.reset();  // in-flight work holds its own reference
    return info.Env().Undefined();
  }

  std::shared_ptr<arbiter::Index> idx_;
};

// ---------------- EmbedTable ----------------
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
      state_ = std::make_shared<State>();
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
  struct State {
    std::vector<uint8_t> bytes;
    arbiter::EmbedTableView view{};
    std::unique_ptr<arbiter::CudaEmbedTable> cuda;
  };
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
  std::shared_ptr<State> state_;
};

// ---------------- Mlp ----------------
// new Mlp(layers: [{in, out, weight: Float32Array, bias?: Float32Array, activation: string}], device)
class MlpWrap : public Napi::ObjectWrap<MlpWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Mlp", {InstanceMethod("forward", &MlpWrap::Forward), InstanceMethod("free", &MlpWrap::Free)});
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
  Napi::Value Free(const Napi::CallbackInfo& info) {
    mlp_.reset();
    return info.Env().Undefined();
  }
  std::shared_ptr<arbiter::Mlp> mlp_;
};

// ---------------- Tokenizer ----------------
// new Tokenizer(pieces: string[], scores: Float64Array, reserved, unkId)
// encodeBatch(text: string (NFKC texts concatenated), offsets: Float64Array (n + 1, UTF-16
// units), markWords: boolean) -> {ids: Int32Array, offsets: Int32Array}. Synchronous: callers batch, and batch
// routing already runs in worker threads.
class TokenizerWrap : public Napi::ObjectWrap<TokenizerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Tokenizer", {InstanceMethod("encodeBatch", &TokenizerWrap::EncodeBatch)});
  }
  explicit TokenizerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TokenizerWrap>(info) {
    guard_sync(info.Env(), [&] {
      if (!info[0].IsArray()) throw Error(arbiter::codes::INVALID_ARGUMENT, "pieces must be an array of strings");
      auto arr = info[0].As<Napi::Array>();
      auto scores = typed<double>(info[1], napi_float64_array, "scores");
      if (scores.ElementLength() != arr.Length()) throw Error(arbiter::codes::DIMENSION_MISMATCH, "scores must have one value per piece");
      std::vector<std::u16string> pieces(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value v = arr.Get(i);
        if (!v.IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, "pieces must be an array of strings");
        pieces[i] = v.As<Napi::String>().Utf16Value();
      }
      std::vector<double> sc(scores.Data(), scores.Data() + scores.ElementLength());
      tok_ = std::make_shared<arbiter::UnigramTokenizer>(pieces, sc, static_cast<int32_t>(count(info[2], "reserved")),
                                                          static_cast<int32_t>(count(info[3], "unkId")));
      return 0;
    });
  }

 private:
  Napi::Value EncodeBatch(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      if (!info[0].IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, "text must be a string");
      const std::u16string text = info[0].As<Napi::String>().Utf16Value();
      auto off = typed<double>(info[1], napi_float64_array, "offsets");
      const size_t n = off.ElementLength();
      if (n == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, "offsets must have n + 1 entries");
      std::vector<int64_t> o(n);
      for (size_t i = 0; i < n; ++i) {
        const double v = off.Data()[i];
        if (!(v >= 0 && v <= static_cast<double>(text.size())) || v != static_cast<double>(static_cast<int64_t>(v)))
          throw Error(arbiter::codes::OUT_OF_RANGE, "offsets must be integers within the text");
        o[i] = static_cast<int64_t>(v);
      }
      std::vector<int32_t> ids, id_off;
      tok_->encode_batch(text.data(), o.data(), n - 1, ids, id_off, info[2].ToBoolean().Value());
      Napi::Env env = info.Env();
      auto ids_js = Napi::Int32Array::New(env, ids.size());
      std::copy(ids.begin(), ids.end(), ids_js.Data());
      auto off_js = Napi::Int32Array::New(env, id_off.size());
      std::copy(id_off.begin(), id_off.end(), off_js.Data());
      Napi::Object r = Napi::Object::New(env);
      r.Set("ids", ids_js);
      r.Set("offsets", off_js);
      return r;
    });
  }
  std::shared_ptr<arbiter::UnigramTokenizer> tok_;
};

// ---------------- module ----------------
class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {InstanceValue("Index", IndexWrap::Define(env)),
                          InstanceValue("EmbedTable", TableWrap::Define(env)),
                          InstanceValue("Mlp", MlpWrap::Define(env)),
                          InstanceValue("Tokenizer", TokenizerWrap::Define(env)), InstanceMethod("info", &Addon::Info),
                          InstanceMethod("setThreads", &Addon::SetThreads),
                          InstanceMethod("forceGenericKernels", &Addon::ForceGeneric)});
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
};

}  // namespace

NODE_API_ADDON(Addon)
