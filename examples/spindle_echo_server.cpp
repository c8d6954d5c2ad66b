// SPDX-License-Identifier: Apache-2.0
// spindle_echo_server PORT: an echo server, one task per connection.
//
//   ./spindle_echo_server 7000 &      # prints "listening on 7000"
//   printf 'hi\n' | nc -q1 localhost 7000
//   kill -INT %1                      # cancels, drains, checks for leaks
//
// SPINDLE_WORKERS sets the number of worker threads (default: one per hardware thread).
#include "server_common.hpp"

int main(int argc, char** argv) {
  const std::uint16_t port = example::port_arg(argc, argv, "PORT");
  return example::serve(port, [](spindle::net::TcpStream& conn, const spindle::Context& ctx) {
    // 2 KiB on the task's stack: with the frames below it, an idle connection touches one
    // stack page. (Reads larger than that just take more rounds.)
    char buf[2048];
    while (std::size_t n = conn.read_some(buf, sizeof buf, ctx)) conn.write_all(buf, n, ctx);
  });
}
