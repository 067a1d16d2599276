// Thin node-addon-api binding over the arbiter core: shared pieces (this header), one file per
// wrapped class (index.cpp, table.cpp, mlp.cpp, tokenizer.cpp) and the module (addon.cpp). All heavy work runs in AsyncWorkers (libuv
// pool), never on the JS thread; every C++ exception becomes a rejected promise whose Error has a
// stable `code`. Typed-array inputs are copied into native memory before a worker is queued (and
// embedding tables when they are handed over), so nothing JS does to its arrays during a call —
// mutating, transferring or detaching the buffer, shrinking a resizable one — can change what the
// core validates and uses, or crash it. Results are delivered with every N-API call guarded: a
// worker that completes while its environment is being torn down (a terminated worker thread)
// drops its result instead of aborting the process.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arbiter/core.hpp"
#include "arbiter/huge_pages.hpp"

namespace arbiter::binding {


using arbiter::Error;

inline Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& msg) {
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

// Input copies go into reused buffers: a fresh large allocation is mapped by malloc and
// page-faulted in again on every call (a 64 MB MLP input: ~20 ms of faults, more than its
// multiply); large ones in huge pages (arbiter/huge_pages.hpp), so a first copy faults 512 times
// less (an index add's input, read once at load). Released copies of each element type wait for
// reuse, at most kKeptBytes of them; a request takes the smallest that fits. Shared by every
// thread of the process (one mutex).
template <typename T>
class CopyPool {
 public:
  static constexpr size_t kKeptBytes = size_t{256} << 20;

  static std::shared_ptr<const HugeVector<T>> copy(const T* p, size_t n) {
    HugeVector<T>* v = take(n);
    if (p != nullptr) v->assign(p, p + n);
    return std::shared_ptr<const HugeVector<T>>(v, [](const HugeVector<T>* b) { give(const_cast<HugeVector<T>*>(b)); });
  }

 private:
  struct Kept {
    std::mutex mu;
    std::vector<HugeVector<T>*> buffers;
    size_t bytes = 0;
  };
  static Kept& kept() {
    static Kept* k = new Kept;  // never destroyed: a copy may be released during exit
    return *k;
  }
  static HugeVector<T>* take(size_t n) {
    Kept& k = kept();
    {
      std::lock_guard<std::mutex> lock(k.mu);
      size_t best = k.buffers.size();
      for (size_t i = 0; i < k.buffers.size(); ++i)
        if (k.buffers[i]->capacity() >= n && (best == k.buffers.size() || k.buffers[i]->capacity() < k.buffers[best]->capacity()))
          best = i;
      if (best < k.buffers.size()) {
        HugeVector<T>* v = k.buffers[best];
        k.buffers.erase(k.buffers.begin() + static_cast<std::ptrdiff_t>(best));
        k.bytes -= v->capacity() * sizeof(T);
        v->clear();
        return v;
      }
    }
    auto* v = new HugeVector<T>();
    v->reserve(n);
    return v;
  }
  static void give(HugeVector<T>* v) {
    const size_t bytes = v->capacity() * sizeof(T);
    Kept& k = kept();
    {
      std::lock_guard<std::mutex> lock(k.mu);
      if (k.bytes + bytes <= kKeptBytes) {
        k.buffers.push_back(v);
        k.bytes += bytes;
        return;
      }
    }
    delete v;
  }
};

// A native copy of a typed array's current contents (what the worker validates and reads).
template <typename T>
std::shared_ptr<const HugeVector<T>> copy_of(const Napi::TypedArrayOf<T>& a) {
  return CopyPool<T>::copy(a.Data(), a.ElementLength());
}

// Typed arrays laid out in one ArrayBuffer: one backing store for a call's results instead of one
// per array. Each backing store is an allocation that V8's sweeper frees on one of its threads,
// where the frees contend with this thread's allocations for the allocator's lock: a one-prompt
// routing pass spent more time there than in its analysis. reserve() every array, allocate(), then
// view() or copy() each in its place.
class PackedArrays {
 public:
  // Room for `count` elements of T (8-byte aligned); returns its byte offset.
  template <typename T>
  size_t reserve(size_t count) {
    static_assert(alignof(T) <= 8);
    const size_t at = (bytes_ + 7) & ~size_t{7};
    bytes_ = at + count * sizeof(T);
    return at;
  }
  void allocate(Napi::Env env) { buffer_ = Napi::ArrayBuffer::New(env, bytes_); }
  template <typename T>
  Napi::TypedArrayOf<T> view(Napi::Env env, size_t at, size_t count, napi_typedarray_type type) {
    return Napi::TypedArrayOf<T>::New(env, count, buffer_, at, type);
  }
  template <typename T>
  Napi::TypedArrayOf<T> copy(Napi::Env env, size_t at, const std::vector<T>& v, napi_typedarray_type type) {
    auto a = view<T>(env, at, v.size(), type);
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  }

 private:
  size_t bytes_ = 0;
  Napi::ArrayBuffer buffer_;
};

inline Napi::Value to_js(Napi::Env env, const std::vector<float>& v) {
  auto a = Napi::Float32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

inline Napi::Value rejected(Napi::Env env, const std::string& code, const std::string& msg) {
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
inline size_t count(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a non-negative integer");
  return static_cast<size_t>(d);
}
inline std::string str(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
inline arbiter::Device device_of(const Napi::Value& v) {
  const std::string s = v.IsUndefined() ? "cpu" : str(v, "device");
  if (s == "cpu") return arbiter::Device::Cpu;
  if (s == "cuda") return arbiter::Device::Cuda;
  throw Error(arbiter::codes::INVALID_ARGUMENT, "device must be 'cpu' or 'cuda'");
}

// Offsets (n + 1 UTF-16 positions, Float64Array) into a text of `size` units, validated.
inline std::vector<int64_t> offsets_of(const Napi::Value& v, size_t size, const char* what) {
  auto off = typed<double>(v, napi_float64_array, what);
  const size_t n = off.ElementLength();
  if (n == 0) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must have n + 1 entries");
  std::vector<int64_t> o(n);
  for (size_t i = 0; i < n; ++i) {
    const double x = off.Data()[i];
    if (!(x >= 0 && x <= static_cast<double>(size)) || x != static_cast<double>(static_cast<int64_t>(x)) ||
        (i > 0 && x < static_cast<double>(o[i - 1])))
      throw Error(arbiter::codes::OUT_OF_RANGE, std::string(what) + " must be non-decreasing integers within the text");
    o[i] = static_cast<int64_t>(x);
  }
  return o;
}

// An array of strings read into one UTF-16 text and its n + 1 offsets, without the joined string
// JavaScript would build: a batch's join is a large string, allocated in V8's large-object space
// (pages mapped and faulted in afresh each time) and copied again here.
inline void texts_of(Napi::Env env, const Napi::Value& v, std::u16string& text, std::vector<int64_t>& offsets,
                     const char* what) {
  if (!v.IsArray()) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be an array of strings");
  const auto a = v.As<Napi::Array>();
  const uint32_t n = a.Length();
  std::vector<napi_value> items(n);
  offsets.assign(n + 1, 0);
  for (uint32_t i = 0; i < n; ++i) {
    const Napi::Value s = a.Get(i);
    if (!s.IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be an array of strings");
    size_t len = 0;
    if (napi_get_value_string_utf16(env, s, nullptr, 0, &len) != napi_ok)
      throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + ": a string could not be read");
    items[i] = s;
    offsets[i + 1] = offsets[i] + static_cast<int64_t>(len);
  }
  const size_t total = static_cast<size_t>(offsets[n]);
  text.resize(total + 1);  // each copy writes a terminator after its text
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = static_cast<size_t>(offsets[i]), len = static_cast<size_t>(offsets[i + 1]) - at;
    size_t copied = 0;
    if (napi_get_value_string_utf16(env, items[i], text.data() + at, len + 1, &copied) != napi_ok || copied != len)
      throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + ": a string could not be read");
  }
  text.resize(total);
}

// The wrapper behind an instance of class Wrap, which tags its instances with `tag`; anything
// else is ARB_INVALID_ARGUMENT (`what`). The tag makes the unwrap safe: napi_unwrap alone would
// hand back any class's pointer.
template <typename Wrap>
Wrap* tagged(const Napi::Value& v, const napi_type_tag& tag, const char* what) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&tag)) throw Error(arbiter::codes::INVALID_ARGUMENT, what);
  return Wrap::Unwrap(v.As<Napi::Object>());
}

