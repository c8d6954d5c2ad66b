// SPDX-License-Identifier: Apache-2.0
// Compiled, never run: every public header, included as an ordinary (-I) include by code
// built with strict warnings (-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
// -Werror), and the public templates instantiated, so their bodies are checked under those
// warnings too. A header that warns here makes every strict consumer's build fail.
#include <spindle/explore.hpp>
#include <spindle/http.hpp>
#include <spindle/leaks.hpp>
#include <spindle/simulation.hpp>
#include <spindle/source_location.hpp>
#include <spindle/spindle.hpp>
#include <spindle/trace.hpp>
// Installed with the runtime's headers though no other public header includes it.
#include <spindle/detail/timer.hpp>
#if SPINDLE_STRICT_WITH_GTEST
#include <spindle/testing.hpp>
#endif

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace strict {

using namespace std::chrono_literals;

struct Point {
  int x = 0;
  int y = 0;
};

int tasks_and_runtime() {
  spindle::Runtime rt{spindle::Options{.workers = 2, .deadlock_after = 200ms}};
  spindle::Task<void> outside = rt.spawn(spindle::TaskName{"outside"}, [] { spindle::yield(); });
  outside.join();
  std::vector<spindle::TaskInfo> infos = rt.tasks();
  spindle::LeakReport report = rt.leaks(spindle::LeakOptions{});
  return rt.block_on([&] {
    spindle::Task<int> t = spindle::spawn([] { return 41; });
    spindle::Task<std::string> named =
        spindle::spawn(spindle::TaskName{"named"}, [] { return std::string("x"); });
    spindle::Task<Point> p = spindle::spawn([] { return Point{1, 2}; });
    spindle::sleep_for(1ms);
    spindle::sleep_until(spindle::Clock::now() + 1us);
    const int v = t.join() + static_cast<int>(named.join().size()) + p.join().y;
    return v + static_cast<int>(infos.size() + report.size());
  });
}

std::size_t channels_and_select() {
  spindle::Chan<int> a(4);
  spindle::Chan<std::string> b;
  spindle::Chan<std::uint8_t> small(std::size_t{2});
  spindle::SendChan<int> to_a = a;
  spindle::RecvChan<int> from_a = a;
  to_a.send(1);
  (void)a.try_send(2);
  small.send(std::uint8_t{3});
  std::optional<int> got = from_a.recv();
  std::optional<int> maybe = a.try_recv();
  int sum = got.value_or(0) + maybe.value_or(0);
  for (int v : from_a) sum += v;

  std::size_t fired =
      spindle::select(spindle::on_recv(a, [&](std::optional<int> v) { sum += v.value_or(0); }),
                      spindle::on_send(b, std::string("hello"), [] {}),
                      spindle::on_recv(spindle::after(10ms)), spindle::on_default([] {}));
  fired += spindle::select(spindle::on_recv(small), spindle::on_send(a, 7));

  std::vector<spindle::RecvChan<int>> many{a, from_a};
  auto [index, value] = spindle::select_recv(many, spindle::on_recv(b));
  auto [index2, value2] = spindle::select_recv(many, spindle::on_default([] {}));

  spindle::Ticker tick(5ms);
  tick.reset(10ms);
  spindle::RecvChan<spindle::TimePoint> deadline = spindle::after_until(spindle::Clock::now());
  spindle::select(spindle::on_recv(tick.chan()), spindle::on_recv(deadline));
  tick.stop();
  a.close();
  return fired + index + index2 + static_cast<std::size_t>(value.value_or(sum)) +
         static_cast<std::size_t>(value2.value_or(0)) + small.capacity() + a.size();
}

const spindle::ContextKey<std::string> kUser{"user"};

std::error_code contexts_and_sync() {
  auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 50ms);
  auto [child, cancel_child] = spindle::with_cancel(ctx);
  auto [dl, cancel_dl] = spindle::with_deadline(child, spindle::Clock::now() + 1s);
  spindle::Context valued = spindle::with_value(dl, kUser, "ann");
  const std::string* user = valued.value(kUser);
  spindle::select(spindle::on_recv(valued.done()), spindle::on_recv(spindle::after(1ms)));
  cancel_dl();
  cancel_child();

  spindle::WaitGroup wg;
  wg.add(1);
  wg.spawn([&wg] { wg.done(); });
  wg.wait();

  spindle::Mutex mu;
  int counter = 0;
  {
    std::lock_guard lock(mu);
    ++counter;
  }
  spindle::Semaphore sem(4);
  if (!sem.acquire(ctx, 2)) sem.release(2);
  if (sem.try_acquire()) sem.release();
  spindle::Once once;
  once.call([&] { ++counter; });

  spindle::ErrGroup g(ctx);
  g.set_limit(2);
  g.spawn([](const spindle::Context& c) -> std::error_code { return c.err(); });
  g.spawn([&counter] { ++counter; });
  (void)g.try_spawn([] { return std::error_code{}; });
  std::error_code first = g.wait();

  spindle::Result<int> r = counter;
  spindle::Result<void> done;
  spindle::Result<std::string> bad =
      spindle::Result<std::string>::failure(std::make_error_code(std::errc::io_error));
  const int total = r.value_or(0) + (done ? 1 : 0) + static_cast<int>(bad.value_or("").size()) +
                    static_cast<int>(user != nullptr ? user->size() : 0U);
  cancel();
  return total > 0 ? first : ctx.err();
}

