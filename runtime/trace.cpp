// SPDX-License-Identifier: Apache-2.0
// spindle::trace: per-thread event rings and the Chrome trace-event JSON writer.
//
// Each thread that records gets its own ring (registered once under the registry lock), so a
// record is a few relaxed stores and one release store of the ring's head. Slots are atomics
// so that stop() may read rings whose owners are still running: a slot being overwritten at
// that moment may come out torn, which costs one odd event, never undefined behaviour.
// start() begins a new generation; threads notice and take a fresh ring, and old rings stay
// allocated (a thread may still hold one) until the process ends.
#include "runtime/trace.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "spindle/detail/task_core.hpp"
#include "spindle/detail/waiter.hpp"
#include "spindle/trace.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail::trace {

std::atomic<bool> g_on{false};

namespace {

struct Slot {
  std::atomic<std::int64_t> ts{0};
  std::atomic<std::uint64_t> task{0};
  std::atomic<const char*> file{nullptr};
  std::atomic<std::uint64_t> meta{0};  // event | line << 8 | arg << 32
};

struct Ring {
  Ring(std::size_t n, std::size_t track) : slots(new Slot[n]), size(n), index(track) {}
  std::unique_ptr<Slot[]> slots;
  std::size_t size;
  std::size_t index;
  std::atomic<std::uint64_t> head{0};  // events ever written; the owner is the only writer
  std::string name;                    // under the registry lock
};

struct Registry {
  std::mutex mu;
  std::vector<std::unique_ptr<Ring>> rings;    // this generation's
  std::vector<std::unique_ptr<Ring>> retired;  // earlier ones, kept for stale owners
  std::string path;
  std::size_t per_thread = 0;
  std::int64_t t0 = 0;      // steady_ns() at start()
  std::int64_t stamp0 = 0;  // stamp() at start()
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: written from atexit
  return *r;
}

std::atomic<std::uint64_t> g_generation{0};
thread_local Ring* t_ring = nullptr;
thread_local std::uint64_t t_generation = 0;
thread_local std::uint64_t t_runtime = 0;
thread_local std::size_t t_worker = 0;
thread_local bool t_named = false;

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Event stamps: the cycle counter where it is cheap and invariant (x86-64; cheaper than a
// clock_gettime), converted to nanoseconds when the file is written from two
// (stamp, steady_ns) pairs taken at start() and stop().
std::int64_t stamp() noexcept {
#if defined(__x86_64__)
  return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#else
  return steady_ns();
#endif
}

struct Calibration {
  std::int64_t stamp0 = 0, ns0 = 0;
  double ns_per_tick = 1.0;
  std::int64_t to_ns(std::int64_t s) const noexcept {
    return ns0 + static_cast<std::int64_t>(static_cast<double>(s - stamp0) * ns_per_tick);
  }
};

Ring* acquire_ring() noexcept {
  Registry& reg = registry();
  try {
    std::lock_guard lock(reg.mu);
    if (!on()) return nullptr;
    auto ring = std::make_unique<Ring>(reg.per_thread, reg.rings.size());
    if (t_named) {
      ring->name =
          "worker " + std::to_string(t_worker) + " of runtime " + std::to_string(t_runtime);
    } else {
      ring->name = "thread " + std::to_string(reg.rings.size());
    }
    t_ring = ring.get();
    // relaxed: read under the registry lock that start() held when it bumped it.
    t_generation = g_generation.load(std::memory_order_relaxed);
    reg.rings.push_back(std::move(ring));
    return t_ring;
  } catch (...) {
    return nullptr;  // out of memory: this thread's events are not recorded
  }
}

void append_escaped(std::string& out, const char* s) {
  for (; s != nullptr && *s != '\0'; ++s) {
    const char c = *s;
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
}

struct Decoded {
  std::int64_t ts;
  std::uint64_t task;
  const char* file;
  Event event;
  std::uint32_t line;
  std::uint32_t arg;
};

class JsonWriter {
 public:
  explicit JsonWriter(std::int64_t t0) : t0_(t0) { out_ = "{\"traceEvents\":[\n"; }

  void metadata(std::size_t tid, const std::string& name) {
    begin();
    out_.append("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":");
    out_.append(std::to_string(tid)).append(",\"args\":{\"name\":\"");
    append_escaped(out_, name.c_str());
    out_.append("\"}}");
  }

  void slice(std::size_t tid, const Decoded& run, std::int64_t end, const char* how,
             const char* waits_on) {
    begin();
    out_.append("{\"name\":\"task ").append(std::to_string(run.task));
    out_.append("\",\"cat\":\"task\",\"ph\":\"X\",\"pid\":1,\"tid\":").append(std::to_string(tid));
    time("ts", run.ts);
    char dur[48];
    std::snprintf(dur, sizeof dur, ",\"dur\":%.3f", static_cast<double>(end - run.ts) / 1000.0);
    out_.append(dur);
    out_.append(",\"args\":{\"site\":\"");
    site(run);
    out_.append("\",\"end\":\"").append(how).append("\"");
    if (waits_on != nullptr) out_.append(",\"waits on\":\"").append(waits_on).append("\"");
    out_.append("}}");
  }

  void instant(std::size_t tid, const Decoded& e, const std::string& name) {
    begin();
    out_.append("{\"name\":\"").append(name);
    out_.append("\",\"cat\":\"scheduler\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":");
    out_.append(std::to_string(tid));
    time("ts", e.ts);
    out_.append(",\"args\":{\"task\":").append(std::to_string(e.task)).append(",\"site\":\"");
    site(e);
    out_.append("\"}}");
  }

  std::size_t count() const noexcept { return count_; }

  std::string finish() {
    out_.append("\n],\"displayTimeUnit\":\"ns\"}\n");
    return std::move(out_);
  }

 private:
  void begin() {
    if (count_++ != 0) out_.append(",\n");
  }
  void time(const char* key, std::int64_t ts) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ",\"%s\":%.3f", key, static_cast<double>(ts - t0_) / 1000.0);
    out_.append(buf);
  }
  void site(const Decoded& e) {
    append_escaped(out_, e.file);
    out_.append(":").append(std::to_string(e.line));
  }

  std::int64_t t0_;
  std::string out_;
  std::size_t count_ = 0;
};

void write_ring(JsonWriter& json, const Ring& ring, std::int64_t end_ts, const Calibration& cal) {
  // acquire: pairs with record()'s release of head; slots below it are written.
  const std::uint64_t head = ring.head.load(std::memory_order_acquire);
  const std::uint64_t first = head > ring.size ? head - ring.size : 0;
  bool running = false;
  Decoded run{};
  for (std::uint64_t i = first; i < head; ++i) {
    const Slot& s = ring.slots[i % ring.size];
    // relaxed: the acquire of head above ordered these (or the slot is being overwritten now
    // and the event comes out torn, which the format tolerates).
    const std::uint64_t meta = s.meta.load(std::memory_order_relaxed);
    Decoded e{cal.to_ns(s.ts.load(std::memory_order_relaxed)),
              s.task.load(std::memory_order_relaxed),
              s.file.load(std::memory_order_relaxed),
              static_cast<Event>(meta & 0xff),
              static_cast<std::uint32_t>((meta >> 8) & 0xffffff),
              static_cast<std::uint32_t>(meta >> 32)};
    switch (e.event) {
      case Event::run:
        if (running) json.slice(ring.index, run, e.ts, "switched", nullptr);
        run = e;
        running = true;
        break;
      case Event::park:
      case Event::yield:
      case Event::exit:
        if (running && run.task == e.task) {
          const char* how = e.event == Event::park    ? "park"
                            : e.event == Event::yield ? "yield"
                                                      : "exit";
          const char* waits_on =
              e.event == Event::park ? to_string(static_cast<WaitKind>(e.arg)) : nullptr;
          json.slice(ring.index, run, e.ts, how, waits_on);
        }
        running = false;
        break;
      case Event::spawn:
        json.instant(ring.index, e, "spawn task " + std::to_string(e.task));
        break;
      case Event::unpark:
        json.instant(ring.index, e, "wake task " + std::to_string(e.task));
        break;
      case Event::steal:
        json.instant(ring.index, e, "steal from worker " + std::to_string(e.arg));
        break;
      case Event::stall:
        json.instant(ring.index, e,
                     "task " + std::to_string(e.task) + " stalls worker " + std::to_string(e.arg));
        break;
    }
  }
  if (running) json.slice(ring.index, run, end_ts, "still running", nullptr);
}

void write_at_exit() {
  if (!spindle::trace::active()) return;
  try {
    std::size_t n = spindle::trace::stop();
    std::fprintf(stderr, "spindle: SPINDLE_TRACE: wrote %zu events\n", n);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spindle: SPINDLE_TRACE: %s\n", e.what());
  }
}

}  // namespace

void record(Event event, const TaskCore* task, std::uint32_t arg) noexcept {
  Ring* r = t_ring;
  // relaxed: a changed generation only needs to be noticed eventually.
  if (r == nullptr || t_generation != g_generation.load(std::memory_order_relaxed)) {
    r = acquire_ring();
    if (r == nullptr) return;
  }
  // relaxed: only this thread writes head.
  const std::uint64_t h = r->head.load(std::memory_order_relaxed);
  Slot& s = r->slots[h % r->size];
  const std::uint64_t line = task != nullptr ? task->spawn_site().line() & 0xffffff : 0;
  // relaxed: published by the release store of head below.
  s.ts.store(stamp(), std::memory_order_relaxed);
  s.task.store(task != nullptr ? task->id : 0, std::memory_order_relaxed);
  s.file.store(task != nullptr ? task->spawn_site().file_name() : "", std::memory_order_relaxed);
  s.meta.store(
      static_cast<std::uint64_t>(event) | line << 8 | static_cast<std::uint64_t>(arg) << 32,
      std::memory_order_relaxed);
  // release: pairs with write_ring()'s acquire.
  r->head.store(h + 1, std::memory_order_release);
}

void name_thread(std::uint64_t runtime_id, std::size_t worker_index) noexcept {
  t_runtime = runtime_id;
  t_worker = worker_index;
  t_named = true;
}

void start_from_env() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* path = std::getenv("SPINDLE_TRACE");
    if (path == nullptr || *path == '\0') return;
    try {
      spindle::trace::start(path);
      std::atexit(write_at_exit);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "spindle: SPINDLE_TRACE ignored: %s\n", e.what());
    }
  });
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail::trace

