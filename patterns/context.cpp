// SPDX-License-Identifier: Apache-2.0
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
//  * A node is in its link_parent_'s children_ list iff linked_; the links (sib_, linked_)
//    belong to the link parent and are written only under its mu_.
//    Clearing linked_ is the unlinker's last access to the child: a parent cancelling its
//    children cancels each one first and unlinks it after.
//
// Lock order: a parent's mu_ before a child's mu_ (cancel() walks down holding the parent's
// lock, as Go does). A node never holds its own mu_ while taking its parent's, so there is
// no cycle. The locks are spin locks (SpinLock: one locked instruction to take, a plain
// store to release, a yield after a short spin): outside cancel() they are held for a
// handful of instructions and never across a park. A std::mutex would cost two locked
// instructions per use, and a child takes a lock three times in its life.
//
// Lifetime. A child is linked by raw pointer; it cannot outlive the unlinking, because its
// destructor unlinks itself under the parent's mu_ unless it sees linked_ already clear
// (acquire), which the unlinker stores last. A parent cancelling concurrently holds its mu_
// from before it cancels the child until after it clears linked_, so a destructor that
// finds the child linked waits for the lock and the child's members are intact meanwhile.
// The deadline timer is cancelled in the destructor first, which waits for a running
// callback; the callback holds only a raw pointer.
//
// Memory orders: err_ is written under mu_ with release and read lock-free with acquire by
// err(), so a task that sees the context done also sees everything the canceller did before.
// linked_ is cleared with release under the parent's mu_ and read with acquire by the
// destructor's lock-free check, so the unlinker's accesses happen-before the destruction.
#include "spindle/context.hpp"

#include <atomic>
#include <mutex>

#include "spindle/detail/intrusive_list.hpp"
#include "spindle/detail/spin_lock.hpp"
#include "spindle/detail/timer.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class ContextNode {
 public:
  enum Kind : std::uint8_t { kValue, kCancel };

  ContextNode(Kind kind, std::shared_ptr<ContextNode> parent)
      : parent_(std::move(parent)), kind_(kind) {
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

  // A DeadlineNode has cancelled its timer (waiting for a running callback) already.
  ~ContextNode() {
    // acquire: pairs with the release in unlink_child(), the unlinker's last touch of us.
    if (link_parent_ != nullptr && linked_.load(std::memory_order_acquire)) {
      std::lock_guard g(link_parent_->mu_);
      // relaxed: under the parent's mu_, which orders every write of linked_.
      if (linked_.load(std::memory_order_relaxed)) link_parent_->unlink_child(this);
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
      deadline_ = *own_deadline;
      if (*own_deadline <= Clock::now()) {
        cancel(static_cast<std::uint8_t>(errc::deadline_exceeded), true);
        return;
      }
      timer_->when = *own_deadline;  // with_deadline made a DeadlineNode for this
      timer_armed_ = true;
      timer_add(*timer_);
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
      if (!done_.is_nil()) done_.close();
      while (ContextHook* h = hooks_.front()) {
        unlink_hook(*h);
        h->fire(*h);
      }
      while (ContextNode* c = children_.front()) {
        c->cancel(why, false);
        unlink_child(c);  // last: the child may be destroyed as soon as it is unlinked
      }
    }
    if (detach && link_parent_ != nullptr) {
      std::lock_guard g(link_parent_->mu_);
      // relaxed: under the parent's mu_.
      if (linked_.load(std::memory_order_relaxed)) link_parent_->unlink_child(this);
    }
    return true;
  }

  // The user's CancelFunc: cancel, then release the timer early (no lock is held here, so
  // waiting for a running timer callback cannot deadlock).
  void cancel_by_user() {
    if (cancel(static_cast<std::uint8_t>(errc::canceled), true) && timer_armed_) {
      timer_cancel(*timer_);
    }
  }

  RecvChan<Unit> done_chan() {
    std::lock_guard g(mu_);
    if (done_.is_nil()) {
      done_ = Chan<Unit>();
      if (err_.load(std::memory_order_relaxed) != 0) done_.close();
    }
    return RecvChan<Unit>(done_);
  }

  std::uint8_t err_code() const noexcept {
    // acquire: pairs with the release in cancel().
    return err_.load(std::memory_order_acquire);
  }

  bool add_hook(ContextHook& h) {
    std::lock_guard g(mu_);
    if (err_.load(std::memory_order_relaxed) != 0) return false;
    hooks_.push_front(h);
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
    for (ContextNode* c = children_.front(); c != nullptr; c = ChildList::next(*c)) ++n;
    return n;
  }

  Kind kind() const noexcept { return kind_; }
  ContextNode* canceller() const noexcept { return canceller_; }
  ContextNode* parent() const noexcept { return parent_.get(); }
  std::optional<TimePoint> deadline() const noexcept {
    return deadline_ == kNoDeadline ? std::nullopt : std::optional<TimePoint>(deadline_);
  }

 protected:
  static void on_deadline(TimerNode& t) {
    static_cast<ContextNode*>(t.context)->cancel(static_cast<std::uint8_t>(errc::deadline_exceeded),
                                                 true);
  }
  void set_timer(TimerNode* t) noexcept { timer_ = t; }
  // For ~DeadlineNode, before its timer is destroyed.
  void disarm() {
    if (timer_armed_) timer_cancel(*timer_);  // waits for a running callback
  }

 private:
  void link_child(ContextNode* c) {  // under mu_
    children_.push_front(*c);
    // relaxed: published to other threads by the handles made after attach().
    c->linked_.store(true, std::memory_order_relaxed);
  }
  void unlink_child(ContextNode* c) {  // under mu_
    children_.remove(*c);
    // release: our last access to c; pairs with the acquire check in ~ContextNode.
    c->linked_.store(false, std::memory_order_release);
  }
  void unlink_hook(ContextHook& h) {  // under mu_
    hooks_.remove(h);
    h.linked = false;
  }

  static constexpr TimePoint kNoDeadline = TimePoint::max();

  // Laid out with the one-byte fields together at the end: a with_cancel node and its
  // shared_ptr control block then fit in 128 bytes, the largest block glibc's malloc keeps
  // in its fast bins, so making and freeing a context stays on malloc's quickest path.

  // Immutable after attach().
  const std::shared_ptr<ContextNode> parent_;
  ContextNode* canceller_ = nullptr;    // self for cancel nodes; nearest cancel ancestor else
  ContextNode* link_parent_ = nullptr;  // cancel nodes: the parent's canceller
  TimePoint deadline_ = kNoDeadline;
  TimerNode* timer_ = nullptr;  // DeadlineNode's own timer; null in every other node

  // Links in link_parent_->children_, under link_parent_->mu_.
  ListLinks<ContextNode> sib_;

  // Cancellation state (cancel nodes), under mu_. Both lists keep the head alone (a tail
  // would cost the 128-byte block above); cancel() takes them from the front.
  using ChildList = IntrusiveList<ContextNode, &ContextNode::sib_, /*kTail=*/false>;
  Chan<Unit> done_{nullptr};  // nil until done() first asks for it
  ChildList children_;
  IntrusiveList<ContextHook, &ContextHook::links, /*kTail=*/false> hooks_;

  const Kind kind_;
  bool timer_armed_ = false;          // immutable after attach()
  SpinLock mu_;                       // guards the cancellation state
  std::atomic<std::uint8_t> err_{0};  // under mu_ (written), lock-free (read)
  std::atomic<bool> linked_{false};   // under link_parent_->mu_ (written)
};