long patterns_and_pipelines() {
  auto [ctx, cancel] = spindle::with_cancel(spindle::background());
  spindle::Chan<spindle::Unit> stop;
  auto numbers = spindle::repeat_fn(ctx, [n = 0]() mutable { return n++; });
  auto squares = spindle::map(ctx, spindle::take(ctx, numbers, 10), [](int v) { return v * v; });
  (void)squares;
  auto first = spindle::take(stop, spindle::repeat(ctx, {1, 2, 3}), std::size_t{5});
  spindle::Probe probe("square");
  auto mapped = spindle::map(
      ctx, first, [](int v) { return long{v} * v; }, &probe);
  auto odd = spindle::filter(ctx, mapped, [](long v) { return v % 2 == 1; });
  auto buffered = spindle::buffer(ctx, spindle::or_done(ctx, odd), 8);
  auto [left, right] = spindle::tee(ctx, buffered);
  auto merged = spindle::fan_in(ctx, std::vector<spindle::RecvChan<long>>{left, right});
  auto groups = spindle::batch(ctx, merged, 2, 5ms);
  auto parts = spindle::fan_out(ctx, spindle::generate(ctx, std::vector<int>{1, 2, 3}), 2,
                                [](int v) { return v * 10; });
  auto joined = spindle::fan_in(ctx, parts);
  spindle::Chan<spindle::RecvChan<int>> streams(2);
  streams.send(spindle::generate(ctx, {1, 2}));
  streams.close();
  auto flat = spindle::bridge(ctx, streams);
  spindle::Chan<spindle::Unit> a, b;
  spindle::RecvChan<spindle::Unit> any = spindle::or_channel({a, b});

  auto parse = [](std::string s) -> spindle::Result<int> {
    if (s.empty()) {
      return spindle::Result<int>::failure(std::make_error_code(std::errc::invalid_argument));
    }
    return static_cast<int>(s.size());
  };
  auto parsed =
      spindle::try_map(ctx, spindle::generate(ctx, std::vector<std::string>{"1", ""}), parse);
  int skipped = 0;
  auto good = spindle::route_errors(ctx, parsed, [&](std::error_code) { ++skipped; });
  spindle::Chan<std::error_code> errors(4);
  auto good2 = spindle::route_errors(
      ctx, spindle::try_map(ctx, spindle::generate(ctx, {1, 2}), [](int v) { return v + 1; }),
      errors);

  auto odd_squares = spindle::stage::map([](int v) { return v * v; }) |
                     spindle::stage::filter([](int v) { return v % 2 == 1; }) |
                     spindle::stage::or_done() | spindle::stage::buffer(4);
  auto f = spindle::flow(ctx, std::vector<int>{1, 2, 3, 4}) | odd_squares |
           spindle::stage::take(2) |
           spindle::stage::parallel_map(2, [](int v) { return std::to_string(v); });
  auto g = spindle::flow(stop, joined) | spindle::stage::batch(2, 1ms) | spindle::stage::batch(3);
  auto h = spindle::flow(ctx, flat) | spindle::stage::try_map([](int v) { return v; }) |
           spindle::stage::route_errors([](std::error_code) {});

  std::optional<int> slot;
  spindle::RecvChan<spindle::Unit> d = spindle::done_chan(ctx);
  long sum = 0;
  if (spindle::recv_or_done(d, spindle::recv_view(good), slot) == spindle::RecvStatus::value) {
    sum += *slot;
  }
  spindle::Chan<int> out(1);
  if (spindle::send_or_done(d, spindle::SendChan<int>(out), 3)) sum += 1;
  if (spindle::is_done(spindle::done_chan(stop))) sum += 1;
  for (const std::vector<long>& group : groups) sum += static_cast<long>(group.size());
  for (const std::string& s : f.chan()) sum += static_cast<long>(s.size());
  for (const std::vector<std::vector<int>>& gg : g.chan()) sum += static_cast<long>(gg.size());
  for (int v : h.chan()) sum += v;
  for (int v : good2) sum += v;
  spindle::Probe::Stats stats = probe.stats();
  (void)any.try_recv();
  cancel();
  return sum + skipped + static_cast<long>(stats.arrivals);
}

