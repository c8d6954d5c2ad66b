// SPDX-License-Identifier: Apache-2.0
// The channel workloads, written once for every green-thread library with Go-like
// channels (spindle, Boost.Fiber). A library plugs in as a `Sys` type:
//
//   typename Sys::Chan                 a channel of std::int64_t (an object, not copied here)
//   Sys::make(capacity)                a channel; capacity 0: unbuffered (rendezvous)
//   Sys::spawn(fn)                     starts a task running fn(); returns a handle with join()
//   Sys::send(ch, v), Sys::close(ch)
//   Sys::recv(ch) -> std::optional<std::int64_t>   std::nullopt once closed and drained
//
// Each workload runs in a task of Sys (the caller's), returns false when a message was lost
// or duplicated, and counts one operation per message (ping-pong: per round trip).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace spindle_perf {

/// The sum of the values 0, 1, ..., n-1, which every stream workload sends.
inline std::int64_t stream_sum(std::int64_t n) { return n * (n - 1) / 2; }

/// `rounds` round trips: the caller sends on `ping`, an echo task answers on `pong`.
template <class Sys>
bool chan_pingpong(std::int64_t rounds) {
  auto ping = Sys::make(0);
  auto pong = Sys::make(0);
  auto echo = Sys::spawn([&ping, &pong] {
    while (std::optional<std::int64_t> v = Sys::recv(ping)) Sys::send(pong, *v);
  });
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < rounds; ++i) {
    Sys::send(ping, i);
    sum += Sys::recv(pong).value_or(0);
  }
  Sys::close(ping);
  echo.join();
  return sum == stream_sum(rounds);
}

/// `producers` tasks send the values 0..msgs-1 between them into one channel of
/// `capacity`; `consumers` tasks receive until it is closed (once every producer is done).
template <class Sys>
bool chan_stream(int producers, int consumers, std::size_t capacity, std::int64_t msgs) {
  auto ch = Sys::make(capacity);
  std::vector<std::int64_t> sums(static_cast<std::size_t>(consumers), 0);
  std::vector<decltype(Sys::spawn([] {}))> senders;
  std::vector<decltype(Sys::spawn([] {}))> receivers;
  for (int c = 0; c < consumers; ++c) {
    receivers.push_back(Sys::spawn([&ch, &slot = sums[static_cast<std::size_t>(c)]] {
      std::int64_t sum = 0;
      while (std::optional<std::int64_t> v = Sys::recv(ch)) sum += *v;
      slot = sum;
    }));
  }
  for (int p = 0; p < producers; ++p) {
    senders.push_back(Sys::spawn([&ch, p, producers, msgs] {
      for (std::int64_t v = p; v < msgs; v += producers) Sys::send(ch, v);
    }));
  }
  for (auto& s : senders) s.join();
  Sys::close(ch);
  std::int64_t total = 0;
  for (std::size_t c = 0; c < receivers.size(); ++c) {
    receivers[c].join();
    total += sums[c];
  }
  return total == stream_sum(msgs);
}

}  // namespace spindle_perf
