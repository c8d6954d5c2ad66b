// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Chan, spindle::SendChan and spindle::RecvChan: Go's channels as C++ handles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_blocking.hpp"
#include "spindle/detail/chan_core.hpp"
#include "spindle/detail/chan_flavors.hpp"
#include "spindle/detail/chan_ring.hpp"
#include "spindle/detail/chan_select.hpp"
#include "spindle/detail/chan_status.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Misuse of a channel: closing a closed or nil channel. Derives from std::logic_error.
class ChannelError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
  ~ChannelError() override;
};

/// A send (or a select's send case) on a closed channel: where Go panics, spindle throws.
class ChannelClosed : public ChannelError {
 public:
  using ChannelError::ChannelError;
  ~ChannelClosed() override;
};

template <class T>
class Chan;
template <class T>
class SendChan;
template <class T>
class RecvChan;

/// @cond INTERNAL
namespace detail {

template <class T>
struct ChanElementCheck {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T> &&
                    !std::is_array_v<T>,
                "spindle::Chan<T>: T must be a non-const, non-array object type");
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "spindle::Chan<T>: T's move constructor must be noexcept (a move that throws "
                "half-way through a hand-off would lose or duplicate a value); wrap T in "
                "std::unique_ptr or give it a noexcept move");
  static_assert(std::is_nothrow_destructible_v<T>,
                "spindle::Chan<T>: T's destructor must be noexcept");
  static constexpr bool ok = true;
};

/// Reaches the shared state behind a handle (for select and the views).
struct ChanAccess {
  template <class H>
  static auto* state(const H& handle) noexcept {
    return handle.state_.get();
  }
  template <class H>
  static const auto& shared(const H& handle) noexcept {
    return handle.state_;
  }
  template <class H>
  static auto take(H&& handle) noexcept {
    return std::move(handle.state_);
  }
};

/// Input iterator over the values of a channel until it is closed and drained.
template <class T>
class ChanIterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  using iterator_category = std::input_iterator_tag;

  ChanIterator() = default;
  explicit ChanIterator(ChanState<T>* state) : state_(state) { ++*this; }

  T& operator*() noexcept { return *current_; }
  T* operator->() noexcept { return &*current_; }
  ChanIterator& operator++() {
    current_ = chan_recv(state_);
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const ChanIterator& it, std::default_sentinel_t) noexcept {
    return !it.current_.has_value();
  }

 private:
  ChanState<T>* state_ = nullptr;
  std::optional<T> current_;
};

}  // namespace detail
/// @endcond

/// A channel: a copyable handle to one shared queue that tasks and threads send values
/// through, as Go's `chan T`.
///
/// @code
/// spindle::Chan<int> ch;          // unbuffered: a send waits for its receiver
/// spindle::Chan<int> buf(16);     // buffered: capacity 16
/// spindle::spawn([ch] { ch.send(1); ch.close(); }).detach();
/// for (int v : ch) use(v);        // until closed and drained
/// @endcode
///
/// Copies share the channel; it lives until its last handle is gone, and then destroys any
/// values still buffered. A nil channel (`Chan<T>(nullptr)`) blocks every send and receive
/// forever and is never ready in a select. Every blocking call parks the calling task, or
/// blocks the calling thread outside any task.
///
/// All operations are thread-safe: any number of tasks and threads may send, receive and
/// close through copies of one handle at once (one handle object, like a std::shared_ptr,
/// must not be assigned while another thread uses it).
///
/// T must be nothrow-move-constructible (checked at compile time).
template <class T>
class Chan {
  static_assert(detail::ChanElementCheck<T>::ok);

 public:
  /// The element type.
  using value_type = T;

  /// An unbuffered channel (send and receive meet).
  Chan() : state_(detail::make_chan_state<T>(0)) {}
  /// A channel buffering up to `capacity` values (0: unbuffered).
  /// @throws std::invalid_argument if `capacity` is negative or above 2^40 (Go's make
  /// panics on sizes out of range the same way).
  template <class I>
  requires std::is_integral_v<I> &&(!std::is_same_v<I, bool>)explicit Chan(I capacity)
      : state_(make_state(capacity)) {}
  /// The nil channel.
  Chan(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): as Go's nil

