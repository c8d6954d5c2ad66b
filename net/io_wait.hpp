// SPDX-License-Identifier: Apache-2.0
// Waiting for a socket to become ready, through the runtime's one entry point for I/O waits
// (runtime/io_wait.hpp), until readiness, the Context's cancellation or an explicit
// deadline; and the errors the sockets throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "runtime/poll_desc.hpp"
#include "spindle/abi.hpp"
#include "spindle/clock.hpp"
#include "spindle/context.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::detail {

/// Throws std::system_error(errno, "<op>").
[[noreturn]] void throw_errno(int err, const char* op);

/// errno of the calling thread. Use this, not `errno`, in any function that can park: glibc
/// declares __errno_location() const, so a compiler may compute errno's address once per
/// function, and a task that parked may resume on another thread (clang does hoist it out of
/// a read-retry loop). Defined out of line, with a compiler barrier, so no call is merged.
int last_errno() noexcept;
/// Throws std::system_error(code, "<op>").
[[noreturn]] void throw_code(std::error_code code, const char* op);

/// Returns when the operation should be retried (the fd may be ready). Throws for a done
/// context (its err()), a passed deadline (errc::deadline_exceeded), or a closed socket.
/// `seen`: pd.edges(dir) as it was before the system call that would have blocked.
void wait_ready(spindle::detail::PollDesc& pd, spindle::detail::IoDir dir, const Context& ctx,
                const std::optional<TimePoint>& deadline, const char* op, std::uint32_t seen);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::detail
