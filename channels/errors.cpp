// SPDX-License-Identifier: Apache-2.0
// Out-of-line members of the channel exception types (their vtables live here) and the
// throw helpers the channel templates call.
#include "spindle/chan.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

ChannelError::~ChannelError() = default;
ChannelClosed::~ChannelClosed() = default;

namespace detail {

void throw_channel_closed(const char* what) { throw ChannelClosed(what); }
void throw_channel_error(const char* what) { throw ChannelError(what); }

}  // namespace detail
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
