// SPDX-License-Identifier: Apache-2.0
#include "runtime/poller.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <system_error>

#include "runtime/worker.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// epoll_event.data of the eventfd; descriptors carry (generation << 32 | index) instead.
constexpr std::uint64_t kKickTag = ~std::uint64_t{0};
constexpr int kMaxEvents = 256;

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
  // acquire: pairs with the release that published the chunk in poll_desc_open().
  PollDesc* chunk = desc_table().chunks[index >> kChunkBits].load(std::memory_order_acquire);
  return chunk != nullptr ? &chunk[index & (kChunkSize - 1)] : nullptr;
}

std::atomic<std::uint64_t> g_next_poller_id{1};

void push(IoWaitNode*& head, IoWaitNode& n) {
  n.prev = nullptr;
  n.next = head;
  if (head != nullptr) head->prev = &n;
  head = &n;
  n.linked = true;
}

void unlink(IoWaitNode*& head, IoWaitNode& n) {
  (n.prev != nullptr ? n.prev->next : head) = n.next;
  if (n.next != nullptr) n.next->prev = n.prev;
  n.prev = n.next = nullptr;
  n.linked = false;
}

// Wakes and unlinks every waiter of a list; returns how many. Under the PollDesc's lock.
std::size_t wake_all(IoWaitNode*& head) {
  std::size_t n = 0;
  while (IoWaitNode* w = head) {
    unlink(head, *w);
    w->waiter->unpark();
    ++n;
  }
  return n;
}

// One more edge seen; under the PollDesc's lock, so no read-modify-write is needed.
void bump(std::atomic<std::uint32_t>& edges) noexcept {
  // relaxed load: only pollers holding mu write it. release: pairs with PollDesc::edges().
  edges.store(edges.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
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
  pd->readers = pd->writers = nullptr;
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
  // Closing removes the fd from every epoll set it is in (spindle never dups sockets).
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

Poller::Poller() : id_(g_next_poller_id.fetch_add(1, std::memory_order_relaxed)) {  // relaxed: id
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_errno("spindle: epoll_create1");
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd_ < 0) {
    const int saved = errno;
    ::close(epfd_);
    throw std::system_error(saved, std::system_category(), "spindle: eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a kick stays visible until the owner drains it
  ev.data.u64 = kKickTag;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) {
    const int saved = errno;
    ::close(evfd_);
    ::close(epfd_);
    throw std::system_error(saved, std::system_category(), "spindle: epoll_ctl(eventfd)");
  }
}

Poller::~Poller() {
  ::close(evfd_);
  ::close(epfd_);
}

void Poller::add(PollDesc& pd) {
  std::lock_guard lock(pd.mu);
  if (pd.poller_id == id_ || pd.closed) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  ev.data.u64 = (std::uint64_t{pd.gen} << 32) | pd.index;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, pd.fd, &ev) != 0 && errno != EEXIST) {
    throw_errno("spindle: epoll_ctl(EPOLL_CTL_ADD)");
  }
  pd.poller_id = id_;
}

ArmResult Poller::arm(PollDesc& pd, IoDir dir, IoWaitNode& node, std::uint32_t seen) {
  std::lock_guard lock(pd.mu);
  if (pd.closed) return ArmResult::closed;
  if (pd.edges(dir) != seen) return ArmResult::ready;
  push(dir == IoDir::read ? pd.readers : pd.writers, node);
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  return ArmResult::armed;
}

void Poller::disarm(PollDesc& pd, IoDir dir, IoWaitNode& node) noexcept {
  {
    std::lock_guard lock(pd.mu);
    if (node.linked) unlink(dir == IoDir::read ? pd.readers : pd.writers, node);
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

std::size_t Poller::poll(int timeout_ms, bool owner) {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  std::size_t woken = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t tag = events[i].data.u64;
    if (tag == kKickTag) {
      // Only the blocking owner drains: a non-blocking poller must not swallow a kick.
      if (owner) {
        std::uint64_t value;
        [[maybe_unused]] auto r = ::read(evfd_, &value, sizeof value);
      }
      continue;
    }
    PollDesc* pd = desc_at(static_cast<std::uint32_t>(tag));
    if (pd == nullptr) continue;
    const std::uint32_t ev = events[i].events;
    std::lock_guard lock(pd->mu);
    if (pd->closed || pd->gen != static_cast<std::uint32_t>(tag >> 32)) continue;  // stale
    if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) != 0) {
      if ((ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) != 0) {
        pd->read_final.store(true, std::memory_order_relaxed);  // relaxed: released below
      }
      bump(pd->read_edges);
      woken += wake_all(pd->readers);
    }
    if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
      bump(pd->write_edges);
      woken += wake_all(pd->writers);
    }
  }
  return woken;
}

std::size_t Poller::poll_now() {
  if (waiters_.load(std::memory_order_seq_cst) == 0) return 0;
  if (owner_.load(std::memory_order_seq_cst) != nullptr) return 0;
  return poll(0, false);
}

Poller::IdleResult Poller::idle_wait(Worker& w, const TimePoint* deadline) {
  Worker* expected = nullptr;
  if (!owner_.compare_exchange_strong(expected, &w, std::memory_order_seq_cst)) {
    return IdleResult::not_polled;
  }
  kicked_.store(false, std::memory_order_seq_cst);
  // Pairs with the fence in Scheduler::wake_one(): see the protocol at the top of the header.
  if (w.wake_flag.load(std::memory_order_seq_cst) != 0) {
    owner_.store(nullptr, std::memory_order_seq_cst);
    return IdleResult::nothing;
  }
  int timeout_ms = -1;
  if (deadline != nullptr) {
    const auto left = *deadline - Clock::now();
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    timeout_ms = ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
  }
  const std::size_t woken = poll(timeout_ms, true);
  owner_.store(nullptr, std::memory_order_seq_cst);
  return woken > 0 ? IdleResult::woke : IdleResult::nothing;
}

void Poller::kick() noexcept {
  if (kicked_.exchange(true, std::memory_order_seq_cst)) return;  // a kick is pending already
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(evfd_, &one, sizeof one);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
