/// @file
/// Everything of spindle except the GoogleTest helpers (<spindle/testing.hpp>).
#pragma once

#include "spindle/blocking.hpp"
#include "spindle/chan.hpp"
#include "spindle/clock.hpp"
#include "spindle/context.hpp"
#include "spindle/errc.hpp"
#include "spindle/errgroup.hpp"
#include "spindle/fs.hpp"
#include "spindle/mutex.hpp"
#include "spindle/net.hpp"
#include "spindle/once.hpp"
#include "spindle/options.hpp"
#include "spindle/patterns.hpp"
#include "spindle/result.hpp"
#include "spindle/runtime.hpp"
#include "spindle/select.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/task.hpp"
#include "spindle/timers.hpp"
#include "spindle/unit.hpp"
#include "spindle/waitgroup.hpp"
