// Part of index_cpu.cpp (included there, inside its namespace): the cosine search's bf16 first
// pass, CpuIndex::search_block_bf16. Kept apart from the index's storage and exact search.

// The bf16 pass: every query's best kk by bf16 scores (a heap per chunk of rows, as the exact
// search keeps) and, beside it, every row whose bf16 score lies within two window widths of that
// heap's k-th (bf16_rows.hpp): the rows that can be in the exact top-k. The k-th only rises as the
// scan goes, so a row below the margin when seen can never be needed; those the buffer holds are
// dropped when it fills. After the scan the rows within the margin of the k-th over all chunks are
// rescored with the exact kernel (one query against each one's row panel: the scores the exact
// search gives a lone query) and ranked. A query with more rows in doubt than a buffer holds, or
// that the bound does not cover (zero norm, a value beyond 2^32), is searched exactly. (This took
// the place of a 64-row heap per query, whose pushes cost as much as the bf16 dot products.)
template <typename T>
void CpuIndex<T>::search_block_bf16(const detail::KernelTable& K, const float* queries, size_t nq, size_t kk,
                                    int64_t* out_ids, float* out_scores) const {
  const size_t d = dim_, d2 = bf_.d2();
  std::vector<uint32_t> pairs(nq * d2);
  std::vector<detail::Bf16Vector> qv(nq);
  std::vector<double> margin(nq);
  for (size_t q = 0; q < nq; ++q) {
    qv[q] = detail::to_bf16_pairs(queries + q * d, d, pairs.data() + q * d2);
    margin[q] = 2 * detail::bf16_window(d2, qv[q], bf_);
  }
  const Split sp = split(nq, labels_.size() * 2 * d2 * sizeof(uint16_t));
  const size_t lists = sp.chunks * nq, cap = doubt_rows(kk);  // one heap and one buffer per chunk and query
  std::vector<float> heap_s(lists * kk, std::numeric_limits<float>::quiet_NaN());
  std::vector<int64_t> heap_i(lists * kk);
  std::vector<float> doubt_s(lists * cap);
  std::vector<uint32_t> doubt_r(lists * cap);
  std::vector<uint32_t> doubt_n(lists, 0);
  std::vector<char> overflow(lists, 0);
  // the lowest float at or below (k-th - margin), in double: a row below it is out of doubt
  auto floor_of = [&](float kth, size_t q) {
    const double lo = static_cast<double>(kth) - margin[q];
    float f = static_cast<float>(lo);
    if (static_cast<double>(f) > lo) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
  };
  detail::parallel_for(sp.tasks(), [&](size_t task, unsigned) {
    thread_local std::vector<size_t> count_buf;
    size_t* counts = detail::scratch(count_buf, nq);
    std::fill(counts, counts + nq, size_t{0});
    const size_t chunk = task / sp.groups;
    walk(
        sp, task, nq, Metric::Cosine,
        [&](size_t q0, size_t mr, size_t bp, size_t bcount, float* tile, size_t ldc) {
          detail::micro_panels_bf16(K, mr, pairs.data() + q0 * d2, d2, bf_.data() + bp * 2 * kPanel * d2, d2, bcount,
                                    tile, ldc);
        },
        [&](size_t q, const float* row, size_t row0, size_t ncols) {
          const size_t list = chunk * nq + q;
          detail::TopK h{heap_s.data() + list * kk, heap_i.data() + list * kk, kk, counts[q]};
          float* ds = doubt_s.data() + list * cap;
          uint32_t* dr = doubt_r.data() + list * cap;
          uint32_t& dn = doubt_n[list];
          float lo = floor_of(h.threshold(), q);
          for (size_t c = K.find_ge(row, ncols, lo); c < ncols;) {
            const float v = row[c];
            h.push(v, static_cast<int64_t>(row0 + c));
            lo = floor_of(h.threshold(), q);
            if (dn == cap) {  // full: keep the rows still in doubt
              uint32_t kept = 0;
              for (uint32_t j = 0; j < dn; ++j)
                if (ds[j] >= lo) {
                  ds[kept] = ds[j];
                  dr[kept++] = dr[j];
                }
              dn = kept;
            }
            if (dn < cap) {
              ds[dn] = v;
              dr[dn++] = static_cast<uint32_t>(row0 + c);
            } else {
              overflow[list] = 1;  // more rows in doubt than a buffer holds
            }
            ++c;
            c += K.find_ge(row + c, ncols - c, lo);
          }
          counts[q] = h.n;
        });
  });
  // per query: the k-th bf16 score over all chunks, then the rows within the margin below it
  std::vector<float> best_s(nq * kk);
  std::vector<int64_t> best_i(nq * kk);
  merge_chunks(sp.chunks, nq, kk, heap_s.data(), heap_i.data(), best_s.data(), best_i.data());
  std::vector<char> redo(nq, 0);
  for (size_t l = 0; l < lists; ++l)
    if (overflow[l]) redo[l % nq] = 1;
  detail::parallel_for(div_up(nq, 16), [&](size_t task, unsigned) {
    thread_local std::vector<float> hs, dots;
    thread_local std::vector<int64_t> hi;
    thread_local std::vector<uint32_t> rows_buf, lanes_buf;
    thread_local std::vector<const T*> panels_buf;
    float* h_s = detail::scratch(hs, kk);
    int64_t* h_i = detail::scratch(hi, kk);
    for (size_t q = task * 16; q < std::min(nq, task * 16 + 16); ++q) {
      const double lo = static_cast<double>(best_s[q * kk + kk - 1]) - margin[q];
      if (redo[q] || !qv[q].ok || !(qv[q].norm > 0) || std::isnan(lo)) {
        redo[q] = 1;
        continue;
      }
      // the rows in doubt, scored exactly: each row's lane of its panel, several panels at a time
      rows_buf.clear();
      for (size_t c = 0; c < sp.chunks; ++c) {
        const size_t list = c * nq + q;
        for (uint32_t j = 0; j < doubt_n[list]; ++j)
          if (static_cast<double>(doubt_s[list * cap + j]) >= lo) rows_buf.push_back(doubt_r[list * cap + j]);
      }
      const size_t m = rows_buf.size();
      const T** panels = detail::scratch(panels_buf, m);
      uint32_t* lanes = detail::scratch(lanes_buf, m);
      float* dot = detail::scratch(dots, m);
      for (size_t j = 0; j < m; ++j) {
        panels[j] = rows_.data() + (rows_buf[j] / kPanel) * kPanel * d;
        lanes[j] = static_cast<uint32_t>(rows_buf[j] % kPanel);
      }
      detail::score_lanes(K, queries + q * d, panels, lanes, m, d, dot);
      detail::TopK h{h_s, h_i, kk};
      for (size_t j = 0; j < m; ++j) {
        const size_t r = rows_buf[j];
        const float s = dot[j] * inv_norm_[r];
        h.push(static_cast<float>(s / qv[q].norm), labels_[r]);
      }
      detail::drain_sorted(h, out_scores + q * kk, out_ids + q * kk);
    }
  });
  std::vector<float> again;
  std::vector<size_t> which;
  for (size_t q = 0; q < nq; ++q)
    if (redo[q]) {
      which.push_back(q);
      again.insert(again.end(), queries + q * d, queries + (q + 1) * d);
    }
  if (which.empty()) return;
  std::vector<int64_t> ids(which.size() * kk);
  std::vector<float> scores(which.size() * kk);
  search_block(again.data(), which.size(), kk, Metric::Cosine, ids.data(), scores.data());
  for (size_t j = 0; j < which.size(); ++j) {
    std::copy_n(ids.data() + j * kk, kk, out_ids + which[j] * kk);
    std::copy_n(scores.data() + j * kk, kk, out_scores + which[j] * kk);
  }
}
