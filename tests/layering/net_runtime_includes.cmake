# SPDX-License-Identifier: Apache-2.0
# net/ reaches the runtime's internals only through its I/O entry point: the poll
# descriptors (runtime/poll_desc.hpp) and the wait (runtime/io_wait.hpp). Any other
# internal runtime header included from net/ fails this check, naming the file and header.
# Usage: cmake -DSOURCE_DIR=<project root> -P net_runtime_includes.cmake
cmake_minimum_required(VERSION 3.25)
set(allowed "runtime/io_wait.hpp" "runtime/poll_desc.hpp")
file(GLOB_RECURSE sources "${SOURCE_DIR}/net/*.cpp" "${SOURCE_DIR}/net/*.hpp")
set(bad "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"runtime/")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[^\"]*\"([^\"]+)\".*$" "\\1" header "${line}")
    if(NOT header IN_LIST allowed)
      file(RELATIVE_PATH rel "${SOURCE_DIR}" "${source}")
      list(APPEND bad "${rel} includes ${header}")
    endif()
  endforeach()
endforeach()
list(LENGTH sources count)
if(count EQUAL 0)
  message(FATAL_ERROR "no sources found under ${SOURCE_DIR}/net")
endif()
if(bad)
  list(JOIN bad "\n  " text)
  list(JOIN allowed " and " names)
  message(FATAL_ERROR "net/ may use only ${names} of the runtime's internals:\n  ${text}")
endif()
message(STATUS "net/: ${count} files use only the runtime's I/O entry point")
