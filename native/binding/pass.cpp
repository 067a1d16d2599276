// The Analyzer class (prompt features and rule counts, synchronous) and RoutePass, the routing hot
// path in one native call per batch: analyse and tokenise every prompt (all cores), pool the
// embeddings, and search the manifold's index — one trip from JavaScript instead of four.
#include <algorithm>

#include "binding.hpp"

namespace arbiter::binding {
namespace {

constexpr napi_type_tag kAnalyzerTag = {0x6172626974657261ULL, 0x6e616c7900000001ULL};


// new Analyzer(classes: Uint8Array); analyzeBatch(text, offsets) -> {features: Float64Array
// (n x kFeatureCount), counts: Int32Array (n x kRulePatternCount)}
class AnalyzerWrap : public Napi::ObjectWrap<AnalyzerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Analyzer", {InstanceMethod("analyzeBatch", &AnalyzerWrap::AnalyzeBatch)});
  }
  explicit AnalyzerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AnalyzerWrap>(info) {
    guard_sync(info.Env(), [&] {
      info.This().As<Napi::Object>().TypeTag(&kAnalyzerTag);
      auto c = typed<uint8_t>(info[0], napi_uint8_array, "classes");
      an_ = std::make_shared<arbiter::PromptAnalyzer>(std::vector<uint8_t>(c.Data(), c.Data() + c.ElementLength()));
      return 0;
    });
  }
  static std::shared_ptr<const arbiter::PromptAnalyzer> of(const Napi::Value& v) {
    auto a = tagged<AnalyzerWrap>(v, kAnalyzerTag, "analyzer must be an Analyzer")->an_;
    if (!a) throw Error(arbiter::codes::INVALID_ARGUMENT, "the analyzer was not built");
    return a;
  }

 private:
  Napi::Value AnalyzeBatch(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      if (!info[0].IsString()) throw Error(arbiter::codes::INVALID_ARGUMENT, "text must be a string");
      const std::u16string text = info[0].As<Napi::String>().Utf16Value();
      const auto o = offsets_of(info[1], text.size(), "offsets");
      const size_t n = o.size() - 1;
      Napi::Env env = info.Env();
      PackedArrays packed;  // both arrays over one buffer
      const size_t at_f = packed.reserve<double>(n * arbiter::kFeatureCount);
      const size_t at_c = packed.reserve<int32_t>(n * arbiter::kRulePatternCount);
      packed.allocate(env);
      auto f = packed.view<double>(env, at_f, n * arbiter::kFeatureCount, napi_float64_array);
      auto c = packed.view<int32_t>(env, at_c, n * arbiter::kRulePatternCount, napi_int32_array);
      for (size_t i = 0; i < n; ++i)
        an_->analyze(text.data() + o[i], static_cast<size_t>(o[i + 1] - o[i]), f.Data() + i * arbiter::kFeatureCount,
                     c.Data() + i * arbiter::kRulePatternCount);
      Napi::Object r = Napi::Object::New(env);
      r.Set("features", f);
      r.Set("counts", c);
      return r;
    });
  }
  std::shared_ptr<arbiter::PromptAnalyzer> an_;
};

struct PassResult {
  std::vector<double> features;
  std::vector<int32_t> counts;
  std::vector<float> embeddings;
  arbiter::SearchResult search;
};