// Node kinds apart from plain cancel nodes carry their extra fields in their own type, so
// the node that with_cancel allocates (the common one) stays small.

/// with_value's node: one key/value pair.
static_assert(sizeof(ContextNode) <= 104, "with_cancel's node outgrew a 128-byte block");

class ValueNode final : public ContextNode {
 public:
  ValueNode(std::shared_ptr<ContextNode> parent, const void* k, std::shared_ptr<const void> v)
      : ContextNode(kValue, std::move(parent)), key(k), value(std::move(v)) {}
  const void* const key;
  const std::shared_ptr<const void> value;
};

/// with_deadline's node when its own deadline is the earliest: a cancel node plus its timer.
class DeadlineNode final : public ContextNode {
 public:
  explicit DeadlineNode(std::shared_ptr<ContextNode> parent)
      : ContextNode(kCancel, std::move(parent)),
        own_timer_(&ContextNode::on_deadline, static_cast<ContextNode*>(this)) {
    set_timer(&own_timer_);
  }
  DeadlineNode(const DeadlineNode&) = delete;
  DeadlineNode& operator=(const DeadlineNode&) = delete;
  ~DeadlineNode() { disarm(); }

 private:
  TimerNode own_timer_;
};

Context make_value_context(const Context& parent, const void* key,
                           std::shared_ptr<const void> value) {
  return Context(std::make_shared<ValueNode>(parent.node(), key, std::move(value)));
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

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

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
    if (n->kind() != detail::ContextNode::kValue) continue;
    const auto* v = static_cast<const detail::ValueNode*>(n);
    if (v->key == key) return v->value.get();
  }
  return nullptr;
}

void CancelFunc::operator()() const {
  if (node_) node_->cancel_by_user();
}

ContextWithCancel with_cancel(const Context& parent) {
  auto node = std::make_shared<detail::ContextNode>(detail::ContextNode::kCancel, parent.node());
  node->attach(std::nullopt);
  Context ctx(node);
  return {std::move(ctx), CancelFunc(std::move(node))};
}

ContextWithCancel with_deadline(const Context& parent, TimePoint deadline) {
  auto inherited = parent.deadline();
  // A later deadline than the parent's can never fire first, and TimePoint::max() never
  // fires: a plain cancel node suffices.
  std::shared_ptr<detail::ContextNode> node;
  if ((inherited && *inherited <= deadline) || deadline == TimePoint::max()) {
    node = std::make_shared<detail::ContextNode>(detail::ContextNode::kCancel, parent.node());
    node->attach(std::nullopt);
  } else {
    node = std::make_shared<detail::DeadlineNode>(parent.node());
    node->attach(deadline);
  }
  Context ctx(node);
  return {std::move(ctx), CancelFunc(std::move(node))};
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
