// Engine parts tested on their own (internal headers of //watcher), where a
// property cannot be forced through the public API: the peer-address arena
// of batched datagram receives, and how a Takeover knows its caller.
#include <memory>
#include <new>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "watcher/datagram_storage.h"
#include "watcher/takeover.h"

namespace gaio::internal {
namespace {

// Issue 19: a batched receive reserves an address slot per queued request;
// the slots of datagrams that did not come go back at once, so the arena
// holds one slot per address delivered in the batch, not per attempt.
TEST(PeerArena, UnusedReservationsGoBack) {
  PeerArena arena;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    for (int i = 0; i < 64; ++i) ASSERT_NE(arena.Reserve(), nullptr);
    arena.Unreserve(63);  // one datagram came
  }
  EXPECT_EQ(arena.reserved(), 1000u);
  arena.Unreserve(5000);  // never below zero
  EXPECT_EQ(arena.reserved(), 0u);
  // A flip hands the half to the batch; the other half starts empty.
  ASSERT_NE(arena.Reserve(), nullptr);
  arena.Flip();
  EXPECT_EQ(arena.reserved(), 0u);
}

// Issue 19: a thread that was the caller of a dead Watcher's Takeover is not
// the caller of a new one built at the same address.
TEST(Takeover, CallerIsKnownByIdentityNotAddress) {
  alignas(Takeover) unsigned char storage[sizeof(Takeover)];
  auto* first = new (storage) Takeover(absl::Milliseconds(1));
  first->MarkCaller();
  EXPECT_TRUE(first->IsCaller());
  first->~Takeover();
  auto* second = new (storage) Takeover(absl::Milliseconds(1));
  ASSERT_EQ(static_cast<void*>(first), static_cast<void*>(second));
  EXPECT_FALSE(second->IsCaller());
  second->MarkCaller();
  EXPECT_TRUE(second->IsCaller());
  second->~Takeover();
}

}  // namespace
}  // namespace gaio::internal
