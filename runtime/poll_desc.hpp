// SPDX-License-Identifier: Apache-2.0
// Poll descriptors: the runtime's record of one socket (or other pollable fd), whatever the
// I/O backend. A task whose system call would block arms a wait on the descriptor and
// parks; a backend (runtime/io_backend.hpp) delivers readiness to it by token.
//
// Invariants (all fields under PollDesc::mu; the edge counts are also read without):
//  * For each direction the backends count the edges they see. Whoever is about to try a
//    system call snapshots the count first and passes it to poll_desc_arm(): a count that
//    moved means an edge came since, and the arm says "ready" instead of parking. So an
//    edge that arrives between EAGAIN and the arm is never lost, and an edge older than the
//    snapshot (its data already read by that system call) does not cause a second try.
//  * Readiness wakes every waiter of that direction (several tasks may accept on one
//    listener); those that lose the race for the data see EAGAIN and arm again.
//  * Whoever unlinks a waiter (a delivery, close, or the owner in poll_desc_disarm()) does
//    so under mu, and a delivery wakes the waiter before releasing mu; so once disarm
//    returns, nothing can touch the owner's Waiter any more.
//  * PollDescs are never freed (a process-wide table, recycled through a free list), and a
//    backend carries a token (index, generation) rather than a pointer: an event that was
//    already fetched for a descriptor closed meanwhile finds a newer generation and is
//    dropped.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "spindle/abi.hpp"
#include "spindle/detail/intrusive_list.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

enum class IoDir : std::uint8_t { read, write };

/// A task waiting on a PollDesc: lives on the task's stack while it is parked.
struct IoWaitNode {
  Waiter* waiter = nullptr;
  ListLinks<IoWaitNode> links;  // in PollDesc::readers / writers, under PollDesc::mu
  bool linked = false;          // in one of them
};

/// The tasks parked on one direction of a PollDesc. Every one of them is woken at once, so
/// their order does not matter and the head alone is kept.
using IoWaitList = IntrusiveList<IoWaitNode, &IoWaitNode::links, /*kTail=*/false>;

/// One socket's readiness state, shared by its owner and the pollers it is registered with.
struct PollDesc {
  std::mutex mu;
  int fd = -1;
  std::uint32_t gen = 0;          // bumped on every close; tags the backends' events
  std::uint64_t poller_id = 0;    // the Poller the fd was last added to; 0: none
  bool closed = false;            // close() ran: waiters must give up
  IoWaitList readers;             // tasks parked for readability
  IoWaitList writers;             // tasks parked for writability
  std::uint32_t index = 0;        // position in the process-wide table (immutable)
  PollDesc* next_free = nullptr;  // free list link, under the table's lock

  // Readiness edges the backends have delivered, per direction: bumped under mu (release, after
  // read_final), read without it. A caller snapshots the count before its system call and
  // hands it to arm(), which reports ready if an edge came after the snapshot.
  std::atomic<std::uint32_t> read_edges{0};
  std::atomic<std::uint32_t> write_edges{0};
  // A backend reported hang-up, error or urgent data. From then on a short read proves nothing:
  // a read stops short before a FIN or an urgent mark, and those bring no later edge.
  std::atomic<bool> read_final{false};
  // Left by a task whose read came back short: the read_edges snapshot taken before it
  // (kNoDrainHint: none). A short read emptied the socket, and anything that arrived since
  // brings an edge of its own, so while read_edges still equals the snapshot the next read
  // may arm without trying recv (the edge, pending in the backend, will wake it).
  static constexpr std::uint64_t kNoDrainHint = ~std::uint64_t{0};
  std::atomic<std::uint64_t> read_drained{kNoDrainHint};

  std::uint32_t edges(IoDir dir) const noexcept {
    // acquire: pairs with poll_desc_deliver()'s release increment, so read_final is current too.
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

/// What a backend tags its registration of `pd` with (under pd.mu): the table index and
/// the generation, so that an event for a descriptor closed meanwhile can be told stale.
inline std::uint64_t poll_desc_token(const PollDesc& pd) noexcept {
  return (std::uint64_t{pd.gen} << 32) | pd.index;
}

/// Readiness a backend reports for a descriptor (bits, combined).
enum IoReady : unsigned {
  kIoReadable = 1u << 0,   // data, a connection to accept, or end of stream
  kIoWritable = 1u << 1,   // room to write, a finished connect, or an error
  kIoReadFinal = 1u << 2,  // hang-up, error or urgent data: a short read proves nothing now
};

/// Delivers readiness `ready` to the descriptor registered under `token`: counts the edges
/// and wakes the waiters of each ready direction. A stale token (closed since) is ignored.
/// Returns the number of waiters woken.
std::size_t poll_desc_deliver(std::uint64_t token, unsigned ready) noexcept;

/// Outcome of poll_desc_arm().
enum class ArmResult : std::uint8_t {
  ready,   // readiness was pending (now consumed): retry the system call
  armed,   // the node is registered: park its waiter, then call poll_desc_disarm()
  closed,  // the descriptor was closed meanwhile
};

/// Registers `node` (its waiter set) for readiness of `pd` in `dir`, unless an edge came
/// after `seen` (pd.edges(dir) taken before the system call that would block).
ArmResult poll_desc_arm(PollDesc& pd, IoDir dir, IoWaitNode& node, std::uint32_t seen);
/// Unregisters `node` if still registered. Afterwards nothing touches its waiter.
void poll_desc_disarm(PollDesc& pd, IoDir dir, IoWaitNode& node) noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
