// permessage-deflate: negotiation, round trips with and without context
// takeover and at every window size, fragmented compressed messages, RSV1
// rules, bombs (1009), corrupt data, and the zlib memory a session holds.
#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tests/ws/ws_test_util.h"
#include "ws/deflate.h"
#include "ws/session.h"
#include "ws/status.h"

namespace gaio::ws {
namespace {

using testing::FeedAll;
using testing::Frame;
using testing::Outcome;
using testing::ParseFrames;
using testing::TakeOutput;

SessionOptions Opts(Role role, DeflateParams d) {
  SessionOptions o;
  o.role = role;
  o.deflate = d;
  return o;
}

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Negotiation, OfferAndServerAnswer) {
  DeflateParams want;
  want.client_no_context_takeover = true;
  want.server_max_window_bits = 10;
  EXPECT_EQ(DeflateOffer(want),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits");
  DeflateParams server;
  server.client_max_window_bits = 12;
  auto agreed = NegotiateDeflate(DeflateOffer(want), server);
  ASSERT_TRUE(agreed.has_value());
  EXPECT_TRUE(agreed->client_no_context_takeover);
  EXPECT_FALSE(agreed->server_no_context_takeover);
  EXPECT_EQ(agreed->server_max_window_bits, 10);
  EXPECT_EQ(agreed->client_max_window_bits, 12);
  EXPECT_EQ(DeflateResponse(*agreed),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits=12");
  auto parsed = ParseDeflateResponse(DeflateResponse(*agreed), want);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->client_max_window_bits, 12);
  EXPECT_EQ(parsed->server_max_window_bits, 10);
}

TEST(Negotiation, DeclinesBadOffersAndPicksTheFirstGoodOne) {
  const DeflateParams server;
  EXPECT_FALSE(NegotiateDeflate("x-webkit-deflate-frame", server).has_value());
  EXPECT_FALSE(NegotiateDeflate("permessage-deflate; server_max_window_bits=8", server));
  EXPECT_FALSE(NegotiateDeflate("permessage-deflate; server_max_window_bits=16", server));
  EXPECT_FALSE(NegotiateDeflate("permessage-deflate; unknown", server));
  EXPECT_FALSE(NegotiateDeflate(
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover", server));
  auto agreed = NegotiateDeflate(
      "permessage-deflate; foo, permessage-deflate; server_no_context_takeover", server);
  ASSERT_TRUE(agreed.has_value());
  EXPECT_TRUE(agreed->server_no_context_takeover);
  // Without client_max_window_bits in the offer the server may not set it.
  DeflateParams small;
  small.client_max_window_bits = 10;
  EXPECT_EQ(NegotiateDeflate("permessage-deflate", small)->client_max_window_bits, 15);
  // The client refuses what it did not offer.
  EXPECT_FALSE(ParseDeflateResponse("permessage-deflate; bogus", DeflateParams{}).ok());
  EXPECT_FALSE(ParseDeflateResponse("permessage-deflate; client_max_window_bits=8", {}).ok());
  EXPECT_EQ(HttpStatusOf(ParseDeflateResponse("other", {}).status()), 101);
}

// Client sends `messages` to the server and back; returns wire bytes.
void RoundTrip(const DeflateParams& d, size_t* wire_bytes) {
  Session client(Opts(Role::kClient, d));
  Session server(Opts(Role::kServer, d));
  *wire_bytes = 0;
  const std::string text = "The quick brown fox jumps over the lazy dog. " + std::string(2000, 'z');
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send_text(text).ok());
    const std::string wire = TakeOutput(client);
    *wire_bytes += wire.size();
    auto frames = ParseFrames(wire);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].first, 0x41);  // text with RSV1
    Outcome o = FeedAll(server, wire);
    ASSERT_TRUE(o.status.ok()) << o.status;
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].data, text);
    EXPECT_FALSE(o.events[0].zero_copy);
    ASSERT_TRUE(server.send_binary(Bytes(text)).ok());
    Outcome back = FeedAll(client, TakeOutput(server), 7);
    ASSERT_TRUE(back.status.ok()) << back.status;
    ASSERT_EQ(back.events.size(), 1u);
    EXPECT_EQ(back.events[0].data, text);
  }
}

TEST(Compression, RoundTripWithAndWithoutContextTakeover) {
  DeflateParams takeover;
  size_t with_takeover = 0;
  RoundTrip(takeover, &with_takeover);
  DeflateParams none;
  none.client_no_context_takeover = true;
  none.server_no_context_takeover = true;
  size_t without = 0;
  RoundTrip(none, &without);
  // Context takeover compresses repeats against the previous message.
  EXPECT_LT(with_takeover, without);
}

// Empty messages with context takeover: the second one has nothing left to
// flush and must still be the byte 0x00 (RFC 7692 7.2.3.6), or the receiver's
// appended tail desynchronises its stream and the next message is "corrupt".
TEST(Compression, EmptyMessagesBetweenOthers) {
  Session client(Opts(Role::kClient, DeflateParams{}));
  Session server(Opts(Role::kServer, DeflateParams{}));
  for (const std::string& text : std::vector<std::string>{"", "", std::string(125, 'a'), "", "x"}) {
    ASSERT_TRUE(client.send_text(text).ok());
    Outcome o = FeedAll(server, TakeOutput(client));
    ASSERT_TRUE(o.status.ok()) << o.status << " at " << text.size();
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].data, text);
  }
}

