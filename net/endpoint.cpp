// SPDX-License-Identifier: Apache-2.0
// Endpoints, name resolution and spindle::net's error category.
#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "spindle/blocking.hpp"
#include "spindle/net.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::net {
namespace {

class NetCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "spindle.net"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::unexpected_eof:
        return "unexpected end of stream";
      case errc::host_not_found:
        return "host not found";
    }
    return "unknown spindle.net error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const NetCategory category;
  return category;
}

Endpoint::Endpoint(std::string_view address, std::uint16_t port) {
  const std::string text(address);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len_ = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("spindle::net::Endpoint: '" + text +
                                "' is not a numeric IPv4 or IPv6 address");
  }
}

Endpoint::Endpoint(const sockaddr* sa, socklen_t len) {
  if (len > sizeof storage_) len = sizeof storage_;
  std::memcpy(&storage_, sa, len);
  len_ = len;
}

std::uint16_t Endpoint::port() const noexcept {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string Endpoint::address() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage_.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
  } else if (storage_.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof buf);
  }
  return buf;
}

std::string Endpoint::to_string() const {
  // Built by appending: g++ 12 at -O3 reports a false -Wrestrict on `"[" + std::string&&`.
  std::string out;
  if (is_v6()) out += '[';
  out += address();
  if (is_v6()) out += ']';
  out += ':';
  out += std::to_string(port());
  return out;
}

std::vector<Endpoint> resolve(std::string_view host, std::uint16_t port) {
  const std::string name(host);
  in6_addr probe{};
  if (::inet_pton(AF_INET, name.c_str(), &probe) == 1 ||
      ::inet_pton(AF_INET6, name.c_str(), &probe) == 1) {
    return {Endpoint(name, port)};
  }
  // getaddrinfo may block on the network: off the worker.
  return blocking([&name, port] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &list);
    if (rc != 0) {
      throw std::system_error(make_error_code(errc::host_not_found),
                              "spindle::net::resolve(\"" + name + "\"): " + ::gai_strerror(rc));
    }
    std::vector<Endpoint> out;
    for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
      out.emplace_back(a->ai_addr, a->ai_addrlen);
    }
    ::freeaddrinfo(list);
    return out;
  });
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::net
