// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::net: TCP sockets whose blocking calls park the calling task, not its worker.
///
/// Every blocking call also works on a plain OS thread (it then blocks the thread, as a
/// classic socket does), so a program can mix tasks and threads freely.
///
/// @code
/// auto listener = spindle::net::TcpListener::bind("127.0.0.1", 0);   // port 0: any free port
/// auto server = spindle::spawn([&] {
///   spindle::net::TcpStream conn = listener.accept();
///   char buf[5];
///   conn.read_exact(buf, sizeof buf);
///   conn.write_all(std::string_view(buf, sizeof buf));   // echo it back
/// });
/// auto client = spindle::net::TcpStream::connect("127.0.0.1", listener.port());
/// client.write_all("hello");
/// @endcode
///
/// Errors are std::system_error: what() names the operation, code() holds the errno
/// (std::system_category), spindle::errc::canceled / deadline_exceeded when the Context or
/// the stream's deadline ended the wait, or spindle::net::errc (below).
///
/// Ownership: a stream or listener owns its file descriptor and closes it when destroyed.
/// Several tasks may use one stream at once (one reading, one writing); close() and the
/// destructor must not race with calls on the same object — to stop a task blocked on a
/// stream, cancel its Context, set a deadline, or call shutdown().
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"
#include "spindle/context.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// @cond INTERNAL
namespace detail {
struct PollDesc;
}  // namespace detail
/// @endcond

namespace net {

/// Errors of spindle::net that have no errno.
enum class errc {
  unexpected_eof = 1,  ///< The peer closed the stream before read_exact() got every byte.
  host_not_found = 2,  ///< Name resolution failed (getaddrinfo's message is in what()).
};
/// The category of spindle::net::errc; its name() is "spindle.net".
const std::error_category& error_category() noexcept;
/// Makes a std::error_code of spindle::net's category (found by argument-dependent lookup).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// An IPv4 or IPv6 address and a port.
class Endpoint {
 public:
  /// No address: port() is 0, size() is 0.
  Endpoint() noexcept = default;
  /// From a numeric address ("127.0.0.1", "::1", "0.0.0.0", "::"); throws
  /// std::invalid_argument naming the text if it is neither IPv4 nor IPv6.
  Endpoint(std::string_view address, std::uint16_t port);
  /// From a socket address as the kernel returns it.
  Endpoint(const sockaddr* sa, socklen_t len);

  /// The port, in host byte order; 0 for an endpoint with no address.
  std::uint16_t port() const noexcept;
  /// The address alone, numeric ("127.0.0.1", "::1").
  std::string address() const;
  /// "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;
  /// True for an IPv6 address, false for IPv4 (or none).
  bool is_v6() const noexcept { return storage_.ss_family == AF_INET6; }

  /// The socket address, to pass to connect(2), bind(2) and the like with size().
  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  /// The length in bytes of the socket address at data().
  socklen_t size() const noexcept { return len_; }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

/// Every endpoint `host` resolves to ("localhost", "example.org" or a numeric address), with
/// `port`. Numeric addresses are parsed directly; names go through getaddrinfo on the
/// blocking pool (spindle::blocking), so a task resolving a name does not hold its worker.
/// Throws std::system_error with net::errc::host_not_found when nothing is found.
std::vector<Endpoint> resolve(std::string_view host, std::uint16_t port);

/// Which direction(s) shutdown() closes.
enum class Shutdown { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

/// A connected TCP stream. Move-only; the destructor closes it.
class TcpStream {
 public:
  /// Not connected (is_open() is false).
  TcpStream() noexcept = default;
  /// Takes over `other`'s socket and deadlines; `other` is left closed.
  TcpStream(TcpStream&& other) noexcept;
  /// Closes this stream's socket, then takes over `other`'s socket and deadlines; `other` is
  /// left closed.
  TcpStream& operator=(TcpStream&& other) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  /// Connects to the first endpoint of `host` that accepts. TCP_NODELAY is set (as in Go).
  static TcpStream connect(std::string_view host, std::uint16_t port,
                           const Context& ctx = background());
  /// Connects to `endpoint`, parking the task until the connection is made or fails (or
  /// `ctx` ends). TCP_NODELAY is set.
  /// @throws std::system_error with the errno of the failure (e.g. connection_refused).
  static TcpStream connect(const Endpoint& endpoint, const Context& ctx = background());

  /// Reads what is available, at least one byte, waiting while nothing is; returns 0 at end
  /// of stream (or when n is 0).
  std::size_t read_some(void* buf, std::size_t n, const Context& ctx = background());
  /// Reads exactly n bytes; throws net::errc::unexpected_eof if the stream ends first. On
  /// an error, the bytes read so far are lost.
  void read_exact(void* buf, std::size_t n, const Context& ctx = background());
  /// Writes all n bytes (a short write continues where it stopped). SIGPIPE is never
  /// raised: a closed peer is std::errc::broken_pipe or connection_reset.
  void write_all(const void* buf, std::size_t n, const Context& ctx = background());
  /// Writes all of `data`, as write_all(data.data(), data.size(), ctx).
  void write_all(std::string_view data, const Context& ctx = background()) {
    write_all(data.data(), data.size(), ctx);
  }

