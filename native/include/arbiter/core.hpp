// arbiter native compute core: public C++ API (no Node.js dependency).
//
// Three batched kernels, each with a CPU implementation (AVX2/FMA/F16C when the CPU has it,
// a portable path otherwise, spread over all cores) and, when built with CUDA, a GPU one:
//   * embed_pool  — gather rows of a token table, weighted mean, L2-normalise;
//   * Index       — exact top-k search (inner product, cosine, squared L2) over fp32/fp16 rows;
//   * Mlp         — small dense networks (ReLU/GELU hidden layers, sigmoid/softmax outputs).
#pragma once
#include "arbiter/error_codes.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace arbiter {

// Every failure the core reports is an arbiter::Error with a stable code.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

enum class DType { F32, F16 };
enum class Metric { InnerProduct, Cosine, L2 };
enum class Device { Cpu, Cuda };
enum class Activation { None, Relu, Gelu, Sigmoid, Softmax };

DType parse_dtype(const std::string& s);
// Throws ARB_NOT_FINITE naming param[i + offset] for the first NaN or infinity in x[0, n).
void require_finite(const float* x, size_t n, const char* param, size_t offset = 0);
Metric parse_metric(const std::string& s);
Activation parse_activation(const std::string& s);

// ---- fp16 helpers (IEEE 754 binary16, round-to-nearest-even) ----
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// ---- runtime information ----
struct CpuInfo {
  std::string simd;   // "avx512f", "avx2+fma+f16c" or "generic"
  unsigned threads;   // worker threads used by parallel kernels
};
CpuInfo cpu_info();
// Override the thread count (0 = hardware concurrency). Takes effect for later calls.
void set_threads(unsigned n);
// Runs fn(task) for every task in [0, n_tasks) on the core's worker pool, the calling thread
// included; one job at a time (a concurrent caller waits). fn must not call parallel work itself.
void parallel_tasks(size_t n_tasks, const std::function<void(size_t task)>& fn);
// While one is alive, parallel work started by this thread runs on this thread alone: no hand-off
// to the pool (small calls made synchronously from the JS thread, where a wake-up costs more than
// the work).
class SerialScope {
 public:
  SerialScope();
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool previous_;
};
// The widest kernels used: "best" (default: AVX-512F with BF16, AVX-512F, AVX2 or generic, as
// the CPU allows), "avx512f" (no BF16), "avx2" or "generic" — tests use it to check every path the
// machine can run.
void limit_kernels(const std::string& widest);
// limit_kernels("generic") when on, "best" when off.
void force_generic_kernels(bool on);

struct CudaInfo {
  bool compiled = false;   // built with CUDA kernels
  bool available = false;  // a usable device was found at run time
  std::string reason;      // why not available
  std::string device;      // device name when available
  int device_count = 0;
};
CudaInfo cuda_info();

// ---- static embedding pooling ----
// table: vocab x dim rows (fp32 or fp16 bits). Bag i covers ids[offsets[i] .. offsets[i+1]).
// weights (optional, one per id, >= 0). out: n_bags x dim. An empty or zero-weight bag gives zeros.
struct EmbedTableView {
  const void* data;
  DType dtype;
  size_t vocab;
  size_t dim;
};
void embed_pool_cpu(const EmbedTableView& table, const int32_t* ids, size_t n_ids, const int32_t* offsets,
                    size_t n_bags, const float* weights, bool normalize, float* out);

// ---- unigram tokenizer (SentencePiece-style Viterbi segmentation) ----
// pieces in UTF-16 with their log-probabilities; ids below `reserved` are never produced; each
// run of characters no piece covers becomes one unk_id (a surrogate pair is one character).
// Input texts are NFKC-normalised by the caller; encode() takes them with the '\u2581' marking done.
// Scores are rounded to multiples of 2^-20 (as the JavaScript tokenizer rounds them), so that the
// segmentation's sums are exact: when no piece has '\u2581' after its first unit, every word
// ('\u2581' to the next) is segmented on its own — the same choice, tie for tie, as the whole text's
// Viterbi — and a thread's recent words are remembered (most words repeat).
class UnigramTokenizer {
 public:
  UnigramTokenizer(const std::vector<std::u16string>& pieces, const std::vector<double>& scores, int32_t reserved,
                   int32_t unk_id);
  size_t size() const { return scores_.size(); }
  void encode(const char16_t* s, size_t n, std::vector<int32_t>& out) const;
  // Texts concatenated, text i = text[offsets[i] .. offsets[i+1]); ids of all texts, with
  // id_offsets (n_texts + 1) in the layout embed_pool_cpu takes. mark_words: each non-empty
  // text gets '\u2581' in front and in place of its spaces first (else it is taken as is).
  void encode_batch(const char16_t* text, const int64_t* offsets, size_t n_texts, std::vector<int32_t>& ids,
                    std::vector<int32_t>& id_offsets, bool mark_words = false) const;

