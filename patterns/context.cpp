// Context trees: cancellation propagation, deadlines on runtime timers, lazy done channels.
//
// Shape. Every derived context is a ContextNode holding a shared_ptr to its parent, so a
// context keeps its ancestors (and their values) alive; background() is the null node.
// Value nodes only add a key/value pair. Cancel nodes (with_cancel / with_deadline) own the
// cancellation state and a child list: the cancel nodes whose nearest cancellable ancestor
// ("canceller") is this node. A value node forwards done()/err() to its canceller.
//
// Invariants:
//  * err_ goes from 0 to a reason exactly once, under mu_; it never changes again.
//  * Once err_ is set: done_ (if made) is closed, hooks_ and children_ are empty, and no
//    hook or child can be added (adders re-check err_ under mu_).
//  * A node is in its link_parent_'s children_ list iff linked_; the links (sib_prev_,
//    sib_next_, linked_) belong to the link parent and are touched only under its mu_.
//
// Lock order: a parent's mu_ before a child's mu_ (cancel() walks down holding the parent's
// lock, as Go does). A node never holds its own mu_ while taking its parent's, so there is
// no cycle. The locks are plain std::mutex: held for a handful of instructions, never across
// a park, and cancel() is not a hot path.
//
// Lifetime. A child is linked by raw pointer; it cannot outlive the unlinking, because its
// destructor first unlinks itself under the parent's mu_. A parent cancelling concurrently
// holds that mu_ while it calls the child's cancel(), so the destructor waits and the child's
// members are intact meanwhile. The deadline timer is cancelled in the destructor first,
// which waits for a running callback; the callback holds only a raw pointer.
//
// Memory orders: err_ is written under mu_ with release and read lock-free with acquire by
// err(), so a task that sees the context done also sees everything the canceller did before.
#include "spindle/context.hpp"

#include <atomic>
#include <mutex>

#include "spindle/detail/timer.hpp"

namespace spindle::detail {

class ContextNode {
 public:
  enum Kind : std::uint8_t { kValue, kCancel };

  ContextNode(Kind kind, std::shared_ptr<ContextNode> parent)
      : kind_(kind), parent_(std::move(parent)), timer_(&ContextNode::on_deadline, this) {
    ContextNode* p = parent_.get();
    if (p != nullptr) deadline_ = p->deadline_;
    if (kind_ == kCancel) {
      canceller_ = this;
      link_parent_ = p != nullptr ? p->canceller_ : nullptr;
    } else {
      canceller_ = p != nullptr ? p->canceller_ : nullptr;
    }
  }

  ContextNode(const ContextNode&) = delete;
  ContextNode& operator=(const ContextNode&) = delete;

  ~ContextNode() {
    if (timer_armed_) timer_cancel(timer_);  // waits for a running callback
    if (link_parent_ != nullptr) {
      std::lock_guard g(link_parent_->mu_);
      if (linked_) link_parent_->unlink_child(this);
    }
  }

  // Joins the parent's tree: inherits its cancellation if it is already done, otherwise
  // links into its canceller's child list. Then arms the deadline timer, if any.
  void attach(std::optional<TimePoint> own_deadline) {
    if (link_parent_ != nullptr) {
      std::unique_lock g(link_parent_->mu_);
      if (auto why = link_parent_->err_.load(std::memory_order_relaxed); why != 0) {
        g.unlock();
        cancel(why, false);
        return;
      }
      link_parent_->link_child(this);
    }
    if (own_deadline) {
      deadline_ = own_deadline;
      if (*own_deadline <= Clock::now()) {
        cancel(static_cast<std::uint8_t>(errc::deadline_exceeded), true);
        return;
      }
      timer_.when = *own_deadline;
      timer_armed_ = true;
      timer_add(timer_);
    }
  }

  // Moves the node to done with reason `why`, together with every descendant. Returns false
  // if it was already done. `detach`: also leave the parent's child list (not when the
  // parent itself is cancelling us: it holds its mu_ and empties its list).
  bool cancel(std::uint8_t why, bool detach) {
    {
      std::lock_guard g(mu_);
      if (err_.load(std::memory_order_relaxed) != 0) return false;
      err_.store(why, std::memory_order_release);
      if (done_) done_->close();
      while (ContextHook* h = hooks_) {
        unlink_hook(*h);
        h->fire(*h);
      }
      while (ContextNode* c = children_) {
        unlink_child(c);
        c->cancel(why, false);
      }
    }
    if (detach && link_parent_ != nullptr) {
      std::lock_guard g(link_parent_->mu_);
      if (linked_) link_parent_->unlink_child(this);
    }
    return true;
  }

  // The user's CancelFunc: cancel, then release the timer early (no lock is held here, so
  // waiting for a running timer callback cannot deadlock).
  void cancel_by_user() {
    if (cancel(static_cast<std::uint8_t>(errc::canceled), true) && timer_armed_) {
      timer_cancel(timer_);
    }
  }

  RecvChan<Unit> done_chan() {
    std::lock_guard g(mu_);
    if (!done_) {
      done_.emplace();
      if (err_.load(std::memory_order_relaxed) != 0) done_->close();
    }
    return RecvChan<Unit>(*done_);
  }

  std::uint8_t err_code() const noexcept {
    // acquire: pairs with the release in cancel().
    return err_.load(std::memory_order_acquire);
  }

  bool add_hook(ContextHook& h) {
    std::lock_guard g(mu_);
    if (err_.load(std::memory_order_relaxed) != 0) return false;
    h.prev = nullptr;
    h.next = hooks_;
    if (hooks_ != nullptr) hooks_->prev = &h;
    hooks_ = &h;
    h.linked = true;
    return true;
  }

