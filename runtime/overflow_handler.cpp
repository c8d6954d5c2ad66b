// SPDX-License-Identifier: Apache-2.0
#include "runtime/overflow_handler.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "runtime/fiber.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/task_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr std::size_t kAltStackSize = 64 * 1024;
// Frames larger than this below the guard page are still reported as overflows.
constexpr std::size_t kOverflowSlack = 64 * 1024;

struct sigaction g_previous;

void write_all(const char* s, std::size_t n) {
  while (n > 0) {
    ssize_t k = ::write(STDERR_FILENO, s, n);
    if (k <= 0) return;
    s += k;
    n -= static_cast<std::size_t>(k);
  }
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  Worker* w = Worker::current();
  Fiber* f = w != nullptr ? w->current_fiber() : nullptr;
  auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (f != nullptr) {
    auto low = reinterpret_cast<std::uintptr_t>(f->stack.low);
    auto base = reinterpret_cast<std::uintptr_t>(f->stack.base);
    if (addr < low && addr + kOverflowSlack >= base) {
      write_overflow_message(*f, "the guard page below its stack was hit");
      // Fall through to the default action: returning re-runs the faulting access.
      signal(SIGSEGV, SIG_DFL);
      return;
    }
  }
  // Not ours: hand over to the previous handler, or let the default action happen.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, uctx);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
      g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  signal(SIGSEGV, SIG_DFL);
}

}  // namespace

void write_overflow_message(const Fiber& f, const char* how) noexcept {
  const TaskCore* t = f.task;
  char msg[1024];
  // snprintf into a local buffer: not formally async-signal-safe, but the process is about
  // to die and the faulting thread was interrupted inside task code, not inside stdio.
  // The task's own name: it is the task running on this thread, so nothing renames it now.
  const char* name = t != nullptr && t->name ? t->name->c_str() : nullptr;
  int n = std::snprintf(
      msg, sizeof msg,
      "spindle: fatal error: stack overflow in task %llu%s%s%s spawned at %s:%u (%s); %s (stack "
      "size %zu bytes, Options::stack_size)\n",
      t != nullptr ? static_cast<unsigned long long>(t->id) : 0ull, name != nullptr ? " \"" : "",
      name != nullptr ? name : "", name != nullptr ? "\"" : "",
      t != nullptr ? t->spawn_site().file_name() : "?", t != nullptr ? t->spawn_site().line() : 0u,
      t != nullptr ? t->spawn_site().function_name() : "?", how,
      static_cast<std::size_t>(static_cast<char*>(f.stack.high) - static_cast<char*>(f.stack.low)));
  if (n > 0) write_all(msg, std::min(static_cast<std::size_t>(n), sizeof msg - 1));
}

void install_overflow_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous);
  });
}

AltSignalStack::AltSignalStack() {
  void* p =
      mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;  // no alternate stack: overflows die without the message
  stack_t ss{};
  ss.ss_sp = p;
  ss.ss_size = kAltStackSize;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, &previous_) != 0) {
    munmap(p, kAltStackSize);
    return;
  }
  mem_ = p;
}

AltSignalStack::~AltSignalStack() {
  if (mem_ == nullptr) return;
  if ((previous_.ss_flags & SS_DISABLE) != 0 || previous_.ss_sp == nullptr) {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
  } else {
    previous_.ss_flags = 0;
    sigaltstack(&previous_, nullptr);
  }
  munmap(mem_, kAltStackSize);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
