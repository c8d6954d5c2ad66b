// SPDX-License-Identifier: Apache-2.0
// The elastic pool behind spindle::blocking().
//
// Invariants (under mu_): queue_ holds jobs not yet taken; idle_ counts threads waiting on
// cv_; threads_ counts live pool threads. A submission starts a new thread only when the
// queue is longer than the number of idle threads, so a burst gets as many threads as it
// needs (up to kMaxThreads) and a steady trickle reuses one. A thread that waits kIdleExit
// without work exits.
//
// Hand-back order on a pool thread: run the job, wake the parked task (Waiter::wake touches
// nothing of the waiter after its exchange), then set `done` and release the job. `done` is
// what an unwinding task waits for before its stack may go.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "runtime/futex.hpp"
#include "runtime/sim_core.hpp"
#include "spindle/blocking.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr std::size_t kMaxThreads = 512;
constexpr auto kIdleExit = std::chrono::seconds(10);

class BlockingPool {
 public:
  void submit(BlockingJob* job) {
    std::unique_lock lock(mu_);
    queue_.push_back(job);
    if (queue_.size() > idle_ && threads_ < kMaxThreads) {
      try {
        std::thread([this] { loop(); }).detach();
      } catch (...) {
        queue_.pop_back();
        throw;
      }
      ++threads_;
      return;
    }
    lock.unlock();
    cv_.notify_one();
  }

  std::size_t threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      while (queue_.empty()) {
        ++idle_;
        const bool woke = cv_.wait_for(lock, kIdleExit, [this] { return !queue_.empty(); });
        --idle_;
        if (!woke) {
          --threads_;
          return;
        }
      }
      BlockingJob* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      {
        OutsideCall in_call;  // the parked task is waiting on us: not a deadlock
        job->run();
        job->waiter->unpark();
      }
      // release: pairs with the unwinding owner's acquire in run_blocking_job().
      job->done.store(1, std::memory_order_release);
      futex_wake(job->done, 1);
      job->release();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<BlockingJob*> queue_;
  std::size_t idle_ = 0;
  std::size_t threads_ = 0;
};

BlockingPool& pool() {
  static BlockingPool* p = new BlockingPool;  // never destroyed: detached threads use it
  return *p;
}

}  // namespace

void run_blocking_job(BlockingJob& job) {
  if (SimCore::current() != nullptr) {
    // The call would finish on a pool thread at a time no seed controls.
    job.release();  // the pool's reference: the job never runs
    throw std::logic_error(
        "spindle::blocking: cannot hand a call to the blocking pool inside a "
        "testing::Simulation (its completion time is not simulated); call it directly");
  }
  Waiter w(WaitKind::blocking, &job);
  job.waiter = &w;
  try {
    pool().submit(&job);
  } catch (...) {
    job.release();  // the pool's reference: the job never ran
    throw;
  }
  try {
    w.park();
  } catch (...) {
    // The runtime is unwinding this task while the call still runs and may use this stack:
    // hold the worker thread until it returns.
    // acquire: pairs with the pool thread's release store of done.
    while (job.done.load(std::memory_order_acquire) == 0) futex_wait(job.done, 0);
    throw;
  }
}

std::size_t blocking_pool_threads() noexcept { return pool().threads(); }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