  bool remove_hook(ContextHook& h) noexcept {
    std::lock_guard g(mu_);
    if (!h.linked) return false;
    unlink_hook(h);
    return true;
  }

  std::size_t linked_children() {
    std::lock_guard g(mu_);
    std::size_t n = 0;
    for (ContextNode* c = children_; c != nullptr; c = c->sib_next_) ++n;
    return n;
  }

  ContextNode* canceller() const noexcept { return canceller_; }
  ContextNode* parent() const noexcept { return parent_.get(); }
  const std::optional<TimePoint>& deadline() const noexcept { return deadline_; }

  // Value nodes.
  const void* key = nullptr;
  std::shared_ptr<const void> value;

 private:
  static void on_deadline(TimerNode& t) {
    static_cast<ContextNode*>(t.context)->cancel(static_cast<std::uint8_t>(errc::deadline_exceeded),
                                                 true);
  }

  void link_child(ContextNode* c) {  // under mu_
    c->sib_prev_ = nullptr;
    c->sib_next_ = children_;
    if (children_ != nullptr) children_->sib_prev_ = c;
    children_ = c;
    c->linked_ = true;
  }
  void unlink_child(ContextNode* c) {  // under mu_
    (c->sib_prev_ != nullptr ? c->sib_prev_->sib_next_ : children_) = c->sib_next_;
    if (c->sib_next_ != nullptr) c->sib_next_->sib_prev_ = c->sib_prev_;
    c->sib_prev_ = c->sib_next_ = nullptr;
    c->linked_ = false;
  }
  void unlink_hook(ContextHook& h) {  // under mu_
    (h.prev != nullptr ? h.prev->next : hooks_) = h.next;
    if (h.next != nullptr) h.next->prev = h.prev;
    h.prev = h.next = nullptr;
    h.linked = false;
  }

  // Immutable after attach().
  const Kind kind_;
  const std::shared_ptr<ContextNode> parent_;
  ContextNode* canceller_ = nullptr;    // self for cancel nodes; nearest cancel ancestor else
  ContextNode* link_parent_ = nullptr;  // cancel nodes: the parent's canceller
  std::optional<TimePoint> deadline_;
  TimerNode timer_;
  bool timer_armed_ = false;

  // Cancellation state (cancel nodes), under mu_.
  std::mutex mu_;
  std::atomic<std::uint8_t> err_{0};
  std::optional<Chan<Unit>> done_;
  ContextNode* children_ = nullptr;
  ContextHook* hooks_ = nullptr;

  // Links in link_parent_->children_, under link_parent_->mu_.
  ContextNode* sib_prev_ = nullptr;
  ContextNode* sib_next_ = nullptr;
  bool linked_ = false;
};

Context make_value_context(const Context& parent, const void* key,
                           std::shared_ptr<const void> value) {
  auto node = std::make_shared<ContextNode>(ContextNode::kValue, parent.node());
  node->key = key;
  node->value = std::move(value);
  return Context(std::move(node));
}

bool context_add_hook(const Context& ctx, ContextHook& hook) {
  ContextNode* c = ctx.node() ? ctx.node()->canceller() : nullptr;
  return c != nullptr && c->add_hook(hook);
}

bool context_remove_hook(const Context& ctx, ContextHook& hook) noexcept {
  ContextNode* c = ctx.node() ? ctx.node()->canceller() : nullptr;
  return c != nullptr && c->remove_hook(hook);
}

std::size_t context_linked_children(const Context& ctx) {
  ContextNode* c = ctx.node() ? ctx.node()->canceller() : nullptr;
  return c != nullptr ? c->linked_children() : 0;
}

}  // namespace spindle::detail

namespace spindle {

namespace {
std::error_code to_error(std::uint8_t why) noexcept {
  return why == 0 ? std::error_code{} : make_error_code(static_cast<errc>(why));
}
}  // namespace

RecvChan<Unit> Context::done() const {
  detail::ContextNode* c = node_ ? node_->canceller() : nullptr;
  if (c == nullptr) return RecvChan<Unit>{};  // never cancelled: nil, as in Go
  return c->done_chan();
}

std::error_code Context::err() const noexcept {
  detail::ContextNode* c = node_ ? node_->canceller() : nullptr;
  return c == nullptr ? std::error_code{} : to_error(c->err_code());
}

std::optional<TimePoint> Context::deadline() const noexcept {
  return node_ ? node_->deadline() : std::nullopt;
}

const void* Context::lookup(const void* key) const noexcept {
  for (const detail::ContextNode* n = node_.get(); n != nullptr; n = n->parent()) {
    if (n->key == key) return n->value.get();
  }
  return nullptr;
}

void CancelFunc::operator()() const {
  if (node_) node_->cancel_by_user();
}

ContextWithCancel with_cancel(const Context& parent) {
  auto node = std::make_shared<detail::ContextNode>(detail::ContextNode::kCancel, parent.node());
  node->attach(std::nullopt);
  return {Context(node), CancelFunc(node)};
}

ContextWithCancel with_deadline(const Context& parent, TimePoint deadline) {
  auto node = std::make_shared<detail::ContextNode>(detail::ContextNode::kCancel, parent.node());
  auto inherited = parent.deadline();
  // A later deadline than the parent's can never fire first: a plain cancel node suffices.
  node->attach(inherited && *inherited <= deadline ? std::nullopt
                                                   : std::optional<TimePoint>(deadline));
  return {Context(node), CancelFunc(node)};
}

}  // namespace spindle
