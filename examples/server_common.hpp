// SPDX-License-Identifier: Apache-2.0
// What spindle_echo_server and spindle_http_hello share: argument parsing, the file
// descriptor limit, the accept loop, and a clean stop on SIGINT/SIGTERM (cancel the root
// context, wait for every connection task, then check for leaks).
#pragma once

#include <pthread.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "spindle/spindle.hpp"

namespace example {

/// The port in argv[1]; exits with a usage line when it is missing or not a port.
inline std::uint16_t port_arg(int argc, char** argv, const char* usage) {
  if (argc >= 2) {
    char* end = nullptr;
    const long v = std::strtol(argv[1], &end, 10);
    if (end != argv[1] && *end == '\0' && v >= 0 && v <= 65535)
      return static_cast<std::uint16_t>(v);
    std::fprintf(stderr, "%s: '%s' is not a port number (0-65535)\n", argv[0], argv[1]);
  }
  std::fprintf(stderr, "usage: %s %s\n", argv[0], usage);
  std::exit(2);
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (10,000 connections need 10,000 fds);
/// where the hard limit is lower than 65,536 and the process may raise it, raises it too.
inline void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlimit want{65536, 65536};
  if (lim.rlim_max >= want.rlim_max || ::setrlimit(RLIMIT_NOFILE, &want) != 0) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// One connection's place in the server's WaitGroup: counted when made, done when destroyed,
/// however the connection's task ends, also when it never ran (no stack could be had for it:
/// its callable, and this with it, is destroyed with the failed task's record).
class ConnectionSlot {
 public:
  explicit ConnectionSlot(spindle::WaitGroup& wg) : wg_(&wg) { wg.add(1); }
  ConnectionSlot(ConnectionSlot&& other) noexcept : wg_(std::exchange(other.wg_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (wg_ != nullptr) wg_->done();
  }

 private:
  spindle::WaitGroup* wg_;
};

/// Runs a server: binds `port` on every address, prints `listening on PORT`, accepts until
/// SIGINT/SIGTERM and runs `handle(conn, ctx)` in one task per connection. On a signal it
/// cancels ctx (handlers see it in their blocking calls), waits for the handlers, and checks
/// for leaked tasks. Returns the process exit code.
inline int serve(
    std::uint16_t port,
    const std::function<void(spindle::net::TcpStream&, const spindle::Context&)>& handle) {
  raise_fd_limit();
  // Block the stop signals before any thread starts, so only the waiter below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // A connection task that fails outside the handler (no stack for it: the process is out of
  // memory or mappings) is logged, and its connection closed; the server goes on.
  auto previous =
      spindle::set_unhandled_exception_handler([](const spindle::UnhandledException& e) {
        std::fprintf(stderr, "connection task %llu failed: %s; connection closed\n",
                     static_cast<unsigned long long>(e.task.id), e.what());
      });
  spindle::Runtime rt;
  auto [ctx, cancel] = spindle::with_cancel(spindle::background());
  std::thread signal_waiter([&stop_signals, cancel = cancel] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    cancel();
  });
  int code = 0;
  try {
    rt.block_on([&, ctx = ctx] {
      auto listener = spindle::net::TcpListener::bind("", port);
      std::printf("listening on %u\n", static_cast<unsigned>(listener.port()));
      std::fflush(stdout);
      std::fprintf(stderr, "%s\n", rt.diagnostics().c_str());
      spindle::WaitGroup handlers;
      for (;;) {
        spindle::net::TcpStream conn;
        try {
          conn = listener.accept(ctx);
        } catch (const std::system_error& e) {
          if (ctx.err()) break;  // stopping
          std::fprintf(stderr, "accept: %s\n", e.what());
          spindle::sleep_for(std::chrono::milliseconds(10));  // out of fds: let some close
          continue;
        }
        try {
          spindle::spawn([slot = ConnectionSlot(handlers), &handle, ctx,
                          c = std::move(conn)]() mutable {
            try {
              handle(c, ctx);
            } catch (const std::system_error&) {
              // reset by the peer, a timeout, or stopping: the connection just ends
            }
            c.close();
          }).detach();
        } catch (const std::exception& e) {
          // No stack or memory for the task: the callable (with the connection and its slot)
          // is gone already, which closed the connection.
          std::fprintf(stderr, "accept: cannot start a connection task: %s; connection closed\n",
                       e.what());
        }
      }
      listener.close();
      handlers.wait();  // drain: every handler saw the cancellation
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    code = 1;
  }
  cancel();
  spindle::set_unhandled_exception_handler(std::move(previous));
  pthread_kill(signal_waiter.native_handle(), SIGTERM);  // no-op for sigwait if it returned
  signal_waiter.join();
  spindle::LeakReport leaks = rt.leaks();
  if (leaks.empty()) {
    std::fprintf(stderr, "stopped; leak check: clean\n");
  } else {
    std::fprintf(stderr, "stopped; leak check: %zu task(s) left:\n%s", leaks.size(),
                 leaks.to_string().c_str());
    code = 1;
  }
  return code;
}

}  // namespace example
