# SPDX-License-Identifier: Apache-2.0
# The Debian package libspindle-dev (`make package`, or `cpack` in a build tree): what the
# install rules lay out (headers, the library, the CMake package, spindle.pc, the gdb
# extension, the license files), under /usr, as libspindle-dev_<version>_<arch>.deb in
# <build>/package. Included from the top-level CMakeLists.txt after the install rules.

# Debian wants a copyright file in the package's documentation directory; this one points at
# the license text installed beside it. The copyright line is NOTICE's.
file(STRINGS ${PROJECT_SOURCE_DIR}/NOTICE _spindle_copyright REGEX "^Copyright " LIMIT_COUNT 1)
string(REGEX REPLACE "^Copyright +" "" _spindle_copyright "${_spindle_copyright}")
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/debian/copyright CONTENT
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: spindle

Files: *
Copyright: ${_spindle_copyright}
License: Apache-2.0
 The full text of the Apache License, Version 2.0 is in LICENSE beside this file, and on
 Debian systems in /usr/share/common-licenses/Apache-2.0.
" @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

# A stripping install (`cmake --install --strip`, and the package) strips the static library
# of its debug information, as it does executables and shared libraries: CMake strips no
# archive itself, and the DWARF it keeps is most of its size and names the build's
# directories. The symbol table stays, so the archive links as before.
if(NOT BUILD_SHARED_LIBS AND CMAKE_STRIP)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(_spindle_archive "\$ENV{DESTDIR}${CMAKE_INSTALL_LIBDIR}")
  else()
    set(_spindle_archive "\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
  endif()
  string(APPEND _spindle_archive "/$<TARGET_FILE_NAME:spindle>")
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug \"${_spindle_archive}\"
                      COMMAND_ERROR_IS_FATAL ANY)
    endif()")
endif()

set(SPINDLE_PACKAGE_MAINTAINER "The spindle Authors <spindle@localhost>" CACHE STRING
  "The Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libspindle-dev)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The spindle Authors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Go's concurrency model for C++20: tasks, channels, select, contexts (development files)")
set(CPACK_PACKAGE_DESCRIPTION
  "spindle runs green threads M:N on a work-stealing scheduler, with channels and select, \
contexts, sync primitives, the pipeline patterns of Concurrency in Go, leak and deadlock \
detection, and network I/O that parks the task, not the thread. This package holds the \
headers, the static library, the CMake package (find_package(spindle)), the pkg-config file \
and the gdb extension.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
set(CPACK_STRIP_FILES TRUE)
# <name>_<version>_<arch>.deb; the architecture is dpkg's (amd64, arm64, ...).
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SPINDLE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The static library calls into the C and C++ standard libraries, which a program that links
# it must link too: their development packages (libstdc++-dev is provided by every
# libstdc++-N-dev, and clang++ on Debian uses libstdc++ as well).
# A build with the io_uring backend links liburing as well.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6-dev, libstdc++-dev")
if(SPINDLE_HAVE_IO_URING)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", liburing-dev")
endif()
include(CPack)
