// SPDX-License-Identifier: Apache-2.0
// The io_uring backend, and the probe that tells whether it can run here.
//
// The blocking poller waits in the runtime's ring (io_uring_enter with GETEVENTS and the
// next timer's timeout) instead of epoll_wait: the ring is where later completions of
// operations submitted by tasks will arrive too. Readiness of sockets still comes from an
// EpollSet (runtime/epoll_set.hpp), which the ring watches with a poll request; so close(2)
// ends a socket's registration at once, as with epoll. (A poll request on each socket would
// hold a reference to its file, and a close would then release the socket only after the
// ring let go of it, on whichever thread runs the request's completion.)
//
// Invariants:
//  * The ring is set up without COOP_TASKRUN: a poll request's completion runs on the thread
//    that submitted it (a former owner, perhaps asleep on its futex now), and only the
//    default notification interrupts that thread to post it.
//  * Only the blocking owner (one thread at a time, Poller::idle_wait) touches the ring;
//    other pollers look into the epoll set directly, as with the epoll backend.
//  * The owner never blocks with anything ready: it reaps the ring, then looks into the
//    epoll set (draining a kick), and waits only if that found nothing. Whatever becomes
//    ready after the look wakes the epoll instance's pollers, hence the ring's request.
//  * Each owner waits on a poll request of its own on the epoll instance, submitted with its
//    wait in the same io_uring_enter: a request's completion runs on the thread that
//    submitted it, so the owner's runs inside its own wait, and one left by a former owner
//    never leaves the present one waiting on another thread. An owner that arms a request
//    while another thread's is pending cancels that one in the same submission, so at most
//    one request is live (others only wait for their cancellation to be posted).
#include "runtime/epoll_set.hpp"
#include "runtime/io_backend.hpp"
#include "runtime/io_choice.hpp"

#if SPINDLE_HAVE_IO_URING
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#else
#include <stdexcept>
#endif

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

#if SPINDLE_HAVE_IO_URING
namespace {

constexpr unsigned kEntries = 64;
// user_data of a cancellation, and of the probe's request; the backend's poll requests
// count up from 1 (and ~0 is liburing's).
constexpr std::uint64_t kCancelTag = 0;
constexpr std::uint64_t kProbeTag = 1;

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

__kernel_timespec to_timespec(int timeout_ms) noexcept {
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  return ts;
}

class UringBackend final : public IoBackend {
 public:
  UringBackend() {
    io_uring_params p{};
    p.flags = IORING_SETUP_CLAMP;
    if (const int rc = io_uring_queue_init_params(kEntries, &ring_, &p); rc < 0) {
      throw_errno(-rc, "spindle: io_uring_setup");
    }
  }
  ~UringBackend() override { io_uring_queue_exit(&ring_); }
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  void open(PollDesc& pd) override { set_.open(pd); }

  std::size_t poll(int timeout_ms, bool owner) override {
    if (!owner || timeout_ms == 0) return set_.wait(0, owner);
    reap();
    bool kicked = false;
    std::size_t woken = set_.wait(0, true, &kicked);
    if (woken > 0 || kicked) return woken;
    if (latest_done_ || latest_by_ != std::this_thread::get_id()) {
      // Two entries at most; the ring is flushed by every wait, so only entries it refused
      // can take room.
      if (io_uring_sq_space_left(&ring_) < 2) return set_.wait(timeout_ms, true);
      if (!latest_done_) {
        io_uring_sqe* cancel = io_uring_get_sqe(&ring_);
        io_uring_prep_cancel64(cancel, latest_, 0);
        io_uring_sqe_set_data64(cancel, kCancelTag);
      }
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      io_uring_prep_poll_add(sqe, set_.fd(), POLLIN);
      io_uring_sqe_set_data64(sqe, ++latest_);
      latest_done_ = false;
      latest_by_ = std::this_thread::get_id();
    }
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts = to_timespec(timeout_ms);
    // Submits the request (if new) and waits for a completion, the timeout (-ETIME) or a
    // signal (-EINTR); each ends the wait. Any other failure leaves the request unsubmitted.
    const int rc =
        io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ms > 0 ? &ts : nullptr, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) {
      // The ring refused (-EBUSY, -ENOMEM): the request stays queued for the next wait;
      // this one waits in epoll_wait, which sees the same events.
      return set_.wait(timeout_ms, true);
    }
    reap();
    return set_.wait(0, true);
  }

