// The Tokenizer class: the unigram tokenizer, batch encoding (synchronous: callers batch).
#include "binding.hpp"

namespace arbiter::binding {
namespace {

constexpr napi_type_tag kTokenizerTag = {0x617262697465727aULL, 0x746f6b656e000001ULL};

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
      info.This().As<Napi::Object>().TypeTag(&kTokenizerTag);
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
      const std::vector<int64_t> o = offsets_of(info[1], text.size(), "offsets");
      const size_t n = o.size();
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

 public:
  static std::shared_ptr<const arbiter::UnigramTokenizer> of(const Napi::Value& v) {
    auto t = tagged<TokenizerWrap>(v, kTokenizerTag, "tokenizer must be a Tokenizer")->tok_;
    if (!t) throw Error(arbiter::codes::INVALID_ARGUMENT, "the tokenizer was not built");
    return t;
  }
};


}  // namespace

Napi::Function define_tokenizer(Napi::Env env) { return TokenizerWrap::Define(env); }
std::shared_ptr<const arbiter::UnigramTokenizer> tokenizer_of(const Napi::Value& v) { return TokenizerWrap::of(v); }

}  // namespace arbiter::binding
