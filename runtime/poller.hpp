// SPDX-License-Identifier: Apache-2.0
// The netpoller: epoll (edge-triggered) woven into the scheduler's idle path, as Go's
// netpoll is. There is no I/O thread. A task whose socket would block arms a wait on the
// socket's PollDesc and parks; readiness is collected by workers:
//  * a worker that finds no local work polls without blocking before it steals
//    (Poller::poll_now), and
//  * one sleeping worker at a time blocks in epoll_wait instead of its futex
//    (Poller::idle_wait), with the timeout its futex sleep would have had (the next timer);
//    the others sleep on their futexes as before.
// Waking that worker for new work writes the poller's eventfd (Scheduler::wake_one calls
// Poller::kick when the worker it picked is the one inside epoll_wait).
//
// PollDesc invariants (all fields under PollDesc::mu; the edge counts are also read without):
//  * For each direction the pollers count the edges they see. Whoever is about to try a
//    system call snapshots the count first and passes it to arm(): a count that moved means
//    an edge came since, and arm() says "ready" instead of parking. So an edge that arrives
//    between EAGAIN and arm() is never lost, and an edge older than the snapshot (its data
//    already read by that system call) does not cause a second, useless try.
//  * Readiness wakes every waiter of that direction (several tasks may accept on one
//    listener); those that lose the race for the data see EAGAIN and arm again.
//  * Whoever unlinks a waiter (the poller on readiness, close(), or the owner in disarm())
//    does so under mu, and the poller wakes the waiter before releasing mu; so once
//    disarm() returns, nothing can touch the owner's Waiter any more.
//  * PollDescs are never freed (a process-wide table, recycled through a free list), and
//    epoll carries (index, generation) rather than a pointer: an event that was already
//    fetched for a descriptor closed meanwhile finds a newer generation and is dropped.
//
// Why the idle poller loses no wake-up: it publishes itself as owner_ (seq_cst) and then
// re-reads its wake_flag; a waker stores wake_flag, fences, then reads owner_. One of the
// two sees the other: either the poller does not enter epoll_wait, or the waker kicks the
// eventfd. The eventfd is level-triggered, so a kick that lands before epoll_wait makes it
// return at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Worker;

enum class IoDir : std::uint8_t { read, write };

/// A task waiting on a PollDesc: lives on the task's stack while it is parked.
struct IoWaitNode {
  Waiter* waiter = nullptr;
  IoWaitNode* prev = nullptr;  // links in PollDesc::readers / writers, under PollDesc::mu
  IoWaitNode* next = nullptr;
  bool linked = false;
};

/// One socket's readiness state, shared by its owner and the pollers it is registered with.
struct PollDesc {
  std::mutex mu;
  int fd = -1;
  std::uint32_t gen = 0;          // bumped on every close; tags epoll events
  std::uint64_t poller_id = 0;    // the Poller the fd was last added to; 0: none
  bool closed = false;            // close() ran: waiters must give up
  IoWaitNode* readers = nullptr;  // tasks parked for readability
  IoWaitNode* writers = nullptr;  // tasks parked for writability
  std::uint32_t index = 0;        // position in the process-wide table (immutable)
  PollDesc* next_free = nullptr;  // free list link, under the table's lock

  // Readiness edges the pollers have seen, per direction: bumped under mu (release, after
  // read_final), read without it. A caller snapshots the count before its system call and
  // hands it to arm(), which reports ready if an edge came after the snapshot.
  std::atomic<std::uint32_t> read_edges{0};
  std::atomic<std::uint32_t> write_edges{0};
  // A poller saw hang-up, error or urgent data. From then on a short read proves nothing:
  // a read stops short before a FIN or an urgent mark, and those bring no later edge.
  std::atomic<bool> read_final{false};
  // Left by a task whose read came back short: the read_edges snapshot taken before it
  // (kNoDrainHint: none). A short read emptied the socket, and anything that arrived since
  // brings an edge of its own, so while read_edges still equals the snapshot the next read
  // may arm without trying recv (the edge, pending in epoll, will wake it).
  static constexpr std::uint64_t kNoDrainHint = ~std::uint64_t{0};
  std::atomic<std::uint64_t> read_drained{kNoDrainHint};

  std::uint32_t edges(IoDir dir) const noexcept {
    // acquire: pairs with the poller's release increment, so read_final is current too.
    return (dir == IoDir::read ? read_edges : write_edges).load(std::memory_order_acquire);
  }
  /// Whether a read that snapshotted `seen` may skip recv and arm at once.
  bool drained_at(std::uint32_t seen) const noexcept {
    // relaxed: a hint owned by the reader; read_final is ordered by edges()' acquire.
    return read_drained.load(std::memory_order_relaxed) == seen &&
           !read_final.load(std::memory_order_relaxed);
  }
  /// Records the outcome of a read that snapshotted `seen` (short: returned less than asked).
  void note_read(bool short_read, std::uint32_t seen) noexcept {
    // relaxed: see drained_at().
    read_drained.store(short_read ? seen : kNoDrainHint, std::memory_order_relaxed);
  }
};

/// A PollDesc for `fd` from the process-wide table (never freed; recycled).
PollDesc* poll_desc_open(int fd);
/// Marks `pd` closed, wakes its waiters (they see `closed`), closes the fd and recycles `pd`.
/// Returns close(2)'s result (errno set on failure).
int poll_desc_close(PollDesc* pd) noexcept;

/// Outcome of arm().
enum class ArmResult : std::uint8_t {
  ready,   // readiness was pending (now consumed): retry the system call
  armed,   // the node is registered: park its waiter, then call disarm()
  closed,  // the descriptor was closed meanwhile
};

class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  /// Adds pd's fd to this epoll set (once per poller); throws std::system_error on failure.
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
  /// Called by a sleeping worker instead of its futex wait: blocks in epoll_wait until an
  /// event, a kick, or `deadline` (nullptr: none). not_polled when another worker already
  /// holds that role (the caller then sleeps on its futex).
  IdleResult idle_wait(Worker& w, const TimePoint* deadline);

  /// The worker blocked in idle_wait, if any (read by wakers after their fence).
  Worker* owner() const noexcept { return owner_.load(std::memory_order_seq_cst); }
  /// Makes a blocked idle_wait return (writes the eventfd).
  void kick() noexcept;

  /// Tasks parked on a socket of this poller (the deadlock detector stays quiet while > 0).
  std::int64_t waiters() const noexcept { return waiters_.load(std::memory_order_seq_cst); }

  std::uint64_t id() const noexcept { return id_; }

 private:
  // Waits up to timeout_ms (-1: forever) and dispatches; `owner`: the caller is the
  // idle_wait owner, the only one that drains kicks.
  std::size_t poll(int timeout_ms, bool owner);

  const std::uint64_t id_;
  int epfd_ = -1;
  int evfd_ = -1;
  alignas(64) std::atomic<Worker*> owner_{nullptr};
  std::atomic<bool> kicked_{false};
  alignas(64) std::atomic<std::int64_t> waiters_{0};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
