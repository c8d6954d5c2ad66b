// SPDX-License-Identifier: Apache-2.0
// spindle::Semaphore::acquire(const Context&, n): the cancellable acquire. Kept apart from
// sync_semaphore.cpp so that the plain semaphore does not depend on contexts (and channels).
#include "spindle/context.hpp"
#include "spindle/semaphore.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

std::error_code Semaphore::acquire(const Context& ctx, std::int64_t n) {
  check_acquire(n);
  if (auto err = ctx.err()) return err;
  detail::WaitNode node(detail::WaitKind::other, this);
  node.weight = n;
  {
    std::lock_guard g(guard_);
    if (queue_.empty() && capacity_ - held_ >= n) {
      held_ += n;
      return {};
    }
    queue_.push_back(&node);
  }
  // The context wakes us through a hook; release() through the queue. Both may unpark the
  // same Waiter (the second is a no-op). Before the node dies we unregister the hook and
  // take guard_, after which neither waker can reach it.
  detail::ContextHook hook;
  hook.arg = &node;
  hook.fire = [](detail::ContextHook& h) {
    static_cast<detail::WaitNode*>(h.arg)->waiter.unpark();
  };
  struct Leave {
    Semaphore* sem;
    detail::WaitNode* node;
    const Context* ctx;
    detail::ContextHook* hook;
    bool hooked = false;
    // Returns true if the tokens were granted (and are kept unless `give_back`).
    bool operator()(bool give_back) noexcept {
      if (hooked) detail::context_remove_hook(*ctx, *hook);
      hooked = false;
      std::lock_guard g(sem->guard_);
      bool granted = !node->queued;
      if (node->queued) {
        sem->queue_.remove(node);
      } else if (give_back) {
        sem->held_ -= node->weight;
      }
      sem->grant_waiters();  // our departure may have unblocked the next in line
      return granted;
    }
  } leave{this, &node, &ctx, &hook};
  leave.hooked = detail::context_add_hook(ctx, hook);
  if (!leave.hooked && ctx.err()) {
    leave(true);
    return ctx.err();
  }
  struct Unwind {
    Leave* leave;
    bool armed = true;
    ~Unwind() {
      if (armed) (*leave)(true);
    }
  } unwind{&leave};
  node.waiter.park();
  unwind.armed = false;
  // Granted wins over a simultaneous cancellation, as in Go: the caller holds the tokens.
  if (leave(false)) return {};
  return ctx.err();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
