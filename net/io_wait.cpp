// SPDX-License-Identifier: Apache-2.0
// Socket waits: spindle::Context adapted to the runtime's cancellation interface, and the
// outcome of a wait turned into the sockets' exceptions.
#include "net/io_wait.hpp"

#include <cerrno>

#include "runtime/io_wait.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::detail {

using spindle::detail::ContextHook;
using spindle::detail::IoDir;
using spindle::detail::IoWaitEnd;
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

// A Context as the runtime sees it: a hook on the context that calls the runtime's wake
// function when the context is done.
class ContextCancel final : public spindle::detail::IoCancel {
 public:
  explicit ContextCancel(const Context& ctx) noexcept : ctx_(ctx) {}

  bool watch(Wake wake, void* arg) override {
    wake_ = wake;
    arg_ = arg;
    hook_.fire = [](ContextHook& h) {
      auto* self = static_cast<ContextCancel*>(h.arg);
      self->wake_(self->arg_);
    };
    hook_.arg = this;
    return spindle::detail::context_add_hook(ctx_, hook_);
  }
  // The hook fires under the context's lock, which removal takes: once it returns, the
  // hook is neither running nor to come.
  void unwatch() noexcept override { spindle::detail::context_remove_hook(ctx_, hook_); }
  bool fired() const noexcept override { return static_cast<bool>(ctx_.err()); }

 private:
  const Context& ctx_;
  ContextHook hook_;
  Wake wake_ = nullptr;
  void* arg_ = nullptr;
};

}  // namespace

void wait_ready(PollDesc& pd, IoDir dir, const Context& ctx,
                const std::optional<TimePoint>& deadline, const char* op, std::uint32_t seen) {
  ContextCancel cancel(ctx);
  // A context with no node (background()) can never be done: nothing to watch.
  spindle::detail::IoCancel* c = ctx.node() != nullptr ? &cancel : nullptr;
  switch (spindle::detail::io_wait(pd, dir, seen, deadline ? &*deadline : nullptr, c, op)) {
    case IoWaitEnd::ready:
      return;
    case IoWaitEnd::closed:
      throw_errno(EBADF, op);
    case IoWaitEnd::cancelled:
      throw_code(ctx.err(), op);
    case IoWaitEnd::timed_out:
      throw_code(make_error_code(spindle::errc::deadline_exceeded), op);
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::detail
