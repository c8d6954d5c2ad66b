// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::fs: whole-file reads and writes that park the calling task instead of holding
/// its worker (they run on the blocking pool; see spindle::blocking).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::fs {

/// The whole content of `path`. Throws std::system_error naming the call and the path
/// (e.g. "spindle::fs::read_file(/no/such): No such file or directory").
std::string read_file(const std::filesystem::path& path);

/// Replaces the content of `path` with `data` (creating it with mode 0666 & ~umask).
/// Throws std::system_error naming the call and the path.
void write_file(const std::filesystem::path& path, std::string_view data);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::fs
