// SPDX-License-Identifier: Apache-2.0
// TcpStream and TcpListener: non-blocking sockets whose would-block waits go through
// net/io_wait (the netpoller in tasks, poll(2) on threads). Every call tries the system call
// first and waits only on EAGAIN, so a ready socket costs one system call. One exception, in
// tasks: a read right after a short read, with no readiness edge since, parks at once (see
// PollDesc::read_drained). A request-response connection thus costs two system calls per
// exchange (recv, send) instead of three (recv, send, recv -> EAGAIN).
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "net/io_wait.hpp"
#include "spindle/net.hpp"
#include "spindle/task.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net {

using spindle::detail::IoDir;
using spindle::detail::poll_desc_close;
using spindle::detail::poll_desc_open;
using spindle::detail::PollDesc;

namespace {

constexpr const char* kConnect = "spindle::net::TcpStream::connect";
constexpr const char* kRead = "spindle::net::TcpStream::read_some";
constexpr const char* kReadExact = "spindle::net::TcpStream::read_exact";
constexpr const char* kWrite = "spindle::net::TcpStream::write_all";
constexpr const char* kAccept = "spindle::net::TcpListener::accept";
constexpr const char* kBind = "spindle::net::TcpListener::bind";

// Wraps `fd` (already non-blocking) in a PollDesc, closing it if that fails.
PollDesc* own(int fd) {
  try {
    return poll_desc_open(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

void set_int_option(int fd, int level, int name, int value, const char* op) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
    detail::throw_errno(detail::last_errno(), op);
}

void require_open(const PollDesc* pd, const char* op) {
  if (pd == nullptr) detail::throw_errno(EBADF, op);
}

Endpoint sock_name(const PollDesc* pd, bool peer, const char* op) {
  require_open(pd, op);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  const int rc = peer ? ::getpeername(pd->fd, sa, &len) : ::getsockname(pd->fd, sa, &len);
  if (rc != 0) detail::throw_errno(detail::last_errno(), op);
  return Endpoint(sa, len);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// TcpStream
// ---------------------------------------------------------------------------------------

TcpStream::TcpStream(TcpStream&& other) noexcept
    : pd_(std::exchange(other.pd_, nullptr)),
      read_deadline_(other.read_deadline_),
      write_deadline_(other.write_deadline_) {}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
  if (this != &other) {
    close();
    pd_ = std::exchange(other.pd_, nullptr);
    read_deadline_ = other.read_deadline_;
    write_deadline_ = other.write_deadline_;
  }
  return *this;
}

TcpStream::~TcpStream() { close(); }

void TcpStream::close() {
  if (pd_ != nullptr) poll_desc_close(std::exchange(pd_, nullptr));
}

int TcpStream::native_handle() const noexcept { return pd_ != nullptr ? pd_->fd : -1; }

TcpStream TcpStream::adopt(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    detail::throw_errno(detail::last_errno(), "spindle::net::TcpStream::adopt");
  }
  return TcpStream(own(fd));
}

TcpStream TcpStream::connect(const Endpoint& endpoint, const Context& ctx) {
  const int fd =
      ::socket(endpoint.data()->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) detail::throw_errno(detail::last_errno(), kConnect);
  TcpStream s(own(fd));
  std::uint32_t seen = s.pd_->edges(IoDir::write);
  int rc;
  do {
    rc = ::connect(fd, endpoint.data(), endpoint.size());
  } while (rc != 0 && detail::last_errno() == EINTR);
  if (rc != 0) {
    if (const int err = detail::last_errno(); err != EINPROGRESS)
      detail::throw_errno(err, kConnect);
    for (;;) {
      detail::wait_ready(*s.pd_, IoDir::write, ctx, std::nullopt, kConnect, seen);
      seen = s.pd_->edges(IoDir::write);
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        detail::throw_errno(detail::last_errno(), kConnect);
      }
      if (err == 0) {
        // Writable with no error: connected (unless the wake-up was early; check the peer).
        sockaddr_storage ss{};
        socklen_t sl = sizeof ss;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) break;
        if (const int err = detail::last_errno(); err != ENOTCONN)
          detail::throw_errno(err, kConnect);
        continue;
      }
      if (err != EINPROGRESS && err != EALREADY) detail::throw_errno(err, kConnect);
    }
  }
  s.set_nodelay(true);
  return s;
}

TcpStream TcpStream::connect(std::string_view host, std::uint16_t port, const Context& ctx) {
  std::vector<Endpoint> endpoints = resolve(host, port);
  std::exception_ptr last;
  for (const Endpoint& e : endpoints) {
    try {
      return connect(e, ctx);
    } catch (const std::system_error& err) {
      if (ctx.err()) throw;
      last = std::current_exception();
    }
  }
  std::rethrow_exception(last);
}

