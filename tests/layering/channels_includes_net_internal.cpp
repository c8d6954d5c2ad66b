// SPDX-License-Identifier: Apache-2.0
// Must not compile: the channels are below net, so neither net's public headers nor its
// internal ones ("net/...") resolve from a channel source.
#include "net/io_wait.hpp"
