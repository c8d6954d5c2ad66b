// SPDX-License-Identifier: Apache-2.0
// Where a parked task is blocked: the return addresses of the frames it is suspended in, read
// from a copy of its stack taken while it stays parked, and the lines a report shows for them.
// Reports only (leaks, deadlocks, dumps): nothing here runs on the park or switch paths.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/fiber.hpp"
#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Return addresses of the frames `f` is parked in, innermost first (the first is where its
/// switch resumes); empty when it is not parked, when it moved on while its stack was copied,
/// or where no unwinder exists (runtime/machine/suspended_unwind.hpp). Safe while `f`'s stack
/// stays mapped, which it does while its scheduler lives.
std::vector<void*> parked_frames(const Fiber& f);

/// The lines a report shows for `pcs` (from parked_frames()), each "function+0xoffset" (or
/// the bare address where no symbol covers it): the runtime's own innermost frames (the
/// park, the switch, the blocking call's internals) and its outermost ones (the task's
/// entry) left out, so the first line is the code that called the blocking operation; at
/// most `max` lines.
std::vector<std::string> describe_frames(const std::vector<void*>& pcs, std::size_t max = 8);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
