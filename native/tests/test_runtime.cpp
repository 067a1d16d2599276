// Standalone checks of the worker pool (every task once, under concurrent callers, errors passed
// on, SerialScope keeping work on the caller) and of the prompt analyzer on hand-worked texts
// (the JavaScript reference and the full comparison live in test/route-native.test.ts), and the
// huge-page vectors (sizes either side of 2 MiB, alignment, contents kept through growth).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "arbiter/core.hpp"
#include "arbiter/huge_pages.hpp"
#include "../src/bf16_rows.hpp"
#include "../src/kernels.hpp"  // white-box: the kernel tables

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

  // a caller does not wait for another's job: B's job runs to its end while A's job is still
  // running (A's tasks wait for B to finish, up to 5 s; with jobs queued one at a time they time out)
  {
    std::atomic<bool> b_done{false};
    std::atomic<int> a_waited_out{0};
    std::thread a([&] {
      parallel_tasks(4, [&](size_t) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!b_done.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
        if (!b_done.load()) a_waited_out.fetch_add(1);
      });
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // A's job has started
    std::vector<std::atomic<int>> mine(50);
    parallel_tasks(mine.size(), [&](size_t i) { mine[i].fetch_add(1); });
    bool all = true;
    for (auto& h : mine) all = all && h.load() == 1;
    b_done.store(true);
    a.join();
    check(all && a_waited_out.load() == 0, "pool: a caller's job runs while another caller's job is still running");
  }

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

// Calls f with every distinct kernel table this machine runs, narrowest first (a limit the CPU
// cannot reach gives a table already seen), then puts the widest back.
template <typename F>
void each_table(F&& f) {
  std::string seen;
  for (const char* limit : {"generic", "avx2", "avx512f", "best"}) {
    limit_kernels(limit);
    const auto& K = detail::kernels();
    const std::string name = std::string("[") + K.name + "]";
    if (seen.find(name) != std::string::npos) continue;
    seen += name;
    f(K);
  }
  limit_kernels("best");
}

// A two-panel micro-kernel, where a table has one, writes the same bits as two one-panel calls
// (fresh random queries and panels, every query count, dimension counts odd and even).
void test_micro2() {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> N(0.f, 1.f);
  std::string with;
  each_table([&](const detail::KernelTable& K) {
    if (!K.micro2_f32[1]) return;
    with += std::string("[") + K.name + "]";
    constexpr size_t P = detail::kPanel, ldc = 3 * P;  // a wider tile than the block, as the index uses
    for (size_t mr = 1; mr <= detail::kMaxMr; ++mr)
      for (size_t d : {1, 2, 7, 64, 257}) {
        std::vector<float> a(mr * d), b(2 * P * d), one(mr * ldc), two(mr * ldc);
        std::vector<uint16_t> h(2 * P * d);
        for (auto& x : a) x = N(rng);
        for (auto& x : b) x = N(rng);
        for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(b[i]);
        const std::string tag = std::string(K.name) + " mr=" + std::to_string(mr) + " d=" + std::to_string(d) +
                                " seed=" + std::to_string(seed);
        for (int half = 0; half < 2; ++half) {
          std::fill(one.begin(), one.end(), 7.f);
          std::fill(two.begin(), two.end(), 7.f);
          if (half) {
            K.micro_f16[mr](a.data(), d, h.data(), d, one.data(), ldc);
            K.micro_f16[mr](a.data(), d, h.data() + P * d, d, one.data() + P, ldc);
            K.micro2_f16[mr](a.data(), d, h.data(), d, two.data(), ldc);
          } else {
            K.micro_f32[mr](a.data(), d, b.data(), d, one.data(), ldc);
            K.micro_f32[mr](a.data(), d, b.data() + P * d, d, one.data() + P, ldc);
            K.micro2_f32[mr](a.data(), d, b.data(), d, two.data(), ldc);
          }
          bool same = true;  // the 32 columns written, and the untouched rest of each tile row
          for (size_t i = 0; i < mr * ldc; ++i) same = same && std::memcmp(&one[i], &two[i], sizeof(float)) == 0;
          check(same && two[2 * P] == 7.f, "two-panel micro-kernel = two one-panel calls, " + tag + (half ? " f16" : " f32"));
        }
      }
  });
  const bool avx512 = cpu_info().simd.rfind("avx512", 0) == 0;
  check(!avx512 || with.find("avx512f") != std::string::npos, "the AVX-512 table's two-panel kernels were tested");
  std::printf("two-panel micro-kernels tested: %s\n", with.empty() ? "none (no table has them)" : with.c_str());
}

// score_lanes (a table's lanes kernel, where it has one; micro_*[1] a panel at a time otherwise)
// writes, for every row asked, the bits micro_*[1] gives that row: scattered panels, repeated ones,
// every count up to 9 (short groups of four), odd and even dimensions, fresh random values.
void test_lanes() {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> N(0.f, 1.f);
  std::string with;
  each_table([&](const detail::KernelTable& K) {
    with += std::string("[") + K.name + (K.lanes_f32 ? "+lanes]" : "]");
    constexpr size_t P = detail::kPanel, panels = 5;
    for (size_t d : {1, 2, 7, 64, 257})
      for (size_t count = 0; count <= 9; ++count) {
        std::vector<float> a(d), b(panels * P * d);
        std::vector<uint16_t> h(b.size());
        for (auto& x : a) x = N(rng);
        for (auto& x : b) x = N(rng);
        for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(b[i]);
        std::vector<size_t> which(count);
        std::vector<uint32_t> lane(count);
        std::uniform_int_distribution<size_t> pick(0, panels - 1);
        std::uniform_int_distribution<uint32_t> pick_lane(0, P - 1);
        for (size_t j = 0; j < count; ++j) {
          which[j] = pick(rng);
          lane[j] = pick_lane(rng);
        }
        const std::string tag = std::string(K.name) + " d=" + std::to_string(d) + " count=" + std::to_string(count) +
                                " seed=" + std::to_string(seed);
        std::vector<const float*> pf(count);
        std::vector<const uint16_t*> ph(count);
        for (size_t j = 0; j < count; ++j) {
          pf[j] = b.data() + which[j] * P * d;
          ph[j] = h.data() + which[j] * P * d;
        }
        std::vector<float> got_f(count + 1, 7.f), got_h(count + 1, 7.f), tile(P);
        detail::score_lanes(K, a.data(), pf.data(), lane.data(), count, d, got_f.data());
        detail::score_lanes(K, a.data(), ph.data(), lane.data(), count, d, got_h.data());
        bool same = got_f[count] == 7.f && got_h[count] == 7.f;  // nothing written past count
        for (size_t j = 0; j < count; ++j) {
          K.micro_f32[1](a.data(), d, pf[j], d, tile.data(), P);
          same = same && std::memcmp(&tile[lane[j]], &got_f[j], sizeof(float)) == 0;
          K.micro_f16[1](a.data(), d, ph[j], d, tile.data(), P);
          same = same && std::memcmp(&tile[lane[j]], &got_h[j], sizeof(float)) == 0;
        }
        check(same, "score_lanes = micro[1]'s lane, f32 and f16, " + tag);
      }
  });
  const bool avx512 = cpu_info().simd.rfind("avx512", 0) == 0;
  check(!avx512 || with.find("+lanes") != std::string::npos, "the AVX-512 table's lanes kernels were tested");
  std::printf("lanes kernels tested: %s\n", with.c_str());
}

// The bf16 kernels (where the CPU has them) against a double-precision sum of the same bf16
// values: within the fp32 summation bound the search's window assumes (gamma_d times the sum of
// |products|), for every query count, odd and even dimensions (the pad dimension is zero), and
// the pair conversion's residual as measured in double.
void test_bf16_micro() {
  limit_kernels("best");
  const auto& K = detail::kernels();
  if (!K.micro_bf16[1]) {
    std::printf("bf16 kernels: none on this machine\n");
    return;
  }
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> N(0.f, 1.f);
  constexpr size_t P = detail::kPanel, ldc = 3 * P;
  bool within = true, residual = true;
  for (size_t mr = 1; mr <= detail::kMaxMr; ++mr)
    for (size_t d : {1, 2, 7, 64, 257}) {
      const size_t d2 = (d + 1) / 2;
      std::vector<float> a(mr * d), b(2 * P * d);
      for (auto& x : a) x = N(rng);
      for (auto& x : b) x = N(rng) * 1e3f;
      std::vector<uint32_t> qa(mr * d2), rowp(d2);
      std::vector<uint16_t> panels(2 * P * 2 * d2, 0);
      for (size_t i = 0; i < mr; ++i) {
        const auto v = detail::to_bf16_pairs(a.data() + i * d, d, qa.data() + i * d2);
        double rr = 0, ss = 0;
        for (size_t t = 0; t < d; ++t) {
          const uint16_t h = static_cast<uint16_t>(qa[i * d2 + t / 2] >> (16 * (t % 2)));
          rr += std::pow(double(a[i * d + t]) - detail::from_bf16(h), 2);
          ss += double(a[i * d + t]) * a[i * d + t];
        }
        residual = residual && v.ok && v.residual >= std::sqrt(rr / ss) && v.residual <= std::sqrt(rr / ss) * 1.001 + 1e-12;
      }
      for (size_t r = 0; r < 2 * P; ++r) {
        detail::to_bf16_pairs(b.data() + r * d, d, rowp.data());
        for (size_t t = 0; t < d2; ++t) std::memcpy(&panels[(r / P) * P * 2 * d2 + t * 2 * P + (r % P) * 2], &rowp[t], 4);
      }
      for (int two = 0; two < 2; ++two) {
        std::vector<float> c(mr * ldc, 7.f);
        if (two) K.micro2_bf16[mr](qa.data(), d2, panels.data(), d2, c.data(), ldc);
        else {
          K.micro_bf16[mr](qa.data(), d2, panels.data(), d2, c.data(), ldc);
          K.micro_bf16[mr](qa.data(), d2, panels.data() + P * 2 * d2, d2, c.data() + P, ldc);
        }
        const double gamma = 2.0 * d2 * std::ldexp(1.0, -24) / (1 - 2.0 * d2 * std::ldexp(1.0, -24));
        for (size_t i = 0; i < mr; ++i)
          for (size_t r = 0; r < 2 * P; ++r) {
            double dot = 0, mag = 0;
            for (size_t t = 0; t < d; ++t) {
              const auto qh = static_cast<uint16_t>(qa[i * d2 + t / 2] >> (16 * (t % 2)));
              const double p = double(detail::from_bf16(qh)) * detail::from_bf16(detail::to_bf16(b[r * d + t]));
              dot += p;
              mag += std::fabs(p);
            }
            within = within && std::fabs(c[i * ldc + r] - dot) <= gamma * mag + 1e-30;
          }
        within = within && c[2 * P] == 7.f;
      }
    }
  check(within, "bf16 micro-kernels within the fp32 summation bound of a double reference, seed=" + std::to_string(seed));
  check(residual, "bf16 pairs: the measured residual bounds the rounding, seed=" + std::to_string(seed));
  std::printf("bf16 kernels tested: %s\n", K.name);
}

// The bulk fp16 conversions of every table against the scalar reference (float_to_half,
// half_to_float), bit for bit: fresh random values at every scale from below the smallest fp16
// subnormal to past the largest finite fp16 (rounding to subnormals, to 65504 and to infinity),
// random bit patterns, the edges and halfway cases by hand, every length up to 40 (the vector
// loops' tails); every one of the 65,536 halves back to float. NaN in gives NaN out.
void test_half_n() {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> N(0.f, 1.f);
  std::uniform_int_distribution<int> scale(-30, 17);
  std::uniform_int_distribution<uint32_t> bits;
  auto from_bits = [](uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  };
  std::vector<float> xs;
  for (int i = 0; i < 20000; ++i) xs.push_back(std::ldexp(N(rng), scale(rng)));
  for (int i = 0; i < 20000; ++i) {
    const float f = from_bits(bits(rng));
    if (!std::isnan(f)) xs.push_back(f);
  }
  for (float f : {0.f, -0.f, 65504.f, -65504.f, 65519.99f, 65520.f, -65520.f, 1e30f, 5.9604645e-8f, 2.9802322e-8f,
                  2.9802326e-8f, 8.940697e-8f, 6.097555e-5f, 6.1035156e-5f, 1.0009766f, 1.0004883f, 1.0014648f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min()})
    xs.push_back(f);
  std::string with;
  bool same = true, back = true, lengths = true, nan = true;
  each_table([&](const detail::KernelTable& K) {
    with += std::string("[") + K.name + "]";
    std::vector<uint16_t> h(xs.size() + 1, 0x1234);
    K.float_to_half_n(xs.data(), h.data(), xs.size());
    for (size_t i = 0; i < xs.size(); ++i) same = same && h[i] == float_to_half(xs[i]);
    same = same && h[xs.size()] == 0x1234;  // nothing written past n
    for (size_t n = 0; n <= 40; ++n) {
      std::vector<uint16_t> part(n + 1, 0x1234);
      K.float_to_half_n(xs.data() + 7, part.data(), n);
      for (size_t i = 0; i < n; ++i) lengths = lengths && part[i] == float_to_half(xs[7 + i]);
      lengths = lengths && part[n] == 0x1234;
    }
    const float q[3] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                        from_bits(0x7f800001u)};
    uint16_t qh[3];
    K.float_to_half_n(q, qh, 3);
    float qf[3];
    K.half_to_float_n(qh, qf, 3);
    for (float f : qf) nan = nan && std::isnan(f);
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
    std::vector<float> f(all.size());
    K.half_to_float_n(all.data(), f.data(), all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      const float want = half_to_float(all[i]);
      back = back && (std::isnan(want) ? std::isnan(f[i]) : std::memcmp(&want, &f[i], 4) == 0);
    }
  });
  const std::string tag = " " + with + ", seed=" + std::to_string(seed);
  check(same, "float_to_half_n = float_to_half on " + std::to_string(xs.size()) + " values" + tag);
  check(lengths, "float_to_half_n: every length up to 40, nothing past n" + tag);
  check(nan, "float_to_half_n: NaN stays NaN" + tag);
  check(back, "half_to_float_n = half_to_float on every half" + tag);
  std::printf("bulk fp16 conversions tested: %s\n", with.c_str());
}