// new RoutePass(analyzer, tokenizer, table, index | null)
// run(questions: string, offsets: Float64Array, nfkc: string | null, nfkcOffsets: Float64Array |
// null, k, embed = true) -> Promise<{features, counts, embeddings: Float32Array (n x dim), ids:
// BigInt64Array, scores: Float32Array, k}>, the five arrays over one buffer. embed false: the
// analysis alone (no tokens, pooling or search; embeddings empty, k must be 0) — for a router
// nothing of which reads an embedding (no head, an empty manifold). The questions (and their
// NFKC forms) may instead be arrays of strings, their offsets null: read into one text here, not
// joined in JavaScript. The analysis reads the questions as written; the tokenizer reads their
// NFKC forms (null: the same texts). k = 0, or no index: no search (k 0 in the result).
class RoutePassWrap : public Napi::ObjectWrap<RoutePassWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RoutePass",
                       {InstanceMethod("run", &RoutePassWrap::Run), InstanceMethod("runSync", &RoutePassWrap::RunSync)});
  }
  explicit RoutePassWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RoutePassWrap>(info) {
    guard_sync(info.Env(), [&] {
      an_ = AnalyzerWrap::of(info[0]);
      tok_ = tokenizer_of(info[1]);
      const auto table = table_of(info[2]);
      table_ref_ = Napi::Persistent(info[2].As<Napi::Object>());
      if (!info[3].IsNull() && !info[3].IsUndefined()) {
        if (index_of(info[3])->dim() != table->view.dim)
          throw Error(arbiter::codes::DIMENSION_MISMATCH, "the index and the table must have the same dim");
        index_ref_ = Napi::Persistent(info[3].As<Napi::Object>());
      }
      return 0;
    });
  }

 private:
  // The call's inputs, read and validated on the JS thread.
  struct Inputs {
    std::shared_ptr<const arbiter::PromptAnalyzer> an;
    std::shared_ptr<const arbiter::UnigramTokenizer> tok;
    std::shared_ptr<TableState> table;
    std::shared_ptr<arbiter::Index> index;
    std::shared_ptr<std::u16string> raw, nfkc;
    std::shared_ptr<std::vector<int64_t>> raw_off, nfkc_off;
    size_t n = 0, k = 0;
    bool embed = true;
  };
  // Texts as one string and its offsets, or as an array of strings (offsets null).
  static void texts(const Napi::CallbackInfo& info, size_t at, std::shared_ptr<std::u16string>& text,
                    std::shared_ptr<std::vector<int64_t>>& offsets, const char* what, const char* offsets_what) {
    text = std::make_shared<std::u16string>();
    offsets = std::make_shared<std::vector<int64_t>>();
    if (info[at].IsArray()) {
      if (!info[at + 1].IsNull() && !info[at + 1].IsUndefined())
        throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(offsets_what) + " must be null with an array of texts");
      texts_of(info.Env(), info[at], *text, *offsets, what);
      return;
    }
    if (!info[at].IsString())
      throw Error(arbiter::codes::INVALID_ARGUMENT, std::string(what) + " must be a string or an array of strings");
    *text = info[at].As<Napi::String>().Utf16Value();
    *offsets = offsets_of(info[at + 1], text->size(), offsets_what);
  }
  Inputs inputs(const Napi::CallbackInfo& info) {
    Inputs in;
    texts(info, 0, in.raw, in.raw_off, "questions", "offsets");
    in.n = in.raw_off->size() - 1;
    in.nfkc = in.raw;
    in.nfkc_off = in.raw_off;
    if (!info[2].IsNull() && !info[2].IsUndefined()) {
      texts(info, 2, in.nfkc, in.nfkc_off, "nfkc", "nfkcOffsets");
      if (in.nfkc_off->size() != in.n + 1)
        throw Error(arbiter::codes::DIMENSION_MISMATCH, "nfkcOffsets must have as many entries as offsets");
    }
    in.k = count(info[4], "k");
    if (!info[5].IsUndefined() && !info[5].IsNull()) {
      if (!info[5].IsBoolean()) throw Error(arbiter::codes::INVALID_ARGUMENT, "embed must be a boolean");
      in.embed = info[5].As<Napi::Boolean>().Value();
    }
    if (!in.embed && in.k > 0)
      throw Error(arbiter::codes::INVALID_ARGUMENT, "k must be 0 without embeddings (embed false)");
    in.an = an_;
    in.tok = tok_;
    // looked up on every call: a table or index freed since is ARB_FREED, never used
    in.table = table_of(table_ref_.Value());
    in.index = in.k > 0 && !index_ref_.IsEmpty() ? index_of(index_ref_.Value()) : nullptr;
    return in;
  }
  static void execute(const Inputs& in, PassResult& out) {
    run_pass(*in.an, *in.tok, *in.table, in.index.get(), *in.raw, *in.raw_off, *in.nfkc, *in.nfkc_off, in.n, in.k,
             in.embed, out);
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    return guard_async(info.Env(), [&]() -> Napi::Value {
      auto in = std::make_shared<Inputs>(inputs(info));
      auto out = std::make_shared<PassResult>();
      const size_t n = in->n;
      auto* t = new Task(
          info.Env(), [in, out] { execute(*in, *out); },
          [out, n](Napi::Env env) -> Napi::Value { return to_object(env, *out, n); });
      t->keep(Value());
      auto p = t->promise();
      t->Queue();
      return p;
    });
  }
  // runSync(...): the same on the calling thread alone, for a prompt or two (route()), where the
  // hand-offs to the libuv pool and back cost more than the work and add milliseconds of jitter
  Napi::Value RunSync(const Napi::CallbackInfo& info) {
    return guard_sync(info.Env(), [&]() -> Napi::Value {
      const Inputs in = inputs(info);
      PassResult out;
      {
        const arbiter::SerialScope serial;
        execute(in, out);
      }
      return to_object(info.Env(), out, in.n);
    });
  }

  static void run_pass(const arbiter::PromptAnalyzer& an, const arbiter::UnigramTokenizer& tok, const TableState& table,
                       const arbiter::Index* index, const std::u16string& raw, const std::vector<int64_t>& raw_off,
                       const std::u16string& nfkc, const std::vector<int64_t>& nfkc_off, size_t n, size_t k,
                       bool embed, PassResult& out) {
    out.features.resize(n * arbiter::kFeatureCount);
    out.counts.resize(n * arbiter::kRulePatternCount);
    std::vector<std::vector<int32_t>> ids(n);
    constexpr size_t kPerTask = 8;
    arbiter::parallel_tasks((n + kPerTask - 1) / kPerTask, [&](size_t task) {
      std::vector<int32_t> unused;
      for (size_t i = task * kPerTask; i < std::min(n, (task + 1) * kPerTask); ++i) {
        an.analyze(raw.data() + raw_off[i], static_cast<size_t>(raw_off[i + 1] - raw_off[i]),
                   out.features.data() + i * arbiter::kFeatureCount, out.counts.data() + i * arbiter::kRulePatternCount);
        if (!embed) continue;
        const int64_t range[2] = {0, nfkc_off[i + 1] - nfkc_off[i]};
        tok.encode_batch(nfkc.data() + nfkc_off[i], range, 1, ids[i], unused, true);
      }
    });
    if (!embed) return;
    std::vector<int32_t> flat, offsets(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      flat.insert(flat.end(), ids[i].begin(), ids[i].end());
      if (flat.size() > static_cast<size_t>(INT32_MAX))
        throw Error(arbiter::codes::OUT_OF_RANGE, "more than 2^31 tokens in one batch");
      offsets[i + 1] = static_cast<int32_t>(flat.size());
    }
    const size_t d = table.view.dim;
    out.embeddings.resize(n * d);
    if (table.cuda) table.cuda->pool(flat.data(), flat.size(), offsets.data(), n, nullptr, true, out.embeddings.data());
    else arbiter::embed_pool_cpu(table.view, flat.data(), flat.size(), offsets.data(), n, nullptr, true, out.embeddings.data());
    if (index && n > 0 && index->size() > 0)
      out.search = index->search(out.embeddings.data(), n, k, arbiter::Metric::Cosine);
  }

  static Napi::Value to_object(Napi::Env env, const PassResult& r, size_t n) {
    PackedArrays packed;  // the five arrays over one buffer
    const size_t at_f = packed.reserve<double>(r.features.size());
    const size_t at_c = packed.reserve<int32_t>(r.counts.size());
    const size_t at_e = packed.reserve<float>(r.embeddings.size());
    const size_t at_i = packed.reserve<int64_t>(r.search.ids.size());
    const size_t at_s = packed.reserve<float>(r.search.scores.size());
    packed.allocate(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("features", packed.copy(env, at_f, r.features, napi_float64_array));
    o.Set("counts", packed.copy(env, at_c, r.counts, napi_int32_array));
    o.Set("embeddings", packed.copy(env, at_e, r.embeddings, napi_float32_array));
    o.Set("ids", packed.copy(env, at_i, r.search.ids, napi_bigint64_array));
    o.Set("scores", packed.copy(env, at_s, r.search.scores, napi_float32_array));
    o.Set("k", Napi::Number::New(env, static_cast<double>(r.search.k)));
    o.Set("n", Napi::Number::New(env, static_cast<double>(n)));
    return o;
  }

  std::shared_ptr<const arbiter::PromptAnalyzer> an_;
  std::shared_ptr<const arbiter::UnigramTokenizer> tok_;
  Napi::ObjectReference table_ref_;
  Napi::ObjectReference index_ref_;
};

}  // namespace

Napi::Function define_analyzer(Napi::Env env) { return AnalyzerWrap::Define(env); }
Napi::Function define_route_pass(Napi::Env env) { return RoutePassWrap::Define(env); }

}  // namespace arbiter::binding
