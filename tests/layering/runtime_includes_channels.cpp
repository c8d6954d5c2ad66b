// SPDX-License-Identifier: Apache-2.0
// Must not compile: the runtime is below the channels, so a runtime source that reaches for a
// channel header finds nothing (tests/CMakeLists.txt, "Layering").
#include "spindle/chan.hpp"
