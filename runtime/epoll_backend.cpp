// SPDX-License-Identifier: Apache-2.0
// The epoll backend: an EpollSet (runtime/epoll_set.hpp) on its own. The blocking poller
// waits in epoll_wait and drains kicks; other pollers only look.
#include "runtime/epoll_set.hpp"
#include "runtime/io_backend.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

class EpollBackend final : public IoBackend {
 public:
  void open(PollDesc& pd) override { set_.open(pd); }
  std::size_t poll(int timeout_ms, bool owner) override { return set_.wait(timeout_ms, owner); }
  void kick() noexcept override { set_.kick(); }

 private:
  EpollSet set_;
};

}  // namespace

std::unique_ptr<IoBackend> make_epoll_backend() { return std::make_unique<EpollBackend>(); }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