std::size_t TcpStream::read_some(void* buf, std::size_t n, const Context& ctx) {
  require_open(pd_, kRead);
  if (n == 0) return 0;
  // Only tasks wait through the netpoller, which counts the edges the hint relies on.
  const bool task = in_task();
  for (;;) {
    const std::uint32_t seen = pd_->edges(IoDir::read);
    if (!task || !pd_->drained_at(seen)) {
      const ssize_t r = ::recv(pd_->fd, buf, n, 0);
      if (r >= 0) {
        if (task) pd_->note_read(r > 0 && static_cast<std::size_t>(r) < n, seen);
        return static_cast<std::size_t>(r);
      }
      const int err = detail::last_errno();
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) detail::throw_errno(err, kRead);
    }
    detail::wait_ready(*pd_, IoDir::read, ctx, read_deadline_, kRead, seen);
  }
}

void TcpStream::read_exact(void* buf, std::size_t n, const Context& ctx) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const std::size_t got = read_some(p, n, ctx);
    if (got == 0) detail::throw_code(make_error_code(errc::unexpected_eof), kReadExact);
    p += got;
    n -= got;
  }
}

void TcpStream::write_all(const void* buf, std::size_t n, const Context& ctx) {
  require_open(pd_, kWrite);
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const std::uint32_t seen = pd_->edges(IoDir::write);
    const ssize_t r = ::send(pd_->fd, p, n, MSG_NOSIGNAL);
    if (r >= 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
      continue;
    }
    const int err = detail::last_errno();
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) detail::throw_errno(err, kWrite);
    detail::wait_ready(*pd_, IoDir::write, ctx, write_deadline_, kWrite, seen);
  }
}

void TcpStream::shutdown(Shutdown how) {
  require_open(pd_, "spindle::net::TcpStream::shutdown");
  if (::shutdown(pd_->fd, static_cast<int>(how)) != 0) {
    const int err = detail::last_errno();
    if (err != ENOTCONN) detail::throw_errno(err, "spindle::net::TcpStream::shutdown");
  }
}

Endpoint TcpStream::local_endpoint() const {
  return sock_name(pd_, false, "spindle::net::TcpStream::local_endpoint");
}

Endpoint TcpStream::peer_endpoint() const {
  return sock_name(pd_, true, "spindle::net::TcpStream::peer_endpoint");
}

void TcpStream::set_nodelay(bool on) {
  require_open(pd_, "spindle::net::TcpStream::set_nodelay");
  set_int_option(pd_->fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0,
                 "spindle::net::TcpStream::set_nodelay");
}

// ---------------------------------------------------------------------------------------
// TcpListener
// ---------------------------------------------------------------------------------------

TcpListener::TcpListener(TcpListener&& other) noexcept
    : pd_(std::exchange(other.pd_, nullptr)), deadline_(other.deadline_) {}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
  if (this != &other) {
    close();
    pd_ = std::exchange(other.pd_, nullptr);
    deadline_ = other.deadline_;
  }
  return *this;
}

TcpListener::~TcpListener() { close(); }

void TcpListener::close() {
  if (pd_ != nullptr) poll_desc_close(std::exchange(pd_, nullptr));
}

int TcpListener::native_handle() const noexcept { return pd_ != nullptr ? pd_->fd : -1; }

TcpListener TcpListener::bind(const Endpoint& endpoint, int backlog) {
  const int fd =
      ::socket(endpoint.data()->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) detail::throw_errno(detail::last_errno(), kBind);
  TcpListener l;
  l.pd_ = own(fd);
  set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, kBind);
  if (endpoint.is_v6()) set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, kBind);
  if (::bind(fd, endpoint.data(), endpoint.size()) != 0) {
    const int err = detail::last_errno();
    throw std::system_error(err, std::system_category(),
                            std::string(kBind) + " " + endpoint.to_string());
  }
  if (::listen(fd, backlog) != 0) detail::throw_errno(detail::last_errno(), kBind);
  return l;
}

TcpListener TcpListener::bind(std::string_view host, std::uint16_t port, int backlog) {
  if (host.empty()) return bind(Endpoint("::", port), backlog);
  return bind(resolve(host, port).front(), backlog);
}

TcpStream TcpListener::accept(const Context& ctx) {
  require_open(pd_, kAccept);
  for (;;) {
    const std::uint32_t seen = pd_->edges(IoDir::read);
    const int fd = ::accept4(pd_->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      const int one = 1;  // best effort, as Go: a peer that already reset is the reader's news
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return TcpStream(own(fd));
    }
    const int err = detail::last_errno();
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) detail::throw_errno(err, kAccept);
    detail::wait_ready(*pd_, IoDir::read, ctx, deadline_, kAccept, seen);
  }
}

Endpoint TcpListener::local_endpoint() const {
  return sock_name(pd_, false, "spindle::net::TcpListener::local_endpoint");
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net
