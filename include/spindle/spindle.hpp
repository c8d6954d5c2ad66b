/// @file
/// Everything of spindle except the GoogleTest helpers (<spindle/testing.hpp>).
#pragma once

#include "spindle/clock.hpp"
#include "spindle/options.hpp"
#include "spindle/runtime.hpp"
#include "spindle/task.hpp"
#include "spindle/chan.hpp"
#include "spindle/select.hpp"
#include "spindle/timers.hpp"
#include "spindle/unit.hpp"
