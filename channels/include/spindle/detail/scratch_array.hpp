// SPDX-License-Identifier: Apache-2.0
// Room for a number of objects known only at run time, on the stack while they are few.
//
// select_recv() needs its receive cases, the engine's view of them and one wait entry each
// for every call. Three std::vectors made that three heap allocations per select, more than
// the select itself costs when it finds a value; a loop over a handful of inputs (the usual
// fan-in) now allocates nothing. The inline part is capped in bytes rather than in objects:
// these live on a task's stack, and a large element type must not eat it.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// At most `capacity` objects of type U, built in place one after the other and destroyed
/// in reverse order with the array. Never moves or copies an element.
template <class U, std::size_t InlineBytes = 512>
class ScratchArray {
 public:
  explicit ScratchArray(std::size_t capacity)
      : capacity_(capacity),
        data_(capacity <= kInline ? std::launder(reinterpret_cast<U*>(inline_))
                                  : std::allocator<U>().allocate(capacity)) {}
  ScratchArray(const ScratchArray&) = delete;
  ScratchArray& operator=(const ScratchArray&) = delete;
  ~ScratchArray() {
    while (size_ > 0) data_[--size_].~U();
    if (capacity_ > kInline) std::allocator<U>().deallocate(data_, capacity_);
  }

  /// Builds the next element; the caller keeps within the capacity it asked for.
  template <class... Args>
  U& emplace_back(Args&&... args) {
    U* p = ::new (static_cast<void*>(data_ + size_)) U(std::forward<Args>(args)...);
    ++size_;
    return *p;
  }

  U* data() noexcept { return data_; }
  U& operator[](std::size_t i) noexcept { return data_[i]; }
  std::size_t size() const noexcept { return size_; }

  /// How many elements fit without a heap allocation.
  static constexpr std::size_t kInline = InlineBytes / sizeof(U);

 private:
  alignas(U) unsigned char inline_[kInline > 0 ? kInline * sizeof(U) : 1];
  const std::size_t capacity_;
  U* const data_;
  std::size_t size_ = 0;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
