// SPDX-License-Identifier: Apache-2.0
// Built with the other compiler than the library (clang++ against a g++ libspindle.a, or the
// reverse) by tests/abi/check_cross_abi.sh. Everything here hands a spindle type across the
// boundary between code the two compilers made: source_location into spawn, the task record
// out through Runtime::tasks() and leaks(), Task<T>'s result slot, channel elements, select's
// cases, a context's deadline and error, and an exception thrown by the library. Each check
// prints one line; the script compares them with what it expects, and a failed check makes
// the exit status non-zero.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <spindle/spindle.hpp>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok" : "FAILED", what);
  if (!ok) ++failures;
}

struct Sample {
  std::string text;
  double weight = 0;
  std::vector<int> values;
};

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

const spindle::TaskInfo* find_named(const std::vector<spindle::TaskInfo>& infos, const char* name) {
  for (const spindle::TaskInfo& info : infos) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace

int main() {
  spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};

  // A task spawned from this thread, its spawn site taken by default from the call: the
  // script expects the line that ends in the comment below in the task record.
  spindle::Chan<int> gate;
  auto wait_for_gate = [gate]() mutable { return gate.recv().value_or(-1); };
  spindle::Task<int> waiter = rt.spawn(spindle::TaskName{"waiter"}, wait_for_gate);  // spawn-site

  // A spawn site given explicitly, as a wrapper that forwards its caller's site does.
  spindle::Chan<int> never;
  {
    spindle::Task<void> dropped = rt.spawn(
        spindle::TaskName{"dropped"}, [never]() mutable { (void)never.recv(); },
        spindle::source_location::current("explicit_site.cpp", 4242, 7, "caller"));
  }  // never joined: a leak the runtime must report with that site

  // Wait until both tasks block on their channels, then read the records the library built.
  std::vector<spindle::TaskInfo> infos;
  for (int i = 0; i < 2000; ++i) {
    infos = rt.tasks();
    const spindle::TaskInfo* w = find_named(infos, "waiter");
    const spindle::TaskInfo* d = find_named(infos, "dropped");
    if (w != nullptr && d != nullptr && w->state == "chan recv" && d->state == "chan recv") break;
    std::this_thread::sleep_for(1ms);
  }
  const spindle::TaskInfo* w = find_named(infos, "waiter");
  check(w != nullptr && w->state == "chan recv", "tasks() lists the waiter, blocked in chan recv");
  if (w != nullptr) {
    std::printf("waiter spawn site: %s:%u\n", w->file.c_str(), static_cast<unsigned>(w->line));
    check(ends_with(w->file, "cross_consumer.cpp") && w->function == "main" && w->id != 0 &&
              w->parent_id == 0 && !w->never_joined && w->blocked_on != 0,
          "waiter's record: file, function, id, parent, handle, blocked-on object");
  }
  const spindle::TaskInfo* d = find_named(infos, "dropped");
  check(d != nullptr && d->file == "explicit_site.cpp" && d->line == 4242 &&
            d->function == "caller" && d->never_joined,
        "tasks() keeps an explicit spawn site and the never-joined mark");

  spindle::LeakReport leaks = rt.leaks();
  const spindle::TaskInfo* leaked = find_named(leaks.tasks(), "dropped");
  check(leaked != nullptr && leaked->line == 4242 && leaks.size() == 2,
        "leaks() reports the waiter and the dropped task");
  check(leaks.to_string().find("explicit_site.cpp:4242") != std::string::npos,
        "the leak report's text names the explicit spawn site");

  // Task<T> with a result of several library types, channels, select and a context, all in
  // one block_on.
  gate.send(5);
  check(waiter.join() == 5, "Task<int>::join from a plain thread");
  never.close();

  const int root = rt.block_on([] {
    spindle::Task<Sample> t = spindle::spawn([] { return Sample{"sample", 2.5, {1, 2, 3}}; });
    Sample s = t.join();
    check(s.text == "sample" && s.weight == 2.5 && s.values.size() == 3,
          "Task<Sample>::join moves a struct out of the library's result slot");

    spindle::Chan<std::string> words(4);
    spindle::Chan<int> numbers;
    spindle::Task<void> producer = spindle::spawn([numbers]() mutable {
      for (int i = 1; i <= 3; ++i) numbers.send(i);
      numbers.close();
    });
    words.send("alpha");
    int sum = 0;
    std::string got;
    int closed = 0;
    while (closed == 0) {
      spindle::select(
          spindle::on_recv(numbers,
                           [&](std::optional<int> v) {
                             if (v) {
                               sum += *v;
                             } else {
                               closed = 1;
                             }
                           }),
          spindle::on_recv(words, [&](std::optional<std::string> v) { got += v.value_or(""); }),
          spindle::on_recv(spindle::after(5s), [&](auto) { closed = 2; }));
    }
    producer.join();
    check(sum == 6 && got == "alpha" && closed == 1,
          "select over Chan<int>, Chan<std::string> and a timer");

    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 20ms);
    const bool has_deadline = ctx.deadline().has_value();
    const std::size_t fired =
        spindle::select(spindle::on_recv(ctx.done()), spindle::on_recv(spindle::after(5s)));
    check(has_deadline && fired == 0 && ctx.err() == spindle::errc::deadline_exceeded,
          "with_timeout: deadline set, done() fires, err() is deadline_exceeded");
    cancel();

    bool caught = false;
    try {
      spindle::Chan<int> shut(1);
      shut.close();
      shut.send(1);
    } catch (const spindle::ChannelClosed&) {
      caught = true;
    }
    check(caught, "ChannelClosed thrown by the library is caught by its type");
    return 7;
  });
  check(root == 7, "block_on returns the root task's value");

  std::printf("%s\n", failures == 0 ? "cross-abi: all checks passed" : "cross-abi: FAILED");
  return failures == 0 ? 0 : 1;
}
