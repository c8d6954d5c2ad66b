// SPDX-License-Identifier: Apache-2.0
// The process's choice of I/O backend: SPINDLE_IO, read once, and the io_uring probe.
// epoll stays the default even where io_uring is usable (docs/performance.md says why);
// SPINDLE_IO=io_uring opts in.
#include "runtime/io_choice.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// The choice or the error, made once.
struct Made {
  IoChoice choice;
  std::string error;  // non-empty: io_backend_choice() throws this
};

const Made& made() {
  static const Made m = [] {
    Made out;
    const char* env = std::getenv("SPINDLE_IO");
    try {
      // SPINDLE_IO=epoll needs no probe; otherwise the probe says what io_uring could do.
      IoUringProbe probe;
      if (env == nullptr || std::string_view(env) != "epoll") probe = probe_io_uring();
      out.choice = choose_io_backend(env, probe);
    } catch (const std::runtime_error& e) {
      out.error = e.what();
    }
    return out;
  }();
  return m;
}

}  // namespace

const char* to_string(IoBackendKind kind) noexcept {
  return kind == IoBackendKind::io_uring ? "io_uring" : "epoll";
}

IoChoice choose_io_backend(const char* env, const IoUringProbe& probe) {
  const std::string_view value = env != nullptr ? env : "";
  if (value == "epoll") return {IoBackendKind::epoll, "SPINDLE_IO=epoll"};
  if (value == "io_uring") {
    if (!probe.usable) {
      throw std::runtime_error("spindle: SPINDLE_IO=io_uring, but io_uring cannot be used here: " +
                               probe.why_not);
    }
    return {IoBackendKind::io_uring, "SPINDLE_IO=io_uring"};
  }
  if (!value.empty()) {
    throw std::runtime_error("spindle: SPINDLE_IO=" + std::string(value) +
                             ": expected 'epoll' or 'io_uring'");
  }
  if (probe.usable) {
    return {IoBackendKind::epoll, "default; io_uring usable (SPINDLE_IO=io_uring selects it)"};
  }
  return {IoBackendKind::epoll, "default; io_uring unusable: " + probe.why_not};
}

const IoChoice& io_backend_choice() {
  const Made& m = made();
  if (!m.error.empty()) throw std::runtime_error(m.error);
  return m.choice;
}

std::unique_ptr<IoBackend> make_io_backend() {
  return io_backend_choice().kind == IoBackendKind::io_uring ? make_uring_backend()
                                                             : make_epoll_backend();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
