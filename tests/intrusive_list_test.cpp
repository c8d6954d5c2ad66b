// SPDX-License-Identifier: Apache-2.0
// IntrusiveList: order, removal from every position, the head-only variant, and reuse of
// nodes once they are unlinked.
#include "spindle/detail/intrusive_list.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using spindle::detail::IntrusiveList;
using spindle::detail::ListLinks;

struct Item {
  explicit Item(int v) : value(v) {}
  int value;
  ListLinks<Item> links;
  ListLinks<Item> other;  // a second list the same node can be in at the same time
};

using List = IntrusiveList<Item, &Item::links>;
using HeadOnly = IntrusiveList<Item, &Item::links, /*kTail=*/false>;
using OtherList = IntrusiveList<Item, &Item::other>;

// The values front to back, checking the back links on the way.
template <class L>
std::vector<int> values(const L& list) {
  std::vector<int> out;
  const Item* before = nullptr;
  for (const Item* i = list.front(); i != nullptr; i = L::next(*i)) {
    EXPECT_EQ(L::prev(*i), before);
    out.push_back(i->value);
    before = i;
  }
  return out;
}

bool unlinked(const Item& i) { return i.links.prev == nullptr && i.links.next == nullptr; }

TEST(IntrusiveList, StartsEmpty) {
  List list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), nullptr);
  EXPECT_EQ(list.back(), nullptr);
  EXPECT_EQ(list.pop_front(), nullptr);
  EXPECT_TRUE(list.empty());
}

TEST(IntrusiveList, PushBackIsFifo) {
  Item a{1}, b{2}, c{3};
  List list;
  list.push_back(a);
  list.push_back(b);
  list.push_back(c);
  EXPECT_FALSE(list.empty());
  EXPECT_EQ(list.front(), &a);
  EXPECT_EQ(list.back(), &c);
  EXPECT_EQ(values(list), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(list.pop_front(), &a);
  EXPECT_EQ(list.pop_front(), &b);
  EXPECT_EQ(list.pop_front(), &c);
  EXPECT_EQ(list.pop_front(), nullptr);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.back(), nullptr);
  EXPECT_TRUE(unlinked(a) && unlinked(b) && unlinked(c));
}

TEST(IntrusiveList, PushFrontGoesFirst) {
  Item a{1}, b{2}, c{3};
  List list;
  list.push_front(a);  // into an empty list: both ends
  EXPECT_EQ(list.front(), &a);
  EXPECT_EQ(list.back(), &a);
  list.push_back(b);
  list.push_front(c);
  EXPECT_EQ(values(list), (std::vector<int>{3, 1, 2}));
  EXPECT_EQ(list.front(), &c);
  EXPECT_EQ(list.back(), &b);
}

TEST(IntrusiveList, RemoveFromHeadMiddleAndTail) {
  Item a{1}, b{2}, c{3}, d{4}, e{5};
  List list;
  for (Item* i : {&a, &b, &c, &d, &e}) list.push_back(*i);

  list.remove(c);  // middle
  EXPECT_TRUE(unlinked(c));
  EXPECT_EQ(values(list), (std::vector<int>{1, 2, 4, 5}));

  list.remove(a);  // head
  EXPECT_TRUE(unlinked(a));
  EXPECT_EQ(list.front(), &b);
  EXPECT_EQ(values(list), (std::vector<int>{2, 4, 5}));

  list.remove(e);  // tail
  EXPECT_TRUE(unlinked(e));
  EXPECT_EQ(list.back(), &d);
  EXPECT_EQ(values(list), (std::vector<int>{2, 4}));

  list.push_back(e);  // the tail is still right after removing the old one
  EXPECT_EQ(values(list), (std::vector<int>{2, 4, 5}));

  list.remove(b);
  list.remove(d);
  list.remove(e);  // the only node: both ends go
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), nullptr);
  EXPECT_EQ(list.back(), nullptr);
}

TEST(IntrusiveList, NodeIsReusableAfterRemoval) {
  Item a{1}, b{2};
  List first;
  List second;
  first.push_back(a);
  first.push_back(b);
  first.remove(a);
  second.push_back(a);  // into another list
  EXPECT_EQ(values(first), (std::vector<int>{2}));
  EXPECT_EQ(values(second), (std::vector<int>{1}));
  second.remove(a);
  first.push_front(a);  // and back into the first, at the other end
  EXPECT_EQ(values(first), (std::vector<int>{1, 2}));
  EXPECT_TRUE(second.empty());

  // An unlinked node's links may hold anything meanwhile: pushing overwrites both.
  Item c{3};
  first.remove(a);
  a.links.prev = &c;
  a.links.next = &c;
  first.push_back(a);
  EXPECT_EQ(values(first), (std::vector<int>{2, 1}));
  EXPECT_EQ(first.back(), &a);
}

TEST(IntrusiveList, OneNodeInTwoListsThroughTwoLinks) {
  Item a{1}, b{2}, c{3};
  List list;
  OtherList other;
  for (Item* i : {&a, &b, &c}) list.push_back(*i);
  for (Item* i : {&c, &a}) other.push_back(*i);
  list.remove(a);
  EXPECT_EQ(values(list), (std::vector<int>{2, 3}));
  std::vector<int> seen;
  for (Item* i = other.front(); i != nullptr; i = OtherList::next(*i)) seen.push_back(i->value);
  EXPECT_EQ(seen, (std::vector<int>{3, 1}));
}

TEST(IntrusiveList, HeadOnlyVariant) {
  static_assert(sizeof(HeadOnly) == sizeof(Item*), "no tail pointer");
  static_assert(sizeof(List) == 2 * sizeof(Item*));
  Item a{1}, b{2}, c{3}, d{4};
  HeadOnly list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.pop_front(), nullptr);
  for (Item* i : {&a, &b, &c, &d}) list.push_front(*i);
  EXPECT_EQ(values(list), (std::vector<int>{4, 3, 2, 1}));

  list.remove(b);  // middle
  list.remove(a);  // last
  list.remove(d);  // head
  EXPECT_TRUE(unlinked(a) && unlinked(b) && unlinked(d));
  EXPECT_EQ(values(list), (std::vector<int>{3}));

  list.push_front(a);  // reuse
  EXPECT_EQ(values(list), (std::vector<int>{1, 3}));
  EXPECT_EQ(list.pop_front(), &a);
  EXPECT_EQ(list.pop_front(), &c);
  EXPECT_EQ(list.pop_front(), nullptr);
  EXPECT_TRUE(list.empty());
}

}  // namespace
