// The unigram tokenizer against a brute-force reference (every substring looked up in a map), on
// random vocabularies and texts: the whole-text Viterbi, and the word-by-word path with its cache.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "arbiter/core.hpp"

using namespace arbiter;

void check(bool ok, const std::string& what);  // test_core.cpp
uint64_t test_seed();                          // test_core.cpp: from the run's seed

namespace {
std::mt19937_64 rng;

std::vector<int32_t> reference_segment(const std::u16string& s, const std::vector<std::u16string>& pieces,
                                       const std::vector<double>& scores, int32_t reserved, int32_t unk) {
  std::unordered_map<std::u16string, int32_t> ids;
  double lo = 0;
  size_t longest = 1;
  // the tokenizer's scores: rounded to multiples of 2^-20
  auto score_of = [&](size_t i) { return std::floor(scores[i] * 1048576.0 + 0.5) / 1048576.0; };
  for (size_t i = static_cast<size_t>(reserved); i < pieces.size(); ++i)
    if (!pieces[i].empty() && !ids.count(pieces[i])) {
      ids[pieces[i]] = static_cast<int32_t>(i);
      lo = std::min(lo, score_of(i));
      longest = std::max(longest, pieces[i].size());
    }
  const size_t n = s.size();
  const double ninf = -std::numeric_limits<double>::infinity();
  std::vector<double> best(n + 1, ninf);
  std::vector<int32_t> from(n + 1), via(n + 1);
  best[0] = 0;
  for (size_t i = 0; i < n; ++i) {
    if (best[i] == ninf) continue;
    bool any = false;
    for (size_t len = 1; len <= longest && i + len <= n; ++len) {
      auto it = ids.find(s.substr(i, len));
      if (it == ids.end()) continue;
      any = true;
      const double v = best[i] + score_of(static_cast<size_t>(it->second));
      if (v > best[i + len]) best[i + len] = v, from[i + len] = static_cast<int32_t>(i), via[i + len] = it->second;
    }
    if (!any || best[i + 1] == ninf) {
      const size_t end = i + ((s[i] >= 0xD800 && s[i] <= 0xDBFF && i + 1 < n) ? 2 : 1);
      const double v = best[i] + (lo - 10);  // the unknown score, as the tokenizer adds it
      if (v > best[end]) best[end] = v, from[end] = static_cast<int32_t>(i), via[end] = unk;
    }
  }
  std::vector<int32_t> out;
  for (size_t e = n; e > 0; e = static_cast<size_t>(from[e])) out.push_back(via[e]);
  std::reverse(out.begin(), out.end());
  std::vector<int32_t> merged;
  for (size_t i = 0; i < out.size(); ++i)
    if (!(out[i] == unk && i > 0 && out[i - 1] == unk)) merged.push_back(out[i]);
  return merged;
}

// Vocabularies whose pieces have '\u2581' only first (the word-by-word path, through the word
// cache) against the whole-text reference, tie for tie: scores from a few values make equal sums
// common; texts repeat words (cache hits), put lone high surrogates before word marks (an unknown
// character that takes the mark: no word boundary there), and three tokenizers take turns on this
// thread (two of them with one vocabulary, whose cached words they share).
void test_tokenizer_words() {
  const std::u16string letters = u"abc\u00e9\xD83D\xDE00";
  const std::u16string kMark = u"\u2581";
  std::uniform_int_distribution<size_t> pick(0, letters.size() - 1), len(1, 4), nwords(0, 12), coin(0, 5);
  const double values[] = {-1, -2, -3, -1.5, -2.5, -0.1 * 3};
  std::uniform_int_distribution<size_t> value(0, 5);
  for (int trial = 0; trial < 10; ++trial) {
    const int32_t reserved = 1, unk = 0;
    std::vector<std::u16string> pieces[2];
    std::vector<double> scores[2];
    for (int v = 0; v < 2; ++v) {
      pieces[v] = {u"<unk>", kMark};
      scores[v] = {0, values[value(rng)]};
      while (pieces[v].size() < 40) {
        std::u16string p = coin(rng) < 2 ? kMark : u"";
        for (size_t k = len(rng); k > 0; --k) p += letters[pick(rng)];
        pieces[v].push_back(p);
        scores[v].push_back(values[value(rng)]);
      }
    }
    // the third has the first's vocabulary: it shares the first's cached words
    const UnigramTokenizer toks[3] = {UnigramTokenizer(pieces[0], scores[0], reserved, unk),
                                      UnigramTokenizer(pieces[1], scores[1], reserved, unk),
                                      UnigramTokenizer(pieces[0], scores[0], reserved, unk)};
    std::vector<std::u16string> words;  // a few words, each used many times
    for (int w = 0; w < 8; ++w) {
      std::u16string word = kMark;
      for (size_t k = len(rng); k > 0; --k) word += coin(rng) == 0 ? u'\xD83D' : letters[pick(rng)];
      words.push_back(word);
    }
    std::uniform_int_distribution<size_t> which(0, words.size() - 1);
    bool same = true;
    for (int t = 0; t < 200 && same; ++t) {
      std::u16string text;
      for (size_t k = nwords(rng); k > 0; --k) text += words[which(rng)];
      const int v = t % 3;
      std::vector<int32_t> got;
      toks[v].encode(text.data(), text.size(), got);
      same = got == reference_segment(text, pieces[v % 2], scores[v % 2], reserved, unk);
    }
    check(same, "tokenizer: word by word (cached) as the whole text's Viterbi, tie for tie (trial " +
                    std::to_string(trial) + ")");
  }
}

// Enough distinct long words that the word cache grows to its largest table and starts afresh
// (its units fill): 40,000 words of 30 units, each segmented as the reference segments it, also
// when met again after the fresh start.
void test_tokenizer_word_cache_limits() {
  const std::u16string kMark = u"\u2581";
  const std::u16string letters = u"abcdefgh";
  std::uniform_int_distribution<size_t> pick(0, letters.size() - 1), len(2, 4);
  std::uniform_real_distribution<double> score(-8, -1);
  std::vector<std::u16string> pieces = {u"<unk>", kMark};
  std::vector<double> scores = {0, -2};
  for (char16_t c : letters) pieces.push_back(std::u16string(1, c)), scores.push_back(-6);
  while (pieces.size() < 400) {
    std::u16string p = pieces.size() % 3 == 0 ? kMark : u"";
    for (size_t k = len(rng); k > 0; --k) p += letters[pick(rng)];
    pieces.push_back(p);
    scores.push_back(score(rng));
  }
  const UnigramTokenizer tok(pieces, scores, 1, 0);
  std::vector<std::u16string> words;
  for (int w = 0; w < 40000; ++w) {
    std::u16string word = kMark;
    for (int k = 0; k < 29; ++k) word += letters[pick(rng)];
    words.push_back(word);
  }
  bool same = true;
  for (int pass = 0; pass < 2 && same; ++pass)
    for (size_t w = 0; w < words.size() && same; ++w) {
      std::vector<int32_t> got;
      tok.encode(words[w].data(), words[w].size(), got);
      if (w % 997 == 0) same = got == reference_segment(words[w], pieces, scores, 1, 0);
    }
  check(same, "tokenizer: words met before and after the word cache starts afresh segment as the reference");
}

}  // namespace