namespace spindle::inline SPINDLE_ABI_NAMESPACE::trace {

using detail::trace::registry;

void start(const std::string& path, std::size_t events_per_thread) {
  if (path.empty()) throw std::invalid_argument("spindle::trace::start: empty file path");
  if (!SPINDLE_TRACE_HOOKS) {
    throw std::logic_error(
        "spindle::trace::start: this build has tracing compiled out (SPINDLE_TRACE_HOOKS=OFF)");
  }
  if (events_per_thread < 16) {
    throw std::invalid_argument("spindle::trace::start: events_per_thread = " +
                                std::to_string(events_per_thread) + " is below the minimum of 16");
  }
  auto& reg = registry();
  std::lock_guard lock(reg.mu);
  if (detail::trace::on()) throw std::logic_error("spindle::trace::start: tracing is already on");
  for (auto& r : reg.rings) reg.retired.push_back(std::move(r));
  reg.rings.clear();
  reg.path = path;
  reg.per_thread = events_per_thread;
  reg.t0 = detail::trace::steady_ns();
  reg.stamp0 = detail::trace::stamp();
  // relaxed: threads re-read it under the registry lock when they take a ring.
  detail::trace::g_generation.fetch_add(1, std::memory_order_relaxed);
  detail::trace::g_on.store(true, std::memory_order_seq_cst);
}

std::size_t stop() {
  auto& reg = registry();
  std::string path;
  std::string text;
  std::size_t count = 0;
  {
    std::lock_guard lock(reg.mu);
    if (!detail::trace::g_on.exchange(false, std::memory_order_seq_cst)) {
      throw std::logic_error("spindle::trace::stop: tracing is not on");
    }
    const std::int64_t end = detail::trace::steady_ns();
    const std::int64_t end_stamp = detail::trace::stamp();
    detail::trace::Calibration cal;
    cal.stamp0 = reg.stamp0;
    cal.ns0 = reg.t0;
    if (end_stamp > reg.stamp0 && end > reg.t0) {
      cal.ns_per_tick =
          static_cast<double>(end - reg.t0) / static_cast<double>(end_stamp - reg.stamp0);
    }
    detail::trace::JsonWriter json(reg.t0);
    for (const auto& r : reg.rings) json.metadata(r->index, r->name);
    for (const auto& r : reg.rings) detail::trace::write_ring(json, *r, end, cal);
    count = json.count();
    text = json.finish();
    path = reg.path;
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    throw std::system_error(errno, std::generic_category(),
                            "spindle::trace::stop: cannot open '" + path + "' for writing");
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    throw std::system_error(ok ? errno : err, std::generic_category(),
                            "spindle::trace::stop: cannot write '" + path + "'");
  }
  return count;
}

bool active() noexcept { return detail::trace::on(); }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::trace
