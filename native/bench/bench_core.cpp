// Standalone benchmark of the native core (no Node.js), for CPU and, when present, CUDA.
// Times exact kNN at several batch sizes, embedding pooling and an MLP head; prints a table and
// optionally writes JSON. Times are wall-clock medians of repeated synchronous calls after a
// warm-up, on random (never zero) data; CUDA figures include query upload and result download.
//   usage: arbiter_bench [--n 100000] [--d 256] [--k 10] [--q 1,64,1024] [--device cpu|cuda|all]
//                        [--dtype f32|f16] [--reps 7] [--json out.json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "arbiter/core.hpp"

using namespace arbiter;
using Clock = std::chrono::steady_clock;

namespace {
struct Row {
  std::string name, device;
  size_t q;
  double median_s, qps, gflops, gbps;
};

template <typename F>
double median_time(int reps, F&& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<size_t> parse_list(const std::string& s) {
  std::vector<size_t> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoul(item));
  return v;
}
}  // namespace

int main(int argc, char** argv) {
  size_t n = 100000, d = 256, k = 10;
  std::vector<size_t> qs{1, 64, 1024};
  std::string device = "all", json, dtype = "f32";
  int reps = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--n") n = std::stoul(v);
    else if (a == "--d") d = std::stoul(v);
    else if (a == "--k") k = std::stoul(v);
    else if (a == "--q") qs = parse_list(v);
    else if (a == "--device") device = v;
    else if (a == "--dtype") dtype = v;
    else if (a == "--reps") reps = std::stoi(v);
    else if (a == "--json") json = v;
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  const CudaInfo cu = cuda_info();
  std::vector<std::string> devices;
  if (device == "cpu" || device == "all") devices.push_back("cpu");
  if ((device == "cuda" || device == "all") && cu.available) devices.push_back("cuda");
  if (device == "cuda" && !cu.available) { std::fprintf(stderr, "CUDA unavailable: %s\n", cu.reason.c_str()); return 1; }

  std::mt19937 rng(12345);
  std::normal_distribution<float> N(0.f, 1.f);
  std::vector<float> db(n * d);
  for (auto& x : db) x = N(rng);
  std::vector<int64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i);
  const size_t qmax = *std::max_element(qs.begin(), qs.end());
  std::vector<float> queries(qmax * d);
  for (auto& x : queries) x = N(rng);
  const DType dt = parse_dtype(dtype);
  const double row_bytes = double(d) * (dt == DType::F16 ? 2 : 4);

  std::vector<Row> rows;
  for (const auto& dev : devices) {
    auto idx = dev == "cuda" ? make_cuda_index(d, dt) : make_cpu_index(d, dt);
    idx->add(labels.data(), db.data(), n);
    for (size_t q : qs) {
      const int r = q == 1 ? reps * 4 : reps;
      const double t = median_time(r, [&] { idx->search(queries.data(), q, k, Metric::InnerProduct); });
      rows.push_back({"knn", dev, q, t, q / t, 2.0 * q * n * d / t / 1e9, n * row_bytes / t / 1e9});
    }
    // embedding pooling: 4096 bags of 24 tokens over a 30k x d table
    {
      const size_t V = 30000, bags = 4096, len = 24;
      std::vector<float> tab(V * d);
      for (auto& x : tab) x = N(rng);
      std::vector<int32_t> ids(bags * len), off(bags + 1);
      std::uniform_int_distribution<int> tok(0, int(V) - 1);
      for (auto& x : ids) x = tok(rng);
      for (size_t b = 0; b <= bags; ++b) off[b] = int32_t(b * len);
      std::vector<float> out(bags * d);
      EmbedTableView view{tab.data(), DType::F32, V, d};
      std::unique_ptr<CudaEmbedTable> ct;
      if (dev == "cuda") ct = make_cuda_embed_table(view);
      const double t = median_time(reps, [&] {
        if (ct) ct->pool(ids.data(), ids.size(), off.data(), bags, nullptr, true, out.data());
        else embed_pool_cpu(view, ids.data(), ids.size(), off.data(), bags, nullptr, true, out.data());
      });
      rows.push_back({"embed", dev, bags, t, bags / t, 2.0 * bags * len * d / t / 1e9, bags * len * d * 4.0 / t / 1e9});
    }
    // MLP head: d -> 64 -> 1 (ReLU, sigmoid) on 65,536 rows
    {
      const size_t rowsN = 65536;
      std::vector<LayerSpec> layers(2);
      layers[0] = {d, 64, std::vector<float>(64 * d), std::vector<float>(64, 0.1f), Activation::Relu};
      layers[1] = {64, 1, std::vector<float>(64), std::vector<float>(1, 0.f), Activation::Sigmoid};
      for (auto& L : layers) for (auto& x : L.weight) x = N(rng) * 0.05f;
      auto net = dev == "cuda" ? make_cuda_mlp(layers) : make_cpu_mlp(layers);
      std::vector<float> x(rowsN * d), out(rowsN);
      for (auto& v : x) v = N(rng);
      const double t = median_time(reps, [&] { net->forward(x.data(), rowsN, out.data()); });
      rows.push_back({"mlp", dev, rowsN, t, rowsN / t, 2.0 * rowsN * (d * 64 + 64) / t / 1e9, rowsN * d * 4.0 / t / 1e9});
    }
  }

  const CpuInfo ci = cpu_info();
  std::printf("arbiter_bench: n=%zu d=%zu k=%zu dtype=%s cpu=%s threads=%u cuda=%s\n", n, d, k, dtype.c_str(),
              ci.simd.c_str(), ci.threads, cu.available ? cu.device.c_str() : ("unavailable: " + cu.reason).c_str());
  std::printf("%-6s %-5s %8s %12s %14s %10s %10s\n", "kernel", "dev", "batch", "median ms", "rows|q per s", "GFLOP/s", "GB/s");
  for (const auto& r : rows)
    std::printf("%-6s %-5s %8zu %12.3f %14.1f %10.1f %10.1f\n", r.name.c_str(), r.device.c_str(), r.q, r.median_s * 1e3,
                r.qps, r.gflops, r.gbps);
  if (!json.empty()) {
    FILE* f = std::fopen(json.c_str(), "w");
    if (!f) { std::perror("json"); return 1; }
    std::fprintf(f, "{\"machine\":{\"cpu\":\"%s\",\"threads\":%u,\"cuda\":\"%s\"},\"shape\":{\"n\":%zu,\"d\":%zu,\"k\":%zu,\"dtype\":\"%s\"},\"results\":[",
                 ci.simd.c_str(), ci.threads, cu.available ? cu.device.c_str() : "", n, d, k, dtype.c_str());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      std::fprintf(f, "%s{\"name\":\"%s-%s\",\"kernel\":\"%s\",\"kind\":\"backend\",\"Q\":%zu,\"medianMs\":%.6f,\"qps\":%.3f,\"gflops\":%.3f,\"gbps\":%.3f}",
                   i ? "," : "", r.device.c_str(), r.name.c_str(), r.name.c_str(), r.q, r.median_s * 1e3, r.qps, r.gflops, r.gbps);
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  return 0;
}
