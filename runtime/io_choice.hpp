// SPDX-License-Identifier: Apache-2.0
// Which kernel interface the netpoller uses (runtime/io_backend.hpp): epoll or io_uring,
// chosen once per process from SPINDLE_IO and a probe of what the kernel allows.
//
// Invariants: the choice never changes once made (every runtime of the process uses the same
// backend); io_uring is chosen only after the probe set up a ring and saw every operation and
// feature the backend relies on work; a refusal (seccomp, a hardened kernel, an old kernel, a
// build without liburing) is recorded as the reason epoll was kept. SPINDLE_IO=io_uring where
// the probe failed, or an unknown SPINDLE_IO value, is an error, never a silent fallback.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/io_backend.hpp"
#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

enum class IoBackendKind : std::uint8_t { epoll, io_uring };

/// Outcome of probing io_uring: whether it can run the backend, and if not, why.
struct IoUringProbe {
  bool usable = false;
  std::string why_not;  // empty when usable
};

/// The backend a process uses and how it came to be chosen (for Runtime::diagnostics()).
struct IoChoice {
  IoBackendKind kind = IoBackendKind::epoll;
  std::string why;
};

/// Sets up a small ring and tries what the io_uring backend needs (not cached).
IoUringProbe probe_io_uring();

/// The choice for SPINDLE_IO = `env` (nullptr or empty: unset) given `probe`. Throws
/// std::runtime_error for an unknown value, or for "io_uring" where the probe failed.
IoChoice choose_io_backend(const char* env, const IoUringProbe& probe);

/// The process's choice, made on first call from the environment and the probe. Throws, on
/// every call, what choose_io_backend() threw.
const IoChoice& io_backend_choice();

/// A backend of the process's choice. Throws what io_backend_choice() or the backend's
/// constructor throws.
std::unique_ptr<IoBackend> make_io_backend();

/// "epoll" or "io_uring".
const char* to_string(IoBackendKind kind) noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