void test_tokenizer() {
  rng.seed(test_seed());
  test_tokenizer_words();
  test_tokenizer_word_cache_limits();
  const std::u16string alphabet = u"ab\u2581c\u00e9 \xD83D\xDE00";  // letters, a word marker, a space, a surrogate pair
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1), len(1, 5), tlen(0, 60);
  std::uniform_real_distribution<double> score(-12, -0.5);
  for (int trial = 0; trial < 20; ++trial) {
    const int32_t reserved = 3, unk = 0;
    std::vector<std::u16string> pieces = {u"<unk>", u"<s>", u"a"};  // reserved pieces are never produced
    std::vector<double> scores = {0, 0, 0};
    const size_t vocab = 10 + trial * 5;
    while (pieces.size() < vocab) {
      std::u16string p;
      for (size_t k = len(rng); k > 0; --k) p += alphabet[pick(rng)];
      pieces.push_back(p);
      scores.push_back(score(rng));
    }
    UnigramTokenizer tok(pieces, scores, reserved, unk);
    std::u16string all;
    std::vector<int64_t> offsets = {0};
    std::vector<std::u16string> texts;
    for (int t = 0; t < 30; ++t) {
      std::u16string s;
      for (size_t k = tlen(rng); k > 0; --k) s += alphabet[pick(rng)];
      texts.push_back(s);
      all += s;
      offsets.push_back(static_cast<int64_t>(all.size()));
    }
    std::vector<int32_t> ids, id_off;
    tok.encode_batch(all.data(), offsets.data(), texts.size(), ids, id_off);
    bool same = id_off.size() == texts.size() + 1;
    for (size_t t = 0; same && t < texts.size(); ++t) {
      const auto want = reference_segment(texts[t], pieces, scores, reserved, unk);
      same = std::vector<int32_t>(ids.begin() + id_off[t], ids.begin() + id_off[t + 1]) == want;
      if (!same) {
        std::printf("  text:");
        for (char16_t c : texts[t]) std::printf(" %04x", (unsigned)c);
        std::printf("\n  got:");
        for (int32_t k = id_off[t]; k < id_off[t + 1]; ++k) std::printf(" %d", ids[k]);
        std::printf("\n  want:");
        for (int32_t k : want) std::printf(" %d", k);
        std::printf("\n");
      }
    }
    check(same, "tokenizer: Viterbi segmentation matches the brute-force reference (vocab " + std::to_string(vocab) + ")");
  }
  bool threw = false;
  try { UnigramTokenizer({u"a"}, {0.0}, 1, 0); } catch (const Error& e) { threw = e.code() == arbiter::codes::INVALID_ARGUMENT; }
  check(threw, "tokenizer: a vocabulary of only reserved pieces is ARB_INVALID_ARGUMENT");
  threw = false;
  try { UnigramTokenizer({u"<unk>", u"a"}, {0.0, std::nan("")}, 1, 0); } catch (const Error& e) { threw = e.code() == arbiter::codes::NOT_FINITE; }
  check(threw, "tokenizer: a NaN score is ARB_NOT_FINITE");
}

