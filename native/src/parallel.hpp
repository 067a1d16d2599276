// Internal: a persistent worker pool. parallel_for runs fn(task, worker) for task in [0, n) on
// the calling thread plus the pool's idle workers; concurrent callers each run their own job (the
// workers help the oldest one with tasks left).
#pragma once
#include <cstddef>
#include <functional>

namespace arbiter::detail {

unsigned pool_threads();
void parallel_for(size_t n_tasks, const std::function<void(size_t task, unsigned worker)>& fn);

}  // namespace arbiter::detail
