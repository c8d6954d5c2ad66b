// SPDX-License-Identifier: Apache-2.0
// An epoll instance holding the runtime's sockets and a kick eventfd: what the epoll backend
// is, and what the io_uring backend watches through its ring (runtime/io_backend.hpp).
//
// Invariants: every descriptor is added once, edge-triggered in both directions, and removed
// by close(2) (spindle never dups sockets), so a close takes effect at once whatever the
// backend; the eventfd is level-triggered, so a kick stays visible until a caller that may
// consume kicks (the blocking poller) drains it.
#pragma once

#include <cstddef>

#include "runtime/poll_desc.hpp"
#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class EpollSet {
 public:
  /// Throws std::system_error if the kernel refuses an epoll instance or an eventfd.
  EpollSet();
  ~EpollSet();
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;

  /// Adds pd.fd, tagged with poll_desc_token(pd); under pd.mu. Throws std::system_error.
  void open(PollDesc& pd);
  /// epoll_wait() up to `timeout_ms` (0: only looks), delivering what it finds to the poll
  /// descriptors. `drain_kick`: consume a pending kick (only the blocking poller may).
  /// Returns the number of waiters woken; `*kicked` (if given) says whether a kick was seen.
  std::size_t wait(int timeout_ms, bool drain_kick, bool* kicked = nullptr);
  /// Makes the epoll instance readable until a drain.
  void kick() noexcept;

  /// The epoll instance (readable while something is ready in it).
  int fd() const noexcept { return epfd_; }

 private:
  int epfd_ = -1;
  int evfd_ = -1;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
