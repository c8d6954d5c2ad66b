# SPDX-License-Identifier: Apache-2.0
# spindle's gdb extension: list the tasks of a live process or a core file, and backtrace a
# suspended task from the registers its last context switch saved.
#
#   (gdb) source tools/gdb/spindle.py
#   (gdb) info spindle-tasks          # every task of every runtime: id, name, state, site
#   (gdb) spindle-bt 12               # backtrace of task 12 where it is suspended
#
# It reads memory only (no inferior calls), so it works on core files. It walks
# `spindle_debug_schedulers` (runtime/scheduler.hpp) -> each Scheduler's task registry
# (runtime/task_registry.hpp: shards, each a list of nodes pointing at TaskCores) -> each task's Fiber
# (runtime/fiber.hpp). It needs the library's debug information and libstdc++'s layouts of
# std::vector, std::string and std::atomic. spindle-bt is x86-64 only: it reads the frame
# runtime/machine/switch_x86_64.S saves, or the ucontext_t of the ucontext back end.

import gdb
from gdb.unwinder import Unwinder, register_unwinder

gdb.execute("set print object off", to_string=True)  # TaskCore is polymorphic: no RTTI lookups

RUN_STATES = {0: "idle", 1: "runnable", 2: "running", 3: "parked"}
WAIT_KINDS = ["running", "chan recv", "chan send", "select", "sleep", "join", "mutex",
              "waitgroup", "context", "blocked"]


def _atomic(v):
    """The value inside a libstdc++ std::atomic<T> (held in _M_i or _M_p, maybe in a base)."""
    for f in v.type.strip_typedefs().fields():
        if f.name in ("_M_i", "_M_p"):
            return v[f.name]
        if f.is_base_class or f.name == "_M_b":
            inner = _atomic(v[f])
            if inner is not None:
                return inner
    return None


def _vector(v):
    impl = v["_M_impl"]
    p, end = impl["_M_start"], impl["_M_finish"]
    while p != end:
        yield p.dereference()
        p += 1


def _string(v):
    try:
        return v["_M_dataplus"]["_M_p"].string(length=int(v["_M_string_length"]))
    except gdb.error:
        return "?"


def _owned_string(v):
    """A std::unique_ptr<std::string> (TaskCore::name): "" when null."""
    try:
        # A unique_ptr with the default deleter is one pointer, whatever its internals.
        target = v.type.strip_typedefs().template_argument(0)
        p = v.address.cast(target.pointer().pointer()).dereference()
        return _string(p.dereference()) if int(p) != 0 else ""
    except (gdb.error, RuntimeError):
        return "?"


def _cstr(p):
    try:
        return p.string() if int(p) != 0 else ""
    except gdb.error:
        return "?"


def _spawn_site(core):
    return (_cstr(core["spawn_file_"]), int(core["spawn_line_"]),
            _cstr(core["spawn_function_"]))


def _tasks():
    """Yields (core, fiber or None) for every task of every runtime."""
    try:
        lst = gdb.parse_and_eval("spindle_debug_schedulers")
    except gdb.error:
        raise gdb.GdbError("spindle: no spindle_debug_schedulers symbol (is spindle linked, "
                           "with debug information?)")
    if int(lst) == 0:
        return
    for sched in _vector(lst.dereference()["all"]):
        registry = sched.dereference()["registry_"]
        shards = list(_vector(registry["shards_"]))
        workers = len(shards) - 1
        for shard in shards:
            pending = _pending_nodes(shard, workers)
            node = shard["tasks"]["ends_"]["head"]
            seen = 0
            while int(node) != 0 and seen < 10_000_000:
                # A node waiting in a ring belongs to a task that finished on another worker;
                # its core may already be freed. A gone core is finished but still held.
                if int(node) not in pending:
                    core = node.dereference()["core"]
                    if int(core) != 0 and not bool(_atomic(core.dereference()["reg_gone"])):
                        fiber = _atomic(core.dereference()["fiber"])
                        yield core.dereference(), (fiber.dereference() if int(fiber) != 0 else None)
                node = node.dereference()["links"]["next"]
                seen += 1


def _unique_array(p):
    """The pointer inside a libstdc++ std::unique_ptr<T[]>."""
    impl = p["_M_t"]["_M_t"]
    for f in impl.type.strip_typedefs().fields():
        if f.is_base_class:
            return impl[f]["_M_head_impl"]
    return impl["_M_head_impl"]


def _pending_nodes(shard, workers):
    """Addresses of the shard's nodes that its rings hold (finished elsewhere, not yet unlinked)."""
    out = set()
    try:
        rings = _unique_array(shard["rings"])
    except gdb.error:
        return out
    if int(rings) == 0:
        return out
    for i in range(workers):
        ring = _atomic((rings + i).dereference())
        if int(ring) == 0:
            continue
        ring = ring.dereference()
        head, tail = int(_atomic(ring["head"])), int(_atomic(ring["tail"]))
        size = int(ring["slots"].type.strip_typedefs().range()[1]) + 1
        while head != tail:
            out.add(int(ring["slots"][head % size]))
            head = (head + 1) & 0xFFFFFFFF
    return out


def _state(fiber):
    if fiber is None:
        return "runnable (not started)"
    rs = int(_atomic(fiber["run_state"]))
    if rs == 3:
        kind = int(_atomic(fiber["wait_kind"]))
        return WAIT_KINDS[kind] if 0 <= kind < len(WAIT_KINDS) else "blocked"
    return RUN_STATES.get(rs, "?")


