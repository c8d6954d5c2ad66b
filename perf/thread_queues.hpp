// SPDX-License-Identifier: Apache-2.0
// The OS-thread queues that perf/chan_bench.cpp compares spindle's channels with, behind
// one interface: `push(v)` blocks while the queue is full (where it has a bound), `pop()`
// blocks while it is empty.
//
//   MutexQueue       a bounded ring under one std::mutex with two condition variables: the
//                    textbook blocking queue, what a C++ program without a library writes
//   TbbQueue         tbb::concurrent_bounded_queue with set_capacity(capacity)
//   MoodycamelQueue  moodycamel::BlockingConcurrentQueue; it has no bound, so `capacity`
//                    only sizes its initial blocks and producers never wait
//
// None of them has Go's close: the benchmarks end a stream with one sentinel per consumer.
#pragma once

#include <blockingconcurrentqueue.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#if SPINDLE_BENCH_HAVE_TBB
#include <tbb/concurrent_queue.h>
#endif

namespace spindle_perf {

/// A bounded FIFO for OS threads: a ring of `capacity` slots, one mutex, and one condition
/// variable per direction. Invariant (under `mu_`): 0 <= count_ <= slots_.size(); the
/// values live at head_, head_+1, ... (mod size). Every push and pop notifies one waiter
/// of the other side (notifying only on the empty/full edge loses wake-ups with several
/// consumers: the second value pushed into a queue with two sleeping consumers wakes none);
/// glibc's notify costs no system call when nobody waits.
class MutexQueue {
 public:
  explicit MutexQueue(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

  void push(std::int64_t v) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [this] { return count_ < slots_.size(); });
    slots_[(head_ + count_) % slots_.size()] = v;
    ++count_;
    lock.unlock();
    not_empty_.notify_one();
  }

  std::int64_t pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [this] { return count_ > 0; });
    const std::int64_t v = slots_[head_];
    head_ = (head_ + 1) % slots_.size();
    --count_;
    lock.unlock();
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::vector<std::int64_t> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

#if SPINDLE_BENCH_HAVE_TBB
/// tbb::concurrent_bounded_queue with the MutexQueue interface (push is its own).
class TbbQueue : public tbb::concurrent_bounded_queue<std::int64_t> {
 public:
  explicit TbbQueue(std::size_t capacity) {
    set_capacity(static_cast<std::ptrdiff_t>(capacity == 0 ? 1 : capacity));
  }
  std::int64_t pop() {
    std::int64_t v = 0;
    concurrent_bounded_queue::pop(v);
    return v;
  }
};
#endif

/// moodycamel::BlockingConcurrentQueue with the MutexQueue interface (unbounded).
class MoodycamelQueue : public moodycamel::BlockingConcurrentQueue<std::int64_t> {
 public:
  explicit MoodycamelQueue(std::size_t capacity) : BlockingConcurrentQueue(capacity) {}
  void push(std::int64_t v) { enqueue(v); }
  std::int64_t pop() {
    std::int64_t v = 0;
    wait_dequeue(v);
    return v;
  }
};

}  // namespace spindle_perf
