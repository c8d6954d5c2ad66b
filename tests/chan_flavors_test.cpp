// SPDX-License-Identifier: Apache-2.0
// The channel flavor registry (channels/include/spindle/detail/chan_flavors.hpp): which flavor
// a capacity makes, the dispatch from a ChanState<T> to its flavor, and a flavor list with
// one flavor more than the library's, as adding a flavor makes it.
#include "spindle/detail/chan_flavors.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "spindle/chan.hpp"

namespace {

using spindle::detail::BufferedState;
using spindle::detail::ChanFlavor;
using spindle::detail::ChanFlavorId;
using spindle::detail::ChanFlavorList;
using spindle::detail::ChanState;
using spindle::detail::ChanStatus;
using spindle::detail::UnbufferedState;
using spindle::detail::WaitEntry;

static_assert(ChanFlavor<BufferedState<int>>);
static_assert(ChanFlavor<UnbufferedState<std::string>>);

// A flavor defined outside the library, as a new flavor's header would define it: channels of
// capacity 7 (an arbitrary capacity it claims) that are closed from the start.
template <class T>
class ClosedState final : public ChanState<T> {
 public:
  static constexpr bool kClaimCompletes = false;
  static bool serves(std::size_t capacity) noexcept { return capacity == 7; }
  ClosedState(ChanFlavorId id, std::size_t /*capacity*/) noexcept : ChanState<T>(id) {}
  std::size_t capacity() const noexcept { return 7; }
  std::size_t size() const noexcept { return 0; }
  bool send_may_proceed() const noexcept { return true; }
  bool recv_may_proceed() const noexcept { return true; }
  ChanStatus try_send(T& /*value*/) noexcept { return ChanStatus::closed; }
  ChanStatus try_recv(std::optional<T>& /*out*/) noexcept { return ChanStatus::closed; }
  bool close() noexcept { return false; }
  bool enroll_send(WaitEntry& /*e*/, T* /*value*/) noexcept { return true; }
  bool enroll_recv(WaitEntry& /*e*/, std::optional<T>* /*out*/) noexcept { return true; }
  void unenroll_send(WaitEntry& /*e*/) noexcept {}
  void unenroll_recv(WaitEntry& /*e*/) noexcept {}
  void forward_send_wakeup() noexcept {}
  void forward_recv_wakeup() noexcept {}
};
static_assert(ChanFlavor<ClosedState<int>>);

using ThreeFlavors = ChanFlavorList<ClosedState, BufferedState, UnbufferedState>;

template <class T>
std::string name_of(ChanState<T>& s) {
  return spindle::detail::visit_flavor(s, [](auto& f) -> std::string {
    using F = std::remove_reference_t<decltype(f)>;
    if constexpr (std::is_same_v<F, BufferedState<T>>) return "buffered";
    if constexpr (std::is_same_v<F, UnbufferedState<T>>) return "unbuffered";
    return "other";
  });
}

template <class T>
std::string name_in_three(ChanState<T>& s) {
  auto fn = [](auto& f) -> std::string {
    using F = std::remove_reference_t<decltype(f)>;
    if constexpr (std::is_same_v<F, ClosedState<T>>) return "closed";
    if constexpr (std::is_same_v<F, BufferedState<T>>) return "buffered";
    if constexpr (std::is_same_v<F, UnbufferedState<T>>) return "unbuffered";
    return "other";
  };
  return spindle::detail::visit_flavor_in(ThreeFlavors{}, s, fn);
}

TEST(ChanFlavors, TheCapacityPicksTheFlavor) {
  auto unbuffered = spindle::detail::make_chan_state<int>(0);
  auto buffered = spindle::detail::make_chan_state<int>(1);
  auto larger = spindle::detail::make_chan_state<int>(1000);
  EXPECT_EQ(name_of(*unbuffered), "unbuffered");
  EXPECT_EQ(name_of(*buffered), "buffered");
  EXPECT_EQ(name_of(*larger), "buffered");
  EXPECT_EQ(spindle::detail::chan_capacity(*unbuffered), 0u);
  EXPECT_EQ(spindle::detail::chan_capacity(*larger), 1000u);
}

TEST(ChanFlavors, HandlesReachTheirFlavor) {
  spindle::Chan<int> unbuffered;
  spindle::Chan<int> zero(0);
  spindle::Chan<int> buffered(4);
  EXPECT_EQ(name_of(*spindle::detail::ChanAccess::state(unbuffered)), "unbuffered");
  EXPECT_EQ(name_of(*spindle::detail::ChanAccess::state(zero)), "unbuffered");
  EXPECT_EQ(name_of(*spindle::detail::ChanAccess::state(buffered)), "buffered");
  // The dispatched operations act on the flavor the handle holds.
  EXPECT_TRUE(buffered.try_send(1));
  EXPECT_EQ(buffered.size(), 1u);
  EXPECT_FALSE(zero.try_send(1));  // nobody receiving
  zero.close();
  EXPECT_THROW(zero.try_send(1), spindle::ChannelClosed);
  EXPECT_THROW(zero.close(), spindle::ChannelError);
}

// A third flavor: make_flavor() asks the flavors in list order, the last taking what is
// left, and visit_flavor_in() tests the index of every flavor but the last.
TEST(ChanFlavors, AListWithAnotherFlavorDispatchesToEach) {
  auto make = [](std::size_t capacity) {
    return spindle::detail::make_flavor<long>(ThreeFlavors{}, capacity);
  };
  auto closed = make(7);
  auto buffered = make(3);
  auto unbuffered = make(0);
  EXPECT_EQ(closed->flavor(), 0);
  EXPECT_EQ(buffered->flavor(), 1);
  EXPECT_EQ(unbuffered->flavor(), 2);
  EXPECT_EQ(name_in_three(*closed), "closed");
  EXPECT_EQ(name_in_three(*buffered), "buffered");
  EXPECT_EQ(name_in_three(*unbuffered), "unbuffered");
  std::optional<long> out;
  auto try_recv = [&out](auto& f) { return f.try_recv(out); };
  EXPECT_EQ(spindle::detail::visit_flavor_in(ThreeFlavors{}, *closed, try_recv),
            ChanStatus::closed);
  EXPECT_EQ(spindle::detail::visit_flavor_in(ThreeFlavors{}, *buffered, try_recv),
            ChanStatus::not_ready);
  long v = 5;
  auto try_send = [&v](auto& f) { return f.try_send(v); };
  EXPECT_EQ(spindle::detail::visit_flavor_in(ThreeFlavors{}, *buffered, try_send), ChanStatus::ok);
  EXPECT_EQ(spindle::detail::visit_flavor_in(ThreeFlavors{}, *buffered, try_recv), ChanStatus::ok);
  EXPECT_EQ(out, 5);
  EXPECT_EQ(spindle::detail::visit_flavor_in(ThreeFlavors{}, *unbuffered, try_send),
            ChanStatus::not_ready);
}

}  // namespace
