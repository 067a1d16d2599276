#include "parallel.hpp"

#include <algorithm>
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

// One parallel_for call: its tasks, handed out one at a time from `next`.
struct Job {
  Job(const std::function<void(size_t, unsigned)>* f, size_t count) : fn(f), n(count) {}
  const std::function<void(size_t, unsigned)>* fn;
  size_t n;
  std::atomic<size_t> next{0};
  unsigned busy = 0;         // pool workers inside it (under the pool's mutex)
  std::exception_ptr error;  // the first task's error (under the pool's mutex)
};

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

  // Concurrent callers each run their own job, and idle workers join the oldest job with tasks
  // left: a caller never waits for another's job to end (a routing batch's small MLP call used to
  // queue behind the other batch's search), nor for a worker that has not woken — once its tasks
  // are all taken it waits only for the workers that joined it. (Waiting for every worker to check
  // in made each call as slow as the slowest wake-up, milliseconds on a busy or virtualised machine.)
  void run(size_t n, const std::function<void(size_t, unsigned)>& fn) {
    Job job(&fn, n);
    {
      std::lock_guard<std::mutex> lk(mu_);
      jobs_.push_back(&job);
    }
    cv_.notify_all();
    work(job, 0);
    std::unique_lock<std::mutex> lk(mu_);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));  // no worker joins it after this
    done_cv_.wait(lk, [&job] { return job.busy == 0; });
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  void work(Job& job, unsigned worker) {
    for (;;) {
      const size_t i = job.next.fetch_add(1);
      if (i >= job.n) break;
      try {
        (*job.fn)(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!job.error) job.error = std::current_exception();
        job.next.store(job.n);  // stop handing out its tasks
      }
    }
  }
  // The oldest listed job with a task not yet taken (under mu_), or null.
  Job* open_job() const {
    for (Job* j : jobs_)
      if (j->next.load() < j->n) return j;
    return nullptr;
  }
  void loop(unsigned worker) {
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || (job = open_job()) != nullptr; });
        if (stop_) return;
        ++job->busy;
      }
      work(*job, worker);
      {
        std::lock_guard<std::mutex> lk(mu_);
        --job->busy;
      }
      done_cv_.notify_all();  // its caller may be waiting for the workers inside it
    }
  }

  unsigned threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<Job*> jobs_;  // jobs with a caller still in run(), oldest first
  bool stop_ = false;
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
