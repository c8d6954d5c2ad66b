// SPDX-License-Identifier: Apache-2.0
// Memory for task records (TaskCore::operator new / delete).
//
// Why not plain malloc: with many records alive at once (spawn+join of 100k tasks), glibc's
// per-thread cache (7 blocks a size) overflows into the arena, whose bins get consolidated
// and split again every round; on two workers the fiber frees on one thread what the
// spawner allocated on the other, and the two meet on the arena lock. Spawn and join would
// spend much of their time in the allocator.
//
// Design, tcmalloc's in miniature: each thread keeps an array of free blocks per size class
// (64-byte steps up to 512 bytes) and works on it without atomics. An array rather than a
// list, so a free never writes into the (possibly remote, cold) block. When a thread's array
// fills, it moves its older half to a shared pool under that class's mutex; when it runs
// dry, it takes a batch back. A thread that only frees (a thief running stolen tasks) thus
// feeds the one that only allocates (the spawner), one lock per kBatch records. The pool
// keeps at most kPoolBytes a class and hands the excess back to the system allocator.
// Blocks above 512 bytes go straight to ::operator new.
//
// Unsized ::operator delete throughout: clang does not enable the global sized one by default.
//
// AddressSanitizer builds use ::operator new / delete for every record, so that a use after
// free of a record is still caught.
#include "runtime/task_alloc.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "spindle/detail/task_core.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define SPINDLE_TASK_ALLOC_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPINDLE_TASK_ALLOC_PLAIN 1
#endif
#endif
#ifndef SPINDLE_TASK_ALLOC_PLAIN
#define SPINDLE_TASK_ALLOC_PLAIN 0
#endif

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
#if !SPINDLE_TASK_ALLOC_PLAIN
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 8;
constexpr std::size_t kMaxCached = kGranule * kClasses;
constexpr std::uint32_t kLocalCap = 256;  // blocks a thread keeps per class
constexpr std::uint32_t kBatch = kLocalCap / 2;
constexpr std::size_t kPoolBytes = std::size_t{16} << 20;  // per class

constexpr std::size_t class_of(std::size_t size) noexcept { return (size - 1) / kGranule; }
constexpr std::size_t class_bytes(std::size_t k) noexcept { return (k + 1) * kGranule; }

struct LocalCache {
  std::array<std::uint32_t, kClasses> count{};
  std::array<std::array<void*, kLocalCap>, kClasses> blocks;
};

struct SharedPool {
  std::mutex mu;
  std::vector<void*> blocks;
};

std::array<SharedPool, kClasses>& pools() {
  static auto* p = new std::array<SharedPool, kClasses>;  // never destroyed: used at exit
  return *p;
}

void release_to_pool(std::size_t k, void* const* first, std::size_t n) noexcept {
  SharedPool& pool = pools()[k];
  const std::size_t cap = kPoolBytes / class_bytes(k);
  std::size_t kept = 0;
  {
    std::lock_guard lock(pool.mu);
    kept = std::min(n, cap - std::min(cap, pool.blocks.size()));
    try {
      pool.blocks.insert(pool.blocks.end(), first, first + kept);
    } catch (const std::bad_alloc&) {
      kept = 0;  // the pool could not grow: hand these back to the system instead
    }
  }
  for (std::size_t i = kept; i < n; ++i) ::operator delete(first[i]);
}

constinit thread_local LocalCache* tl_cache = nullptr;
constinit thread_local bool tl_exited = false;

// Gives a thread's blocks to the pool when the thread ends. Only touched on a slow path, so
// the fast paths need no thread_local with a destructor (and its init guard).
struct CacheOwner {
  ~CacheOwner() {
    tl_exited = true;
    LocalCache* c = std::exchange(tl_cache, nullptr);
    if (c == nullptr) return;
    for (std::size_t k = 0; k < kClasses; ++k) release_to_pool(k, c->blocks[k].data(), c->count[k]);
    delete c;
  }
};

LocalCache* local_cache() {
  if (tl_exited) return nullptr;  // thread_local destructors are running: go around us
  if (tl_cache == nullptr) {
    thread_local CacheOwner owner;
    tl_cache = new (std::nothrow) LocalCache;
  }
  return tl_cache;
}

[[gnu::noinline]] void* alloc_slow(std::size_t k) {
  LocalCache* c = local_cache();
  if (c != nullptr) {
    SharedPool& pool = pools()[k];
    std::lock_guard lock(pool.mu);
    const std::size_t n = std::min<std::size_t>(kBatch, pool.blocks.size());
    auto from = pool.blocks.end() - static_cast<std::ptrdiff_t>(n);
    std::copy(from, pool.blocks.end(), c->blocks[k].data());
    pool.blocks.erase(from, pool.blocks.end());
    c->count[k] = static_cast<std::uint32_t>(n);
    if (n != 0) return c->blocks[k][--c->count[k]];
  }
  return ::operator new(class_bytes(k));
}

[[gnu::noinline]] void free_slow(void* p, std::size_t k) noexcept {
  LocalCache* c = local_cache();
  if (c == nullptr) {
    ::operator delete(p);
    return;
  }
  if (c->count[k] == kLocalCap) {
    // Keep the newest half: it is the likeliest to be in this core's cache.
    auto& b = c->blocks[k];
    release_to_pool(k, b.data(), kBatch);
    std::memmove(b.data(), b.data() + kBatch, (kLocalCap - kBatch) * sizeof(void*));
    c->count[k] = kLocalCap - kBatch;
  }
  c->blocks[k][c->count[k]++] = p;
}

}  // namespace
#endif

void release_pooled_task_records() noexcept {
#if !SPINDLE_TASK_ALLOC_PLAIN
  for (std::size_t k = 0; k < kClasses; ++k) {
    std::vector<void*> blocks;
    {
      std::lock_guard lock(pools()[k].mu);
      blocks.swap(pools()[k].blocks);
    }
    for (void* p : blocks) ::operator delete(p);
  }
#endif
}

void* TaskCore::operator new(std::size_t size) {
#if SPINDLE_TASK_ALLOC_PLAIN
  return ::operator new(size);
#else
  if (size > kMaxCached) return ::operator new(size);
  const std::size_t k = class_of(size);
  LocalCache* c = tl_cache;
  if (c != nullptr && c->count[k] != 0) return c->blocks[k][--c->count[k]];
  return alloc_slow(k);
#endif
}

void TaskCore::operator delete(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if SPINDLE_TASK_ALLOC_PLAIN
  ::operator delete(p);
#else
  if (size > kMaxCached) {
    ::operator delete(p);
    return;
  }
  const std::size_t k = class_of(size);
  LocalCache* c = tl_cache;
  if (c != nullptr && c->count[k] != kLocalCap) {
    c->blocks[k][c->count[k]++] = p;
    return;
  }
  free_slow(p, k);
#endif
}

void* TaskCore::operator new(std::size_t size, std::align_val_t align) {
  return ::operator new(size, align);
}

void TaskCore::operator delete(void* p, std::size_t /*size*/, std::align_val_t align) noexcept {
  ::operator delete(p, align);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
