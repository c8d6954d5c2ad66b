// SPDX-License-Identifier: Apache-2.0
// Code addresses to function names, for diagnostics: the symbol tables of the loaded objects
// (the executable's own .symtab included, so that functions need not be exported, as dladdr
// would need), demangled. Cold path only: the first lookup in an object maps its file and
// sorts its symbols; the result stays for the life of the process.
#pragma once

#include <cstdint>
#include <string>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

struct CodeSymbol {
  std::string name;           // demangled; empty when no symbol covers the address
  std::uintptr_t offset = 0;  // of the address from the function's start
};

/// The function containing `pc`, a code address (for a return address, pass it less one to
/// land inside the call).
CodeSymbol symbolize(std::uintptr_t pc);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
