// SPDX-License-Identifier: Apache-2.0
// Raw context switch: two contexts ping-pong, nothing else (no scheduler, no queues).
// One iteration is a round trip, i.e. two one-way switches; t_op is the one-way time.
//
//   switch/spindle        spindle's own context_switch (assembly or ucontext back end)
//   switch/boost.context  boost::context::fiber resume ping-pong (if Boost.Context is found)
//   switch/ucontext       glibc swapcontext (saves and restores the signal mask: a syscall)
#include <sys/mman.h>
#include <ucontext.h>

#include <cstddef>
#include <cstdio>
#include <utility>

#include "bench_common.hpp"
#include "runtime/machine/machine_context.hpp"

#if SPINDLE_BENCH_HAVE_BOOST_CONTEXT
#include <boost/context/fiber.hpp>
#endif

namespace {

constexpr std::size_t kStackBytes = 64 * 1024;

// An anonymous mapping for a context's stack, unmapped on scope exit.
class Stack {
 public:
  Stack() {
    void* p =
        mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack() {
    if (base_ != nullptr) munmap(base_, kStackBytes);
  }
  bool ok() const noexcept { return base_ != nullptr; }
  char* low() const noexcept { return base_; }
  char* high() const noexcept { return base_ + kStackBytes; }

 private:
  char* base_ = nullptr;
};

// ---------------------------------------------------------------------------------------
// spindle
// ---------------------------------------------------------------------------------------
struct SpindlePair {
  spindle::detail::MachineContext main;
  spindle::detail::MachineContext other;
};

[[noreturn]] void spindle_bounce(void* arg) {
  auto* pair = static_cast<SpindlePair*>(arg);
  for (;;) spindle::detail::context_switch(pair->other, pair->main);
}

void BM_switch_spindle(benchmark::State& state) {
  Stack stack;
  if (!stack.ok()) {
    state.SkipWithError("mmap failed");
    return;
  }
  SpindlePair pair;
  spindle::detail::context_init(pair.other, stack.low(), stack.high(), &spindle_bounce, &pair);
  for (auto _ : state) {
    spindle::detail::context_switch(pair.main, pair.other);
  }
  // The other context stays suspended inside spindle_bounce; its stack is simply dropped.
  spindle_perf::set_ops(state, 2);
}

// ---------------------------------------------------------------------------------------
// Boost.Context
// ---------------------------------------------------------------------------------------
#if SPINDLE_BENCH_HAVE_BOOST_CONTEXT
void BM_switch_boost_context(benchmark::State& state) {
  namespace ctx = boost::context;
  ctx::fiber other{[](ctx::fiber&& caller) {
    for (;;) caller = std::move(caller).resume();
    return std::move(caller);
  }};
  for (auto _ : state) {
    other = std::move(other).resume();
  }
  spindle_perf::set_ops(state, 2);
  // Destroying `other` unwinds its stack (forced_unwind), which ends the lambda.
}
#endif

// ---------------------------------------------------------------------------------------
// ucontext
// ---------------------------------------------------------------------------------------
ucontext_t g_uc_main;
ucontext_t g_uc_other;

void ucontext_bounce() {
  for (;;) swapcontext(&g_uc_other, &g_uc_main);
}

void BM_switch_ucontext(benchmark::State& state) {
  Stack stack;
  if (!stack.ok() || getcontext(&g_uc_other) != 0) {
    state.SkipWithError("mmap or getcontext failed");
    return;
  }
  g_uc_other.uc_stack.ss_sp = stack.low();
  g_uc_other.uc_stack.ss_size = kStackBytes;
  g_uc_other.uc_link = nullptr;
  makecontext(&g_uc_other, &ucontext_bounce, 0);
  for (auto _ : state) {
    swapcontext(&g_uc_main, &g_uc_other);
  }
  spindle_perf::set_ops(state, 2);
}

}  // namespace

int main(int argc, char** argv) {
  // Real time, as every other case, so that tools/bench_table.py compares like with like.
  benchmark::RegisterBenchmark("switch/spindle", &BM_switch_spindle)->UseRealTime();
#if SPINDLE_BENCH_HAVE_BOOST_CONTEXT
  benchmark::RegisterBenchmark("switch/boost.context", &BM_switch_boost_context)->UseRealTime();
#endif
  benchmark::RegisterBenchmark("switch/ucontext", &BM_switch_ucontext)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
