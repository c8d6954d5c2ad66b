// SPDX-License-Identifier: Apache-2.0
// The task dump on SIGQUIT, like Go's: with SPINDLE_DUMP_ON_SIGQUIT=1 in the environment
// when the first Runtime is created, SIGQUIT writes every runtime's dump (Runtime::dump) to
// stderr and ends the process with exit status 2.
#pragma once

#include <iosfwd>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Installs the handler and its dump thread once per process, if the environment asks.
void install_sigquit_dump_if_enabled();

/// Writes the dump of every live runtime of the process.
void dump_all_runtimes(std::ostream& out);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
