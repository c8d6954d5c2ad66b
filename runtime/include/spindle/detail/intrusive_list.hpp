// SPDX-License-Identifier: Apache-2.0
// IntrusiveList: a doubly-linked list threaded through links that live inside its nodes.
//
// The nodes belong to their owners (usually on a parked task's stack, or in a pool); the
// list only strings them together, so linking and unlinking allocate nothing and cannot
// fail. A node embeds one ListLinks per list it can be in, and the list names that member
// as a template argument, which compiles every access to a fixed offset.
//
// Preconditions, which the list does not check (there is no flag in the links; callers that
// must ask whether a node is linked keep a flag of their own, next to the state it guards):
//   * push_back() and push_front() take a node that is in no list through these links;
//   * remove() takes a node that is linked in this very list;
//   * whoever calls any member serialises it with every other call on the same list and on
//     the links of its nodes (the lists are not concurrent structures; their owners lock).
// Unlinked nodes have both links null, so a node may be linked again (into this list or
// another) as soon as it is removed. While a node is unlinked its owner may use its links for
// something else (a free list, a chain of claimed nodes) as long as it links it again only
// through push_back() or push_front(), which overwrite both.
//
// The members that change the list are always inlined: they are a handful of stores each, and
// on a channel's hand-off they must compile as if written out at the call site. Left to the
// inliner, the hand-off's branches were laid out differently and it ran a few instructions
// longer than with the hand-written queue this replaces.
//
// With kTail false the list keeps no tail pointer: one pointer wide, for lists that need no
// FIFO order (they are pushed at the front only) and are kept in objects where every word
// counts; push_back() and back() are then unavailable.
#pragma once

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// The links a node embeds for one IntrusiveList; both null while the node is unlinked.
template <class T>
struct ListLinks {
  T* prev = nullptr;
  T* next = nullptr;
};

/// Where a list's ends are kept: head and tail, or the head alone.
template <class T, bool kTail>
struct ListEnds {
  T* head = nullptr;
  T* tail = nullptr;
};
template <class T>
struct ListEnds<T, false> {
  T* head = nullptr;
};

/// A list of T threaded through the member `Links` of each node (see the header).
template <class T, ListLinks<T> T::*Links, bool kTail = true>
class IntrusiveList {
 public:
  IntrusiveList() noexcept = default;
  // A copy would share the nodes without owning their links.
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const noexcept { return ends_.head == nullptr; }
  /// The first node, or nullptr when empty.
  T* front() const noexcept { return ends_.head; }
  /// The last node, or nullptr when empty.
  T* back() const noexcept requires kTail { return ends_.tail; }
  /// The node after `n` in whatever list holds it, or nullptr at its end.
  static T* next(const T& n) noexcept { return (n.*Links).next; }
  /// The node before `n` in whatever list holds it, or nullptr at its start.
  static T* prev(const T& n) noexcept { return (n.*Links).prev; }

  /// Links `n` (unlinked) after the last node.
  [[gnu::always_inline]] void push_back(T& n) noexcept requires kTail {
    ListLinks<T>& l = n.*Links;
    l.prev = ends_.tail;
    l.next = nullptr;
    if (ends_.tail != nullptr) {
      (ends_.tail->*Links).next = &n;
    } else {
      ends_.head = &n;
    }
    ends_.tail = &n;
  }

  /// Links `n` (unlinked) before the first node.
  [[gnu::always_inline]] void push_front(T& n) noexcept {
    ListLinks<T>& l = n.*Links;
    l.prev = nullptr;
    l.next = ends_.head;
    if (ends_.head != nullptr) {
      (ends_.head->*Links).prev = &n;
    } else if constexpr (kTail) {
      ends_.tail = &n;
    }
    ends_.head = &n;
  }

  /// Unlinks `n`, which must be linked in this list; its links are null afterwards.
  [[gnu::always_inline]] void remove(T& n) noexcept {
    ListLinks<T>& l = n.*Links;
    if (l.prev != nullptr) {
      (l.prev->*Links).next = l.next;
    } else {
      ends_.head = l.next;
    }
    if (l.next != nullptr) {
      (l.next->*Links).prev = l.prev;
    } else if constexpr (kTail) {
      ends_.tail = l.prev;
    }
    l.prev = l.next = nullptr;
  }

  /// Unlinks and returns the first node, or returns nullptr when empty.
  [[gnu::always_inline]] T* pop_front() noexcept {
    T* n = ends_.head;
    if (n != nullptr) remove(*n);
    return n;
  }

 private:
  ListEnds<T, kTail> ends_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