// Runs body; an arbiter::Error thrown while reading arguments becomes a rejected promise
// (async methods) or a thrown JS error (sync methods and constructors). No C++ exception ever
// leaves these guards: node-addon-api turns an escaping Napi::Error into a JS exception, and when
// the environment is shutting down (a worker thread being terminated) that fails with a second
// C++ exception thrown from a catch handler — std::terminate. Here a failed throw is dropped.
inline void throw_js(Napi::Env env, napi_value error) noexcept {
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

// An embedding table handed to the addon (EmbedTable): its bytes, and its GPU copy when on CUDA.
struct TableState {
  std::vector<uint8_t> bytes;
  arbiter::EmbedTableView view{};
  std::unique_ptr<arbiter::CudaEmbedTable> cuda;
};

// The objects behind other classes' instances, for the fused pass (RoutePass). Each class tags
// its instances; anything else, or a freed one, is ARB_INVALID_ARGUMENT / ARB_FREED.
std::shared_ptr<arbiter::Index> index_of(const Napi::Value& v);
std::shared_ptr<TableState> table_of(const Napi::Value& v);
std::shared_ptr<const arbiter::UnigramTokenizer> tokenizer_of(const Napi::Value& v);

// The classes' constructors, for the module to export (each defined in its own file).
Napi::Function define_index(Napi::Env env);
Napi::Function define_table(Napi::Env env);
Napi::Function define_mlp(Napi::Env env);
Napi::Function define_tokenizer(Napi::Env env);
Napi::Function define_analyzer(Napi::Env env);
Napi::Function define_route_pass(Napi::Env env);

}  // namespace arbiter::binding
