// Structural features of a prompt (src/analyze/features.ts, the reference) and the default
// rules' match counts, in one pass per feature over the UTF-16 text: what JavaScript does with a
// dozen regular expressions, done here without building any string.
#include <string>
#include <vector>

#include "analyze_match.hpp"
#include "arbiter/core.hpp"

namespace arbiter {
namespace {

using detail::is_digit;
using detail::is_word;
using detail::Text;

bool line_terminator(char16_t c) { return c == u'\n' || c == u'\r' || c == 0x2028 || c == 0x2029; }

// CODE_LINE on one non-empty line [a, b)
bool code_line(const Text& t, size_t a, size_t b) {
  size_t lead = a;
  while (lead < b && t.space(lead)) ++lead;
  if (lead - a >= 2 || (lead - a == 1 && t.s[a] == u'\t')) return true;  // ^(\s{2,}|\t)\S
  size_t last = b;
  while (last > a && t.space(last - 1)) --last;
  if (last > a && (t.s[last - 1] == u'{' || t.s[last - 1] == u'}' || t.s[last - 1] == u';')) return true;
  static const std::u16string keywords[] = {u"def",    u"class",   u"function", u"return",   u"import", u"from",
                                            u"const",  u"let",     u"var",      u"public",   u"private", u"#include",
                                            u"for",    u"while",   u"if",       u"else",     u"elif",   u"try",
                                            u"catch",  u"SELECT",  u"INSERT"};
  const Text line{t.s + a, b - a, t.classes, t.n_classes};
  for (const auto& k : keywords)
    if (line.starts(lead - a, k, false) && line.boundary(lead - a + k.size())) return true;
  static const std::u16string arrow = u"=>", scope = u"::", print = u"print(", log = u"console.log";
  for (size_t i = 0; i < line.n; ++i) {
    const char16_t c = line.s[i];
    // no pattern starts otherwise: =>, ::, console.log, print(
    const char16_t next = i + 1 < line.n ? line.s[i + 1] : 0;
    if (!((c == u'=' && next == u'>') || (c == u':' && next == u':') || (c == u'c' && next == u'o') ||
          (c == u'p' && next == u'r')))
      continue;
    if (line.starts(i, arrow, false) || line.starts(i, scope, false) || line.starts(i, log, false) ||
        (line.starts(i, print, false) && line.boundary(i)))
      return true;
  }
  return false;
}

// LIST_ITEM ^\s*([-*•]|\d+[.)])\s+\S or, with `options`, OPTION ^\s*\(?[A-Ha-h][.)]\s+\S, on the line [a, b)
bool list_line(const Text& t, size_t a, size_t b, bool options) {
  size_t p = a;
  while (p < b && t.space(p)) ++p;
  bool closed = false;  // the marker needs a closing '.' or ')'
  if (options) {
    if (p < b && t.s[p] == u'(') ++p;
    const char16_t c = p < b ? detail::ascii_lower(t.s[p]) : 0;
    if (!(c >= u'a' && c <= u'h')) return false;
    ++p;
    closed = true;
  } else if (p < b && (t.s[p] == u'-' || t.s[p] == u'*' || t.s[p] == 0x2022)) {
    ++p;
  } else {
    const size_t d = p;
    while (p < b && is_digit(t.s[p])) ++p;
    if (p == d) return false;
    closed = true;
  }
  if (closed) {
    if (!(p < b && (t.s[p] == u'.' || t.s[p] == u')'))) return false;
    ++p;
  }
  if (!(p < b && t.space(p))) return false;
  while (p < b && t.space(p)) ++p;
  return p < b;
}

// MATH's matches (global, leftmost-first alternation)
size_t math_match_at(const Text& t, size_t i) {
  static const std::u16string commands[] = {u"frac", u"sqrt", u"sum",  u"int",  u"cdot",  u"times", u"le",
                                            u"ge",   u"neq",  u"pi",   u"alpha", u"beta", u"theta", u"infty"};
  const char16_t c = t.s[i];
  if (c == u'\\')
    for (const auto& w : commands)
      if (t.starts(i + 1, w, false) && t.boundary(i + 1 + w.size())) return 1 + w.size();
  if (c == u'$') {
    size_t j = i + 1;
    while (j < t.n && t.s[j] != u'$' && t.s[j] != u'\n') ++j;
    if (j > i + 1 && j < t.n && t.s[j] == u'$') return j + 1 - i;
  }
  if (is_digit(c)) {
    size_t p = i + 1;  // \d\s*[-+*/^=<>]\s*\d
    while (t.space(p)) ++p;
    const char16_t op = t.at(p);
    if (p < t.n && (op == u'-' || op == u'+' || op == u'*' || op == u'/' || op == u'^' || op == u'=' || op == u'<' ||
                    op == u'>')) {
      ++p;
      while (t.space(p)) ++p;
      if (is_digit(t.at(p))) return p + 1 - i;
    }
    if (t.boundary(i)) {  // \b\d+\s*[x×]\s*\d+
      p = i;
      while (is_digit(t.at(p))) ++p;
      while (t.space(p)) ++p;
      if (p < t.n && (t.s[p] == u'x' || t.s[p] == 0x00d7)) {
        ++p;
        while (t.space(p)) ++p;
        const size_t d = p;
        while (is_digit(t.at(p))) ++p;
        if (p > d) return p - i;
      }
    }
  }
  if (c == u'=' || c == 0x2264 || c == 0x2265 || c == 0x2260 || c == 0x221a || c == 0x2211 || c == 0x222b ||
      c == 0x03c0)
    return 1;
  return 0;
}

// An ASCII word of up to 8 letters, lower-cased, packed into an integer (0: not one).
uint64_t pack_word(const char16_t* w, size_t n) {
  if (n == 0 || n > 8) return 0;
  uint64_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const char16_t c = detail::ascii_lower(w[i]);
    if (c < u'a' || c > u'z') return 0;
    k = k << 8 | c;
  }
  return k;
}

bool english_word(const char16_t* w, size_t n) {
  // the packed words in a 64-slot open-addressing table (0: empty): one or two probes a word
  constexpr size_t kLongest = 5;
  static const std::vector<uint64_t> table = [] {
    std::vector<uint64_t> out(64, 0);
    for (const char16_t* e : {u"the", u"a",    u"an",   u"of", u"to",   u"in",    u"and", u"is",   u"are", u"for",
                              u"on",  u"with", u"that", u"this", u"it", u"be",    u"as",  u"by",   u"what", u"which",
                              u"how", u"you",  u"i",    u"from", u"or", u"not",   u"can", u"do",   u"was", u"if"}) {
      const uint64_t k = pack_word(e, std::char_traits<char16_t>::length(e));
      size_t h = (k * 0x9e3779b97f4a7c15ULL) >> 58;
      while (out[h] != 0) h = (h + 1) & 63;
      out[h] = k;
    }
    return out;
  }();
  if (n > kLongest) return false;
  const uint64_t k = pack_word(w, n);
  if (k == 0) return false;
  for (size_t h = (k * 0x9e3779b97f4a7c15ULL) >> 58;; h = (h + 1) & 63) {
    if (table[h] == k) return true;
    if (table[h] == 0) return false;
  }
}

}  // namespace

