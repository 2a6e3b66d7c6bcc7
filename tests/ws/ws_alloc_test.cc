// Steady state makes no heap allocation per single-frame message: receiving
// (zero-copy views) and sending with prepare(), in both roles (a counting
// operator new, as //tests:no_alloc_test). Also reports the idle footprint.
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/counting_new.h"
#include "tests/ws/ws_test_util.h"
#include "ws/session.h"

namespace gaio::ws {
namespace {

using gaio::testing::AllocationCount;

TEST(Alloc, ReceivingSingleFrameMessagesAllocatesNothing) {
  Session server(SessionOptions{});
  // 1000 masked frames of 1 KiB, each its own input (a socket read).
  std::vector<std::string> frames;
  for (int i = 0; i < 1000; ++i) {
    frames.push_back(
        testing::Frame(i % 2 ? 0x1 : 0x2, std::string(1024, static_cast<char>('a' + i % 26))));
  }
  const uint64_t before = AllocationCount();
  size_t bytes = 0;
  for (std::string& f : frames) {
    server.feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(f.data()), f.size()));
    absl::StatusOr<Event> e = server.next();
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(e->zero_copy);
    bytes += e->data.size();
    ASSERT_EQ(server.next()->type, Event::Type::kNone);
  }
  const uint64_t allocations = AllocationCount() - before;
  EXPECT_EQ(bytes, 1000u * 1024);
  EXPECT_EQ(allocations, 0u);
  std::printf("allocations for 1000 received messages: %llu\n",
              static_cast<unsigned long long>(allocations));
}

TEST(Alloc, SendingWithPrepareAllocatesNothingInBothRoles) {
  for (Role role : {Role::kServer, Role::kClient}) {
    SessionOptions o;
    o.role = role;
    Session s(o);
    std::string payload(4096, 'p');
    auto span = absl::MakeSpan(reinterpret_cast<uint8_t*>(payload.data()), payload.size());
    ASSERT_TRUE(s.prepare(MessageType::kBinary, span).ok());  // warms the mask-key generator
    const uint64_t before = AllocationCount();
    size_t header_bytes = 0;
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<PreparedFrame> f = s.prepare(MessageType::kBinary, span);
      ASSERT_TRUE(f.ok());
      header_bytes += f->header().size();
    }
    EXPECT_EQ(AllocationCount() - before, 0u);
    EXPECT_EQ(header_bytes, role == Role::kServer ? 4000u : 8000u);
  }
}

// An idle session is the object alone: everything a frame or message split
// across inputs needs lives in a block allocated for it.
static_assert(sizeof(Session) <= 88, "an idle session should stay small");

TEST(Alloc, IdleFootprint) {
  Session plain(SessionOptions{});
  EXPECT_EQ(plain.buffered_bytes(), 0u);
  EXPECT_EQ(plain.compression_memory(), 0u);
  std::printf("sizeof(Session) = %zu bytes, heap while idle = %zu\n", sizeof(Session),
              plain.buffered_bytes());
  // With deflate the two zlib stream objects are allocated at construction,
  // in one block.
  SessionOptions d;
  d.deflate = DeflateParams{};
  const uint64_t before = AllocationCount();
  Session deflating(d);
  const uint64_t allocations = AllocationCount() - before;
  EXPECT_EQ(allocations, 1u);
  EXPECT_EQ(deflating.compression_memory(), 0u);  // zlib state comes with the first message
}

// A message split across inputs allocates its receive state; once it is
// delivered and next() is called again, the session holds nothing and
// single-frame messages allocate nothing again.
TEST(Alloc, SplitMessageStateIsFreedOnceDelivered) {
  Session server(SessionOptions{});
  std::string split = testing::Frame(0x1, "first ", false) + testing::Frame(0x9, "ping") +
                      testing::Frame(0x0, std::string(3000, 'x'));
  // Cuts inside the first header, the first payload, the ping's payload.
  const std::vector<size_t> cuts = {1, 5, 9, 20, 300, split.size()};
  size_t from = 0;
  int messages = 0;
  int pings = 0;
  for (size_t cut : cuts) {
    server.feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(split.data()) + from, cut - from));
    from = cut;
    for (;;) {
      absl::StatusOr<Event> e = server.next();
      ASSERT_TRUE(e.ok()) << e.status();
      if (e->type == Event::Type::kNone) break;
      if (e->type == Event::Type::kPing) {
        ++pings;
        EXPECT_EQ(e->text(), "ping");
      }
      if (e->type == Event::Type::kText) {
        ++messages;
        EXPECT_FALSE(e->zero_copy);
        EXPECT_EQ(e->text(), "first " + std::string(3000, 'x'));
        EXPECT_GT(server.buffered_bytes(), 0u);  // the assembly buffer
      }
    }
  }
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(pings, 1);
  server.consume_output(server.output().size());  // the pong
  EXPECT_EQ(server.buffered_bytes(), 0u);
  std::vector<std::string> frames;
  for (int i = 0; i < 100; ++i) frames.push_back(testing::Frame(0x2, std::string(200, 'b')));
  frames.push_back(testing::Frame(0x9, "p"));  // whole: no receive state
  const uint64_t before = AllocationCount();
  for (std::string& f : frames) {
    server.feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(f.data()), f.size()));
    absl::StatusOr<Event> e = server.next();
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(e->zero_copy || e->type == Event::Type::kPing);
    ASSERT_EQ(server.next()->type, Event::Type::kNone);
  }
  EXPECT_EQ(AllocationCount() - before, 1u);  // the pong's output buffer only
  server.consume_output(server.output().size());
  EXPECT_EQ(server.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace gaio::ws
