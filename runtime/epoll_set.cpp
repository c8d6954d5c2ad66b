// SPDX-License-Identifier: Apache-2.0
#include "runtime/epoll_set.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// epoll_event.data of the eventfd; descriptors carry poll_desc_token() instead, whose
// generation half is never all ones before 2^32 closes of one slot.
constexpr std::uint64_t kKickTag = ~std::uint64_t{0};
constexpr int kMaxEvents = 256;

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

unsigned readiness(std::uint32_t ev) noexcept {
  unsigned ready = 0;
  if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) != 0) ready |= kIoReadable;
  if ((ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) != 0) ready |= kIoReadFinal;
  if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) ready |= kIoWritable;
  return ready;
}

}  // namespace

EpollSet::EpollSet() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_errno(errno, "spindle: epoll_create1");
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd_ < 0) {
    const int saved = errno;
    ::close(epfd_);
    throw_errno(saved, "spindle: eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a kick stays visible until the owner drains it
  ev.data.u64 = kKickTag;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) {
    const int saved = errno;
    ::close(evfd_);
    ::close(epfd_);
    throw_errno(saved, "spindle: epoll_ctl(eventfd)");
  }
}

EpollSet::~EpollSet() {
  ::close(evfd_);
  ::close(epfd_);
}

void EpollSet::open(PollDesc& pd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  ev.data.u64 = poll_desc_token(pd);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, pd.fd, &ev) != 0 && errno != EEXIST) {
    throw_errno(errno, "spindle: epoll_ctl(EPOLL_CTL_ADD)");
  }
}

std::size_t EpollSet::wait(int timeout_ms, bool drain_kick, bool* kicked) {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  std::size_t woken = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t tag = events[i].data.u64;
    if (tag == kKickTag) {
      if (kicked != nullptr) *kicked = true;
      // Only the blocking owner drains: a non-blocking look must not swallow a kick.
      if (drain_kick) {
        std::uint64_t value;
        [[maybe_unused]] auto r = ::read(evfd_, &value, sizeof value);
      }
      continue;
    }
    woken += poll_desc_deliver(tag, readiness(events[i].events));
  }
  return woken;
}

void EpollSet::kick() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(evfd_, &one, sizeof one);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