class InfoSpindleTasks(gdb.Command):
    """List spindle tasks: id, name, state, spawn site, parent. Usage: info spindle-tasks"""

    def __init__(self):
        super().__init__("info spindle-tasks", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        rows = []
        for core, fiber in _tasks():
            file, line, fn = _spawn_site(core)
            rows.append((int(core["id"]), _owned_string(core["name"]), _state(fiber), file, line, fn,
                         int(core["parent_id"])))
        rows.sort()
        gdb.write("%d spindle task(s)\n" % len(rows))
        for tid, name, state, file, line, fn, parent in rows:
            label = ' "%s"' % name if name else ""
            by = " by task %d" % parent if parent else ""
            gdb.write("task %d%s [%s] spawned at %s:%d (%s)%s\n"
                      % (tid, label, state, file, line, fn, by))


# Saved frame of a suspended context (runtime/machine/switch_x86_64.S), offsets from sp;
# the context's own rsp lies past the frame and the 128-byte red zone.
SAVED = [("r15", 16), ("r14", 24), ("r13", 32), ("r12", 40), ("rbx", 48), ("rbp", 56)]
RIP_OFFSET, FRAME_SIZE = 64, 72 + 128  # the frame sits below the red zone


# glibc's x86-64 ucontext_t: indices into uc_mcontext.gregs (sys/ucontext.h, REG_*).
UCONTEXT_GREGS = {"r12": 4, "r13": 5, "r14": 6, "r15": 7, "rbp": 10, "rbx": 11, "rsp": 15,
                  "rip": 16}


def _saved_registers(ctx):
    """The callee-saved registers, rsp and rip of a suspended MachineContext, from either
    back end: the asm one keeps a stack pointer to its frame, the ucontext one a ucontext_t
    that swapcontext filled in."""
    names = [f.name for f in ctx.type.strip_typedefs().fields()]
    if "uc" in names:
        gregs = ctx["uc"]["uc_mcontext"]["gregs"]
        return {name: int(gregs[i]) & 0xFFFFFFFFFFFFFFFF for name, i in UCONTEXT_GREGS.items()}
    sp = int(ctx["sp"])
    u64 = gdb.lookup_type("unsigned long")

    def word(addr):
        return int(gdb.Value(addr).cast(u64.pointer()).dereference())

    regs = {name: word(sp + off) for name, off in SAVED}
    regs["rip"] = word(sp + RIP_OFFSET)
    regs["rsp"] = sp + FRAME_SIZE
    return regs


class SpindleBt(gdb.Command):
    """Backtrace of a suspended spindle task. Usage: spindle-bt ID [MAX-FRAMES]"""

    def __init__(self):
        super().__init__("spindle-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        if not args:
            raise gdb.GdbError("usage: spindle-bt ID")
        try:
            want = int(args[0], 0)
        except ValueError:
            raise gdb.GdbError("spindle-bt: '%s' is not a task id" % args[0])
        for core, fiber in _tasks():
            if int(core["id"]) != want:
                continue
            if fiber is None:
                raise gdb.GdbError("spindle-bt: task %d has not started: no stack yet" % want)
            rs = int(_atomic(fiber["run_state"]))
            if rs == 2:
                raise gdb.GdbError("spindle-bt: task %d is running on a worker thread: use "
                                   "`info threads` and `thread apply all bt`" % want)
            self._backtrace(_saved_registers(fiber["ctx"]), " ".join(args[1:]))
            return
        raise gdb.GdbError("spindle-bt: no live task %d (see info spindle-tasks)" % want)

    @staticmethod
    def _backtrace(regs, bt_args):
        limit = int(bt_args) if bt_args.strip().isdigit() else 64
        _UNWINDER.regs = regs
        gdb.invalidate_cached_frames()
        try:
            frame = gdb.newest_frame().older()  # frame 0 is the thread's own; 1.. the task's
            level = 0
            while frame is not None and level < limit:
                sal = frame.find_sal()
                where = ""
                if sal.symtab is not None:
                    where = " at %s:%d" % (sal.symtab.filename, sal.line)
                gdb.write("#%-2d 0x%016x in %s%s\n" % (level, frame.pc(), frame.name() or "??",
                                                      where))
                older = frame.older()
                if older is None and frame.unwind_stop_reason() != gdb.FRAME_UNWIND_OUTERMOST:
                    gdb.write("(backtrace stopped: %s)\n"
                              % gdb.frame_stop_reason_string(frame.unwind_stop_reason()))
                frame = older
                level += 1
        finally:
            _UNWINDER.regs = None
            gdb.invalidate_cached_frames()


class _TaskUnwinder(Unwinder):
    """While spindle-bt runs: the caller of the selected thread's innermost frame is the
    suspended task's resume point, so gdb's own unwinder walks the task's stack from there.
    Needs no register writes, so it works on core files too."""

    def __init__(self):
        super().__init__("spindle-task")
        self.regs = None

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        # The task's stack lies elsewhere than the thread's: give frame 0 an id just below the
        # task's frames, so gdb's check that callers sit higher up the stack holds.
        frame_id = _FrameId(gdb.Value(self.regs["rsp"] - FRAME_SIZE).cast(_u64()),
                            pending_frame.read_register("rip"))
        info = pending_frame.create_unwind_info(frame_id)
        for name, value in self.regs.items():
            info.add_saved_register(name, gdb.Value(value).cast(_u64()))
        return info


def _u64():
    return gdb.lookup_type("unsigned long")


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


_UNWINDER = _TaskUnwinder()
register_unwinder(None, _UNWINDER, replace=True)
InfoSpindleTasks()
SpindleBt()
