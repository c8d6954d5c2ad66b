// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 request parser: find the end of the head (CRLF CRLF), then validate the
// request line and each header field against RFC 9112's grammar. Only bodies framed by
// Content-Length are supported; Transfer-Encoding is refused (a server answering 400 to it
// is safe from request smuggling).
#include <charconv>
#include <cstring>

#include "spindle/http.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::http {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool lists_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

const std::string* Request::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

void RequestParser::reset() noexcept {
  req_.method.clear();
  req_.target.clear();
  req_.headers.clear();
  req_.content_length = 0;
  req_.keep_alive = true;
  req_.minor_version = 1;
  scanned_ = head_end_ = consumed_ = 0;
  error_.clear();
}

ParseStatus RequestParser::fail(const char* why) {
  error_ = why;
  return ParseStatus::error;
}

ParseStatus RequestParser::parse(std::string_view buf) {
  if (!error_.empty()) return ParseStatus::error;
  if (head_end_ == 0) {
    // Resume the search for CRLF CRLF a few bytes back, in case it straddles the old end.
    std::size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
    const std::size_t at = buf.find("\r\n\r\n", from);
    // A line ending in a bare LF (RFC 9112 section 2.2 lets a recipient refuse them): an
    // answer now, not a wait for a CRLF CRLF that such a client never sends.
    const std::size_t head_len = at == std::string_view::npos ? buf.size() : at + 4;
    for (std::size_t lf = buf.find('\n', scanned_ > 0 ? scanned_ - 1 : 0);
         lf != std::string_view::npos && lf < head_len; lf = buf.find('\n', lf + 1)) {
      if (lf == 0 || buf[lf - 1] != '\r') return fail("bare LF line ending");
    }
    if (at == std::string_view::npos) {
      scanned_ = buf.size();
      if (buf.size() > kMaxHeadBytes) return fail("request head too large");
      // A request line cannot start with whitespace or a control character.
      if (!buf.empty() && !is_tchar(buf[0])) return fail("bad request line");
      return ParseStatus::incomplete;
    }
    if (at + 4 > kMaxHeadBytes) return fail("request head too large");
    if (!parse_head(buf.substr(0, at + 2))) return ParseStatus::error;
    head_end_ = at + 4;
  }
  if (buf.size() - head_end_ < req_.content_length) return ParseStatus::incomplete;
  consumed_ = head_end_ + req_.content_length;
  return ParseStatus::complete;
}

// `head` ends with the CRLF of its last line (the blank line is cut off).
bool RequestParser::parse_head(std::string_view head) {
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // request-line = method SP request-target SP HTTP-version
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail("bad request line"), false;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail("bad method"), false;
  if (target.empty()) return fail("bad request target"), false;
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return fail("bad request target"), false;
  }
  if (version == "HTTP/1.1") {
    req_.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    req_.minor_version = 0;
  } else {
    return fail("unsupported HTTP version"), false;
  }
  req_.method.assign(method);
  req_.target.assign(target);
  bool has_length = false;
  bool has_host = false;
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    eol = head.find("\r\n", pos);
    line = head.substr(pos, eol - pos);
    pos = eol + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("bad header line"), false;
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return fail("bad header name"), false;  // also obs-fold and "a :"
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return fail("bad header value"), false;
    }
    if (iequals(name, "Content-Length")) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || value.empty()) {
        return fail("bad Content-Length"), false;
      }
      if (has_length && n != req_.content_length) return fail("conflicting Content-Length"), false;
      has_length = true;
      req_.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      return fail("Transfer-Encoding not supported"), false;
    } else if (iequals(name, "Host")) {
      // RFC 9112 section 3.2: more than one Host field is answered with 400.
      if (has_host) return fail("duplicate Host"), false;
      has_host = true;
    }
    req_.headers.emplace_back(std::string(name), std::string(value));
  }
  if (req_.minor_version == 1 && req_.header("Host") == nullptr) return fail("missing Host"), false;
  const std::string* connection = req_.header("Connection");
  if (req_.minor_version == 1) {
    req_.keep_alive = connection == nullptr || !lists_token(*connection, "close");
  } else {
    req_.keep_alive = connection != nullptr && lists_token(*connection, "keep-alive");
  }
  return true;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net::http
