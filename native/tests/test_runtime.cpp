// Standalone checks of the worker pool (every task once, under concurrent callers, errors passed
// on, SerialScope keeping work on the caller) and of the prompt analyzer on hand-worked texts
// (the JavaScript reference and the full comparison live in test/route-native.test.ts).
#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "arbiter/core.hpp"

using namespace arbiter;

void check(bool ok, const std::string& what);  // test_core.cpp

namespace {

void test_pool() {
  std::vector<std::atomic<int>> hits(10000);
  parallel_tasks(hits.size(), [&](size_t i) { hits[i].fetch_add(1); });
  bool once = true;
  for (auto& h : hits) once = once && h.load() == 1;
  check(once, "pool: every task runs exactly once");

  // concurrent callers: jobs queue, and each still runs all of its tasks once
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int job = 0; job < 200; ++job) {
        std::vector<std::atomic<int>> mine(1 + job % 37);
        parallel_tasks(mine.size(), [&](size_t i) { mine[i].fetch_add(1); });
        for (auto& h : mine)
          if (h.load() != 1) wrong.fetch_add(1);
      }
    });
  for (auto& t : callers) t.join();
  check(wrong.load() == 0, "pool: concurrent callers each get all their tasks, once");

  bool threw = false;
  try {
    parallel_tasks(64, [](size_t i) {
      if (i == 17) throw Error(codes::INVALID_ARGUMENT, "task 17");
    });
  } catch (const Error& e) {
    threw = e.code() == codes::INVALID_ARGUMENT;
  }
  check(threw, "pool: a task's error reaches the caller");

  const auto me = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  {
    const SerialScope serial;
    parallel_tasks(256, [&](size_t) {
      if (std::this_thread::get_id() != me) elsewhere.fetch_add(1);
    });
  }
  check(elsewhere.load() == 0, "pool: under a SerialScope every task runs on the calling thread");
}

std::vector<uint8_t> ascii_classes() {
  std::vector<uint8_t> c(0x10000, 0);
  for (int x = 'a'; x <= 'z'; ++x) c[x] = kClassLetter | (1 << kScriptShift);
  for (int x = 'A'; x <= 'Z'; ++x) c[x] = kClassLetter | (1 << kScriptShift);
  for (int x = '0'; x <= '9'; ++x) c[x] = kClassNumber;
  for (int x : {9, 10, 11, 12, 13, 32}) c[x] = kClassSpace;
  c[0x44f] = kClassLetter | (2 << kScriptShift);  // 'я' as Cyrillic
  return c;
}

void test_analyzer() {
  const PromptAnalyzer an(ascii_classes());
  double f[kFeatureCount];
  int32_t r[kRulePatternCount];
  auto run = [&](const std::u16string& s) { an.analyze(s.data(), s.size(), f, r); };
  run(u"Solve 3x + 5 = 20, step by step. Why?\n- a\n- b\n  indented;");
  check(f[0] == 57, "analyzer: chars");
  check(f[1] == 13, "analyzer: words (a list's '-' is a word too: [letters, digits, _ ' -]+)");
  check(f[2] == 4 && f[10] == 2, "analyzer: lines and list items");
  check(f[3] == 2, "analyzer: sentences ('. ' and '?')");
  check(f[5] == 0.25, "analyzer: code-line share (the indented line ending in ';')");
  check(f[7] == 3 && f[8] == 1 && f[9] == 0, "analyzer: numbers, question marks, not a question");
  check(f[15] == 1 && f[16] == 1, "analyzer: one reasoning cue, Latin script");
  check(r[0] == 1 && r[5] == 1 && r[6] == 1, "analyzer: rules math 'solve', reasoning 'why', 'step by step'");
  run(u"What is 2*3? \u044f\u044f\u044f\u044f\u044f\u044f\u044f");
  check(f[9] == 1 && f[6] == 100.0 / 20 && f[16] == 2, "analyzer: a question, one math match, Cyrillic dominant");
  check(std::abs(f[12] - 7.0 / 13) < 1e-12, "analyzer: non-Latin share of letters (7 of 13)");
  run(u"");
  check(f[0] == 0 && f[1] == 0 && f[3] == 0 && f[16] == 0, "analyzer: the empty text");
  bool threw = false;
  try {
    PromptAnalyzer bad(std::vector<uint8_t>(10, 0));
  } catch (const Error& e) {
    threw = e.code() == codes::INVALID_ARGUMENT;
  }
  check(threw, "analyzer: a class table short of the BMP is ARB_INVALID_ARGUMENT");
}

}  // namespace

void test_runtime() {
  test_pool();
  test_analyzer();
}
