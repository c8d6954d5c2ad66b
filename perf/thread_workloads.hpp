// SPDX-License-Identifier: Apache-2.0
// The channel workloads of perf/chan_workloads.hpp on OS threads, over a blocking queue of
// perf/thread_queues.hpp (`Queue(capacity)`, `push(v)`, `pop()`).
//
// The queues have no close, so a stream ends with sentinels: every producer pushes one
// `kEnd` after its values and every consumer stops at the first `kEnd` it pops. With as
// many producers as consumers that pops every value: a producer's sentinel follows its own
// values (each queue is FIFO per producer), so once all sentinels are popped, all values are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "chan_workloads.hpp"

namespace spindle_perf {

inline constexpr std::int64_t kEnd = -1;

/// `rounds` round trips between this thread and an echo thread, over two queues of one slot
/// (a bounded queue cannot be a rendezvous; one slot is the closest).
template <class Queue>
bool thread_pingpong(std::int64_t rounds) {
  Queue ping(1);
  Queue pong(1);
  std::thread echo([&ping, &pong] {
    for (std::int64_t v = ping.pop(); v != kEnd; v = ping.pop()) pong.push(v);
  });
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < rounds; ++i) {
    ping.push(i);
    sum += pong.pop();
  }
  ping.push(kEnd);
  echo.join();
  return sum == stream_sum(rounds);
}

/// `threads` producer threads push the values 0..msgs-1 between them into one queue of
/// `capacity`, `threads` consumer threads pop them.
template <class Queue>
bool thread_stream(int threads, std::size_t capacity, std::int64_t msgs) {
  Queue q(capacity);
  std::vector<std::int64_t> sums(static_cast<std::size_t>(threads), 0);
  std::vector<std::thread> all;
  for (int c = 0; c < threads; ++c) {
    all.emplace_back([&q, &slot = sums[static_cast<std::size_t>(c)]] {
      std::int64_t sum = 0;
      for (std::int64_t v = q.pop(); v != kEnd; v = q.pop()) sum += v;
      slot = sum;
    });
  }
  for (int p = 0; p < threads; ++p) {
    all.emplace_back([&q, p, threads, msgs] {
      for (std::int64_t v = p; v < msgs; v += threads) q.push(v);
      q.push(kEnd);
    });
  }
  for (auto& t : all) t.join();
  std::int64_t total = 0;
  for (std::int64_t s : sums) total += s;
  return total == stream_sum(msgs);
}

}  // namespace spindle_perf
