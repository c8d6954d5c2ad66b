// SPDX-License-Identifier: Apache-2.0
// Runs a callable under Boost.Fiber on `workers` OS threads, for the comparisons in perf/.
//
// One worker: a fresh thread with Boost.Fiber's default round_robin scheduler. More: the
// callable runs on a fresh thread and `workers - 1` helpers join it, all with the
// shared_work scheduler (one ready queue for every thread), the only multi-threaded
// Boost.Fiber scheduler that can be set up more than once per process (work_stealing keeps
// its thread count in function-local statics). shared_work is used without suspension:
// idle helpers poll the queue, since a suspended one is not woken when work appears.
#pragma once

#include <boost/fiber/algo/round_robin.hpp>
#include <boost/fiber/algo/shared_work.hpp>
#include <boost/fiber/all.hpp>
#include <mutex>
#include <thread>
#include <vector>

namespace spindle_perf {

/// Stack size of Boost.Fiber fibers in these benchmarks. Boost's default (128 KiB from
/// malloc, i.e. an mmap/munmap pair and fresh page faults per fiber) would make the
/// benchmarks measure the kernel's mappings rather than the fibers; Boost's own skynet
/// example uses 2 pages. 16 KiB is plenty for the bodies measured here.
inline constexpr std::size_t kFiberStackBytes = 16 * 1024;

inline boost::fibers::fixedsize_stack fiber_stack() {
  return boost::fibers::fixedsize_stack(kFiberStackBytes);
}

/// Runs `fn` on a fresh thread whose Boost.Fiber scheduler is round_robin when `workers` is
/// 1, and shared_work with `workers - 1` helpers otherwise.
template <class F>
void run_on_fiber_threads(int workers, F&& fn) {
  if (workers <= 1) {
    std::thread t([&fn] { fn(); });
    t.join();
    return;
  }
  boost::fibers::mutex mu;
  boost::fibers::condition_variable cv;
  bool done = false;
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<std::size_t>(workers - 1));
  for (int i = 1; i < workers; ++i) {
    helpers.emplace_back([&] {
      boost::fibers::use_scheduling_algorithm<boost::fibers::algo::shared_work>();
      std::unique_lock<boost::fibers::mutex> lock(mu);
      cv.wait(lock, [&done] { return done; });
    });
  }
  std::thread main([&] {
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::shared_work>();
    fn();
    {
      std::unique_lock<boost::fibers::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
  });
  main.join();
  for (auto& h : helpers) h.join();
}

}  // namespace spindle_perf
