// SPDX-License-Identifier: Apache-2.0
// spindle::fs on top of spindle::blocking: plain POSIX calls, run on the blocking pool.
#include "spindle/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "spindle/blocking.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::fs {
namespace {

[[noreturn]] void fail(const char* op, const std::filesystem::path& path) {
  const int err = errno;
  throw std::system_error(err, std::system_category(),
                          std::string("spindle::fs::") + op + "(" + path.string() + ")");
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_file(const std::filesystem::path& path) {
  return blocking([&path] {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) fail("read_file", path);
    std::string out;
    struct stat st {};
    if (::fstat(f.fd, &st) == 0 && st.st_size > 0)
      out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[64 * 1024];
    for (;;) {
      const ssize_t r = ::read(f.fd, buf, sizeof buf);
      if (r == 0) break;
      if (r < 0) {
        if (errno == EINTR) continue;
        fail("read_file", path);
      }
      out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
  });
}

void write_file(const std::filesystem::path& path, std::string_view data) {
  blocking([&path, data] {
    Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)};
    if (f.fd < 0) fail("write_file", path);
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      const ssize_t r = ::write(f.fd, p, left);
      if (r < 0) {
        if (errno == EINTR) continue;
        fail("write_file", path);
      }
      p += r;
      left -= static_cast<std::size_t>(r);
    }
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) fail("write_file", path);
  });
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::fs
