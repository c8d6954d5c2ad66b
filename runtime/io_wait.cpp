// SPDX-License-Identifier: Apache-2.0
// Two ways to wait for readiness:
//  * in a task: register the fd with the runtime's poller (once), arm the PollDesc with a
//    Waiter, let the cancellation unpark the same Waiter, and park (with a timer when there
//    is a deadline). Readiness, cancellation and timeout all end in one Waiter::unpark();
//    after the park the watch and the arm are undone, in that order, before the Waiter dies.
//  * on a plain thread: poll(2) on the fd plus, when the wait can be cancelled, this
//    thread's eventfd, which the cancellation writes.
#include "runtime/io_wait.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>
#include <system_error>

#include "runtime/fiber.hpp"
#include "runtime/scheduler.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

bool past(const TimePoint* deadline) { return deadline != nullptr && Clock::now() >= *deadline; }

// Undoes a successful watch() on scope exit.
struct Unwatch {
  IoCancel* cancel;
  bool on;
  ~Unwatch() {
    if (on) cancel->unwatch();
  }
};

IoWaitEnd wait_in_task(Fiber* f, PollDesc& pd, IoDir dir, std::uint32_t seen,
                       const TimePoint* deadline, IoCancel* cancel, const char* op) {
  if (f->sched->simulation() != nullptr) {
    // Readiness comes from the kernel, on its own schedule: a run could not replay.
    throw std::logic_error(std::string(op) +
                           ": real sockets cannot wait inside a testing::Simulation (their "
                           "readiness is not simulated); use channels to model the network");
  }
  Poller& poller = f->sched->poller();
  poller.add(pd);
  Waiter w(WaitKind::io, &pd);
  IoWaitNode node;
  node.waiter = &w;
  switch (poller.arm(pd, dir, node, seen)) {
    case ArmResult::ready:
      return IoWaitEnd::ready;
    case ArmResult::closed:
      return IoWaitEnd::closed;
    case ArmResult::armed:
      break;
  }
  bool woken = true;
  {
    struct Disarm {
      Poller& p;
      PollDesc& pd;
      IoDir dir;
      IoWaitNode& node;
      ~Disarm() { p.disarm(pd, dir, node); }
    } disarm{poller, pd, dir, node};
    const bool watched =
        cancel != nullptr &&
        cancel->watch([](void* arg) noexcept { static_cast<Waiter*>(arg)->unpark(); }, &w);
    Unwatch unwatch{cancel, watched};
    if (!watched && cancel != nullptr && cancel->fired()) return IoWaitEnd::cancelled;
    if (deadline != nullptr) {
      woken = w.park_until(*deadline);
    } else {
      w.park();
    }
  }
  if (cancel != nullptr && cancel->fired()) return IoWaitEnd::cancelled;
  if (!woken || past(deadline)) return IoWaitEnd::timed_out;
  return IoWaitEnd::ready;
}

// This thread's eventfd for cancellation, made on first need, closed at thread exit.
struct ThreadCancelFd {
  int fd = -1;
  ~ThreadCancelFd() {
    if (fd >= 0) ::close(fd);
  }
  int get() {
    if (fd < 0) fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd;
  }
};
thread_local ThreadCancelFd tl_cancel_fd;

[[noreturn]] void throw_errno(int err, const char* op) {
  throw std::system_error(err, std::system_category(), op);
}

IoWaitEnd wait_on_thread(PollDesc& pd, IoDir dir, const TimePoint* deadline, IoCancel* cancel,
                         const char* op) {
  OutsideCall in_call;
  pollfd fds[2] = {};
  fds[0].fd = pd.fd;
  fds[0].events = dir == IoDir::read ? POLLIN : POLLOUT;
  nfds_t nfds = 1;
  bool watched = false;
  if (cancel != nullptr) {
    const int efd = tl_cancel_fd.get();
    if (efd < 0) throw_errno(errno, op);
    watched = cancel->watch(
        [](void* arg) noexcept {
          const std::uint64_t one = 1;
          [[maybe_unused]] auto r =
              ::write(static_cast<int>(reinterpret_cast<std::intptr_t>(arg)), &one, sizeof one);
        },
        reinterpret_cast<void*>(static_cast<std::intptr_t>(efd)));
    fds[1].fd = efd;
    fds[1].events = POLLIN;
    nfds = watched ? 2 : 1;
  }
  struct UnwatchAndDrain {
    IoCancel* cancel;
    bool on;
    ~UnwatchAndDrain() {
      if (!on) return;
      cancel->unwatch();
      std::uint64_t drained;  // the cancellation may have fired: leave the eventfd clean
      [[maybe_unused]] auto r = ::read(tl_cancel_fd.fd, &drained, sizeof drained);
    }
  } unwatch{cancel, watched};
  if (cancel != nullptr && cancel->fired()) return IoWaitEnd::cancelled;
  for (;;) {
    int timeout_ms = -1;
    if (deadline != nullptr) {
      const auto ms =
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (ms <= 0) return IoWaitEnd::timed_out;
      timeout_ms = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }
    const int r = ::poll(fds, nfds, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, op);
    }
    if (cancel != nullptr && cancel->fired()) return IoWaitEnd::cancelled;
    if (r > 0 && fds[0].revents != 0) return IoWaitEnd::ready;
    if (past(deadline)) return IoWaitEnd::timed_out;
  }
}

}  // namespace

IoWaitEnd io_wait(PollDesc& pd, IoDir dir, std::uint32_t seen, const TimePoint* deadline,
                  IoCancel* cancel, const char* op) {
  if (past(deadline)) return IoWaitEnd::timed_out;
  if (Fiber* f = current_fiber()) return wait_in_task(f, pd, dir, seen, deadline, cancel, op);
  return wait_on_thread(pd, dir, deadline, cancel, op);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
