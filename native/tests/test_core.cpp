// Standalone checks of the native core against a plain double-precision reference, on fresh
// random inputs (seed printed; set ARBITER_SEED to replay). Runs every path the build has:
// portable kernels, AVX2 kernels, and CUDA when a device is present. No Node.js needed.
//   usage: arbiter_tests [--cuda-required]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "arbiter/core.hpp"

using namespace arbiter;

namespace {
int g_pass = 0, g_fail = 0;
std::mt19937_64 g_rng;

void expect(bool ok, const std::string& what) {
  if (ok) ++g_pass;
  else { ++g_fail; std::printf("FAIL %s\n", what.c_str()); }
}
std::vector<float> randn(size_t n) {
  std::normal_distribution<float> N(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = N(g_rng);
  return v;
}
std::vector<float> round_f16(std::vector<float> v) {
  for (auto& x : v) x = half_to_float(float_to_half(x));
  return v;
}

// Reference kNN in double precision: returns, per query, every row's score.
std::vector<double> ref_scores(const std::vector<float>& db, size_t n, const std::vector<float>& q, size_t nq, size_t d,
                               Metric m) {
  std::vector<double> s(nq * n);
  for (size_t i = 0; i < nq; ++i)
    for (size_t j = 0; j < n; ++j) {
      double dot = 0, qq = 0, xx = 0;
      for (size_t t = 0; t < d; ++t) {
        dot += double(q[i * d + t]) * db[j * d + t];
        qq += double(q[i * d + t]) * q[i * d + t];
        xx += double(db[j * d + t]) * db[j * d + t];
      }
      if (m == Metric::InnerProduct) s[i * n + j] = dot;
      else if (m == Metric::Cosine) s[i * n + j] = (qq > 0 && xx > 0) ? dot / std::sqrt(qq * xx) : 0;
      else s[i * n + j] = qq + xx - 2 * dot;
    }
  return s;
}

// Checks a search result: ids are distinct stored labels, scores match the reference within tol,
// and every returned score is at least as good as the best excluded one (allowing tol).
void check_search(const std::string& tag, const SearchResult& r, const std::vector<double>& ref, size_t n, size_t nq,
                  size_t k, Metric m, double tol) {
  const size_t kk = std::min(k, n);
  expect(r.k == kk && r.ids.size() == nq * kk && r.scores.size() == nq * kk, tag + ": result shape");
  if (r.ids.size() != nq * kk) return;
  const bool lower_better = m == Metric::L2;
  bool ok_scores = true, ok_order = true, ok_set = true;
  for (size_t i = 0; i < nq; ++i) {
    std::vector<char> taken(n, 0);
    for (size_t j = 0; j < kk; ++j) {
      const int64_t id = r.ids[i * kk + j] - 1000;  // labels are row + 1000
      if (id < 0 || size_t(id) >= n || taken[id]) { ok_set = false; continue; }
      taken[id] = 1;
      const double want = ref[i * n + id];
      if (std::fabs(r.scores[i * kk + j] - want) > tol * (1 + std::fabs(want))) ok_scores = false;
      if (j > 0) {
        const float a = r.scores[i * kk + j - 1], b = r.scores[i * kk + j];
        if (lower_better ? a > b + 1e-6f : a < b - 1e-6f) ok_order = false;
      }
    }
    // best excluded reference score must not beat the worst returned (within tol)
    double worst = lower_better ? -1e300 : 1e300;
    for (size_t j = 0; j < kk; ++j) {
      const int64_t id = r.ids[i * kk + j] - 1000;
      if (id < 0 || size_t(id) >= n) continue;
      worst = lower_better ? std::max(worst, ref[i * n + id]) : std::min(worst, ref[i * n + id]);
    }
    for (size_t j = 0; j < n; ++j) {
      if (taken[j]) continue;
      const double v = ref[i * n + j];
      if (lower_better ? v < worst - tol * (1 + std::fabs(v)) : v > worst + tol * (1 + std::fabs(v))) ok_set = false;
    }
  }
  expect(ok_set, tag + ": returned ids are the true top-k");
  expect(ok_scores, tag + ": scores match the reference");
  expect(ok_order, tag + ": scores sorted best first");
}

using IndexFactory = std::function<std::unique_ptr<Index>(size_t, DType)>;

void test_index(const std::string& path, const IndexFactory& make) {
  struct Shape { size_t n, d, nq, k; };
  const Shape shapes[] = {{1, 7, 1, 1}, {1, 3, 2, 5}, {37, 33, 5, 4}, {1000, 64, 13, 10}, {3001, 129, 7, 50},
                          {500, 256, 70, 300}, {20000, 96, 3, 16},
                          // enough queries to be split into groups (not row chunks) up to 16 threads
                          {2000, 48, 400, 16}};
  for (DType dt : {DType::F32, DType::F16}) {
    const double tol = dt == DType::F32 ? 2e-5 : 2e-5;  // reference uses the stored (rounded) rows
    for (const auto& sh : shapes) {
      auto idx = make(sh.d, dt);
      auto db = randn(sh.n * sh.d);
      if (dt == DType::F16) db = round_f16(db);
      std::vector<int64_t> labels(sh.n);
      for (size_t i = 0; i < sh.n; ++i) labels[i] = int64_t(i) + 1000;
      // add in two batches
      const size_t h = sh.n / 2;
      idx->add(labels.data(), db.data(), h);
      idx->add(labels.data() + h, db.data() + h * sh.d, sh.n - h);
      expect(idx->size() == sh.n, path + ": size after add");
      auto q = randn(sh.nq * sh.d);
      for (Metric m : {Metric::InnerProduct, Metric::Cosine, Metric::L2}) {
        const auto ref = ref_scores(db, sh.n, q, sh.nq, sh.d, m);
        const std::string tag = path + (dt == DType::F32 ? " f32" : " f16") + " n=" + std::to_string(sh.n) +
                                " d=" + std::to_string(sh.d) + " q=" + std::to_string(sh.nq) + " k=" +
                                std::to_string(sh.k) + " m=" + std::to_string(int(m));
        check_search(tag, idx->search(q.data(), sh.nq, sh.k, m), ref, sh.n, sh.nq, sh.k, m, tol * std::sqrt(double(sh.d)));
      }
      // remove a third of the rows, then results must match a reference over the rest
      if (sh.n >= 3) {
        std::vector<int64_t> gone;
        for (size_t i = 0; i < sh.n; i += 3) gone.push_back(labels[i]);
        gone.push_back(-5);  // unknown: ignored
        expect(idx->remove(gone.data(), gone.size()) == gone.size() - 1, path + ": remove count");
        std::vector<float> rest;
        std::vector<int64_t> rest_labels;
        for (size_t i = 0; i < sh.n; ++i)
          if (i % 3 != 0) {
            rest.insert(rest.end(), db.begin() + i * sh.d, db.begin() + (i + 1) * sh.d);
            rest_labels.push_back(labels[i]);
          }
        const size_t nr = rest_labels.size();
        auto r = idx->search(q.data(), sh.nq, sh.k, Metric::InnerProduct);
        // map labels back to positions in `rest` for the checker (label = pos + 1000)
        std::unordered_map<int64_t, int64_t> pos;
        for (size_t i = 0; i < rest_labels.size(); ++i) pos[rest_labels[i]] = int64_t(i) + 1000;
        for (auto& id : r.ids) {
          const auto it = pos.find(id);
          id = it == pos.end() ? -1 : it->second;
        }
        const auto ref = ref_scores(rest, nr, q, sh.nq, sh.d, Metric::InnerProduct);
        check_search(path + " after remove n=" + std::to_string(sh.n), r, ref, nr, sh.nq, sh.k, Metric::InnerProduct,
                     tol * std::sqrt(double(sh.d)));
        std::vector<float> row(sh.d);
        expect(idx->get(labels[1], row.data()) && std::memcmp(row.data(), db.data() + sh.d, sh.d * 4) == 0,
               path + ": get returns the stored row");
        expect(!idx->get(labels[0], row.data()), path + ": get of a removed id is false");
      }
      // duplicate ids are refused and change nothing
      const size_t before = idx->size();
      bool threw = false;
      try {
        int64_t dup[2] = {999999, 999999};
        auto v = randn(2 * sh.d);
        idx->add(dup, v.data(), 2);
      } catch (const Error& e) { threw = e.code() == arbiter::codes::DUPLICATE_ID; }
      expect(threw && idx->size() == before, path + ": duplicate ids refused without change");
    }
  }
  // a batch large enough, for its k, to run in several query blocks (k = 16,400: blocks of 64)
  {
    const size_t n = 16400, d = 4, nq = 150;
    auto idx = make(d, DType::F32);
    auto db = randn(n * d);
    std::vector<int64_t> labels(n);
    for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i) + 1000;
    idx->add(labels.data(), db.data(), n);
    auto q = randn(nq * d);
    check_search(path + " query blocks", idx->search(q.data(), nq, n, Metric::InnerProduct),
                 ref_scores(db, n, q, nq, d, Metric::InnerProduct), n, nq, n, Metric::InnerProduct, 2e-5 * 2);
  }
  // negative labels are ordinary labels
  {
    auto idx = make(3, DType::F32);
    const int64_t labels[3] = {-1, -7, 4};
    const float rows[9] = {1, 0, 0, 0.5f, 0.5f, 0, 0, 0, 1};
    idx->add(labels, rows, 3);
    const float q[3] = {1, 0.2f, 0};
    const auto r = idx->search(q, 1, 3, Metric::InnerProduct);
    expect(r.k == 3 && r.ids[0] == -1 && r.ids[1] == -7 && r.ids[2] == 4, path + ": negative labels are returned");
  }
  // NaN and infinity are refused with the offending position, and change nothing
  {
    auto idx = make(4, DType::F32);
    auto v = randn(12);
    const int64_t labels[3] = {1, 2, 3};
    idx->add(labels, v.data(), 2);
    v[9] = std::numeric_limits<float>::infinity();
    std::string msg;
    try { idx->add(labels + 2, v.data() + 4, 2); } catch (const Error& e) { msg = e.code() + " " + e.what(); }
    expect(msg == "ARB_NOT_FINITE vectors[5] is not finite" && idx->size() == 2, path + ": non-finite vectors refused: " + msg);
    std::vector<float> q(40, 0.5f);
    q[37] = std::nanf("");
    msg.clear();
    try { idx->search(q.data(), 10, 1, Metric::L2); } catch (const Error& e) { msg = e.code() + " " + e.what(); }
    expect(msg == "ARB_NOT_FINITE queries[37] is not finite", path + ": non-finite query refused: " + msg);
  }
  // empty index and empty batch
  auto idx = make(5, DType::F32);
  auto q = randn(5);
  expect(idx->search(q.data(), 1, 3, Metric::L2).k == 0, path + ": search of an empty index gives k = 0");
  expect(idx->search(q.data(), 0, 3, Metric::L2).ids.empty(), path + ": empty query batch");
}

// Cosine search where the bf16 first pass (AVX512-BF16 machines) cannot tell rows apart: clusters
// of near-copies (a few bf16 steps apart, so their bf16 scores tie or swap) around each query, and
// a fan of rows in doubt wider than the pass's buffer (that query is searched exactly). The result must be
// the exact search's: the same ids, in the same order, as a double-precision reference ranks the
// rows the fp32 kernels score (ties within 1e-6 may swap), and the same as the AVX2 kernels give.
void test_cosine_ties(const std::string& path, const char* limit) {
  const size_t d = 96, per = 40, k = 16;
  std::normal_distribution<float> N(0.f, 1.f);
  for (DType dt : {DType::F32, DType::F16}) {
    for (size_t copies : {per, size_t{300}}) {  // 300: more near-copies than a buffer of doubt holds
      const size_t centers = 12, n = centers * copies + 500;
      std::vector<float> db;
      std::vector<float> q;
      for (size_t c = 0; c < centers; ++c) {
        const auto center = randn(d);
        for (size_t j = 0; j < copies; ++j)
          for (size_t t = 0; t < d; ++t) db.push_back(center[t] * (1 + 3e-3f * N(g_rng)));
        for (size_t t = 0; t < d; ++t) q.push_back(center[t] * (1 + 1e-3f * N(g_rng)));
      }
      const auto rest = randn(500 * d);
      db.insert(db.end(), rest.begin(), rest.end());
      if (dt == DType::F16) db = round_f16(db);
      auto idx = make_cpu_index(d, dt);
      std::vector<int64_t> labels(n);
      for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i) + 1000;
      idx->add(labels.data(), db.data(), n);
      const std::string tag = path + " cosine near-copies x" + std::to_string(copies) + (dt == DType::F32 ? " f32" : " f16");
      const auto r = idx->search(q.data(), centers, k, Metric::Cosine);
      check_search(tag, r, ref_scores(db, n, q, centers, d, Metric::Cosine), n, centers, k, Metric::Cosine, 2e-6);
      limit_kernels("avx2");
      const auto e = idx->search(q.data(), centers, k, Metric::Cosine);
      limit_kernels(limit);
      bool same = r.ids.size() == e.ids.size();
      for (size_t i = 0; same && i < r.ids.size(); ++i)
        same = r.ids[i] == e.ids[i] || std::fabs(r.scores[i] - e.scores[i]) <= 1e-6f;
      expect(same, tag + ": the same neighbours as the AVX2 kernels");
    }
  }
  // a fan of 300 rows whose cosines to the query rise by 1e-5 a row (from 0.9): all within the bf16
  // pass's margin of doubt, more than its buffer holds, met lowest first — a pass that dropped
  // what its buffer cannot hold would return rows from the fan's low end
  for (DType dt : {DType::F32, DType::F16}) {
    const size_t fan = 300, n = fan + 500;
    auto dir = randn(d);
    double dn = 0;
    for (float v : dir) dn += double(v) * v;
    for (auto& v : dir) v = float(v / std::sqrt(dn));
    std::vector<float> db;
    for (size_t j = 0; j < fan; ++j) {
      auto u = randn(d);  // a unit vector orthogonal to dir
      double ud = 0, uu = 0;
      for (size_t t = 0; t < d; ++t) ud += double(u[t]) * dir[t];
      for (size_t t = 0; t < d; ++t) u[t] = float(u[t] - ud * dir[t]);
      for (float v : u) uu += double(v) * v;
      const double c = 0.9 + 1e-5 * double(j), sn = std::sqrt(1 - c * c);
      for (size_t t = 0; t < d; ++t) db.push_back(float(c * dir[t] + sn * u[t] / std::sqrt(uu)));
    }
    const auto rest = randn(500 * d);
    db.insert(db.end(), rest.begin(), rest.end());
    if (dt == DType::F16) db = round_f16(db);
    std::vector<float> q;
    for (size_t t = 0; t < d; ++t) q.push_back(3 * dir[t]);
    const auto other = randn(2 * d);
    q.insert(q.end(), other.begin(), other.end());
    auto idx = make_cpu_index(d, dt);
    std::vector<int64_t> labels(n);
    for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i) + 1000;
    idx->add(labels.data(), db.data(), n);
    const std::string tag = path + " cosine fan of " + std::to_string(fan) + (dt == DType::F32 ? " f32" : " f16");
    check_search(tag, idx->search(q.data(), 3, k, Metric::Cosine), ref_scores(db, n, q, 3, d, Metric::Cosine), n, 3, k,
                 Metric::Cosine, 2e-6);
  }
  // a k larger than the rows a buffer holds in doubt beyond its k best (the buffer grows with k)
  {
    const size_t n = 3000, big_k = 200;
    auto db = randn(n * d);
    auto q = randn(5 * d);
    std::vector<int64_t> labels(n);
    for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i) + 1000;
    auto idx = make_cpu_index(d, DType::F16);
    db = round_f16(db);
    idx->add(labels.data(), db.data(), n);
    check_search(path + " cosine k=200", idx->search(q.data(), 5, big_k, Metric::Cosine),
                 ref_scores(db, n, q, 5, d, Metric::Cosine), n, 5, big_k, Metric::Cosine, 2e-6);
  }
  // values the bf16 bound does not cover (beyond 2^32): a query with one is searched exactly, a
  // row with one turns the first pass off for the index; both still give the exact top-k
  const size_t n = 3000;
  auto db = randn(n * d);
  auto q = randn(4 * d);
  q[d + 5] = 3e12f;
  std::vector<int64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i) + 1000;
  for (int big_row = 0; big_row < 2; ++big_row) {
    if (big_row) db[7 * d + 3] = -5e11f;
    auto idx = make_cpu_index(d, DType::F32);
    idx->add(labels.data(), db.data(), n);
    const std::string tag = path + (big_row ? " cosine, a row beyond 2^32" : " cosine, a query beyond 2^32");
    check_search(tag, idx->search(q.data(), 4, k, Metric::Cosine), ref_scores(db, n, q, 4, d, Metric::Cosine), n, 4, k,
                 Metric::Cosine, 2e-6);
  }
}

