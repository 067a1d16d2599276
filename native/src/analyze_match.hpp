// Internal: the pieces of JavaScript regular-expression matching the analyzer needs, on UTF-16
// text, with JavaScript's semantics: \b over ASCII word characters, case-insensitive matching of
// ASCII letters only (what /i does without /u), leftmost-first alternation and non-overlapping
// global matches.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace arbiter::detail {

inline bool is_word(char16_t c) {
  return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9') || c == u'_';
}
inline bool is_digit(char16_t c) { return c >= u'0' && c <= u'9'; }
inline char16_t ascii_lower(char16_t c) { return c >= u'A' && c <= u'Z' ? static_cast<char16_t>(c + 32) : c; }

struct Text {
  const char16_t* s;
  size_t n;
  const uint8_t* classes;  // one byte per BMP code unit at least (every \s is in the BMP)
  size_t n_classes;
  // where ASCII words start (a word character after a non-word one): the only places a \b(word...)
  // pattern can match; null: try every position
  const std::vector<uint32_t>* word_starts = nullptr;
  char16_t at(size_t i) const { return i < n ? s[i] : 0; }
  bool space(size_t i) const { return i < n && s[i] < n_classes && (classes[s[i]] & 4) != 0; }
  // \b: a word character on exactly one side (outside the text counts as a non-word character)
  bool boundary(size_t i) const {
    return (i > 0 && is_word(s[i - 1])) != (i < n && is_word(s[i]));
  }
  // lit (lower-case when icase) at i
  bool starts(size_t i, const std::u16string& lit, bool icase) const {
    if (i + lit.size() > n) return false;
    for (size_t j = 0; j < lit.size(); ++j) {
      const char16_t c = icase ? ascii_lower(s[i + j]) : s[i + j];
      if (c != lit[j]) return false;
    }
    return true;
  }
};

// The first four code units at i (ASCII letters lower-cased when icase; 0 past the end), one per
// 16 bits: a word start's key, compared with each alternative's in one step before any loop.
inline uint64_t key4(const Text& t, size_t i, bool icase) {
  uint64_t k = 0;
  for (size_t j = 0; j < 4; ++j) {
    const char16_t c = t.at(i + j);
    k |= static_cast<uint64_t>(icase ? ascii_lower(c) : c) << (16 * j);
  }
  return k;
}

// One alternative of a word alternation: its text, and its first (up to) four units as a key with
// the mask of the units it has.
struct Alternative {
  std::u16string text;
  uint64_t key = 0, mask = 0;
  Alternative(const std::u16string& a, bool icase) : text(a) {
    if (icase)
      for (auto& c : text) c = ascii_lower(c);
    for (size_t j = 0; j < text.size() && j < 4; ++j) {
      key |= static_cast<uint64_t>(text[j]) << (16 * j);
      mask |= uint64_t{0xffff} << (16 * j);
    }
  }
  // Whether it matches at i, given the text's key at i: the key decides the first four units
  // (past the text's end the key holds 0, which no alternative has), the rest are compared.
  bool matches(const Text& t, size_t i, uint64_t key_at, bool icase) const {
    if ((key_at & mask) != key) return false;
    if (text.size() > 4) {
      if (i + text.size() > t.n) return false;
      for (size_t j = 4; j < text.size(); ++j)
        if ((icase ? ascii_lower(t.s[i + j]) : t.s[i + j]) != text[j]) return false;
    }
    return t.boundary(i + text.size());
  }
};

// \b(alt1|alt2|...)\b: alternatives in the regex's order (optional parts expanded, the longer
// form first, as backtracking tries them), each needing \b on both sides. Global counts walk the
// word starts (count_patterns); ^-anchored patterns try position 0 alone.
class WordAlternation {
 public:
  WordAlternation(const std::vector<std::u16string>& alts, bool icase) : icase_(icase) {
    alts_.reserve(alts.size());
    for (const auto& a : alts) alts_.emplace_back(a, icase_);
    for (size_t j = 0; j < alts_.size(); ++j)
      if (!alts_[j].text.empty() && alts_[j].text[0] < 128) by_first_[alts_[j].text[0]].push_back(static_cast<uint16_t>(j));
  }
  // Length of the first alternative that matches at i (with its boundaries), or 0.
  size_t match_at(const Text& t, size_t i) const {
    const char16_t c0 = icase_ ? ascii_lower(t.at(i)) : t.at(i);
    if (c0 >= 128 || by_first_[c0].empty() || !t.boundary(i)) return 0;
    const uint64_t k = key4(t, i, icase_);
    for (const uint16_t j : by_first_[c0])  // the alternatives that start with this letter, in order
      if (alts_[j].matches(t, i, k, icase_)) return alts_[j].text.size();
    return 0;
  }
  bool icase() const { return icase_; }
  // The alternatives that start with unit c (< 128), in order.
  const std::vector<uint16_t>& starting_with(char16_t c) const { return by_first_[c]; }
  const Alternative& alternative(size_t j) const { return alts_[j]; }

 private:
  std::vector<Alternative> alts_;
  bool icase_;
  std::vector<uint16_t> by_first_[128];
};

inline std::vector<uint32_t> word_starts(const char16_t* s, size_t n) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < n; ++i)
    if (is_word(s[i]) && (i == 0 || !is_word(s[i - 1]))) out.push_back(static_cast<uint32_t>(i));
  return out;
}

// A global regex's match count: match_at(i) gives the end of a match starting at i, or 0; the
// scan resumes at a match's end, or one past a failed start.
template <typename MatchAt>
int32_t count_matches(const Text& t, MatchAt&& match_at) {
  int32_t c = 0;
  for (size_t i = 0; i < t.n;) {
    const size_t end = match_at(i);
    if (end) {
      ++c;
      i = end;
    } else {
      ++i;
    }
  }
  return c;
}

// Every combination, in order: prefix[i] + middle[j] + suffix[k] with the outer loop first.
inline std::vector<std::u16string> expand(const std::vector<std::u16string>& a, const std::vector<std::u16string>& b,
                                          const std::vector<std::u16string>& c = {u""}) {
  std::vector<std::u16string> out;
  for (const auto& x : a)
    for (const auto& y : b)
      for (const auto& z : c) out.push_back(x + y + z);
  return out;
}

// Match counts (analyze_rules.cpp): slots 0-15 the default rules' patterns in DEFAULT_RULES
// order, then the features' CONSTRAINT and REASONING counts. Needs t.word_starts.
constexpr size_t kConstraintSlot = 16, kReasoningSlot = 17, kPatternSlots = 18;
void count_patterns(const Text& t, int32_t* out);

}  // namespace arbiter::detail
