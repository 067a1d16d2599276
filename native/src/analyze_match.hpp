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

// \b(alt1|alt2|...)\b: alternatives in the regex's order (optional parts expanded, the longer
// form first, as backtracking tries them), each needing \b on both sides. Global counts walk the
// word starts (count_patterns); ^-anchored patterns try position 0 alone.
class WordAlternation {
 public:
  WordAlternation(std::vector<std::u16string> alts, bool icase) : alts_(std::move(alts)), icase_(icase) {
    for (size_t j = 0; j < alts_.size(); ++j) {
      auto& a = alts_[j];
      if (icase_)
        for (auto& c : a) c = ascii_lower(c);
      if (!a.empty() && a[0] < 128) by_first_[a[0]].push_back(static_cast<uint16_t>(j));
    }
  }
  // Length of the first alternative that matches at i (with its boundaries), or 0.
  size_t match_at(const Text& t, size_t i) const {
    const char16_t c0 = icase_ ? ascii_lower(t.at(i)) : t.at(i);
    if (c0 >= 128 || by_first_[c0].empty() || !t.boundary(i)) return 0;
    for (const uint16_t j : by_first_[c0]) {  // the alternatives that start with this letter, in order
      const auto& a = alts_[j];
      if (t.starts(i, a, icase_) && t.boundary(i + a.size())) return a.size();
    }
    return 0;
  }
  bool starts_with(char16_t c) const { return c < 128 && !by_first_[c].empty(); }

 private:
  std::vector<std::u16string> alts_;
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
