// SPDX-License-Identifier: Apache-2.0
// Boost.Fiber as a `Sys` of perf/chan_workloads.hpp: boost::fibers::buffered_channel and
// unbuffered_channel, fibers with perf's fixed-size stacks.
//
// Boost's buffered_channel needs a power-of-two capacity of at least 2 and holds one value
// less than that (a ring that keeps one slot free), so capacity 1024 buffers 1023 values.
#pragma once

#include <boost/fiber/all.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "boost_fiber_pool.hpp"

namespace spindle_perf {

struct BoostFiberSys {
  /// One of Boost's two channel types (they share no base class), chosen by capacity.
  struct Chan {
    std::unique_ptr<boost::fibers::buffered_channel<std::int64_t>> buffered;
    std::unique_ptr<boost::fibers::unbuffered_channel<std::int64_t>> unbuffered;
  };

  static Chan make(std::size_t capacity) {
    Chan c;
    if (capacity == 0) {
      c.unbuffered = std::make_unique<boost::fibers::unbuffered_channel<std::int64_t>>();
    } else {
      c.buffered = std::make_unique<boost::fibers::buffered_channel<std::int64_t>>(capacity);
    }
    return c;
  }

  template <class F>
  static boost::fibers::fiber spawn(F&& fn) {
    return boost::fibers::fiber(std::allocator_arg, fiber_stack(), std::forward<F>(fn));
  }

  static void send(Chan& c, std::int64_t v) {
    if (c.buffered) {
      c.buffered->push(v);
    } else {
      c.unbuffered->push(v);
    }
  }

  static std::optional<std::int64_t> recv(Chan& c) {
    std::int64_t v = 0;
    const auto status = c.buffered ? c.buffered->pop(v) : c.unbuffered->pop(v);
    if (status != boost::fibers::channel_op_status::success) return std::nullopt;
    return v;
  }

  static void close(Chan& c) {
    if (c.buffered) {
      c.buffered->close();
    } else {
      c.unbuffered->close();
    }
  }
};

}  // namespace spindle_perf
