// SPDX-License-Identifier: Apache-2.0
// Whether the test runs under ThreadSanitizer. TSan makes a context of its own for every task
// a runtime starts (a zeroed clock of about 128 KiB), so tests that start thousands of tasks
// only to repeat one property scale their counts down with kUnderTsan: the property checked
// stays the same, the suite stays within its time.
#pragma once

namespace spindle_test {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif
#else
inline constexpr bool kUnderTsan = false;
#endif

}  // namespace spindle_test
