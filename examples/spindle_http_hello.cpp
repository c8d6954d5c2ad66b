// spindle_http_hello PORT [IDLE_TIMEOUT_MS]: a minimal HTTP/1.1 server. Every GET gets
// `hello\n`; a malformed request gets 400 and the connection is closed; other methods get
// 405. Connections are kept alive (pipelining works) and closed after IDLE_TIMEOUT_MS
// (default 30000) without a request.
//
//   ./spindle_http_hello 8080 &   # prints "listening on 8080"
//   curl localhost:8080/          # hello
//   kill -TERM %1                 # cancels, drains, checks for leaks
#include <ctime>
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

void serve_http(spindle::net::TcpStream& conn, const spindle::Context& ctx,
                std::chrono::milliseconds idle_timeout) {
  spindle::net::http::RequestParser parser;
  std::string in;
  std::string out;
  in.reserve(4096);
  std::size_t start = 0;  // where the next request begins in `in`
  for (;;) {
    // Answer every complete request already buffered (pipelining), then write once.
    for (;;) {
      const ParseStatus st = parser.parse(std::string_view(in).substr(start));
      if (st == ParseStatus::incomplete) break;
      if (st == ParseStatus::error) {
        respond(out, "400 Bad Request", "bad request: " + parser.error() + "\n", true);
        conn.write_all(out, ctx);
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
      if (close) {
        conn.write_all(out, ctx);
        return;
      }
    }
    if (!out.empty()) {
      conn.write_all(out, ctx);
      out.clear();
    }
    if (start > 0) {
      in.erase(0, start);  // the parser's progress is relative to `start`: still valid
      start = 0;
    }
    const std::size_t old = in.size();
    in.resize(old + 4096);
    conn.set_read_deadline(spindle::Clock::now() + idle_timeout);
    const std::size_t n = conn.read_some(in.data() + old, 4096, ctx);
    in.resize(old + n);
    if (n == 0) return;  // the client closed
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint16_t port = example::port_arg(argc, argv, "PORT [IDLE_TIMEOUT_MS]");
  const auto idle = std::chrono::milliseconds(argc >= 3 ? std::atol(argv[2]) : 30000);
  return example::serve(port, [idle](spindle::net::TcpStream& conn, const spindle::Context& ctx) {
    serve_http(conn, ctx, idle);
  });
}
