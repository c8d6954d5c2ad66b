// SPDX-License-Identifier: Apache-2.0
// Async-signal safety: a dump allocates, formats and takes the registry's locks, none of
// which a signal handler may do (the signal may land while the interrupted thread holds that
// very lock or is inside malloc). So the handler only write()s one byte to a pipe — write is
// async-signal-safe, and the write end is non-blocking so a burst of signals cannot block
// the handler — and a dedicated thread, blocked in read() on the other end, does the dump
// as ordinary code. The cost: if every worker is wedged holding a registry lock, the dump
// waits for it; a handler writing straight from the signal could not have read a consistent
// registry either.
#include "runtime/sigquit_dump.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "runtime/scheduler.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

int g_pipe_write = -1;  // written once before the handler is installed

void on_sigquit(int /*sig*/) {
  const int saved = errno;
  const char byte = 'q';
  [[maybe_unused]] ssize_t n = ::write(g_pipe_write, &byte, 1);
  errno = saved;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

void dump_thread(int read_fd) {
  for (;;) {
    char byte;
    ssize_t n = ::read(read_fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::ostringstream out;
    out << "SIGQUIT: quit\n";
    dump_all_runtimes(out);
    write_all(STDERR_FILENO, out.str());
    std::_Exit(2);  // as Go does after its dump
  }
}

void install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "spindle: SPINDLE_DUMP_ON_SIGQUIT: pipe2 failed: %s\n",
                 std::strerror(errno));
    return;
  }
  ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  g_pipe_write = fds[1];
  std::thread(dump_thread, fds[0]).detach();
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = &on_sigquit;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGQUIT, &sa, nullptr);
}

}  // namespace

void install_sigquit_dump_if_enabled() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("SPINDLE_DUMP_ON_SIGQUIT");
    if (env != nullptr && std::strcmp(env, "1") == 0) install();
  });
}

void dump_all_runtimes(std::ostream& out) {
  for_each_scheduler([&](Scheduler& s) { s.dump(out); });
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