PromptAnalyzer::PromptAnalyzer(std::vector<uint8_t> classes) : classes_(std::move(classes)) {
  if (classes_.size() < 65536)
    throw Error(codes::INVALID_ARGUMENT, "analyzer: character classes must cover at least the BMP (65,536 entries)");
}

// NOLINTNEXTLINE(readability-function-size): one pass per feature, in the reference's order
void PromptAnalyzer::analyze(const char16_t* s, size_t n, double* f, int32_t* rule_counts) const {
  thread_local std::vector<uint32_t> starts;
  starts = detail::word_starts(s, n);
  const Text t{s, n, classes_.data(), classes_.size(), &starts};
  // lines, code lines, list items, options
  double lines = 0, code_lines = 0, list_items = 0, options = 0;
  for (size_t a = 0; a <= n;) {
    size_t b = a;
    while (b < n && s[b] != u'\n') ++b;
    bool non_empty = false;
    for (size_t i = a; i < b && !non_empty; ++i) non_empty = !t.space(i);
    if (non_empty) {
      ++lines;
      if (code_line(t, a, b)) ++code_lines;
      if (list_line(t, a, b, false)) ++list_items;
      if (list_line(t, a, b, true)) ++options;
    }
    a = b + 1;
  }
  // words (runs of letters, numbers, _ ' -, by code point), English function words, script
  double words = 0, english = 0, letters = 0, ascii_letters = 0;
  double by_script[16] = {};
  int order[16];
  int n_order = 0;
  size_t word_start = 0;
  bool in_word = false, skip_script = false;
  for (size_t i = 0; i <= n;) {
    uint32_t cp = 0;
    size_t len = 1;
    if (i < n) {
      cp = s[i];
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n && s[i + 1] >= 0xdc00 && s[i + 1] <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (s[i + 1] - 0xdc00);
        len = 2;
      }
    }
    const uint8_t c = i < n ? cls(cp) : 0;
    const bool w = i < n && ((c & (kClassLetter | kClassNumber)) || cp == u'_' || cp == u'\'' || cp == u'-');
    if (w && !in_word) word_start = i;
    if (!w && in_word) {
      ++words;
      if (english_word(s + word_start, i - word_start)) ++english;
    }
    in_word = w;
    if ((c & kClassLetter) && !skip_script) {
      ++letters;
      if (cp < 128) {
        ++ascii_letters;
      } else {
        const int sc = c >> kScriptShift;
        if (by_script[sc] == 0) order[n_order++] = sc;
        ++by_script[sc];
      }
    }
    skip_script = false;
    // the reference reads a lone high surrogate and the unit after it as one character (a letter
    // when that unit is one) and goes on after both; the words still see the unit after on its own
    if (i < n && len == 1 && cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const uint8_t nc = cls(s[i + 1]);
      if (nc & kClassLetter) {
        ++letters;
        const int sc = nc >> kScriptShift;
        if (by_script[sc] == 0) order[n_order++] = sc;
        ++by_script[sc];
      }
      skip_script = true;
    }
    i += len;
  }
  double script = 0, non_latin = 0;
  if (letters > 0) {
    if (ascii_letters > 0) {
      if (by_script[1] == 0) order[n_order++] = 1;
      by_script[1] += ascii_letters;
    }
    int best = order[0];
    for (int j = 1; j < n_order; ++j)
      if (by_script[order[j]] > by_script[best]) best = order[j];
    script = best;
    non_latin = 1 - by_script[1] / letters;
  }
  // trimmed text, sentences, question marks, numbers
  size_t ta = 0, tb = n;
  while (ta < n && t.space(ta)) ++ta;
  while (tb > ta && t.space(tb - 1)) --tb;
  double sentences = 0, question_marks = 0, numbers = 0, code_fences = 0, math = 0;
  for (size_t i = 0; i < n; ++i) {
    const char16_t c = s[i];
    if (c >= u'A' && c < 0x3002) continue;  // letters and most of the text: none of the units below
    if ((c == u'.' || c == u'!' || c == u'?' || c == 0x3002 || c == 0xff01 || c == 0xff1f) && (i + 1 == n || t.space(i + 1)))
      ++sentences;
    if (c == u'?' || c == 0xff1f) ++question_marks;
    if (is_digit(c) && (i == 0 || (!is_digit(s[i - 1]) && s[i - 1] != u'.'))) ++numbers;
  }
  if (sentences == 0 && tb > ta) sentences = 1;
  // ^\s*``` with /gm: from each line start, whitespace (newlines too), then three backticks. A
  // line start inside the whitespace just scanned reaches the same q: the scan goes on from q (one
  // pass over a run of blank lines, not one per line: that was quadratic)
  for (size_t p = 0; p < n; ++p) {
    if (p > 0 && !line_terminator(s[p - 1])) continue;
    size_t q = p;
    while (t.space(q)) ++q;
    if (q + 3 <= n && s[q] == u'`' && s[q + 1] == u'`' && s[q + 2] == u'`') {
      ++code_fences;
      p = q + 2;
    } else if (q > p) {
      p = q - 1;
    }
  }
  math = detail::count_matches(t, [&](size_t i) -> size_t {
    const char16_t c = s[i];
    // only these units start a match: \ $ = digits, and non-ASCII symbols
    if (c >= u'a' && c <= u'z') return 0;  // (most of the text)
    if (c < 128 && c != u'\\' && c != u'$' && c != u'=' && !is_digit(c)) return 0;
    const size_t len = math_match_at(t, i);
    return len ? i + len : 0;
  });
  static const detail::WordAlternation question_start(
      {u"what", u"why", u"how", u"when", u"where", u"which", u"who", u"whom", u"whose", u"is", u"are", u"can",
       u"could", u"should", u"would", u"will", u"do", u"does", u"did", u"has", u"have", u"was", u"were"},
      true);
  const Text trimmed{s + ta, tb - ta, t.classes, t.n_classes};
  const bool is_question =
      (tb > ta && (s[tb - 1] == u'?' || s[tb - 1] == 0xff1f)) || question_start.match_at(trimmed, 0) > 0;
  f[0] = static_cast<double>(n);
  f[1] = words;
  f[2] = lines;
  f[3] = sentences;
  f[4] = static_cast<double>(static_cast<int64_t>(code_fences) / 2);
  f[5] = lines > 0 ? code_lines / lines : 0;
  f[6] = n > 0 ? math * 100 / static_cast<double>(n) : 0;
  f[7] = numbers;
  f[8] = question_marks;
  f[9] = is_question ? 1 : 0;
  f[10] = list_items;
  f[11] = options;
  f[12] = non_latin;
  f[13] = words > 0 ? english / words : 0;
  int32_t counts[detail::kPatternSlots];
  detail::count_patterns(t, counts);
  f[14] = counts[detail::kConstraintSlot];
  f[15] = counts[detail::kReasoningSlot];
  f[16] = script;
  if (rule_counts)
    for (size_t j = 0; j < kRulePatternCount; ++j) rule_counts[j] = counts[j];
}

}  // namespace arbiter
