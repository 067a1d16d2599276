// Unigram (SentencePiece-style) segmentation: the split of a text into pieces that maximises the
// sum of piece log-probabilities, by dynamic programming over positions (Viterbi). The trie is a
// direct table for the first code unit and one open-addressing hash table for every other edge:
// flat arrays, no per-node allocation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "arbiter/core.hpp"

namespace arbiter {

namespace {
inline uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}
inline bool high_surrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
// A node's filter bit for a child by code unit c.
inline uint32_t kid_bit(char16_t c) { return uint32_t{1} << (c & 31); }
constexpr uint64_t kKeyMask = (uint64_t{1} << 40) - 1;
constexpr uint64_t kMaxNodes = uint64_t{1} << 24;
constexpr char16_t kWordMark = u'\u2581';
// Scores are multiples of 2^-20: a sum of up to 2^33 / |score| of them is exact in a double.
constexpr double kScoreUnit = 1048576.0;
constexpr double kExactSum = 8589934592.0;  // 2^33
double quantize(double score) { return std::floor(score * kScoreUnit + 0.5) / kScoreUnit; }

// A thread's recently segmented words (up to kMaxWordUnits units, kMaxWordPieces pieces) and their
// pieces, for one vocabulary at a time: open addressing, from kMinWordSlots entries doubling to
// kMaxWordSlots (2 MB), all dropped when half full or when the words' units or pieces fill their
// arrays (2 MB each): ~3.5 MB a thread on real text, 6 MB at most whatever the text.
constexpr size_t kMinWordSlots = size_t{1} << 12, kMaxWordSlots = size_t{1} << 17, kMaxWordUnits = 32,
                 kMaxWordPieces = 16, kMaxCachedUnits = size_t{1} << 20, kMaxCachedPieces = size_t{1} << 19;
struct WordCache {
  struct Entry {
    uint32_t hash = 0, unit_off = 0, id_off = 0;
    uint8_t units = 0, ids = 0;  // units == 0: empty
  };
  uint64_t owner = 0;
  size_t used = 0;
  std::vector<Entry> slots;
  std::vector<char16_t> units;
  std::vector<int32_t> ids;
  void reset(uint64_t who) {
    owner = who;
    used = 0;
    slots.assign(kMinWordSlots, Entry{});
    units.clear();
    ids.clear();
  }
  size_t probe(uint32_t h, const char16_t* s, size_t n, bool& found) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Entry& e = slots[i];
      found = e.units != 0 && e.hash == h && e.units == n &&
              std::memcmp(units.data() + e.unit_off, s, n * sizeof(char16_t)) == 0;
      if (found || e.units == 0) return i;
    }
  }
  // room for one more entry of n units and k pieces: twice the slots (re-placed), or, at the
  // largest size or with the units or pieces full, a fresh start; true when the slots moved
  bool make_room(size_t n, size_t k) {
    if (units.size() + n > kMaxCachedUnits || ids.size() + k > kMaxCachedPieces) return reset(owner), true;
    if (2 * (used + 1) <= slots.size()) return false;
    if (slots.size() >= kMaxWordSlots) return reset(owner), true;
    std::vector<Entry> old(slots.size() * 2);
    old.swap(slots);
    const size_t mask = slots.size() - 1;
    for (const Entry& e : old)
      if (e.units != 0) {
        size_t i = e.hash & mask;
        while (slots[i].units != 0) i = (i + 1) & mask;
        slots[i] = e;
      }
    return true;
  }
};
// seeded per process: words cannot be made to share slots in advance (a prompt of such words
// would make each lookup walk them all)
// (from the clock and where the library was loaded: nothing that can fail at load time)
uint64_t hash_seed() {
  static const char here = 0;
  return mix(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
             mix(reinterpret_cast<uintptr_t>(&here)));
}
const uint64_t kHashSeed = hash_seed();
inline uint64_t hash_units(const char16_t* s, size_t n) {
  uint64_t h = (0xcbf29ce484222325ULL ^ kHashSeed) ^ n;
  for (size_t i = 0; i < n; ++i) h = (h ^ s[i]) * 0x100000001b3ULL;
  return mix(h);
}
}  // namespace

