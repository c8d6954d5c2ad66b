// SPDX-License-Identifier: Apache-2.0
// The for-select steps every stage is made of: recv_or_done, send_or_done, is_done.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(PatternLoop, RecvOrDoneReturnsValuesThenClosed) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> in;
    auto feeder = spindle::spawn([in] {
      for (int i = 0; i < 100; ++i) in.send(i);
      in.close();
    });
    std::optional<int> v;
    int expected = 0;
    spindle::RecvStatus st;
    while ((st = spindle::recv_or_done(spindle::RecvChan<spindle::Unit>(done),
                                       spindle::RecvChan<int>(in), v)) ==
           spindle::RecvStatus::value) {
      EXPECT_EQ(*v, expected++);
    }
    EXPECT_EQ(st, spindle::RecvStatus::closed);
    EXPECT_EQ(expected, 100);
    EXPECT_FALSE(v.has_value());
    feeder.join();
  });
}

TEST(PatternLoop, DoneWinsOverAnInputThatIsAlsoReady) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> in(300);
    for (int i = 0; i < 300; ++i) in.send(i);
    done.close();
    std::optional<int> v;
    // A select would pick either ready case at random; a stage must stop instead.
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(spindle::recv_or_done(spindle::RecvChan<spindle::Unit>(done),
                                      spindle::RecvChan<int>(in), v),
                spindle::RecvStatus::done);
      ASSERT_FALSE(v.has_value());
    }
    EXPECT_EQ(in.size(), 300u);
    EXPECT_TRUE(spindle::is_done(spindle::RecvChan<spindle::Unit>(done)));
  });
}

TEST(PatternLoop, SendOrDoneSendsNothingOnceDoneFired) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> out(300);
    EXPECT_TRUE(spindle::send_or_done(spindle::RecvChan<spindle::Unit>(done),
                                      spindle::SendChan<int>(out), 7));
    done.close();
    for (int i = 0; i < 200; ++i)
      ASSERT_FALSE(spindle::send_or_done(spindle::RecvChan<spindle::Unit>(done),
                                         spindle::SendChan<int>(out), i));
    EXPECT_EQ(out.size(), 1u);
  });
}

TEST(PatternLoop, BlockedStepsEndWhenDoneFires) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> no_sender;    // nobody ever sends here
    spindle::Chan<int> no_receiver;  // nor receives here
    spindle::RecvChan<int> nil_in;
    auto receiver = spindle::spawn([=] {
      std::optional<int> v;
      return spindle::recv_or_done(spindle::RecvChan<spindle::Unit>(done),
                                   spindle::RecvChan<int>(no_sender), v);
    });
    auto nil_receiver = spindle::spawn([=] {
      std::optional<int> v;
      return spindle::recv_or_done(spindle::RecvChan<spindle::Unit>(done), nil_in, v);
    });
    auto sender = spindle::spawn([=] {
      return spindle::send_or_done(spindle::RecvChan<spindle::Unit>(done),
                                   spindle::SendChan<int>(no_receiver), 1);
    });
    spindle::sleep_for(20ms);
    EXPECT_FALSE(spindle::is_done(spindle::RecvChan<spindle::Unit>(done)));
    done.close();
    EXPECT_EQ(receiver.join(), spindle::RecvStatus::done);
    EXPECT_EQ(nil_receiver.join(), spindle::RecvStatus::done);
    EXPECT_FALSE(sender.join());
  });
}

TEST(PatternLoop, StepsMeetAPartnerWaitingOnAPlainThread) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  spindle::Chan<spindle::Unit> done;
  spindle::Chan<int> to_task;
  spindle::Chan<int> from_task;
  std::thread partner([&] {
    to_task.send(41);
    EXPECT_EQ(from_task.recv(), 42);
  });
  rt.block_on([&] {
    std::optional<int> v;
    ASSERT_EQ(spindle::recv_or_done(spindle::RecvChan<spindle::Unit>(done),
                                    spindle::RecvChan<int>(to_task), v),
              spindle::RecvStatus::value);
    EXPECT_TRUE(spindle::send_or_done(spindle::RecvChan<spindle::Unit>(done),
                                      spindle::SendChan<int>(from_task), *v + 1));
  });
  partner.join();
}

TEST(PatternLoop, SendOrDoneOnAClosedOutputThrowsChannelClosed) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> out(4);
    out.close();
    EXPECT_THROW(spindle::send_or_done(spindle::RecvChan<spindle::Unit>(done),
                                       spindle::SendChan<int>(out), 1),
                 spindle::ChannelClosed);
  });
}

}  // namespace