std::size_t blocking_and_net() {
  std::string host = spindle::blocking([] { return std::string("localhost"); });
  spindle::fs::write_file("/dev/null", host);
  spindle::net::TcpListener listener = spindle::net::TcpListener::bind("127.0.0.1", 0);
  spindle::net::TcpStream client =
      spindle::net::TcpStream::connect("127.0.0.1", listener.port(), spindle::background());
  spindle::net::TcpStream server = listener.accept();
  client.set_read_deadline(spindle::Clock::now() + 10ms);
  client.write_all("ping");
  std::array<char, 4> buf{};
  server.read_exact(buf.data(), buf.size());
  const std::size_t n = server.read_some(buf.data(), buf.size());
  std::vector<spindle::net::Endpoint> eps = spindle::net::resolve("127.0.0.1", 80);
  spindle::net::http::RequestParser parser;
  const bool parsed = parser.parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n") ==
                      spindle::net::http::ParseStatus::complete;
  return n + eps.size() + (parsed ? parser.consumed() : 0U);
}

int simulation() {
  spindle::testing::Simulation sim{spindle::testing::SimOptions{.seed = 42}};
  return sim.run([] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 1h);
    spindle::select(spindle::on_recv(ctx.done()));
    return ctx.err() == spindle::errc::deadline_exceeded ? 0 : 1;
  });
}

std::size_t diagnostics() {
  spindle::LeakOptions opts{.baseline = spindle::LeakBaseline::now(),
                            .ignore_functions = {"serve"},
                            .ignore_files = {"pool.cpp"},
                            .wait = 10ms};
  opts.validate();
  spindle::UnhandledExceptionHandler previous = spindle::set_unhandled_exception_handler(
      [](const spindle::UnhandledException& e) { (void)e.what(); });
  spindle::set_unhandled_exception_handler(std::move(previous));
  const std::string_view version = spindle::version();
  const std::size_t traced = spindle::trace::active() ? spindle::trace::stop() : 0U;
  return version.size() + traced + opts.ignore_functions.size() +
         static_cast<std::size_t>(SPINDLE_VERSION_MAJOR + SPINDLE_VERSION_MINOR);
}

#if SPINDLE_STRICT_WITH_GTEST
void leak_check_listener() {
  ::testing::UnitTest::GetInstance()->listeners().Append(
      new spindle::testing::LeakCheck(spindle::LeakOptions{.ignore_files = {"pool.cpp"}}));
}

bool explored() {
  spindle::testing::ExploreResult res =
      spindle::testing::explore(spindle::testing::ExploreOptions{.runs = 2}, [] {
        auto t = spindle::spawn([] { return 1; });
        EXPECT_EQ(t.join(), 1);
      });
  return res.failed;
}
#endif

}  // namespace strict