void test_huge_vector() {
  std::mt19937 rng(static_cast<uint32_t>(std::random_device{}()));
  const size_t big = (size_t{2} << 20) / sizeof(float);  // 2 MiB of floats: the huge-page path
  bool kept = true, aligned = true;
  for (const size_t n : {size_t{1}, big - 1, big, big + 1, 3 * big + 77}) {
    HugeVector<float> v(n);
    std::vector<float> ref(n);
    for (size_t i = 0; i < n; ++i) v[i] = ref[i] = static_cast<float>(rng()) / 4096.f;
    if (n * sizeof(float) >= (size_t{2} << 20))
      aligned = aligned && reinterpret_cast<uintptr_t>(v.data()) % (size_t{2} << 20) == 0;
    v.resize(2 * n + 5);  // regrown across the 2 MiB line: moved into a new allocation
    for (size_t i = 0; i < n; ++i) kept = kept && v[i] == ref[i];
    for (size_t i = n; i < v.size(); ++i) kept = kept && v[i] == 0.f;
    HugeVector<float>().swap(v);  // freed by the path that allocated it
  }
  check(kept, "HugeVector: contents kept through growth across 2 MiB, new elements zero");
  check(aligned, "HugeVector: allocations of 2 MiB or more are 2 MiB-aligned");
}

}  // namespace

void test_runtime() {
  test_huge_vector();
  test_pool();
  test_analyzer();
  test_micro2();
  test_lanes();
  test_bf16_micro();
  test_half_n();
}
