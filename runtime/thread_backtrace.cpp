// SPDX-License-Identifier: Apache-2.0
#include "runtime/thread_backtrace.hpp"

#include <execinfo.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr int kMaxFrames = 48;

struct Request {
  void* frames[kMaxFrames];
  // The thread asked (pthread_self() there); 0 when no request is open.
  std::atomic<pthread_t> target{0};
  // Frames written by the handler; -1 until it is done. Release/acquire: pairs the handler's
  // writes of `frames` with the requester's reads.
  std::atomic<int> count{-1};
};

Request g_request;
std::mutex g_request_mu;  // one request at a time
struct sigaction g_previous {};

void on_signal(int sig, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  // acquire: pairs with the requester's release store of the target.
  if (g_request.target.load(std::memory_order_acquire) == pthread_self()) {
    g_request.target.store(0, std::memory_order_relaxed);  // relaxed: only this thread answers
    const int n = backtrace(g_request.frames, kMaxFrames);
    g_request.count.store(n, std::memory_order_release);
  } else if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, uctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
             g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
  }
  errno = saved_errno;
}

bool install() {
  // backtrace() loads libgcc's unwinder on its first call; do that here, not in a handler.
  void* warm[2];
  (void)backtrace(warm, 2);
  struct sigaction sa {};
  sa.sa_sigaction = &on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGURG, &sa, &g_previous) == 0;
}

}  // namespace

std::string thread_backtrace(pthread_t thread, std::chrono::milliseconds wait) {
  static const bool installed = install();
  if (!installed) return {};
  std::lock_guard lock(g_request_mu);
  g_request.count.store(-1, std::memory_order_relaxed);  // relaxed: published by the store below
  // release: the handler that sees the target sees the reset count.
  g_request.target.store(thread, std::memory_order_release);
  if (pthread_kill(thread, SIGURG) != 0) {
    g_request.target.store(0, std::memory_order_relaxed);  // relaxed: nobody will answer
    return {};
  }
  const auto until = std::chrono::steady_clock::now() + wait;
  int n = -1;
  // acquire: pairs with the handler's release store; the frames are complete.
  while ((n = g_request.count.load(std::memory_order_acquire)) < 0) {
    if (std::chrono::steady_clock::now() >= until) {
      // A handler that runs after this sees no target of its own and does nothing.
      pthread_t expected = thread;
      if (g_request.target.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
        return {};
      }
      // It has begun: wait for it to finish (it only walks its own stack).
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  std::unique_ptr<char*, decltype(&std::free)> names(backtrace_symbols(g_request.frames, n),
                                                     &std::free);
  std::string out;
  for (int i = 0; i < n; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "  #%d ", i);
    out += line;
    if (names) {
      out += names.get()[i];
    } else {
      std::snprintf(line, sizeof line, "%p", g_request.frames[i]);
      out += line;
    }
    out += '\n';
  }
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