UnigramTokenizer::UnigramTokenizer(const std::vector<std::u16string>& pieces, const std::vector<double>& scores,
                                   int32_t reserved, int32_t unk_id)
    : root_(65536, -1), scores_(scores), unk_id_(unk_id) {
  if (pieces.size() != scores.size() || pieces.empty())
    throw Error(arbiter::codes::INVALID_ARGUMENT, "tokenizer: pieces and scores must be non-empty and of equal length");
  if (reserved < 0 || static_cast<size_t>(reserved) >= pieces.size())
    throw Error(arbiter::codes::INVALID_ARGUMENT, "tokenizer: reserved must leave at least one piece");
  if (unk_id < 0 || static_cast<size_t>(unk_id) >= pieces.size())
    throw Error(arbiter::codes::INVALID_ARGUMENT, "tokenizer: unk_id must index the vocabulary");
  size_t edges = 0;
  for (const auto& p : pieces) edges += p.size();
  size_t cap = 16;
  while (cap < 2 * edges + 16) cap <<= 1;
  slots_.assign(cap, 0);
  mask_ = cap - 1;
  nodes_.push_back({-1, 0});  // node 0 is the root
  auto new_node = [&]() -> int32_t {
    if (nodes_.size() >= kMaxNodes)
      throw Error(arbiter::codes::OUT_OF_RANGE, "tokenizer: the vocabulary needs more than 2^24 trie nodes");
    nodes_.push_back({-1, 0});
    return static_cast<int32_t>(nodes_.size() - 1);
  };
  double min_score = 0, max_abs = 0;
  by_word_ = true;
  for (auto& sc : scores_) sc = quantize(sc);
  for (size_t id = static_cast<size_t>(reserved); id < pieces.size(); ++id) {
    const auto& p = pieces[id];
    if (!std::isfinite(scores[id])) throw Error(arbiter::codes::NOT_FINITE, "tokenizer: non-finite piece score");
    if (p.empty()) continue;
    if (p.find(kWordMark, 1) != std::u16string::npos) by_word_ = false;
    max_abs = std::max(max_abs, std::abs(scores_[id]));
    int32_t node = root_[p[0]];
    if (node < 0) node = root_[p[0]] = new_node();
    for (size_t i = 1; i < p.size(); ++i) {
      int32_t next = child(node, p[i]);
      if (next < 0) {
        next = new_node();
        const uint64_t key = ((static_cast<uint64_t>(node) << 16) | p[i]) + 1;
        for (uint64_t h = mix(key) & mask_;; h = (h + 1) & mask_)
          if (slots_[h] == 0) {
            slots_[h] = key | (static_cast<uint64_t>(next) << 40);
            break;
          }
        nodes_[static_cast<size_t>(node)].kids |= kid_bit(p[i]);
      }
      node = next;
    }
    if (nodes_[static_cast<size_t>(node)].piece < 0) {  // the first of duplicate pieces is the one produced
      nodes_[static_cast<size_t>(node)].piece = static_cast<int32_t>(id);
      min_score = std::min(min_score, scores_[id]);
    }
  }
  unk_score_ = min_score - 10;  // any real piece beats an unknown character
  // the words a thread has segmented serve any tokenizer with the same vocabulary (route workers
  // each load their own): a fingerprint of what the segmentation depends on
  uint64_t fp = mix(pieces.size() ^ (static_cast<uint64_t>(reserved) << 32) ^ static_cast<uint64_t>(unk_id));
  for (size_t id = static_cast<size_t>(reserved); id < pieces.size(); ++id) {
    uint64_t bits = 0;
    std::memcpy(&bits, &scores_[id], sizeof bits);
    fp = mix(fp ^ hash_units(pieces[id].data(), pieces[id].size())) ^ mix(bits + id);
  }
  vocab_hash_ = fp | 1;  // never 0, a cache's "nobody"
  // a text of n units sums at most n scores, each at most |unk_score_| in size
  max_exact_units_ = static_cast<size_t>(kExactSum / std::max({1.0, max_abs, std::abs(unk_score_)}));
}

namespace {
// The child of `node` by code unit c, or -1 (inlined into the Viterbi loop: a call per step through
// the shared library's PLT cost more than the probe when the slot is in cache).
inline int32_t find_child(const uint64_t* slots, uint64_t mask, int32_t node, char16_t c) {
  const uint64_t key = ((static_cast<uint64_t>(node) << 16) | c) + 1;
  for (uint64_t h = mix(key) & mask;; h = (h + 1) & mask) {
    const uint64_t slot = slots[h];
    if ((slot & kKeyMask) == key) return static_cast<int32_t>(slot >> 40);
    if (slot == 0) return -1;
  }
}
}  // namespace

int32_t UnigramTokenizer::child(int32_t node, char16_t c) const { return find_child(slots_.data(), mask_, node, c); }

void UnigramTokenizer::encode(const char16_t* s, size_t n, std::vector<int32_t>& out) const {
  if (n == 0) return;
  const size_t start = out.size();
  if (by_word_ && n <= max_exact_units_) {
    // no piece and no unknown character crosses a word mark (an unknown lone high surrogate takes
    // the unit after it: a mark there does not start a word), so the best segmentation of the
    // text is that of each word, and with exact sums each word's is the one the text's gives
    size_t p = 0;
    for (size_t q = 1; q <= n; ++q) {
      if (q < n && !(s[q] == kWordMark && !high_surrogate(s[q - 1]))) continue;
      segment_word(s + p, q - p, out);
      p = q;
    }
  } else {
    segment(s, n, out);
  }
  // runs of unknown characters become one unknown token
  size_t w = start;
  for (size_t r = start; r < out.size(); ++r)
    if (!(out[r] == unk_id_ && r > start && out[r - 1] == unk_id_)) out[w++] = out[r];
  out.resize(w);
}

