// SPDX-License-Identifier: Apache-2.0
#include "runtime/poll_desc.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// The process-wide PollDesc table: chunks that are never freed, so an event fetched for a
// descriptor that was closed meanwhile still points at valid memory (its generation tells
// it is stale).
constexpr std::uint32_t kChunkBits = 10;
constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
constexpr std::uint32_t kMaxChunks = 1u << 14;  // 16M descriptors

struct DescTable {
  std::mutex mu;
  PollDesc* free = nullptr;  // under mu
  std::uint32_t used = 0;    // slots ever handed out, under mu
  std::atomic<PollDesc*> chunks[kMaxChunks] = {};
};

DescTable& desc_table() {
  static DescTable* table = new DescTable;  // never destroyed: sockets may be static
  return *table;
}

PollDesc* desc_at(std::uint32_t index) noexcept {
  if ((index >> kChunkBits) >= kMaxChunks) return nullptr;
  // acquire: pairs with the release that published the chunk in poll_desc_open().
  PollDesc* chunk = desc_table().chunks[index >> kChunkBits].load(std::memory_order_acquire);
  return chunk != nullptr ? &chunk[index & (kChunkSize - 1)] : nullptr;
}

// Wakes and unlinks every waiter of a list; returns how many. Under the PollDesc's lock.
std::size_t wake_all(IoWaitList& list) noexcept {
  std::size_t n = 0;
  while (IoWaitNode* w = list.pop_front()) {
    w->linked = false;
    w->waiter->unpark();
    ++n;
  }
  return n;
}

// One more edge seen; under the PollDesc's lock, so no read-modify-write is needed.
void bump(std::atomic<std::uint32_t>& edges) noexcept {
  // relaxed load: only deliveries holding mu write it. release: pairs with PollDesc::edges().
  edges.store(edges.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

}  // namespace

PollDesc* poll_desc_open(int fd) {
  DescTable& t = desc_table();
  PollDesc* pd;
  {
    std::lock_guard lock(t.mu);
    if (t.free != nullptr) {
      pd = t.free;
      t.free = pd->next_free;
    } else {
      if (t.used == kChunkSize * kMaxChunks) {
        throw std::system_error(EMFILE, std::system_category(), "spindle: poll descriptor table");
      }
      const std::uint32_t index = t.used++;
      // relaxed: chunks are only created under t.mu.
      PollDesc* chunk = t.chunks[index >> kChunkBits].load(std::memory_order_relaxed);
      if (chunk == nullptr) {
        chunk = new PollDesc[kChunkSize];
        for (std::uint32_t i = 0; i < kChunkSize; ++i) {
          chunk[i].index = (index & ~(kChunkSize - 1)) + i;
        }
        // release: pairs with desc_at()'s acquire.
        t.chunks[index >> kChunkBits].store(chunk, std::memory_order_release);
      }
      pd = &chunk[index & (kChunkSize - 1)];
    }
  }
  std::lock_guard lock(pd->mu);
  pd->fd = fd;
  pd->poller_id = 0;
  pd->closed = false;
  pd->read_final.store(false, std::memory_order_relaxed);  // relaxed: published by mu
  pd->note_read(false, 0);
  // readers and writers are empty: the close that recycled pd woke and unlinked them all.
  return pd;
}

int poll_desc_close(PollDesc* pd) noexcept {
  int fd;
  {
    std::lock_guard lock(pd->mu);
    pd->closed = true;
    ++pd->gen;
    wake_all(pd->readers);
    wake_all(pd->writers);
    fd = pd->fd;
    pd->fd = -1;
    pd->poller_id = 0;
  }
  // Closing removes the fd from every backend's interest set (spindle never dups sockets),
  // and the new generation makes events already fetched for it stale.
  const int rc = fd >= 0 ? ::close(fd) : 0;
  const int saved = errno;
  DescTable& t = desc_table();
  {
    std::lock_guard lock(t.mu);
    pd->next_free = t.free;
    t.free = pd;
  }
  errno = saved;
  return rc;
}

ArmResult poll_desc_arm(PollDesc& pd, IoDir dir, IoWaitNode& node, std::uint32_t seen) {
  std::lock_guard lock(pd.mu);
  if (pd.closed) return ArmResult::closed;
  if (pd.edges(dir) != seen) return ArmResult::ready;
  (dir == IoDir::read ? pd.readers : pd.writers).push_front(node);
  node.linked = true;
  return ArmResult::armed;
}

void poll_desc_disarm(PollDesc& pd, IoDir dir, IoWaitNode& node) noexcept {
  std::lock_guard lock(pd.mu);
  if (node.linked) {
    (dir == IoDir::read ? pd.readers : pd.writers).remove(node);
    node.linked = false;
  }
}

std::size_t poll_desc_deliver(std::uint64_t token, unsigned ready) noexcept {
  PollDesc* pd = desc_at(static_cast<std::uint32_t>(token));
  if (pd == nullptr) return 0;
  std::lock_guard lock(pd->mu);
  if (pd->closed || pd->gen != static_cast<std::uint32_t>(token >> 32)) return 0;  // stale
  std::size_t woken = 0;
  if ((ready & (kIoReadable | kIoReadFinal)) != 0) {
    // relaxed: published by bump()'s release below.
    if ((ready & kIoReadFinal) != 0) pd->read_final.store(true, std::memory_order_relaxed);
    bump(pd->read_edges);
    woken += wake_all(pd->readers);
  }
  if ((ready & kIoWritable) != 0) {
    bump(pd->write_edges);
    woken += wake_all(pd->writers);
  }
  return woken;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