void test_embed(const std::string& path,
                const std::function<void(const EmbedTableView&, const int32_t*, size_t, const int32_t*, size_t,
                                         const float*, bool, float*)>& pool) {
  std::uniform_int_distribution<int> len(0, 40);
  std::uniform_real_distribution<float> U(0.f, 2.f);
  for (DType dt : {DType::F32, DType::F16}) {
    for (size_t d : {size_t(1), size_t(7), size_t(64), size_t(300)}) {
      const size_t V = 500, nb = 67;
      auto tab = randn(V * d);
      std::vector<uint16_t> tab16(V * d);
      for (size_t i = 0; i < V * d; ++i) tab16[i] = float_to_half(tab[i]);
      if (dt == DType::F16) tab = round_f16(tab);
      std::vector<int32_t> offsets{0}, ids;
      std::vector<float> w;
      std::uniform_int_distribution<int> tok(0, int(V) - 1);
      for (size_t b = 0; b < nb; ++b) {
        const int l = b == 3 ? 0 : len(g_rng);  // bag 3 empty
        for (int j = 0; j < l; ++j) { ids.push_back(tok(g_rng)); w.push_back(U(g_rng)); }
        offsets.push_back(int32_t(ids.size()));
      }
      EmbedTableView view{dt == DType::F32 ? static_cast<const void*>(tab.data()) : tab16.data(), dt, V, d};
      for (bool weighted : {false, true})
        for (bool norm : {true, false}) {
          std::vector<float> out(nb * d, 123.f);
          pool(view, ids.data(), ids.size(), offsets.data(), nb, weighted ? w.data() : nullptr, norm, out.data());
          double maxerr = 0;
          for (size_t b = 0; b < nb; ++b) {
            std::vector<double> acc(d, 0.0);
            double ws = 0;
            for (int j = offsets[b]; j < offsets[b + 1]; ++j) {
              const double ww = weighted ? w[j] : 1.0;
              ws += ww;
              for (size_t t = 0; t < d; ++t) acc[t] += ww * tab[size_t(ids[j]) * d + t];
            }
            double ss = 0;
            for (double a : acc) ss += a * a;
            for (size_t t = 0; t < d; ++t) {
              const double want = ws <= 0 ? 0 : norm ? (ss > 0 ? acc[t] / std::sqrt(ss) : 0) : acc[t] / ws;
              maxerr = std::max(maxerr, std::fabs(out[b * d + t] - want));
            }
          }
          expect(maxerr < 1e-4, path + " embed d=" + std::to_string(d) + (dt == DType::F16 ? " f16" : " f32") +
                                    (weighted ? " weighted" : "") + (norm ? " normalized" : " mean") +
                                    " max error " + std::to_string(maxerr));
        }
      // out-of-range id is a typed error
      bool threw = false;
      try {
        std::vector<int32_t> bad{0, int32_t(V)}, off{0, 2};
        std::vector<float> o(d);
        pool(view, bad.data(), 2, off.data(), 1, nullptr, true, o.data());
      } catch (const Error& e) { threw = e.code() == arbiter::codes::OUT_OF_RANGE; }
      expect(threw, path + ": out-of-range id rejected");
    }
  }
}

