// SPDX-License-Identifier: Apache-2.0
// spindle::trace: the Chrome trace-event JSON a run produces is valid JSON with one track per
// worker, one slice per task run, and the scheduler's instant events.
#include "spindle/trace.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

// A strict recursive-descent check of JSON syntax (RFC 8259), enough to trust that Perfetto
// and chrome://tracing will parse the file.
class JsonCheck {
 public:
  explicit JsonCheck(const std::string& s) : s_(s) {}
  bool valid() {
    try {
      ws();
      value();
      ws();
      return i_ == s_.size();
    } catch (const std::runtime_error&) {
      return false;
    }
  }

 private:
  [[noreturn]] void fail() { throw std::runtime_error("bad json at " + std::to_string(i_)); }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail();
    ++i_;
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  void value() {
    switch (peek()) {
      case '{':
        object();
        break;
      case '[':
        array();
        break;
      case '"':
        string();
        break;
      default:
        if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 4, "null") == 0) {
          i_ += 4;
        } else if (s_.compare(i_, 5, "false") == 0) {
          i_ += 5;
        } else {
          number();
        }
    }
  }
  void object() {
    expect('{');
    ws();
    if (peek() == '}') {
      ++i_;
      return;
    }
    for (;;) {
      ws();
      string();
      ws();
      expect(':');
      ws();
      value();
      ws();
      if (peek() == '}') {
        ++i_;
        return;
      }
      expect(',');
    }
  }
  void array() {
    expect('[');
    ws();
    if (peek() == ']') {
      ++i_;
      return;
    }
    for (;;) {
      ws();
      value();
      ws();
      if (peek() == ']') {
        ++i_;
        return;
      }
      expect(',');
    }
  }
  void string() {
    expect('"');
    while (peek() != '"') {
      if (i_ >= s_.size() || static_cast<unsigned char>(peek()) < 0x20) fail();
      if (peek() == '\\') {
        ++i_;
        if (peek() == 'u') {
          for (int k = 0; k < 4; ++k) {
            ++i_;
            if (!std::isxdigit(static_cast<unsigned char>(peek()))) fail();
          }
        } else if (std::string("\"\\/bfnrt").find(peek()) == std::string::npos) {
          fail();
        }
      }
      ++i_;
    }
    ++i_;
  }
  void number() {
    const std::size_t start = i_;
    if (peek() == '-') ++i_;
    while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == 'e' ||
           peek() == 'E' || peek() == '+' || peek() == '-') {
      ++i_;
    }
    if (i_ == start) fail();
  }
  const std::string& s_;
  std::size_t i_ = 0;
};

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string(name) + "-" + std::to_string(::getpid()) + ".json"))
      .string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Trace, WritesChromeTraceEventJson) {
  const std::string path = temp_path("spindle-trace");
  spindle::trace::start(path);
  EXPECT_TRUE(spindle::trace::active());
  {
    spindle::Runtime rt{spindle::Options{.workers = 2}};
    rt.block_on([] {
      spindle::Chan<int> ping, pong;
      auto player = spindle::spawn([ping, pong] {
        for (int i = 0; i < 50; ++i) pong.send(*ping.recv() + 1);
      });
      for (int i = 0; i < 50; ++i) {
        ping.send(i);
        EXPECT_EQ(pong.recv(), i + 1);
      }
      player.join();
      std::vector<spindle::Task<void>> sleepers;
      for (int i = 0; i < 8; ++i)
        sleepers.push_back(spindle::spawn([] { spindle::sleep_for(1ms); }));
      for (auto& t : sleepers) t.join();
    });
  }
  const std::size_t events = spindle::trace::stop();
  EXPECT_FALSE(spindle::trace::active());
  const std::string json = read_file(path);
  std::remove(path.c_str());
  ASSERT_FALSE(json.empty());
  EXPECT_TRUE(JsonCheck(json).valid()) << json.substr(0, 2000);
  EXPECT_EQ(json.rfind("{\"traceEvents\":[", 0), 0u);
  EXPECT_GT(events, 100u);
  // One named track per worker that ran something.
  EXPECT_GE(count(json, "\"thread_name\""), 1u);
  // Which worker ran the tasks depends on timing; some worker track is named.
  EXPECT_NE(json.find(" of runtime "), std::string::npos);
  // Slices: every task run ends in a park, yield or exit, and parks say what they wait on.
  EXPECT_GE(count(json, "\"ph\":\"X\""), 100u);
  // Which side of the ping-pong blocks depends on timing; one of them always does.
  EXPECT_GE(count(json, "\"waits on\":\"chan recv\"") + count(json, "\"waits on\":\"chan send\""),
            50u);
  EXPECT_NE(json.find("\"waits on\":\"sleep\""), std::string::npos);
  EXPECT_NE(json.find("\"end\":\"exit\""), std::string::npos);
  EXPECT_NE(json.find("trace_test.cpp"), std::string::npos);
  // Instants: spawns and wake-ups.
  EXPECT_GE(count(json, "\"spawn task "), 10u);
  EXPECT_GE(count(json, "\"wake task "), 50u);
}

TEST(Trace, RingKeepsTheMostRecentEvents) {
  const std::string path = temp_path("spindle-trace-ring");
  spindle::trace::start(path, 64);
  {
    spindle::Runtime rt{spindle::Options{.workers = 1}};
    rt.block_on([] {
      for (int i = 0; i < 1000; ++i) spindle::yield();
    });
  }
  const std::size_t events = spindle::trace::stop();
  const std::string json = read_file(path);
  std::remove(path.c_str());
  EXPECT_TRUE(JsonCheck(json).valid());
  // At most 64 events per thread survive (worker and the thread that called block_on).
  EXPECT_LE(events, 3u * 64u);
  EXPECT_GE(count(json, "\"end\":\"yield\""), 20u);
}

TEST(Trace, MisuseThrows) {
  EXPECT_THROW(spindle::trace::stop(), std::logic_error);
  EXPECT_THROW(spindle::trace::start(""), std::invalid_argument);
  EXPECT_THROW(spindle::trace::start("x.json", 1), std::invalid_argument);
  spindle::trace::start("/nonexistent-dir/trace.json");
  EXPECT_THROW(spindle::trace::start("again.json"), std::logic_error);
  try {
    spindle::trace::stop();
    FAIL() << "expected a system_error";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/trace.json"), std::string::npos);
  }
  EXPECT_FALSE(spindle::trace::active());
}

TEST(TraceDeathTest, EnvironmentVariableWritesTheFileAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // Not temp_path(): the death test's child is another process, with another pid.
  const std::string path =
      (std::filesystem::temp_directory_path() / "spindle-trace-env-test.json").string();
  std::remove(path.c_str());
  EXPECT_EXIT(
      {
        setenv("SPINDLE_TRACE", path.c_str(), 1);
        spindle::Runtime rt{spindle::Options{.workers = 1}};
        rt.block_on([] { spindle::spawn([] {}).join(); });
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "SPINDLE_TRACE: wrote");
  const std::string json = read_file(path);
  std::remove(path.c_str());
  EXPECT_TRUE(JsonCheck(json).valid());
  EXPECT_NE(json.find("\"ph\":\"X\""), std::string::npos);
}

}  // namespace