 private:
  int32_t child(int32_t node, char16_t c) const;
  // the Viterbi segmentation of s[0, n), unknown runs not merged yet, appended to out
  void segment(const char16_t* s, size_t n, std::vector<int32_t>& out) const;
  // segment() of one word, through this thread's cache of recent words
  void segment_word(const char16_t* s, size_t n, std::vector<int32_t>& out) const;
  uint64_t vocab_hash_ = 0;  // tells cached words of this vocabulary from another's
  bool by_word_ = false;  // no piece has '\u2581' after its first unit (and the scores are small)
  size_t max_exact_units_ = 0;  // longest text whose sums stay exact (longer: the whole-text Viterbi)
  std::vector<int32_t> root_;          // first code unit -> node (or -1)
  // open addressing, one word a slot (one cache line a probe): the key (node << 16 | unit) + 1 in
  // the low 40 bits, the child node in the high 24; 0 = empty
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
  // node -> its piece id (or -1) and a filter of its children's code units: bit (unit % 32) is set
  // when some child's unit has that remainder, so most steps to no child skip the hash probe
  struct TrieNode {
    int32_t piece;
    uint32_t kids;
  };
  std::vector<TrieNode> nodes_;
  std::vector<double> scores_;
  int32_t unk_id_;
  double unk_score_;
};

// ---- prompt analysis: structural features and keyword-rule match counts ----
// The native twin of src/analyze/features.ts and the default rules' patterns in
// src/analyze/rules.ts (the JavaScript is the reference; tests compare the two on random and real
// text). Character classes come from the caller, computed once with JavaScript's own Unicode
// tables, so both agree on every code point: one byte per code point (kClassLetter, kClassNumber,
// kClassSpace, and the script index << kScriptShift).
constexpr uint8_t kClassLetter = 1, kClassNumber = 2, kClassSpace = 4;
constexpr int kScriptShift = 3;
// Feature order (one double each): chars, words, lines, sentences, codeBlocks, codeLineShare,
// mathDensity, numbers, questionMarks, isQuestion, listItems, options, nonLatinShare,
// englishShare, constraints, reasoningCues, script (0 none, 1 + index in the caller's list, or
// the caller's count + 1 for a letter of no listed script).
constexpr size_t kFeatureCount = 17;
// Matches of each default-rule pattern, in the order of DEFAULT_RULES (uncapped counts).
constexpr size_t kRulePatternCount = 16;
class PromptAnalyzer {
 public:
  // classes: one byte per code point from U+0000 (code points past the end: no class).
  explicit PromptAnalyzer(std::vector<uint8_t> classes);
  void analyze(const char16_t* s, size_t n, double* features, int32_t* rule_counts) const;

 private:
  uint8_t cls(uint32_t cp) const { return cp < classes_.size() ? classes_[cp] : 0; }
  std::vector<uint8_t> classes_;
};

// ---- exact kNN index ----
struct SearchResult {
  size_t k = 0;                // columns per query: min(k requested, index size)
  std::vector<int64_t> ids;    // n_queries x k, best first
  std::vector<float> scores;   // similarity for ip/cosine; squared distance for l2
};

class Index {
 public:
  virtual ~Index() = default;
  virtual size_t dim() const = 0;
  virtual DType dtype() const = 0;
  virtual Device device() const = 0;
  virtual size_t size() const = 0;
  // Adds n rows; labels must be new and distinct (throws ARB_DUPLICATE_ID, leaving the index unchanged).
  virtual void add(const int64_t* labels, const float* vectors, size_t n) = 0;
  // Removes the rows with these labels; unknown labels are ignored. Returns how many were removed.
  virtual size_t remove(const int64_t* labels, size_t n) = 0;
  virtual bool contains(int64_t label) const = 0;
  virtual SearchResult search(const float* queries, size_t n_queries, size_t k, Metric metric) const = 0;
  // Copies the stored row (fp32, after fp16 rounding when dtype is F16) of a label; false if absent.
  virtual bool get(int64_t label, float* out) const = 0;
};
std::unique_ptr<Index> make_cpu_index(size_t dim, DType dtype);

// ---- MLP heads ----
struct LayerSpec {
  size_t in = 0, out = 0;
  std::vector<float> weight;  // out x in, row-major
  std::vector<float> bias;    // out (may be empty: zeros)
  Activation activation = Activation::None;
};
class Mlp {
 public:
  virtual ~Mlp() = default;
  virtual size_t in_dim() const = 0;
  virtual size_t out_dim() const = 0;
  virtual Device device() const = 0;
  // x: n x in_dim -> out: n x out_dim
  virtual void forward(const float* x, size_t n, float* out) const = 0;
};
void validate_layers(const std::vector<LayerSpec>& layers);
std::unique_ptr<Mlp> make_cpu_mlp(std::vector<LayerSpec> layers);

// ---- CUDA (real implementations when compiled with CUDA; otherwise they throw ARB_CUDA_UNAVAILABLE) ----
std::unique_ptr<Index> make_cuda_index(size_t dim, DType dtype);
std::unique_ptr<Mlp> make_cuda_mlp(std::vector<LayerSpec> layers);
// A token table resident on the GPU.
class CudaEmbedTable {
 public:
  virtual ~CudaEmbedTable() = default;
  virtual void pool(const int32_t* ids, size_t n_ids, const int32_t* offsets, size_t n_bags, const float* weights,
                    bool normalize, float* out) const = 0;
};
std::unique_ptr<CudaEmbedTable> make_cuda_embed_table(const EmbedTableView& table);

}  // namespace arbiter
