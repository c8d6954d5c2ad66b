// SPDX-License-Identifier: Apache-2.0
// Compiles: a net source sees every layer below it, public headers and internal ones alike.
// The control for the probes that must fail: they fail for the reason they name.
#include "runtime/worker.hpp"
#include "spindle/chan.hpp"
#include "spindle/context.hpp"
#include "spindle/net.hpp"
#include "spindle/task.hpp"

int spindle_layering_probe() { return 0; }
