// SPDX-License-Identifier: Apache-2.0
// select_recv over a few channels allocates nothing (detail::ScratchArray), and the scratch
// array's inline budget, heap fallback and destruction order. This binary replaces the
// global operator new to count the allocations made by the calling thread.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"

namespace {
thread_local std::size_t t_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Out of line: g++ 12, seeing the pair inlined, takes free() for a mismatch with new.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using spindle::detail::ScratchArray;

struct Logged {
  Logged(std::vector<int>& log, int id) : log_(&log), id_(id) {}
  Logged(const Logged&) = delete;
  Logged& operator=(const Logged&) = delete;
  ~Logged() { log_->push_back(id_); }
  std::vector<int>* log_;
  int id_;
};

struct Big {
  char bytes[600];
};

TEST(ScratchArray, StaysInlineWithinItsByteBudget) {
  static_assert(ScratchArray<std::size_t>::kInline == 64);
  const std::size_t before = t_allocations;
  {
    ScratchArray<std::size_t> a(64);
    for (std::size_t i = 0; i < 64; ++i) a.emplace_back(i * 3);
    EXPECT_EQ(a.size(), 64u);
    EXPECT_EQ(a[63], 189u);
    EXPECT_EQ(a.data() + 10, &a[10]);
  }
  EXPECT_EQ(t_allocations, before);
}

TEST(ScratchArray, GoesToTheHeapBeyondItsBudget) {
  static_assert(ScratchArray<Big>::kInline == 0);
  const std::size_t before = t_allocations;
  {
    ScratchArray<std::size_t> a(65);
    for (std::size_t i = 0; i < 65; ++i) a.emplace_back(i);
    EXPECT_EQ(a[64], 64u);
    ScratchArray<Big> b(1);
    b.emplace_back().bytes[599] = 'x';
    EXPECT_EQ(b[0].bytes[599], 'x');
  }
  EXPECT_EQ(t_allocations, before + 2);
}

TEST(ScratchArray, DestroysWhatWasBuiltInReverseOrder) {
  std::vector<int> log;
  log.reserve(8);
  {
    ScratchArray<Logged> a(5);  // room for five, three built: only those three are destroyed
    a.emplace_back(log, 1);
    a.emplace_back(log, 2);
    a.emplace_back(log, 3);
  }
  EXPECT_EQ(log, (std::vector<int>{3, 2, 1}));
}

TEST(SelectRecvAlloc, AFewChannelsAllocateNothing) {
  std::vector<spindle::Chan<int>> chans;
  for (int i = 0; i < 4; ++i) chans.emplace_back(8);
  std::vector<spindle::RecvChan<int>> ins(chans.begin(), chans.end());
  ins.emplace_back();  // a nil case never fires
  chans[2].send(7);
  chans[0].send(5);
  int sum = 0;
  const std::size_t before = t_allocations;
  for (int round = 0; round < 2; ++round) {
    auto [i, v] = spindle::select_recv(ins);
    ASSERT_TRUE(i == 0 || i == 2);
    sum += v.value_or(-100);
  }
  bool defaulted = false;
  auto [k, none] = spindle::select_recv(ins, spindle::on_default([&] { defaulted = true; }));
  EXPECT_EQ(t_allocations, before);
  EXPECT_EQ(sum, 12);
  EXPECT_EQ(k, ins.size());
  EXPECT_FALSE(none.has_value());
  EXPECT_TRUE(defaulted);
}

TEST(SelectRecvAlloc, ManyChannelsStillWork) {
  // 200 cases: the cases, the engine's pointers and the wait entries all go to the heap.
  std::vector<spindle::Chan<std::string>> chans;
  for (int i = 0; i < 200; ++i) chans.emplace_back(1);
  std::vector<spindle::RecvChan<std::string>> ins(chans.begin(), chans.end());
  chans[137].send(std::string(100, 'q'));
  auto [i, v] = spindle::select_recv(ins);
  EXPECT_EQ(i, 137u);
  EXPECT_EQ(v, std::string(100, 'q'));
  chans[199].close();
  auto [j, w] = spindle::select_recv(ins);
  EXPECT_EQ(j, 199u);
  EXPECT_FALSE(w.has_value());
}

}  // namespace