  /// Sends `value`, waiting for room (or for a receiver, unbuffered).
  /// @throws ChannelClosed if the channel is or gets closed while waiting.
  void send(T&& value) const {
    detail::chan_send(state_.get(), value, "spindle::Chan::send: send on closed channel");
  }
  /// Sends a copy of `value`.
  void send(const T& value) const { send(T(value)); }

  /// Sends without waiting. Moves from `value` only when it returns true.
  /// @throws ChannelClosed if the channel is closed.
  bool try_send(T&& value) const {
    return try_send_impl(state_.get(), value, "spindle::Chan::try_send: send on closed channel");
  }
  /// Sends a copy of `value` without waiting.
  bool try_send(const T& value) const {
    T copy(value);
    return try_send(std::move(copy));
  }

  /// Receives a value, waiting for one. std::nullopt once the channel is closed and drained.
  std::optional<T> recv() const { return detail::chan_recv(state_.get()); }
  /// Receives without waiting: std::nullopt if nothing is ready (or closed and drained).
  [[nodiscard]] std::optional<T> try_recv() const { return try_recv_impl(state_.get()); }

  /// Closes the channel: waiting and later senders get ChannelClosed; receivers drain what
  /// is buffered, then get std::nullopt.
  /// @throws ChannelError if the channel is nil or already closed.
  void close() const {
    close_impl(state_.get(), "spindle::Chan::close: close of nil channel",
               "spindle::Chan::close: close of closed channel");
  }

  /// Values buffered right now (0 for unbuffered and nil channels).
  std::size_t size() const noexcept { return state_ ? detail::chan_size(*state_) : 0; }
  /// The capacity given at construction (0 for unbuffered and nil channels).
  std::size_t capacity() const noexcept { return state_ ? detail::chan_capacity(*state_) : 0; }
  /// True for the nil channel.
  bool is_nil() const noexcept { return state_ == nullptr; }

  /// Range-for support: receives the first value (waiting for it) and returns an input
  /// iterator whose `++` receives the next. It reaches end() when the channel is closed and
  /// drained; on a nil channel it waits forever. Each value goes to one receiver, so two
  /// loops over one channel share its values.
  detail::ChanIterator<T> begin() const { return detail::ChanIterator<T>(state_.get()); }
  /// The end of a range-for: the channel was closed and drained.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// Same channel (or both nil).
  friend bool operator==(const Chan& a, const Chan& b) noexcept { return a.state_ == b.state_; }

  /// @cond INTERNAL
  template <class I>
  static std::shared_ptr<detail::ChanState<T>> make_state(I capacity) {
    if constexpr (std::is_signed_v<I>) {
      if (capacity < 0) {
        throw std::invalid_argument("spindle::Chan: negative capacity");
      }
    }
    if (static_cast<std::uintmax_t>(capacity) > detail::ChanRing<T>::kMaxCapacity) {
      throw std::invalid_argument("spindle::Chan: capacity " + std::to_string(capacity) +
                                  " is above the maximum, 2^40");
    }
    return detail::make_chan_state<T>(static_cast<std::size_t>(capacity));
  }
  static bool try_send_impl(detail::ChanState<T>* s, T& value, const char* closed_msg) {
    if (s == nullptr) return false;
    switch (detail::chan_try_send(*s, value)) {
      case detail::ChanStatus::ok:
        return true;
      case detail::ChanStatus::closed:
        detail::throw_channel_closed(closed_msg);
      case detail::ChanStatus::not_ready:
        break;
    }
    return false;
  }
  static std::optional<T> try_recv_impl(detail::ChanState<T>* s) {
    std::optional<T> out;
    if (s != nullptr) detail::chan_try_recv(*s, out);
    return out;
  }
  static void close_impl(detail::ChanState<T>* s, const char* nil_msg, const char* twice_msg) {
    if (s == nullptr) detail::throw_channel_error(nil_msg);
    if (!detail::chan_close(*s)) detail::throw_channel_error(twice_msg);
  }
  /// @endcond

 private:
  friend struct detail::ChanAccess;
  std::shared_ptr<detail::ChanState<T>> state_;
};

/// The send-only view of a channel: send, try_send, close, size, capacity. Converts
/// implicitly from Chan<T>; default-constructed it is nil. Views compare by channel identity.
///
/// @code
/// void produce(spindle::SendChan<int> out) { out.send(1); out.close(); }
/// @endcode
template <class T>
class SendChan {
  static_assert(detail::ChanElementCheck<T>::ok);