  void kick() noexcept override { set_.kick(); }

 private:
  // Consumes the completions there are. The owner only.
  void reap() noexcept {
    unsigned head;
    unsigned n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (io_uring_cqe_get_data64(cqe) == latest_) latest_done_ = true;
      ++n;
    }
    io_uring_cq_advance(&ring_, n);
  }

  EpollSet set_;
  io_uring ring_{};
  // The latest poll request on set_.fd() (its user_data), who submitted it, and whether it
  // completed. Owner only.
  std::uint64_t latest_ = 0;
  std::thread::id latest_by_;
  bool latest_done_ = true;
};

std::string errno_text(int err) { return std::string(std::strerror(err)); }

}  // namespace

std::unique_ptr<IoBackend> make_uring_backend() { return std::make_unique<UringBackend>(); }

IoUringProbe probe_io_uring() {
  io_uring ring{};
  io_uring_params p{};
  p.flags = IORING_SETUP_CLAMP;
  if (const int rc = io_uring_queue_init_params(8, &ring, &p); rc < 0) {
    return {false, "io_uring_setup: " + errno_text(-rc)};
  }
  struct Ring {
    io_uring* r;
    ~Ring() { io_uring_queue_exit(r); }
  } exit_ring{&ring};
  if ((p.features & IORING_FEAT_EXT_ARG) == 0) {
    return {false, "kernel lacks IORING_FEAT_EXT_ARG (waits with a timeout)"};
  }
  io_uring_probe* ops = io_uring_get_probe_ring(&ring);
  if (ops == nullptr) return {false, "io_uring_register(IORING_REGISTER_PROBE) refused"};
  const bool have_ops = io_uring_opcode_supported(ops, IORING_OP_POLL_ADD) != 0 &&
                        io_uring_opcode_supported(ops, IORING_OP_ASYNC_CANCEL) != 0;
  io_uring_free_probe(ops);
  if (!have_ops) return {false, "kernel lacks IORING_OP_POLL_ADD or IORING_OP_ASYNC_CANCEL"};
  // What the backend does, tried: a poll request on an eventfd, submitted with the wait that
  // a write to the eventfd ends.
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) return {false, "eventfd: " + errno_text(errno)};
  struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
  } close_efd{efd};
  const std::uint64_t one = 1;
  if (::write(efd, &one, sizeof one) != sizeof one) {
    return {false, "eventfd write: " + errno_text(errno)};
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_poll_add(sqe, efd, POLLIN);
  io_uring_sqe_set_data64(sqe, kProbeTag);
  __kernel_timespec ts = to_timespec(5000);
  io_uring_cqe* cqe = nullptr;
  if (const int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr); rc < 0) {
    return {false, "io_uring_enter: " + errno_text(-rc)};
  }
  const int res = cqe->res;
  io_uring_cqe_seen(&ring, cqe);
  if (res < 0) return {false, "poll request: " + errno_text(-res)};
  if ((res & POLLIN) == 0) return {false, "poll request did not report a readable eventfd"};
  return {true, {}};
}

#else  // !SPINDLE_HAVE_IO_URING

std::unique_ptr<IoBackend> make_uring_backend() {
  throw std::logic_error("spindle: built without io_uring (liburing was not found)");
}

IoUringProbe probe_io_uring() {
  return {false, "spindle was built without io_uring (liburing was not found at build time)"};
}

#endif

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
