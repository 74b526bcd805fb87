// parallel_for on a persistent pool of worker threads. Spawning std::threads on every call (as
// before) cost tens of microseconds per call, and a meta-training step makes thousands of small
// parallel calls. Workers sleep on a condition variable between calls (no spinning: the machine is
// shared). The range is cut into a few chunks per thread that the calling thread and the workers
// claim from an atomic counter, so when a worker is slow to wake (a loaded machine) the calling
// thread runs its chunks instead of waiting for it; it waits only for chunks already started.
// Calls from inside a worker, or while another call is in flight, run inline.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

namespace mk {

namespace {

thread_local bool t_in_worker = false;

struct Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n;
  int chunks;
  std::atomic<int> next{0};
  int active = 0;    // workers inside the job (guarded by the pool mutex)
  bool open = true;  // false once the caller has claimed every chunk (guarded by the pool mutex)

  void claim_all() {
    for (;;) {
      const int c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) return;
      (*fn)(n * c / chunks, n * (c + 1) / chunks);
    }
  }
};

class ThreadPool {
 public:
  void run(int64_t n, int T, const std::function<void(int64_t, int64_t)>& fn) {
    ensure_workers(T - 1);
    Job job;
    job.fn = &fn;
    job.n = n;
    job.chunks = (int)std::min<int64_t>(n, 4 * (int64_t)T);
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_ = &job;
      ++generation_;
    }
    work_cv_.notify_all();
    job.claim_all();
    std::unique_lock<std::mutex> lk(mu_);
    job.open = false;
    current_ = nullptr;
    done_cv_.wait(lk, [&] { return job.active == 0; });
  }

 private:
  void ensure_workers(int count) {
    while ((int)workers_ < count) {
      ++workers_;
      uint64_t start;
      {
        std::lock_guard<std::mutex> lk(mu_);
        start = generation_;
      }
      std::thread([this, start] { loop(start); }).detach();  // the pool lives until the process exits
    }
  }

  void loop(uint64_t seen) {
    t_in_worker = true;
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lk(mu_);
        work_cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        job = current_;
        if (!job || !job->open) continue;  // woke too late: the caller did it all
        ++job->active;
      }
      job->claim_all();
      std::lock_guard<std::mutex> lk(mu_);
      if (--job->active == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  Job* current_ = nullptr;
  uint64_t generation_ = 0;
  size_t workers_ = 0;
};

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();  // never destroyed: detached workers may outlive static destructors
  return *p;
}

std::atomic<bool> g_busy{false};

}  // namespace

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_per_thread) {
  if (n <= 0) return;
  const int64_t T = std::min<int64_t>(num_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, min_per_thread)));
  if (T <= 1 || t_in_worker) {
    fn(0, n);
    return;
  }
  bool expected = false;
  if (!g_busy.compare_exchange_strong(expected, true)) {
    fn(0, n);  // another thread's call is in flight (kernels are called from one JS thread; defensive)
    return;
  }
  pool().run(n, (int)T, fn);
  g_busy.store(false);
}

}  // namespace mk
