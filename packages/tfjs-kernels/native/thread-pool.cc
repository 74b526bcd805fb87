// parallel_for on a persistent pool of worker threads. Spawning std::threads on every call (as
// before) cost tens of microseconds per call, and a meta-training step makes thousands of small
// parallel calls. The range is cut into a few chunks per thread that the calling thread and the
// workers claim from an atomic counter, so when a worker is slow to wake (a loaded machine) the
// calling thread runs its chunks instead of waiting for it; it waits only for chunks already started.
// Calls from inside a worker, or while another call is in flight, run inline.
//
// Waiting spins first, then sleeps: a worker that finished a job polls for the next one for up to
// `METAD2A_SPIN_US` microseconds (default 100) before it sleeps on a condition variable, and the
// caller polls for the workers' last chunks as long before it sleeps. A training step calls the
// kernels every few tens of microseconds, less than a futex wake-up costs on a VM, so without the
// spin the second core joined each small kernel late. Spinning happens only while a process keeps
// calling; an idle pool sleeps, and one thread (METAD2A_THREADS=1) never spins.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels.h"

namespace mk {

namespace {

thread_local bool t_in_worker = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

int64_t spin_ns() {
  static const int64_t ns = [] {  // read once, at the first parallel call
    const char* env = std::getenv("METAD2A_SPIN_US");
    const long us = env != nullptr ? std::strtol(env, nullptr, 10) : 100;
    return (int64_t)std::max(0L, us) * 1000;
  }();
  return ns;
}

// Poll `ready` for up to spin_ns(); true as soon as it holds.
template <class Ready>
bool spin_until(const Ready& ready) {
  const int64_t limit = spin_ns();
  if (limit <= 0) return ready();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if ((i & 63) == 63 &&
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count() > limit)
      return ready();
  }
}

struct Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n;
  int chunks;
  std::atomic<int> next{0};
  std::atomic<int> active{0};  // workers inside the job (changed under the pool mutex, polled by the caller)
  bool open = true;            // false once the caller has claimed every chunk (guarded by the pool mutex)

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
    bool wake;
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
      wake = sleepers_ > 0;  // spinning workers see the new generation without a futex call
    }
    if (wake) work_cv_.notify_all();
    job.claim_all();
    {
      std::lock_guard<std::mutex> lk(mu_);
      job.open = false;
      current_ = nullptr;
    }
    // a worker decrements `active` last and touches the job no more, so the job may end once it reads 0
    if (spin_until([&] { return job.active.load(std::memory_order_acquire) == 0; })) return;
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return job.active.load(std::memory_order_acquire) == 0; });
  }

 private:
  void ensure_workers(int count) {
    while ((int)workers_ < count) {
      ++workers_;
      const uint64_t start = generation_.load(std::memory_order_acquire);
      std::thread([this, start] { loop(start); }).detach();  // the pool lives until the process exits
    }
  }

  void loop(uint64_t seen) {
    t_in_worker = true;
    for (;;) {
      Job* job;
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lk(mu_);
        if (generation_.load(std::memory_order_relaxed) == seen) {
          ++sleepers_;
          work_cv_.wait(lk, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
          --sleepers_;
        }
        seen = generation_.load(std::memory_order_relaxed);
        job = current_;
        if (!job || !job->open) continue;  // woke too late: the caller did it all
        job->active.fetch_add(1, std::memory_order_relaxed);
      }
      job->claim_all();
      std::lock_guard<std::mutex> lk(mu_);
      if (job->active.fetch_sub(1, std::memory_order_release) == 1) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  Job* current_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  int sleepers_ = 0;  // workers waiting on work_cv_ (guarded by mu_)
  size_t workers_ = 0;
};

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();  // never destroyed: detached workers may outlive static destructors
  return *p;
}

std::atomic<bool> g_busy{false};

}  // namespace

int spin_microseconds() { return (int)(spin_ns() / 1000); }

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