TEST(Compression, EveryWindowSize) {
  for (int bits = 9; bits <= 15; ++bits) {
    DeflateParams d;
    d.client_max_window_bits = bits;
    d.server_max_window_bits = bits;
    size_t wire = 0;
    RoundTrip(d, &wire);
  }
}

TEST(Compression, MemoryReleasedWithoutContextTakeover) {
  DeflateParams none;
  none.client_no_context_takeover = true;
  none.server_no_context_takeover = true;
  Session client(Opts(Role::kClient, none));
  Session server(Opts(Role::kServer, none));
  ASSERT_TRUE(client.send_text("hello hello hello").ok());
  EXPECT_EQ(client.compression_memory(), 0u);
  Outcome o = FeedAll(server, TakeOutput(client));
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(server.compression_memory(), 0u);
  EXPECT_EQ(server.buffered_bytes(), 0u);
  // With takeover the state stays: report its size.
  Session c2(Opts(Role::kClient, DeflateParams{}));
  Session s2(Opts(Role::kServer, DeflateParams{}));
  ASSERT_TRUE(c2.send_text("hello hello hello").ok());
  FeedAll(s2, TakeOutput(c2));
  ASSERT_TRUE(s2.send_text("hello back").ok());
  FeedAll(c2, TakeOutput(s2));
  EXPECT_GT(s2.compression_memory(), 0u);
  std::printf("zlib bytes per session with context takeover (15 bits, memLevel 8): %zu\n",
              s2.compression_memory());
  SessionOptions small = Opts(Role::kServer, DeflateParams{});
  small.deflate->server_max_window_bits = 9;
  small.deflate->client_max_window_bits = 9;
  small.deflate_mem_level = 1;
  Session s3(small);
  ASSERT_TRUE(s3.send_text("x").ok());
  std::printf("zlib deflate bytes with 9 bits, memLevel 1: %zu\n", s3.compression_memory());
}

TEST(Compression, BombIs1009OnInflatedSize) {
  Session client(Opts(Role::kClient, DeflateParams{}));
  ASSERT_TRUE(client.send_binary(Bytes(std::string(1 << 20, '\0'))).ok());
  const std::string wire = TakeOutput(client);
  EXPECT_LT(wire.size(), 2000u);
  SessionOptions o = Opts(Role::kServer, DeflateParams{});
  o.max_message_size = 64 * 1024;
  Session server(o);
  Outcome out = FeedAll(server, wire);
  EXPECT_EQ(CloseCodeOf(out.status), kCloseTooBig);
  EXPECT_LE(server.buffered_bytes(), 1024u);  // the message buffer was released
}

TEST(Compression, UnlimitedMessageSize) {
  Session client(Opts(Role::kClient, DeflateParams{}));
  ASSERT_TRUE(client.send_text("no limit").ok());
  SessionOptions o = Opts(Role::kServer, DeflateParams{});
  o.max_message_size = UINT64_MAX;
  Session server(o);
  Outcome out = FeedAll(server, TakeOutput(client));
  ASSERT_TRUE(out.status.ok()) << out.status;
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].data, "no limit");
}

TEST(Compression, FragmentedCompressedMessageAndRsv1Rules) {
  Session client(Opts(Role::kClient, DeflateParams{}));
  ASSERT_TRUE(client.send_text("fragmented and compressed").ok());
  auto frames = ParseFrames(TakeOutput(client));
  ASSERT_EQ(frames.size(), 1u);
  const std::string& z = frames[0].second;
  const std::string split =
      Frame(0x1, z.substr(0, 3), false, true, 4) + Frame(0x9, "ping") + Frame(0x0, z.substr(3));
  Session server(Opts(Role::kServer, DeflateParams{}));
  Outcome o = FeedAll(server, split);
  ASSERT_TRUE(o.status.ok()) << o.status;
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_EQ(o.events[1].data, "fragmented and compressed");
  // RSV1 on a continuation, or on a control frame: 1002.
  Session s2(Opts(Role::kServer, DeflateParams{}));
  EXPECT_EQ(CloseCodeOf(FeedAll(s2, Frame(0x1, z.substr(0, 3), false, true, 4) +
                                        Frame(0x0, z.substr(3), true, true, 4))
                            .status),
            1002);
  Session s3(Opts(Role::kServer, DeflateParams{}));
  EXPECT_EQ(CloseCodeOf(FeedAll(s3, Frame(0x9, "", true, true, 4)).status), 1002);
  // An uncompressed message on a deflate session is fine.
  Session s4(Opts(Role::kServer, DeflateParams{}));
  Outcome plain = FeedAll(s4, Frame(0x1, "plain"));
  ASSERT_EQ(plain.events.size(), 1u);
  EXPECT_TRUE(plain.events[0].zero_copy);
}

TEST(Compression, CorruptDataIs1002AndBadUtf8Is1007) {
  Session server(Opts(Role::kServer, DeflateParams{}));
  EXPECT_EQ(CloseCodeOf(FeedAll(server, Frame(0x2, "\xff\xff\xff\xff", true, true, 4)).status),
            1002);
  Session client(Opts(Role::kClient, DeflateParams{}));
  ASSERT_TRUE(client.send_text("ok \xed\xa0\x80 bad").ok());  // send does not validate
  Session s2(Opts(Role::kServer, DeflateParams{}));
  EXPECT_EQ(CloseCodeOf(FeedAll(s2, TakeOutput(client)).status), 1007);
}

}  // namespace
}  // namespace gaio::ws