 public:
  /// The element type.
  using value_type = T;

  /// The nil view.
  SendChan() noexcept = default;
  /// The nil view: `out = nullptr` switches a select case off.
  SendChan(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
  /// A view of `ch`.
  SendChan(const Chan<T>& ch) noexcept  // NOLINT(google-explicit-constructor)
      : state_(detail::ChanAccess::shared(ch)) {}

  /// As Chan::send: sends `value`, waiting for room or a receiver.
  /// @throws ChannelClosed if the channel is or gets closed while waiting.
  void send(T&& value) const {
    detail::chan_send(state_.get(), value, "spindle::SendChan::send: send on closed channel");
  }
  /// Sends a copy of `value`, as Chan::send. @throws ChannelClosed
  void send(const T& value) const { send(T(value)); }
  /// As Chan::try_send: sends without waiting; moves from `value` only when it returns true.
  /// @throws ChannelClosed if the channel is closed.
  bool try_send(T&& value) const {
    return Chan<T>::try_send_impl(state_.get(), value,
                                  "spindle::SendChan::try_send: send on closed channel");
  }
  /// Sends a copy of `value` without waiting, as Chan::try_send. @throws ChannelClosed
  bool try_send(const T& value) const {
    T copy(value);
    return try_send(std::move(copy));
  }
  /// As Chan::close: the sending side says it is finished.
  /// @throws ChannelError if the channel is nil or already closed.
  void close() const {
    Chan<T>::close_impl(state_.get(), "spindle::SendChan::close: close of nil channel",
                        "spindle::SendChan::close: close of closed channel");
  }
  /// Values buffered right now (0 for unbuffered and nil channels), as Chan::size.
  std::size_t size() const noexcept { return state_ ? detail::chan_size(*state_) : 0; }
  /// The channel's capacity (0 for unbuffered and nil channels), as Chan::capacity.
  std::size_t capacity() const noexcept { return state_ ? detail::chan_capacity(*state_) : 0; }
  /// True for the nil view.
  bool is_nil() const noexcept { return state_ == nullptr; }

  /// Views of the same channel (or both nil).
  friend bool operator==(const SendChan& a, const SendChan& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  friend struct detail::ChanAccess;
  std::shared_ptr<detail::ChanState<T>> state_;
};

/// The receive-only view of a channel: recv, try_recv, range-for, size, capacity. Converts
/// implicitly from Chan<T>; default-constructed it is nil. Views compare by channel identity.
///
/// @code
/// int sum(spindle::RecvChan<int> in) { int s = 0; for (int v : in) s += v; return s; }
/// @endcode
template <class T>
class RecvChan {
  static_assert(detail::ChanElementCheck<T>::ok);

 public:
  /// The element type.
  using value_type = T;

  /// The nil view.
  RecvChan() noexcept = default;
  /// The nil view: `in = nullptr` switches a select case off.
  RecvChan(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
  /// A view of `ch`.
  RecvChan(const Chan<T>& ch) noexcept  // NOLINT(google-explicit-constructor)
      : state_(detail::ChanAccess::shared(ch)) {}

  /// As Chan::recv: waits for a value; std::nullopt once the channel is closed and drained.
  std::optional<T> recv() const { return detail::chan_recv(state_.get()); }
  /// As Chan::try_recv: std::nullopt if nothing is ready (or closed and drained).
  [[nodiscard]] std::optional<T> try_recv() const { return Chan<T>::try_recv_impl(state_.get()); }
  /// Values buffered right now (0 for unbuffered and nil channels), as Chan::size.
  std::size_t size() const noexcept { return state_ ? detail::chan_size(*state_) : 0; }
  /// The channel's capacity (0 for unbuffered and nil channels), as Chan::capacity.
  std::size_t capacity() const noexcept { return state_ ? detail::chan_capacity(*state_) : 0; }
  /// True for the nil view.
  bool is_nil() const noexcept { return state_ == nullptr; }

  /// Range-for support, as Chan::begin: receives until the channel is closed and drained.
  detail::ChanIterator<T> begin() const { return detail::ChanIterator<T>(state_.get()); }
  /// The end of a range-for: the channel was closed and drained.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// Views of the same channel (or both nil).
  friend bool operator==(const RecvChan& a, const RecvChan& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  friend struct detail::ChanAccess;
  std::shared_ptr<detail::ChanState<T>> state_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
