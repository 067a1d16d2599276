// Internal: bounded top-k selection shared by the CPU and CUDA paths.
// Order: higher score first; equal scores by lower label first (deterministic across backends).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace arbiter::detail {

inline bool better(float sa, int64_t ia, float sb, int64_t ib) { return sa > sb || (sa == sb && ia < ib); }

// A min-heap (worst on top) of at most k (score, id) pairs held in caller-owned arrays.
struct TopK {
  float* s;
  int64_t* id;
  size_t k, n = 0;

  float threshold() const { return n < k ? -std::numeric_limits<float>::infinity() : s[0]; }

  void push(float v, int64_t label) {
    if (n < k) {
      size_t i = n++;
      while (i > 0) {  // sift up: parent is better than the new one -> move parent down
        const size_t p = (i - 1) / 2;
        if (!better(s[p], id[p], v, label)) break;
        s[i] = s[p];
        id[i] = id[p];
        i = p;
      }
      s[i] = v;
      id[i] = label;
      return;
    }
    if (!better(v, label, s[0], id[0])) return;
    size_t i = 0;  // sift down from the root
    for (;;) {
      const size_t l = 2 * i + 1, r = l + 1;
      size_t w = i;
      float ws = v;
      int64_t wi = label;
      if (l < k && better(ws, wi, s[l], id[l])) { w = l; ws = s[l]; wi = id[l]; }
      if (r < k && better(ws, wi, s[r], id[r])) { w = r; }
      if (w == i) break;
      s[i] = s[w];
      id[i] = id[w];
      i = w;
    }
    s[i] = v;
    id[i] = label;
  }
};

// Removes and returns the worst entry (the root).
inline void pop_worst(TopK& h, float& vs, int64_t& vi) {
  vs = h.s[0];
  vi = h.id[0];
  const size_t n = --h.n;
  if (n == 0) return;
  const float ls = h.s[n];
  const int64_t li = h.id[n];
  size_t i = 0;
  for (;;) {
    const size_t l = 2 * i + 1, r = l + 1;
    size_t w = i;
    float ws = ls;
    int64_t wi = li;
    if (l < n && better(ws, wi, h.s[l], h.id[l])) { w = l; ws = h.s[l]; wi = h.id[l]; }
    if (r < n && better(ws, wi, h.s[r], h.id[r])) w = r;
    if (w == i) break;
    h.s[i] = h.s[w];
    h.id[i] = h.id[w];
    i = w;
  }
  h.s[i] = ls;
  h.id[i] = li;
}

// Writes the heap's entries sorted best-first into out (k slots); empty slots get (-1, NaN).
inline void drain_sorted(TopK& h, float* out_s, int64_t* out_id) {
  for (size_t j = h.n; j < h.k; ++j) {
    out_s[j] = std::numeric_limits<float>::quiet_NaN();
    out_id[j] = -1;
  }
  while (h.n > 0) {
    const size_t slot = h.n - 1;
    pop_worst(h, out_s[slot], out_id[slot]);
  }
}

// Merges candidate lists into the best k, sorted best-first. Candidates with a NaN score are
// padding (any id, negative ones included, is a valid label). tmp_* must hold k entries.
inline void merge_candidates(const float* cs, const int64_t* ci, size_t n_cand, size_t k, float* out_s,
                             int64_t* out_id, float* tmp_s, int64_t* tmp_id) {
  TopK h{tmp_s, tmp_id, k};
  for (size_t c = 0; c < n_cand; ++c)
    if (!std::isnan(cs[c])) h.push(cs[c], ci[c]);
  drain_sorted(h, out_s, out_id);
}

}  // namespace arbiter::detail
