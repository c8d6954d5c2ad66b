// SPDX-License-Identifier: Apache-2.0
// Two ways to wait for readiness:
//  * in a task: add the fd to the runtime's poller (once), arm the PollDesc with a Waiter,
//    hook the Context so cancellation unparks the same Waiter, and park (with a timer when
//    there is a deadline). Readiness, cancel and timeout all end in one Waiter::unpark();
//    after the park the hook and the arm are undone, in that order, before the Waiter dies.
//  * on a plain thread: poll(2) on the fd plus, when the Context can be cancelled, this
//    thread's eventfd, which the Context hook writes.
#include "net/io_wait.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>

#include "runtime/fiber.hpp"
#include "runtime/scheduler.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::detail {

using spindle::detail::ArmResult;
using spindle::detail::ContextHook;
using spindle::detail::IoDir;
using spindle::detail::PollDesc;

__attribute__((noinline)) int last_errno() noexcept {
  const int e = errno;
  asm volatile("" ::: "memory");
  return e;
}

void throw_errno(int err, const char* op) {
  throw std::system_error(err, std::system_category(), op);
}

void throw_code(std::error_code code, const char* op) { throw std::system_error(code, op); }

namespace {

bool past(const std::optional<TimePoint>& deadline) {
  return deadline && Clock::now() >= *deadline;
}

void wait_in_task(spindle::detail::Fiber* f, PollDesc& pd, IoDir dir, const Context& ctx,
                  const std::optional<TimePoint>& deadline, const char* op, std::uint32_t seen) {
  if (f->sched->simulation() != nullptr) {
    // Readiness comes from the kernel, on its own schedule: a run could not replay.
    throw std::logic_error(std::string(op) +
                           ": real sockets cannot wait inside a testing::Simulation (their "
                           "readiness is not simulated); use channels to model the network");
  }
  spindle::detail::Poller& poller = f->sched->poller();
  poller.add(pd);
  spindle::detail::Waiter w(spindle::detail::WaitKind::io, &pd);
  spindle::detail::IoWaitNode node;
  node.waiter = &w;
  switch (poller.arm(pd, dir, node, seen)) {
    case ArmResult::ready:
      return;
    case ArmResult::closed:
      throw_errno(EBADF, op);
    case ArmResult::armed:
      break;
  }
  bool woken = true;
  {
    struct Disarm {
      spindle::detail::Poller& p;
      PollDesc& pd;
      IoDir dir;
      spindle::detail::IoWaitNode& node;
      ~Disarm() { p.disarm(pd, dir, node); }
    } disarm{poller, pd, dir, node};
    ContextHook hook;
    hook.fire = [](ContextHook& h) { static_cast<spindle::detail::Waiter*>(h.arg)->unpark(); };
    hook.arg = &w;
    const bool hooked = spindle::detail::context_add_hook(ctx, hook);
    struct Unhook {
      const Context& ctx;
      ContextHook& hook;
      bool on;
      ~Unhook() {
        if (on) spindle::detail::context_remove_hook(ctx, hook);
      }
    } unhook{ctx, hook, hooked};
    if (!hooked && ctx.err()) throw_code(ctx.err(), op);
    if (deadline) {
      woken = w.park_until(*deadline);
    } else {
      w.park();
    }
  }
  if (auto why = ctx.err()) throw_code(why, op);
  if (!woken || past(deadline)) throw_code(make_error_code(spindle::errc::deadline_exceeded), op);
}

// This thread's eventfd for Context cancellation, made on first need, closed at thread exit.
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

void wait_on_thread(PollDesc& pd, IoDir dir, const Context& ctx,
                    const std::optional<TimePoint>& deadline, const char* op) {
  spindle::detail::OutsideCall in_call;
  pollfd fds[2] = {};
  fds[0].fd = pd.fd;
  fds[0].events = dir == IoDir::read ? POLLIN : POLLOUT;
  nfds_t nfds = 1;
  ContextHook hook;
  bool hooked = false;
  if (ctx.node() != nullptr) {
    const int efd = tl_cancel_fd.get();
    if (efd < 0) throw_errno(errno, op);
    hook.fire = [](ContextHook& h) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto r =
          ::write(static_cast<int>(reinterpret_cast<std::intptr_t>(h.arg)), &one, sizeof one);
    };
    hook.arg = reinterpret_cast<void*>(static_cast<std::intptr_t>(efd));
    hooked = spindle::detail::context_add_hook(ctx, hook);
    fds[1].fd = efd;
    fds[1].events = POLLIN;
    nfds = hooked ? 2 : 1;
  }
  struct Unhook {
    const Context& ctx;
    ContextHook& hook;
    bool on;
    ~Unhook() {
      if (!on) return;
      spindle::detail::context_remove_hook(ctx, hook);
      std::uint64_t drained;  // the hook may have fired: leave the eventfd clean
      [[maybe_unused]] auto r = ::read(tl_cancel_fd.fd, &drained, sizeof drained);
    }
  } unhook{ctx, hook, hooked};
  if (auto why = ctx.err()) throw_code(why, op);
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      const auto ms =
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (ms <= 0) throw_code(make_error_code(spindle::errc::deadline_exceeded), op);
      timeout_ms = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }
    const int r = ::poll(fds, nfds, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, op);
    }
    if (auto why = ctx.err()) throw_code(why, op);
    if (r > 0 && fds[0].revents != 0) return;
    if (past(deadline)) throw_code(make_error_code(spindle::errc::deadline_exceeded), op);
  }
}

}  // namespace

void wait_ready(PollDesc& pd, IoDir dir, const Context& ctx,
                const std::optional<TimePoint>& deadline, const char* op, std::uint32_t seen) {
  if (past(deadline)) throw_code(make_error_code(spindle::errc::deadline_exceeded), op);
  if (spindle::detail::Fiber* f = spindle::detail::current_fiber()) {
    wait_in_task(f, pd, dir, ctx, deadline, op, seen);
  } else {
    wait_on_thread(pd, dir, ctx, deadline, op);
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::detail
