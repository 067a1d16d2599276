// The default keyword rules' patterns (src/analyze/rules.ts, DEFAULT_RULES) and the features'
// CONSTRAINT and REASONING patterns (src/analyze/features.ts), as match counts. Each list keeps
// its regex's alternation order, optional parts expanded longer-first; the few patterns that are
// not word alternations are matched by hand below, following the regex step by step.
#include "analyze_match.hpp"
#include "arbiter/core.hpp"

namespace arbiter::detail {
namespace {

using Alts = std::vector<std::u16string>;

// \$\d|\d+\s*(dollars|cents|km|kg|hours|minutes|apples|eggs)\b   (gi), as rules.ts writes it: the
// second branch starts where no digit precedes, or right after a `$\d` match. Any other start
// inside a run of digits fails as the run's first digit did (the same run end, the same text
// after it), and trying each would scan the rest of the run: quadratic in a long run of digits.
int32_t count_money_units(const Text& t) {
  static const Alts units = {u"dollars", u"cents", u"km", u"kg", u"hours", u"minutes", u"apples", u"eggs"};
  return count_matches(t, [&](size_t i) -> size_t {
    if (t.s[i] == u'$' && is_digit(t.at(i + 1))) return i + 2;
    if (!is_digit(t.s[i])) return 0;
    if (i > 0 && is_digit(t.s[i - 1]) && !(i >= 2 && t.s[i - 2] == u'$')) return 0;
    size_t p = i;
    while (p < t.n && is_digit(t.s[p])) ++p;
    while (t.space(p)) ++p;
    for (const auto& u : units)
      if (t.starts(p, u, true) && t.boundary(p + u.size())) return p + u.size();
    return 0;
  });
}

// (^|\s)_(\s|$)   (g): a fill-in-the-blank underscore
int32_t count_blanks(const Text& t) {
  auto tail = [&](size_t p) -> size_t {  // after '_' at p - 1: \s (consumed) or the end
    if (t.space(p)) return p + 1;
    return p == t.n ? p : 0;
  };
  return count_matches(t, [&](size_t i) -> size_t {
    size_t end = 0;
    if (i == 0 && t.s[0] == u'_') end = tail(1);
    if (!end && t.at(i + 1) == u'_' && t.space(i)) end = tail(i + 2);
    return end;
  });
}

// \b(write|compose|draft|create) (a |an |the )?([a-z-]+ )?(story|poem|...)\b   (gi)
int32_t count_creative_requests(const Text& t) {
  static const Alts verbs = {u"write", u"compose", u"draft", u"create"};
  static const Alts articles = {u"a ", u"an ", u"the ", u""};
  static const Alts nouns = {u"story",    u"poem",     u"song",   u"essay", u"lyrics",    u"haiku",
                             u"limerick", u"dialogue", u"speech", u"letter", u"blog post", u"tweet", u"slogan"};
  auto noun_at = [&](size_t p) -> size_t {
    for (const auto& n : nouns)
      if (t.starts(p, n, true) && t.boundary(p + n.size())) return p + n.size();
    return 0;
  };
  auto letter_or_dash = [&](size_t p) {
    const char16_t c = ascii_lower(t.at(p));
    return (c >= u'a' && c <= u'z') || c == u'-';
  };
  auto match_at = [&](size_t i) -> size_t {
    if (!t.boundary(i)) return 0;
    for (const auto& v : verbs) {
      if (!t.starts(i, v, true) || t.at(i + v.size()) != u' ') continue;
      const size_t p = i + v.size() + 1;
      for (const auto& a : articles) {
        if (!t.starts(p, a, true)) continue;
        const size_t q = p + a.size();
        // the optional word: a maximal run of letters and dashes followed by a space (a shorter
        // run would be followed by a letter), tried before going without it
        size_t r = q;
        while (letter_or_dash(r)) ++r;
        if (r > q && t.at(r) == u' ')
          if (const size_t e = noun_at(r + 1)) return e;
        if (const size_t e = noun_at(q)) return e;
      }
    }
    return 0;
  };
  int32_t c = 0;
  size_t from = 0;
  for (const uint32_t i : *t.word_starts) {  // a match starts at \b before a letter
    if (i < from) continue;
    if (const size_t end = match_at(i)) {
      ++c;
      from = end;
    }
  }
  return c;
}

// The word-alternation patterns, in the order of their slots in count_patterns' output (the
// hand-matched rule patterns fill the other slots), and for each first letter every alternative
// that starts with it, pattern by pattern in the patterns' order and each pattern's own: a word
// start tries that one list (all case-insensitive, so one key serves them all).
struct WordPatterns {
  struct Entry {
    const Alternative* alt;
    uint32_t pattern;
  };
  std::vector<size_t> slot;
  std::vector<Entry> by_first[128];
};

const WordPatterns& word_patterns() {
  static const WordAlternation math1(
      {u"solve", u"calculate", u"compute", u"evaluate", u"simplify", u"integral", u"derivative", u"equation",
       u"probability", u"how many", u"how much", u"sum of", u"product of", u"percentage", u"percent", u"average",
       u"ratio", u"fraction"},
      true);
  static const WordAlternation math2({u"prove", u"theorem", u"lemma", u"matrix", u"vector", u"polynomial", u"prime",
                                      u"modulo", u"factorial", u"logarithm"},
                                     true);
  static const WordAlternation code1(
      {u"function", u"python", u"javascript", u"typescript", u"java", u"c++", u"rust", u"golang", u"sql", u"regex",
       u"algorithm", u"implement", u"refactor", u"debug", u"compile", u"bug", u"stack trace", u"api", u"class",
       u"method", u"script"},
      true);
  static const WordAlternation code2(expand(expand({u"write ", u"create ", u"fix "}, {u"a ", u"an ", u"the ", u""}),
                                            {u"function", u"program", u"script", u"class", u"query", u"method"}),
                                     true);
  static const WordAlternation reasoning1(
      {u"why", u"explain", u"reason", u"logical", u"logic", u"infer", u"deduce", u"conclude", u"implies", u"assume",
       u"therefore", u"puzzle", u"riddle", u"cause", u"effect", u"likely"},
      true);
  static const WordAlternation reasoning2({u"what would happen", u"step by step", u"think carefully", u"pros and cons",
                                           u"trade-offs", u"trade-off", u"tradeoffs", u"tradeoff"},
                                          true);
  static const WordAlternation knowledge1(
      {u"what is", u"who was", u"who is", u"when did", u"where is", u"which of the following", u"define",
       u"definition", u"history", u"capital", u"discovered", u"invented", u"located", u"known as", u"refers to"},
      true);
  static const WordAlternation knowledge2({u"science", u"biology", u"chemistry", u"physics", u"geography",
                                           u"economics", u"law", u"medicine", u"astronomy"},
                                          true);
  static const WordAlternation creative2({u"story", u"poem", u"fiction", u"character", u"plot", u"imagine",
                                          u"creative", u"rhyme", u"metaphor", u"brainstorm"},
                                         true);
  static const WordAlternation extraction1(
      {u"summarise", u"summarize", u"summary", u"tl;dr", u"tldr", u"extract", u"list all", u"list the", u"find all",
       u"identify all", u"identify the", u"classify", u"categorise", u"categorize", u"translate", u"rewrite",
       u"paraphrase", u"convert this", u"convert the following", u"key points", u"bullet points"},
      true);
  static const WordAlternation extraction2(
      expand({u"the following "}, {u"text", u"passage", u"article", u"document", u"email", u"paragraph"}), true);
  static const WordAlternation conversation2({u"you", u"your", u"chat", u"talk", u"feel", u"think about", u"opinion",
                                              u"recommend", u"advice", u"suggest"},
                                             true);
  static const WordAlternation constraints({u"must", u"at least", u"at most", u"exactly", u"no more than", u"without",
                                            u"only", u"do not", u"don't", u"never", u"always", u"ensure", u"make sure",
                                            u"within"},
                                           true);
  static const WordAlternation reasoning_cues(
      [] {
        Alts a = expand(expand({u"step"}, {u"-", u" "}, {u"by"}), {u"-", u" "}, {u"step"});
        for (const char16_t* w : {u"prove", u"proof", u"derive", u"explain why", u"justify", u"reasoning", u"reason",
                                  u"compare", u"analyse", u"analyze", u"evaluate", u"why does", u"what would happen",
                                  u"trade-offs", u"trade-off", u"tradeoffs", u"tradeoff", u"implications",
                                  u"implication"})
          a.emplace_back(w);
        return a;
      }(),
      true);
  static const WordPatterns all = [] {
    WordPatterns w;
    const std::pair<const WordAlternation*, size_t> table[] = {
        {&math1, 0},      {&math2, 1},       {&code1, 3},        {&code2, 4},         {&reasoning1, 5},
        {&reasoning2, 6}, {&knowledge1, 8},  {&knowledge2, 9},   {&creative2, 11},    {&extraction1, 12},
        {&extraction2, 13}, {&conversation2, 15}, {&constraints, kConstraintSlot}, {&reasoning_cues, kReasoningSlot}};
    for (const auto& [p, slot] : table) {
      if (!p->icase()) throw Error(codes::INTERNAL, "analyzer: a word pattern must be case-insensitive");
      const auto pattern = static_cast<uint32_t>(w.slot.size());
      for (unsigned c = 0; c < 128; ++c)
        for (const uint16_t j : p->starting_with(static_cast<char16_t>(c)))
          w.by_first[c].push_back({&p->alternative(j), pattern});
      w.slot.push_back(slot);
    }
    return w;
  }();
  return all;
}

}  // namespace

void count_patterns(const Text& t, int32_t* out) {
  static const WordAlternation conversation1({u"hi", u"hello", u"hey", u"thanks", u"thank you", u"good morning",
                                              u"good evening", u"how are you"},
                                             true);
  const WordPatterns& w = word_patterns();
  for (size_t j = 0; j < kPatternSlots; ++j) out[j] = 0;
  // one walk over the word starts for every word alternation, each with its own resume point
  size_t from[32] = {};
  for (const uint32_t i : *t.word_starts) {
    const char16_t c0 = ascii_lower(t.s[i]);
    if (c0 >= 128 || w.by_first[c0].empty()) continue;
    const uint64_t key = key4(t, i, true);
    for (const auto& e : w.by_first[c0]) {
      // (a pattern that matched here resumes past the match: its later alternatives are skipped,
      // the first that matches wins)
      if (i < from[e.pattern] || !e.alt->matches(t, i, key, true)) continue;
      ++out[w.slot[e.pattern]];
      from[e.pattern] = i + e.alt->text.size();
    }
  }
  out[2] = count_money_units(t);
  out[7] = count_blanks(t);
  out[10] = count_creative_requests(t);
  out[14] = conversation1.match_at(t, 0) > 0 ? 1 : 0;  // ^(...)\b without /m: the start only
}

}  // namespace arbiter::detail
