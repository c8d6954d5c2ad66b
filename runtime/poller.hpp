// SPDX-License-Identifier: Apache-2.0
// The netpoller, woven into the scheduler's idle path as Go's netpoll is; there is no I/O
// thread. A task whose socket would block arms a wait on the socket's PollDesc
// (runtime/poll_desc.hpp) and parks; readiness is collected by workers, through the
// runtime's I/O backend (runtime/io_backend.hpp, the process's choice of runtime/io_choice.hpp):
//  * a worker that finds no local work polls without blocking before it steals
//    (Poller::poll_now), and so does the monitor while every worker is busy;
//  * one sleeping worker at a time blocks in the backend instead of its futex
//    (Poller::idle_wait), with the timeout its futex sleep would have had (the next timer);
//    the others sleep on their futexes as before.
// Waking that worker for new work kicks the backend (Scheduler::wake_one calls
// Poller::kick when the worker it picked is the poller's owner).
//
// Why the idle poller loses no wake-up: it publishes itself as owner_ (seq_cst) and then
// re-reads its wake_flag; a waker stores wake_flag, fences, then reads owner_. One of the
// two sees the other: either the poller does not block, or the waker kicks the backend. A
// kick that lands before the blocking poll makes it return at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/io_backend.hpp"
#include "runtime/poll_desc.hpp"
#include "spindle/abi.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Worker;

class Poller {
 public:
  /// A poller over the process's backend (runtime/io_choice.hpp); throws what its
  /// constructor throws.
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  /// Registers pd's fd with this poller's backend (once per poller); throws
  /// std::system_error on failure.
  void add(PollDesc& pd);

  /// Registers `node` (its waiter set) for readiness of `pd` in `dir`, unless an edge came
  /// after `seen` (pd.edges(dir) taken before the system call that would block).
  ArmResult arm(PollDesc& pd, IoDir dir, IoWaitNode& node, std::uint32_t seen);
  /// Unregisters `node` if still registered. Afterwards nothing touches its waiter.
  void disarm(PollDesc& pd, IoDir dir, IoWaitNode& node) noexcept;

  /// Non-blocking poll from a worker that ran out of local work. Returns the number of
  /// waiters woken. Skipped (0) while a worker blocks in idle_wait: it will see the events.
  std::size_t poll_now();

  enum class IdleResult : std::uint8_t { not_polled, nothing, woke };
  /// Called by a sleeping worker instead of its futex wait: blocks in the backend until an
  /// event, a kick, or `deadline` (nullptr: none). not_polled when another worker already
  /// holds that role (the caller then sleeps on its futex).
  IdleResult idle_wait(Worker& w, const TimePoint* deadline);

  /// The worker blocked in idle_wait, if any (read by wakers after their fence).
  Worker* owner() const noexcept { return owner_.load(std::memory_order_seq_cst); }
  /// Makes a blocked idle_wait return (kicks the backend).
  void kick() noexcept;

  /// Tasks parked on a socket of this poller (the deadlock detector stays quiet while > 0).
  std::int64_t waiters() const noexcept { return waiters_.load(std::memory_order_seq_cst); }

  std::uint64_t id() const noexcept { return id_; }

 private:
  const std::uint64_t id_;
  const std::unique_ptr<IoBackend> backend_;
  alignas(64) std::atomic<Worker*> owner_{nullptr};
  std::atomic<bool> kicked_{false};
  alignas(64) std::atomic<std::int64_t> waiters_{0};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
