// SPDX-License-Identifier: Apache-2.0
// The partial-deadlock proof.
//
// What wakes a parked task (spindle's waiter protocol): only an unpark() of its Waiter, by
// whoever holds that Waiter's address, or the runtime's teardown. So a task is blocked for
// good when nobody can ever unpark its Waiter:
//   (a) forever: block_forever() parks on a Waiter it publishes nowhere (a nil channel, a
//       select whose every case is nil); its object is forever_object().
//   (b) join: TaskCore::wait() publishes its Waiter in the joined task's join word only,
//       and that task's finish() is the one unpark (the timed join used by block_on carries
//       no object and is never followed). A task parked in join on a task that stays parked
//       for good stays parked too; so does every task of a cycle of such joins, since each
//       waits for the next to finish and none is running.
//
// Why a scan can be trusted: the registry is read shard by shard, not at one instant. The
// proof therefore scans twice and keeps only tasks seen parked in both scans with the same
// park_seq (bumped by every park), the same wait
// and the same identity (core address and id). Each such task was parked throughout the
// time between its two readings; every first reading precedes every second one, so all of
// them were parked together at the instant the first scan ended, each in the wait the scan
// saw — and from that instant (a) and (b) show none can ever be woken.
//
// What is NOT proven, deliberately: waits on channels, mutexes, wait groups, contexts and
// selects over live channels. A Chan is a shared_ptr handle, and C++ code may hold a handle
// anywhere (a global, the heap, another task's stack reached through a reference capture):
// a channel whose remaining handles all seem to belong to blocked tasks can still be sent to
// by a running task holding a reference to one of those handles. Reference counts cannot
// tell such a reference apart, so any channel-based claim would risk a false positive.
#include "runtime/partial_deadlock.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

}  // namespace

std::vector<PartialDeadlock> find_partial_deadlocks(const TaskRegistry& registry) {
  const std::vector<TaskScan> first = registry.scan(nullptr);
  std::vector<TaskScan> second = registry.scan(nullptr);

  std::unordered_map<const TaskCore*, const TaskScan*> before;
  for (const TaskScan& t : first) before.emplace(t.core, &t);
  // Keep the tasks parked in one unbroken wait across both scans.
  std::erase_if(second, [&](const TaskScan& t) {
    auto it = before.find(t.core);
    if (it == before.end()) return true;
    const TaskScan& b = *it->second;
    return !t.parked || !b.parked || b.info.id != t.info.id || b.park_seq != t.park_seq ||
           b.wait_kind != t.wait_kind || b.wait_object != t.wait_object;
  });
  const std::size_t n = second.size();
  std::unordered_map<const void*, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) index.emplace(second[i].core, i);

  // Each stable task waits on at most one other: a functional graph.
  std::vector<std::size_t> next(n, kNone);
  std::vector<std::size_t> root(n, kNone);  // the set a task is proven part of
  std::vector<std::string> reason(n);
  for (std::size_t i = 0; i < n; ++i) {
    const TaskScan& t = second[i];
    if (t.wait_object == forever_object()) {
      root[i] = i;
      reason[i] = "blocked forever on a nil channel or an empty select";
    } else if (t.wait_kind == WaitKind::join && t.wait_object != nullptr) {
      if (auto it = index.find(t.wait_object); it != index.end()) next[i] = it->second;
    }
  }
  // Join cycles: walk from each unvisited task; a walk that meets itself found a cycle.
  std::vector<std::size_t> walk_id(n, kNone);
  for (std::size_t start = 0; start < n; ++start) {
    std::size_t i = start;
    while (i != kNone && walk_id[i] == kNone && root[i] == kNone) {
      walk_id[i] = start;
      i = next[i];
    }
    if (i != kNone && walk_id[i] == start && root[i] == kNone) {
      for (std::size_t j = i;;) {  // the cycle through i
        root[j] = i;
        j = next[j];
        if (j == i) break;
      }
      reason[i] = "join cycle";
    }
  }
  // Joiners of proven tasks, transitively (chains end at a root or at an unproven task).
  for (std::size_t start = 0; start < n; ++start) {
    std::size_t i = start;
    std::size_t steps = 0;
    while (i != kNone && root[i] == kNone && steps++ <= n) i = next[i];
    if (i == kNone || root[i] == kNone) continue;
    const std::size_t r = root[i];
    for (std::size_t j = start; root[j] == kNone; j = next[j]) root[j] = r;
  }

  std::vector<PartialDeadlock> out;
  std::unordered_map<std::size_t, std::size_t> set_of_root;
  for (std::size_t i = 0; i < n; ++i) {
    if (root[i] == kNone) continue;
    auto [it, fresh] = set_of_root.emplace(root[i], out.size());
    if (fresh) out.push_back(PartialDeadlock{reason[root[i]], {}});
    PartialDeadlock& set = out[it->second];
    set.tasks.push_back(second[i].info);
    if (root[i] != i && next[i] != kNone && root[next[i]] == root[i] &&
        set.reason.find("; joined") == std::string::npos) {
      // i is on a chain into the set, not on the cycle itself.
      bool on_cycle = false;
      for (std::size_t j = next[i], k = 0; j != kNone && k <= n; j = next[j], ++k) {
        if (j == i) {
          on_cycle = true;
          break;
        }
      }
      if (!on_cycle) set.reason += "; joined by tasks waiting on it";
    }
  }
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
