// SPDX-License-Identifier: Apache-2.0
// The seam between the netpoller (runtime/poller.hpp) and the kernel interface that reports
// I/O. The poller owns the protocol (who may block in the backend, waking it, counting
// waiters); a backend only registers descriptors, waits, and delivers what it saw to the
// poll descriptors (poll_desc_deliver(), by token).
//
// A backend is made once per runtime (its constructor sets it up, its destructor releases
// it), on first use of a socket by a task, and used by the runtime's workers and monitor
// concurrently: open() under the descriptor's lock, poll() by any number of threads at once
// (at most one of them with `owner` set), kick() by anyone. A backend never hears of a
// close: close(2) takes the fd out of the kernel's interest set, and anything already
// fetched for it is delivered to a stale token and dropped.
//
// Two backends, one chosen per process (runtime/io_choice.hpp): epoll, and io_uring, whose
// blocking poller waits in the ring (with the epoll set watched by a poll request, so that
// a close still ends a registration at once). A ring that also carries completions of
// operations submitted by tasks fits the same operations: poll() reaps them and wakes their
// waiters, and kick() posts a message to the ring of the blocked owner; but a request in
// flight holds its file, so the close of a descriptor with requests pending must wait until
// the ring has let go of them.
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/poll_desc.hpp"
#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class IoBackend {
 public:
  virtual ~IoBackend() = default;

  /// Starts reporting readiness of pd.fd, tagged with poll_desc_token(pd); called under
  /// pd.mu, once per backend and descriptor generation. Throws std::system_error.
  virtual void open(PollDesc& pd) = 0;

  /// Waits up to `timeout_ms` (0: only looks; -1: until an event or a kick) and delivers what
  /// it finds. `owner`: the caller is the one blocking poller, the only one that consumes
  /// kicks (a non-blocking look must not swallow one). Returns the number of waiters woken.
  virtual std::size_t poll(int timeout_ms, bool owner) = 0;
  /// Makes the owner's blocking poll() return soon, or the next one return at once.
  virtual void kick() noexcept = 0;
};

/// The epoll backend (runtime/epoll_backend.cpp). Throws std::system_error if the kernel
/// refuses an epoll instance or an eventfd.
std::unique_ptr<IoBackend> make_epoll_backend();

/// The io_uring backend (runtime/uring_backend.cpp). Throws std::system_error if the kernel
/// refuses a ring, an epoll instance or an eventfd, std::logic_error in a build without
/// liburing.
std::unique_ptr<IoBackend> make_uring_backend();

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