void UnigramTokenizer::segment_word(const char16_t* s, size_t n, std::vector<int32_t>& out) const {
  if (n > kMaxWordUnits) return segment(s, n, out);
  thread_local WordCache cache;
  if (cache.owner != vocab_hash_) cache.reset(vocab_hash_);
  const auto h = static_cast<uint32_t>(hash_units(s, n));
  bool found = false;
  size_t slot = cache.probe(h, s, n, found);
  if (found) {
    const auto& e = cache.slots[slot];
    out.insert(out.end(), cache.ids.begin() + e.id_off, cache.ids.begin() + e.id_off + e.ids);
    return;
  }
  const size_t first = out.size();
  segment(s, n, out);
  const size_t pieces = out.size() - first;  // at most n: each piece or unknown character takes a unit
  if (pieces > kMaxWordPieces) return;  // (a run of unknown characters, say: not worth keeping)
  if (cache.make_room(n, pieces)) slot = cache.probe(h, s, n, found);  // (an empty slot on h's path)
  cache.slots[slot] = {h, static_cast<uint32_t>(cache.units.size()), static_cast<uint32_t>(cache.ids.size()),
                       static_cast<uint8_t>(n), static_cast<uint8_t>(pieces)};
  cache.units.insert(cache.units.end(), s, s + n);
  cache.ids.insert(cache.ids.end(), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  ++cache.used;
}

void UnigramTokenizer::segment(const char16_t* s, size_t n, std::vector<int32_t>& out) const {
  if (n == 0) return;
  thread_local std::vector<double> best_buf;
  thread_local std::vector<int32_t> from_buf, via_buf;
  // plain pointers, taken once: a thread_local read after a call is looked up again (__tls_get_addr)
  best_buf.assign(n + 1, -std::numeric_limits<double>::infinity());
  from_buf.resize(n + 1);
  via_buf.resize(n + 1);
  double* const best = best_buf.data();
  int32_t* const from = from_buf.data();
  int32_t* const via = via_buf.data();
  const uint64_t* const slots = slots_.data();
  const TrieNode* const nodes = nodes_.data();
  const double* const scores = scores_.data();
  const int32_t* const root = root_.data();
  best[0] = 0;
  for (size_t i = 0; i < n; ++i) {
    const double base = best[i];
    if (base == -std::numeric_limits<double>::infinity()) continue;  // inside a skipped surrogate pair
    bool any = false;
    int32_t node = root[s[i]];
    for (size_t j = i; node >= 0;) {
      const TrieNode& at = nodes[node];
      const int32_t id = at.piece;
      if (id >= 0) {
        any = true;
        const double v = base + scores[id];
        if (v > best[j + 1]) {
          best[j + 1] = v;
          from[j + 1] = static_cast<int32_t>(i);
          via[j + 1] = id;
        }
      }
      if (++j >= n || !(at.kids & kid_bit(s[j]))) break;
      node = find_child(slots, mask_, node, s[j]);
    }
    if (!any || best[i + 1] == -std::numeric_limits<double>::infinity()) {
      const size_t end = i + (high_surrogate(s[i]) && i + 1 < n ? 2 : 1);
      const double v = base + unk_score_;
      if (v > best[end]) {
        best[end] = v;
        from[end] = static_cast<int32_t>(i);
        via[end] = unk_id_;
      }
    }
  }
  const size_t start = out.size();
  for (size_t end = n; end > 0; end = static_cast<size_t>(from[end])) out.push_back(via[end]);
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
}

void UnigramTokenizer::encode_batch(const char16_t* text, const int64_t* offsets, size_t n_texts,
                                    std::vector<int32_t>& ids, std::vector<int32_t>& id_offsets, bool mark_words) const {
  id_offsets.assign(n_texts + 1, 0);
  std::u16string marked;
  for (size_t t = 0; t < n_texts; ++t) {
    if (offsets[t] < 0 || offsets[t + 1] < offsets[t]) throw Error(arbiter::codes::INVALID_ARGUMENT, "tokenizer: offsets must be non-decreasing");
    const char16_t* s = text + offsets[t];
    const size_t n = static_cast<size_t>(offsets[t + 1] - offsets[t]);
    if (mark_words && n > 0) {
      // '\u2581' before the text and in place of every space, as SentencePiece marks word starts
      marked.assign(1, u'\u2581');
      marked.append(s, n);
      for (size_t i = 1; i < marked.size(); ++i)
        if (marked[i] == u' ') marked[i] = u'\u2581';
      encode(marked.data(), marked.size(), ids);
    } else {
      encode(s, n, ids);
    }
    if (ids.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      throw Error(arbiter::codes::OUT_OF_RANGE, "tokenizer: more than 2^31 tokens in one batch");
    id_offsets[t + 1] = static_cast<int32_t>(ids.size());
  }
}

}  // namespace arbiter
