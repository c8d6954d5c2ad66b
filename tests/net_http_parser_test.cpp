// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 request parser: well-formed, pipelined, byte-at-a-time and malformed input.
#include <gtest/gtest.h>

#include <string>

#include "spindle/http.hpp"

using spindle::net::http::ParseStatus;
using spindle::net::http::RequestParser;

namespace {

ParseStatus parse_all(RequestParser& p, std::string_view text) { return p.parse(text); }

TEST(HttpParser, ParsesASimpleGet) {
  RequestParser p;
  const std::string req = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nUser-Agent:  t \r\n\r\n";
  ASSERT_EQ(parse_all(p, req), ParseStatus::complete);
  EXPECT_EQ(p.request().method, "GET");
  EXPECT_EQ(p.request().target, "/a?b=1");
  EXPECT_EQ(p.request().minor_version, 1);
  ASSERT_NE(p.request().header("user-agent"), nullptr);
  EXPECT_EQ(*p.request().header("user-agent"), "t");
  EXPECT_TRUE(p.request().keep_alive);
  EXPECT_EQ(p.consumed(), req.size());
}

TEST(HttpParser, ByteAtATime) {
  const std::string req =
      "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
  RequestParser p;
  std::string buf;
  for (std::size_t i = 0; i < req.size(); ++i) {
    buf += req[i];
    const ParseStatus st = p.parse(buf);
    if (i + 1 < req.size()) {
      ASSERT_EQ(st, ParseStatus::incomplete) << "at byte " << i;
    } else {
      ASSERT_EQ(st, ParseStatus::complete);
    }
  }
  EXPECT_EQ(p.request().content_length, 5u);
  EXPECT_FALSE(p.request().keep_alive);
  EXPECT_EQ(p.consumed(), req.size());
}

TEST(HttpParser, PipelinedRequests) {
  const std::string two =
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET";
  RequestParser p;
  std::string_view rest = two;
  ASSERT_EQ(p.parse(rest), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/1");
  rest.remove_prefix(p.consumed());
  p.reset();
  ASSERT_EQ(p.parse(rest), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/2");
  EXPECT_EQ(p.request().minor_version, 0);
  EXPECT_TRUE(p.request().keep_alive);
  rest.remove_prefix(p.consumed());
  p.reset();
  EXPECT_EQ(p.parse(rest), ParseStatus::incomplete);
}

TEST(HttpParser, Http10ClosesByDefault) {
  RequestParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.0\r\n\r\n"), ParseStatus::complete);
  EXPECT_FALSE(p.request().keep_alive);
}

TEST(HttpParser, RejectsMalformedRequests) {
  const char* bad[] = {
      "GET\r\n\r\n",                                              // no target, no version
      "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",                  // bad version text
      "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",                       // empty target
      "GET / HTTP/2.0\r\nHost: x\r\n\r\n",                        // unsupported version
      "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",                        // bad method
      "GET / HTTP/1.1\r\nHost x\r\n\r\n",                         // no colon
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                       // space before colon
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",             // obs-fold
      "GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n",                   // control character
      "GET / HTTP/1.1\r\n\r\n",                                   // HTTP/1.1 without Host
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",  // bad length
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
      "\x16\x03\x01 tls hello",  // not HTTP at all: rejected before the head ends
  };
  for (const char* text : bad) {
    RequestParser p;
    EXPECT_EQ(p.parse(text), ParseStatus::error) << text;
    EXPECT_FALSE(p.error().empty());
  }
}

TEST(HttpParser, MalformedByteAtATimeFailsAndStaysFailed) {
  const std::string req = "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n";
  RequestParser p;
  std::string buf;
  ParseStatus st = ParseStatus::incomplete;
  for (char c : req) {
    buf += c;
    st = p.parse(buf);
    if (st != ParseStatus::incomplete) break;
  }
  EXPECT_EQ(st, ParseStatus::error);
  EXPECT_EQ(p.parse(buf + "more"), ParseStatus::error);
}

TEST(HttpParser, HeadTooLarge) {
  RequestParser p;
  std::string huge = "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a');
  EXPECT_EQ(p.parse(huge), ParseStatus::error);
}

}  // namespace

namespace {

TEST(HttpParser, DuplicateHostIsAnError) {
  RequestParser p;
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), ParseStatus::error);
  EXPECT_EQ(p.error(), "duplicate Host");
}

TEST(HttpParser, BareLineFeedsAreAnErrorAtOnce) {
  // Whole, and before the head could end: the client that sends them never sends CRLF CRLF.
  for (const char* text :
       {"GET / HTTP/1.1\nHost: x\n\n", "GET / HTTP/1.1\nHo", "GET / HTTP/1.1\r\nHost: x\n\r\n"}) {
    RequestParser p;
    EXPECT_EQ(p.parse(text), ParseStatus::error) << text;
    EXPECT_EQ(p.error(), "bare LF line ending") << text;
  }
  // Byte at a time, too.
  const std::string text = "GET / HTTP/1.1\nHost: x\n\n";
  RequestParser p;
  ParseStatus st = ParseStatus::incomplete;
  std::size_t i = 1;
  for (; i <= text.size() && st == ParseStatus::incomplete; ++i) {
    st = p.parse(std::string_view(text).substr(0, i));
  }
  EXPECT_EQ(st, ParseStatus::error);
  EXPECT_EQ(i - 1, text.find('\n') + 1);  // at the first bare LF
}

TEST(HttpParser, LineFeedsInTheBodyAreData) {
  RequestParser p;
  const std::string req = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na\nb";
  ASSERT_EQ(p.parse(req), ParseStatus::complete);
  EXPECT_EQ(p.consumed(), req.size());
}

TEST(HttpParser, HeadParsedBeforeTheBodyArrives) {
  RequestParser p;
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
  EXPECT_FALSE(p.head_parsed());
  ASSERT_EQ(p.parse(head + "abc"), ParseStatus::incomplete);
  EXPECT_TRUE(p.head_parsed());
  EXPECT_EQ(p.request().content_length, 1000000u);
}

}  // namespace
