// SPDX-License-Identifier: Apache-2.0
// spindle::ErrGroup: the non-template parts.
#include <stdexcept>

#include "spindle/errgroup.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

ErrGroup::ErrGroup() : ErrGroup(background()) {}

ErrGroup::ErrGroup(const Context& parent) {
  auto [ctx, cancel] = with_cancel(parent);
  ctx_ = std::move(ctx);
  cancel_ = std::move(cancel);
}

ErrGroup::~ErrGroup() noexcept(false) {
  bool pending;
  {
    std::lock_guard lock(mu_);
    pending = !tasks_.empty();
  }
  if (!pending) return;
  cancel_();
  // Already unwinding (an exception, or runtime teardown): the tasks cannot be waited for
  // without throwing from a destructor; they are unwound by their own runtime.
  if (std::uncaught_exceptions() > 0) return;
  try {
    wait();
  } catch (const detail::ForcedUnwind&) {
    throw;
  } catch (...) {  // a task's exception nobody asked for: the group is being discarded
  }
}

void ErrGroup::set_limit(std::int64_t n) {
  if (n == 0) throw std::invalid_argument("spindle::ErrGroup::set_limit: limit 0 would never run");
  std::lock_guard lock(mu_);
  if (!tasks_.empty()) {
    throw std::logic_error("spindle::ErrGroup::set_limit: called after tasks were spawned");
  }
  if (n < 0) {
    limit_.reset();
  } else {
    limit_.emplace(n);
  }
}

void ErrGroup::fail(std::error_code ec, std::exception_ptr ex) noexcept {
  {
    std::lock_guard lock(mu_);
    if (failed_) return;
    failed_ = true;
    first_error_ = ec;
    first_exception_ = std::move(ex);
  }
  cancel_();
}

std::error_code ErrGroup::wait() {
  for (;;) {
    std::vector<Task<void>> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(tasks_);
    }
    if (batch.empty()) break;
    for (auto& t : batch) t.join();  // bodies never throw out (run_body catches)
  }
  cancel_();
  std::lock_guard lock(mu_);
  if (first_exception_) std::rethrow_exception(first_exception_);
  return first_error_;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
