// SPDX-License-Identifier: Apache-2.0
// spindle_http_hello PORT [IDLE_TIMEOUT_MS] [--idle-ms=N] [--head-ms=N] [--write-ms=N]
//                   [--max-body=BYTES]: a minimal HTTP/1.1 server. Every GET gets `hello\n`;
// a malformed request (bare-LF line endings, a duplicate Host, ...) gets 400 and the
// connection is closed; a body larger than --max-body gets 413 and a close; other methods get
// 405. Connections are kept alive (pipelining works). Limits against slow or hostile clients:
//   --idle-ms   (default 30000) no new request for this long closes the connection;
//   --head-ms   (default 10000) a request head must arrive whole this long after its first
//               byte, however slowly its bytes trickle in;
//   --write-ms  (default 10000) a response must be written within this (a client that stops
//               reading is cut off);
//   --max-body  (default 1048576) the largest body buffered.
//
//   ./spindle_http_hello 8080 &   # prints "listening on 8080"
//   curl localhost:8080/          # hello
//   kill -TERM %1                 # cancels, drains, checks for leaks
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "server_common.hpp"
#include "spindle/http.hpp"

namespace {

using spindle::net::http::ParseStatus;

// "Date: ..." for the current second, formatted once per second per thread.
std::string_view date_header() {
  thread_local std::time_t last = 0;
  thread_local char buf[64];
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    last = now;
  }
  return {buf, len};
}

void respond(std::string& out, const char* status, std::string_view body, bool close) {
  out += "HTTP/1.1 ";
  out += status;
  out += "\r\n";
  out += date_header();
  out += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  out += body;
}

struct Limits {
  std::chrono::milliseconds idle{30000};
  std::chrono::milliseconds head{10000};
  std::chrono::milliseconds write{10000};
  std::size_t max_body = 1 << 20;
};

// Writes `out` within the write timeout.
void send(spindle::net::TcpStream& conn, const std::string& out, const spindle::Context& ctx,
          const Limits& limits) {
  conn.set_write_deadline(spindle::Clock::now() + limits.write);
  conn.write_all(out, ctx);
}

void serve_http(spindle::net::TcpStream& conn, const spindle::Context& ctx, const Limits& limits) {
  spindle::net::http::RequestParser parser;
  std::string in;
  std::string out;
  in.reserve(4096);
  std::size_t start = 0;                            // where the next request begins in `in`
  std::optional<spindle::TimePoint> request_began;  // first byte of the request being read
  bool body_deadline_set = false;
  for (;;) {
    // Answer every complete request already buffered (pipelining), then write once.
    for (;;) {
      const ParseStatus st = parser.parse(std::string_view(in).substr(start));
      if (st == ParseStatus::incomplete) {
        if (parser.head_parsed() && parser.request().content_length > limits.max_body) {
          respond(out, "413 Content Too Large", "body larger than the server accepts\n", true);
          send(conn, out, ctx, limits);
          return;
        }
        break;
      }
      if (st == ParseStatus::error) {
        respond(out, "400 Bad Request", "bad request: " + parser.error() + "\n", true);
        send(conn, out, ctx, limits);
        return;
      }
      const auto& req = parser.request();
      const bool close = !req.keep_alive;
      if (req.method == "GET") {
        respond(out, "200 OK", "hello\n", close);
      } else {
        respond(out, "405 Method Not Allowed", "only GET\n", close);
      }
      start += parser.consumed();
      parser.reset();
      request_began = std::nullopt;
      body_deadline_set = false;
      if (close) {
        send(conn, out, ctx, limits);
        return;
      }
    }
    if (!out.empty()) {
      send(conn, out, ctx, limits);
      out.clear();
    }
    if (start > 0) {
      in.erase(0, start);  // the parser's progress is relative to `start`: still valid
      start = 0;
    }
    // Between requests the idle timeout runs; once a request has begun, the head timeout,
    // counted from its first byte (each read does not extend it), then the body's own.
    const std::size_t old = in.size();
    if (old == 0) {
      request_began = std::nullopt;
      conn.set_read_deadline(spindle::Clock::now() + limits.idle);
    } else if (!request_began) {
      request_began = spindle::Clock::now();
      conn.set_read_deadline(*request_began + limits.head);
    } else if (parser.head_parsed() && !body_deadline_set) {
      body_deadline_set = true;
      conn.set_read_deadline(spindle::Clock::now() + limits.head);
    }
    in.resize(old + 4096);
    const std::size_t n = conn.read_some(in.data() + old, 4096, ctx);
    in.resize(old + n);
    if (n == 0) return;  // the client closed
  }
}

// "--name=N" as a number, or exits with a usage line.
bool flag(const char* arg, const char* name, long long& value) {
  const std::size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  char* end = nullptr;
  value = std::strtoll(arg + len + 1, &end, 10);
  if (end == arg + len + 1 || *end != '\0' || value <= 0) {
    std::fprintf(stderr, "spindle_http_hello: %s needs a positive number\n", name);
    std::exit(2);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "PORT [IDLE_TIMEOUT_MS] [--idle-ms=N] [--head-ms=N] [--write-ms=N] [--max-body=BYTES]";
  const std::uint16_t port = example::port_arg(argc, argv, usage);
  Limits limits;
  for (int i = 2; i < argc; ++i) {
    long long v = 0;
    if (flag(argv[i], "--idle-ms", v)) {
      limits.idle = std::chrono::milliseconds(v);
    } else if (flag(argv[i], "--head-ms", v)) {
      limits.head = std::chrono::milliseconds(v);
    } else if (flag(argv[i], "--write-ms", v)) {
      limits.write = std::chrono::milliseconds(v);
    } else if (flag(argv[i], "--max-body", v)) {
      limits.max_body = static_cast<std::size_t>(v);
    } else if (i == 2 && argv[i][0] != '-') {
      limits.idle = std::chrono::milliseconds(std::atol(argv[i]));
    } else {
      std::fprintf(stderr, "usage: %s %s\n", argv[0], usage);
      return 2;
    }
  }
  return example::serve(port, [limits](spindle::net::TcpStream& conn, const spindle::Context& ctx) {
    serve_http(conn, ctx, limits);
  });
}
