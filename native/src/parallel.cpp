#include "parallel.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "arbiter/core.hpp"

namespace arbiter::detail {
namespace {

unsigned default_threads() {
  if (const char* env = std::getenv("ARBITER_THREADS")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0 && v <= 1024) return static_cast<unsigned>(v);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : hc;
}

class Pool {
 public:
  explicit Pool(unsigned threads) : threads_(threads) {
    for (unsigned w = 1; w < threads_; ++w) workers_.emplace_back([this, w] { loop(w); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  unsigned threads() const { return threads_; }

  // The caller works too and never waits for a worker that has not woken: once every task is
  // taken and the workers that joined are done, the job closes, and a worker that wakes later
  // skips it. (Waiting for every worker to check in made each call as slow as the slowest wake-up,
  // milliseconds on a busy or virtualised machine.)
  void run(size_t n, const std::function<void(size_t, unsigned)>& fn) {
    std::lock_guard<std::mutex> job_lock(job_mu_);  // one job at a time
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      error_ = nullptr;
      busy_ = 0;
      open_ = true;
      ++generation_;
    }
    cv_.notify_all();
    work(0);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return busy_ == 0; });
    open_ = false;  // under the lock where busy_ == 0 was seen: no worker can join after this
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work(unsigned worker) {
    for (;;) {
      const size_t i = next_.fetch_add(1);
      if (i >= n_) break;
      try {
        (*fn_)(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_);  // stop handing out tasks
      }
    }
  }
  void loop(unsigned worker) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (!open_) continue;  // woke after the job closed
        ++busy_;
      }
      work(worker);
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (--busy_ == 0) done_cv_.notify_one();
      }
    }
  }

  unsigned threads_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t, unsigned)>* fn_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
  unsigned busy_ = 0;  // workers inside the current job
  bool open_ = false;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

std::mutex g_pool_mu;
std::shared_ptr<Pool> g_pool;  // a running job keeps its pool alive across set_threads
unsigned g_requested = 0;

std::shared_ptr<Pool> pool() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (!g_pool) g_pool = std::make_shared<Pool>(g_requested ? g_requested : default_threads());
  return g_pool;
}

}  // namespace

unsigned pool_threads() { return pool()->threads(); }

thread_local bool t_serial = false;

void parallel_for(size_t n_tasks, const std::function<void(size_t, unsigned)>& fn) {
  if (n_tasks == 0) return;
  // inline: one task, a SerialScope on this thread, or a pool of one
  std::shared_ptr<Pool> p;
  if (n_tasks == 1 || t_serial || (p = pool())->threads() == 1) {
    for (size_t i = 0; i < n_tasks; ++i) fn(i, 0);
    return;
  }
  p->run(n_tasks, fn);
}

}  // namespace arbiter::detail

namespace arbiter {
void set_threads(unsigned n) {
  std::lock_guard<std::mutex> lk(detail::g_pool_mu);
  detail::g_requested = n;
  detail::g_pool.reset();  // the next parallel call starts a pool of the new size
}

SerialScope::SerialScope() : previous_(detail::t_serial) { detail::t_serial = true; }
SerialScope::~SerialScope() { detail::t_serial = previous_; }

void parallel_tasks(size_t n_tasks, const std::function<void(size_t task)>& fn) {
  detail::parallel_for(n_tasks, [&fn](size_t task, unsigned) { fn(task); });
}

}  // namespace arbiter
