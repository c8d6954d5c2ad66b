// SPDX-License-Identifier: Apache-2.0
// The program tests/gdb/check_gdb.sh debugs: task 1 ("gdb-victim") parks in
// victim_waits_here() on a channel, task 2 in join; then the process stops itself with
// SIGTRAP for gdb to look around. With the argument `unguarded` the stacks have no guard
// pages: gdb's gcore cannot save a mapping with MADV_GUARD_INSTALL guards inside (its read of
// the whole section fails), so the core-file check runs on unguarded stacks.
#include <csignal>
#include <string_view>
#include <thread>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

__attribute__((noinline)) int victim_waits_here(spindle::Chan<int> ch) {
  auto v = ch.recv();
  asm volatile("" ::: "memory");  // keeps the frame from being a tail call
  return v.value_or(0);
}

int main(int argc, char** argv) {
  const bool guarded = !(argc > 1 && std::string_view(argv[1]) == "unguarded");
  spindle::Runtime rt{spindle::Options{
      .workers = 2, .guard_pages = guarded, .on_leak = spindle::LeakPolicy::ignore}};
  spindle::Chan<int> ch;
  auto victim = rt.spawn(spindle::TaskName{"gdb-victim"}, [ch] { return victim_waits_here(ch); });
  auto joiner = rt.spawn([&victim] { return victim.join(); });
  for (int i = 0; i < 5000; ++i) {
    int parked = 0;
    for (const auto& t : rt.tasks()) parked += t.state == "chan recv" || t.state == "join";
    if (parked == 2) break;
    std::this_thread::sleep_for(1ms);
  }
  std::raise(SIGTRAP);  // gdb stops here
  ch.send(5);
  return joiner.join() == 5 ? 0 : 1;
}