  /// Every later read (write) fails with spindle::errc::deadline_exceeded once `deadline`
  /// has passed, until the deadline is changed; std::nullopt removes it (Go's
  /// SetReadDeadline / SetWriteDeadline). Not synchronized with calls in progress.
  void set_read_deadline(std::optional<TimePoint> deadline) noexcept { read_deadline_ = deadline; }
  /// The write-side counterpart of set_read_deadline(): later writes fail with
  /// spindle::errc::deadline_exceeded once `deadline` has passed.
  void set_write_deadline(std::optional<TimePoint> deadline) noexcept {
    write_deadline_ = deadline;
  }

  /// Shuts down one or both directions; a task blocked reading wakes (end of stream).
  void shutdown(Shutdown how = Shutdown::write);
  /// Closes the descriptor now (the destructor does it otherwise). Idempotent.
  void close();

  /// True while the stream owns a socket (connected, not closed or moved from).
  bool is_open() const noexcept { return pd_ != nullptr; }
  /// The file descriptor, or -1.
  int native_handle() const noexcept;
  /// The local address and port of the connection (getsockname).
  /// @throws std::system_error (EBADF when the stream is not open).
  Endpoint local_endpoint() const;
  /// The address and port of the peer (getpeername).
  /// @throws std::system_error (EBADF when the stream is not open).
  Endpoint peer_endpoint() const;
  /// Turns TCP_NODELAY (no Nagle delay for small writes) on or off; connect() and accept()
  /// turn it on.
  /// @throws std::system_error (EBADF when the stream is not open).
  void set_nodelay(bool on);

  /// Takes ownership of a connected socket (made non-blocking here).
  static TcpStream adopt(int fd);

 private:
  explicit TcpStream(::spindle::detail::PollDesc* pd) noexcept : pd_(pd) {}
  friend class TcpListener;

  ::spindle::detail::PollDesc* pd_ = nullptr;
  std::optional<TimePoint> read_deadline_;
  std::optional<TimePoint> write_deadline_;
};

/// A listening TCP socket. Move-only; the destructor closes it.
class TcpListener {
 public:
  /// Not listening (is_open() is false).
  TcpListener() noexcept = default;
  /// Takes over `other`'s socket and deadline; `other` is left closed.
  TcpListener(TcpListener&& other) noexcept;
  /// Closes this listener's socket, then takes over `other`'s socket and deadline; `other`
  /// is left closed.
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  /// Binds and listens. `host` is a numeric address or a name ("localhost"); "" or "::"
  /// listens on every IPv6 and IPv4 address, "0.0.0.0" on every IPv4 one. Port 0 picks a
  /// free port (see port()). SO_REUSEADDR is set.
  static TcpListener bind(std::string_view host, std::uint16_t port, int backlog = 4096);
  /// Binds to `endpoint` and listens with a queue of `backlog` pending connections.
  /// SO_REUSEADDR is set; an IPv6 endpoint also accepts IPv4 connections (IPV6_V6ONLY off).
  /// @throws std::system_error whose what() names the endpoint if binding fails (e.g.
  /// address_in_use).
  static TcpListener bind(const Endpoint& endpoint, int backlog = 4096);

  /// Waits for the next connection (parks the task) and returns it, with TCP_NODELAY set.
  TcpStream accept(const Context& ctx = background());

  /// Accepts fail with spindle::errc::deadline_exceeded after `deadline` (nullopt: none).
  void set_deadline(std::optional<TimePoint> deadline) noexcept { deadline_ = deadline; }

  /// Closes the socket now (the destructor does it otherwise). Idempotent.
  void close();
  /// True while the listener owns a socket (bound, not closed or moved from).
  bool is_open() const noexcept { return pd_ != nullptr; }
  /// The file descriptor, or -1.
  int native_handle() const noexcept;
  /// The address and port the listener is bound to (getsockname).
  /// @throws std::system_error (EBADF when the listener is not open).
  Endpoint local_endpoint() const;
  /// The port actually bound (useful after binding port 0).
  std::uint16_t port() const { return local_endpoint().port(); }

 private:
  ::spindle::detail::PollDesc* pd_ = nullptr;
  std::optional<TimePoint> deadline_;
};

}  // namespace net
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE

/// @cond INTERNAL
// Lets spindle::net::errc convert implicitly to std::error_code and compare with one.
template <>
struct std::is_error_code_enum<spindle::net::errc> : std::true_type {};
/// @endcond