void test_mlp(const std::string& path, const std::function<std::unique_ptr<Mlp>(std::vector<LayerSpec>)>& make) {
  const Activation hidden[] = {Activation::Relu, Activation::Gelu, Activation::Sigmoid};
  const Activation outs[] = {Activation::None, Activation::Sigmoid, Activation::Softmax};
  for (size_t n : {size_t(1), size_t(5), size_t(97), size_t(1000)})
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<size_t> dims = variant == 0 ? std::vector<size_t>{13, 1} : variant == 1 ? std::vector<size_t>{64, 33, 7}
                                                                                         : std::vector<size_t>{300, 128, 64, 5};
      std::vector<LayerSpec> layers;
      for (size_t l = 0; l + 1 < dims.size(); ++l) {
        LayerSpec L;
        L.in = dims[l];
        L.out = dims[l + 1];
        L.weight = randn(L.in * L.out);
        for (auto& x : L.weight) x *= float(1.0 / std::sqrt(double(L.in)));
        L.bias = randn(L.out);
        L.activation = l + 2 == dims.size() ? outs[variant] : hidden[(l + variant) % 3];
        layers.push_back(L);
      }
      auto net = make(layers);
      auto x = randn(n * dims[0]);
      std::vector<float> out(n * dims.back());
      net->forward(x.data(), n, out.data());
      double maxerr = 0;
      for (size_t i = 0; i < n; ++i) {
        std::vector<double> cur(x.begin() + i * dims[0], x.begin() + (i + 1) * dims[0]);
        for (const auto& L : layers) {
          std::vector<double> nxt(L.out);
          for (size_t o = 0; o < L.out; ++o) {
            double s = L.bias[o];
            for (size_t t = 0; t < L.in; ++t) s += double(L.weight[o * L.in + t]) * cur[t];
            nxt[o] = s;
          }
          if (L.activation == Activation::Relu) for (auto& v : nxt) v = v > 0 ? v : 0;
          if (L.activation == Activation::Gelu) for (auto& v : nxt) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
          if (L.activation == Activation::Sigmoid) for (auto& v : nxt) v = 1 / (1 + std::exp(-v));
          if (L.activation == Activation::Softmax) {
            double m = *std::max_element(nxt.begin(), nxt.end()), z = 0;
            for (auto& v : nxt) { v = std::exp(v - m); z += v; }
            for (auto& v : nxt) v /= z;
          }
          cur = nxt;
        }
        for (size_t o = 0; o < cur.size(); ++o) maxerr = std::max(maxerr, std::fabs(out[i * cur.size() + o] - cur[o]));
      }
      expect(maxerr < 1e-4, path + " mlp n=" + std::to_string(n) + " variant " + std::to_string(variant) +
                                " max error " + std::to_string(maxerr));
    }
  {  // a non-finite input row far into the batch is reported with its flat position
    LayerSpec a{3, 2, randn(6), {}, Activation::Relu};
    auto net = make({a});
    auto x = randn(3 * 200);
    x[3 * 150 + 1] = -std::numeric_limits<float>::infinity();
    std::vector<float> out(2 * 200);
    std::string msg;
    try { net->forward(x.data(), 200, out.data()); } catch (const Error& e) { msg = e.code() + " " + e.what(); }
    expect(msg == "ARB_NOT_FINITE x[451] is not finite", path + ": non-finite mlp input refused: " + msg);
  }
  bool threw = false;
  try {
    LayerSpec a{4, 3, randn(12), {}, Activation::Relu}, b{5, 2, randn(10), {}, Activation::None};
    make({a, b});
  } catch (const Error& e) { threw = e.code() == arbiter::codes::DIMENSION_MISMATCH; }
  expect(threw, path + ": mismatched layer sizes rejected");
}

