// parallel_for on a persistent pool of worker threads. Spawning std::threads on every call (as
// before) cost tens of microseconds per call, and a meta-training step makes thousands of small
// parallel calls. Workers sleep on a condition variable between calls (no spinning: the machine is
// shared); the calling thread runs the first chunk itself. Calls from inside a worker, or while
// another call is in flight, run inline.
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

class ThreadPool {
 public:
  // Runs fn over [0, n) in T contiguous chunks, chunk 0 on the calling thread.
  void run(int64_t n, int T, const std::function<void(int64_t, int64_t)>& fn) {
    ensure_workers(T - 1);
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_ = n;
      chunks_ = T;
      pending_ = T - 1;
      ++generation_;
    }
    work_cv_.notify_all();
    fn(0, n / T);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void ensure_workers(int count) {
    while ((int)workers_ < count) {
      const int id = (int)workers_++;
      uint64_t start;
      {
        std::lock_guard<std::mutex> lk(mu_);
        start = generation_;  // the worker takes part from the next call on, even if it starts late
      }
      std::thread([this, id, start] { loop(id, start); }).detach();  // the pool lives until the process exits
    }
  }

  void loop(int id, uint64_t seen) {
    t_in_worker = true;
    for (;;) {
      const std::function<void(int64_t, int64_t)>* fn;
      int64_t b, e;
      {
        std::unique_lock<std::mutex> lk(mu_);
        work_cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        const int chunk = id + 1;
        if (chunk >= chunks_) continue;
        fn = fn_;
        b = n_ * chunk / chunks_;
        e = n_ * (chunk + 1) / chunks_;
      }
      (*fn)(b, e);
      std::lock_guard<std::mutex> lk(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 0;
  int pending_ = 0;
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
