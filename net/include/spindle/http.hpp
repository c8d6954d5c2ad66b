// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::net::http: a small incremental HTTP/1.1 request parser for servers built on
/// spindle::net (it does no I/O). Strict: anything RFC 9112 does not allow is an error.
///
/// @code
/// spindle::net::http::RequestParser parser;
/// std::string buf;                         // bytes read so far
/// for (;;) {
///   auto st = parser.parse(buf);
///   if (st == spindle::net::http::ParseStatus::complete) {
///     const auto& req = parser.request();  // method, target, headers, keep_alive ...
///     buf.erase(0, parser.consumed());     // the rest may be the next (pipelined) request
///     parser.reset();
///   } else if (st == spindle::net::http::ParseStatus::error) {
///     /* answer 400: parser.error() says what was wrong */
///   } else { /* incomplete: read more into buf */ }
/// }
/// @endcode
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::http {

/// A parsed request head (and the length of its body).
struct Request {
  std::string method;                                        ///< "GET", "POST", ...
  std::string target;                                        ///< "/index.html?x=1"
  int minor_version{};                                       ///< 1 for HTTP/1.1, 0 for HTTP/1.0
  std::vector<std::pair<std::string, std::string>> headers;  ///< in order, values trimmed
  std::size_t content_length = 0;  ///< body bytes (Content-Length), included in consumed()
  bool keep_alive = true;          ///< false after `Connection: close` or for HTTP/1.0
                                   ///< without `Connection: keep-alive`

  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const noexcept;
};

/// What RequestParser::parse() found.
enum class ParseStatus {
  incomplete,  ///< No complete request yet: read more bytes and parse again.
  complete,    ///< A whole request (head and body) is at the front of the buffer.
  error,       ///< The request is malformed; parse() keeps returning this until reset().
};

/// Parses one request at a time from the front of a growing buffer. Feed it the whole buffer
/// each time; it remembers how far it has scanned, so byte-at-a-time input costs linear time.
class RequestParser {
 public:
  /// Largest request head accepted (request line plus headers); longer is an error.
  static constexpr std::size_t kMaxHeadBytes = 16 * 1024;

  /// Looks for a complete request (head and body) at the front of `buf`.
  ParseStatus parse(std::string_view buf);
  /// After `complete`: the request. Also valid while head_parsed() (the body still coming).
  const Request& request() const noexcept { return req_; }
  /// True once the head is parsed and valid, before the body is in: a server can refuse a
  /// Content-Length it will not buffer (413) without reading the body.
  bool head_parsed() const noexcept { return head_end_ != 0; }
  /// After `complete`: bytes of `buf` that the request took (head plus body).
  std::size_t consumed() const noexcept { return consumed_; }
  /// After `error`: what was wrong, in a few words ("bad request line", ...).
  const std::string& error() const noexcept { return error_; }
  /// Forgets the last request; parse the next one.
  void reset() noexcept;

 private:
  ParseStatus fail(const char* why);
  bool parse_head(std::string_view head);

  Request req_;
  std::size_t scanned_ = 0;   // bytes of buf known not to finish the head
  std::size_t head_end_ = 0;  // past the blank line, once found
  std::size_t consumed_ = 0;
  std::string error_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::http