void test_half() {
  const float vals[] = {0.f, -0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 1e-9f, 70000.f, 0.333333f};
  const uint16_t want[] = {0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x0400, 0x0001, 0x0000, 0x7c00, 0x3555};
  bool ok = true;
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); ++i)
    if (float_to_half(vals[i]) != want[i]) { ok = false; std::printf("half(%g) = %04x, want %04x\n", vals[i], float_to_half(vals[i]), want[i]); }
  expect(ok, "fp16 encoding of known values");
  bool rt = true;
  for (uint32_t h = 0; h < 0x7c00; ++h)
    if (float_to_half(half_to_float(uint16_t(h))) != h) rt = false;
  expect(rt, "fp16 round trip of every finite half");
}

}  // namespace

void check(bool ok, const std::string& what) { expect(ok, what); }
uint64_t test_seed() { return g_rng(); }
void test_tokenizer();  // test_tokenizer.cpp
void test_runtime();  // test_runtime.cpp

int main(int argc, char** argv) {
  bool cuda_required = false;
  for (int i = 1; i < argc; ++i) if (std::string(argv[i]) == "--cuda-required") cuda_required = true;
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("ARBITER_SEED")) seed = std::strtoull(s, nullptr, 10);
  g_rng.seed(seed);
  std::printf("arbiter native tests, seed %llu (ARBITER_SEED to replay)\n", (unsigned long long)seed);
  const CpuInfo ci = cpu_info();
  std::printf("cpu kernels: %s, %u threads\n", ci.simd.c_str(), ci.threads);

  test_half();
  test_tokenizer();
  test_runtime();
  // every kernel table this machine can run: generic, AVX2, AVX-512F, AVX-512F with BF16
  std::string tested;
  for (const char* limit : {"generic", "avx2", "avx512f", "best"}) {
    limit_kernels(limit);
    const std::string path = std::string("cpu/") + cpu_info().simd;
    if (tested.find("[" + path + "]") != std::string::npos) continue;  // not wider on this machine
    tested += "[" + path + "]";
    test_index(path, [](size_t d, DType t) { return make_cpu_index(d, t); });
    test_cosine_ties(path, limit);
    test_embed(path, embed_pool_cpu);
    test_mlp(path, [](std::vector<LayerSpec> l) { return make_cpu_mlp(std::move(l)); });
  }
  std::printf("kernel tables tested: %s\n", tested.c_str());
  bool threw = false;
  try {
    limit_kernels("sse9");
  } catch (const Error& e) {
    threw = e.code() == arbiter::codes::INVALID_ARGUMENT;
  }
  expect(threw, "limit_kernels: an unknown name is ARB_INVALID_ARGUMENT");
  limit_kernels("best");
  // single-threaded pool must give the same answers
  set_threads(1);
  test_index("cpu/1-thread", [](size_t d, DType t) { return make_cpu_index(d, t); });
  set_threads(0);

  const CudaInfo cu = cuda_info();
  std::printf("cuda: compiled=%d available=%d %s%s\n", cu.compiled, cu.available, cu.device.c_str(),
              cu.available ? "" : (" (" + cu.reason + ")").c_str());
  if (cu.available) {
    test_index("cuda", [](size_t d, DType t) { return make_cuda_index(d, t); });
    test_embed("cuda", [](const EmbedTableView& v, const int32_t* ids, size_t n, const int32_t* off, size_t nb,
                          const float* w, bool norm, float* out) { make_cuda_embed_table(v)->pool(ids, n, off, nb, w, norm, out); });
    test_mlp("cuda", [](std::vector<LayerSpec> l) { return make_cuda_mlp(std::move(l)); });
  } else {
    bool threw = false;
    try { make_cuda_index(4, DType::F32); } catch (const Error& e) { threw = e.code() == arbiter::codes::CUDA_UNAVAILABLE; }
    expect(threw, "cuda unavailable is reported as ARB_CUDA_UNAVAILABLE");
    if (cuda_required) expect(false, "--cuda-required but CUDA is unavailable: " + cu.reason);
  }
  std::printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail == 0 ? 0 : 1;
}
