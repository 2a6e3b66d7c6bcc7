// gaio::codec: ByteBuffer bookkeeping, and the length-prefixed and line
// codecs fed whole and a byte at a time, with their size limits.
#include <cstring>
#include <string>
#include <vector>

#include "codec/byte_buffer.h"
#include "codec/length_prefixed.h"
#include "codec/line.h"
#include "gtest/gtest.h"

namespace gaio::codec {
namespace {

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Str(absl::Span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Feeds `stream` through a ByteBuffer in pieces of `piece` bytes, decoding
// every complete frame; returns the frames, or the first failure's message.
std::vector<std::string> DecodeStream(const Decoder& d, absl::string_view stream, size_t piece,
                                      absl::Status* status) {
  ByteBuffer buffer;
  std::vector<std::string> frames;
  *status = absl::OkStatus();
  for (size_t pos = 0; pos < stream.size(); pos += piece) {
    const size_t n = std::min(piece, stream.size() - pos);
    absl::Span<uint8_t> room = buffer.reserve(n);
    std::memcpy(room.data(), stream.data() + pos, n);
    buffer.commit(n);
    for (;;) {
      absl::StatusOr<Decoded> r = d.decode(buffer.data());
      if (!r.ok()) {
        *status = r.status();
        return frames;
      }
      if (r->consumed == 0) break;
      frames.push_back(Str(r->frame));
      buffer.consume(r->consumed);
    }
  }
  EXPECT_TRUE(buffer.empty());
  EXPECT_TRUE(buffer.release());
  EXPECT_EQ(buffer.capacity(), 0u);
  return frames;
}

TEST(ByteBuffer, ReserveCommitConsumeCompactAndRelease) {
  ByteBuffer b;
  EXPECT_TRUE(b.empty());
  absl::Span<uint8_t> room = b.reserve(10);
  ASSERT_GE(room.size(), 10u);
  std::memcpy(room.data(), "0123456789", 10);
  b.commit(10);
  EXPECT_EQ(Str(b.data()), "0123456789");
  b.consume(4);
  EXPECT_EQ(Str(b.data()), "456789");
  const size_t capacity = b.capacity();
  b.reserve(capacity - 6);  // fits after moving the data to the front
  EXPECT_EQ(b.capacity(), capacity);
  EXPECT_EQ(Str(b.data()), "456789");
  b.reserve(capacity);  // grows, keeping the data
  EXPECT_GT(b.capacity(), capacity);
  EXPECT_EQ(Str(b.data()), "456789");
  EXPECT_FALSE(b.release());
  b.append(Bytes("ab"));
  EXPECT_EQ(Str(b.data()), "456789ab");
  b.consume(100);
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.release());
}

TEST(LengthPrefixed, EncodeDecodeWholeAndByteAtATime) {
  LengthPrefixedCodec codec(1000);
  ByteBuffer out;
  for (absl::string_view m : {"", "a", "hello world"})
    ASSERT_TRUE(codec.encode(Bytes(m), &out).ok());
  const std::string big(1000, 'b');
  ASSERT_TRUE(codec.encode(Bytes(big), &out).ok());
  const std::string stream = Str(out.data());
  EXPECT_EQ(stream.substr(0, 9), std::string("\0\0\0\0\0\0\0\x01"
                                             "a",
                                             9));
  for (size_t piece : {size_t{1}, size_t{3}, stream.size()}) {
    absl::Status status;
    std::vector<std::string> frames = DecodeStream(codec, stream, piece, &status);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(frames, (std::vector<std::string>{"", "a", "hello world", big}));
  }
}

TEST(LengthPrefixed, MaximumSize) {
  LengthPrefixedCodec codec(16);
  ByteBuffer out;
  EXPECT_EQ(codec.encode(Bytes(std::string(17, 'x')), &out).code(),
            absl::StatusCode::kInvalidArgument);
  // Refused as soon as the length is read, before the payload.
  absl::StatusOr<Decoded> r = codec.decode(Bytes(std::string("\0\0\0\x11", 4)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(codec.decode(Bytes(std::string("\0\0\0\x10", 4)))->consumed, 0u);
  uint8_t prefix[4];
  ASSERT_TRUE(codec.encode_prefix(16, prefix).ok());
  EXPECT_EQ(prefix[3], 16);
}

TEST(Line, CrlfAndLfAndByteAtATime) {
  LineCodec codec(10);
  const std::string stream = "one\r\ntwo\n\nten chars!\r\n";
  for (size_t piece : {size_t{1}, size_t{4}, stream.size()}) {
    absl::Status status;
    std::vector<std::string> lines = DecodeStream(codec, stream, piece, &status);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "", "ten chars!"}));
  }
  ByteBuffer out;
  ASSERT_TRUE(codec.encode("hi", &out).ok());
  EXPECT_EQ(Str(out.data()), "hi\n");
  EXPECT_FALSE(codec.encode("a\nb", &out).ok());
  EXPECT_FALSE(codec.encode(std::string(11, 'x'), &out).ok());
}

TEST(Line, TooLongFailsWithoutWaitingForTheNewline) {
  LineCodec codec(4);
  absl::Status status;
  DecodeStream(codec, "abcdefgh", 1, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  DecodeStream(codec, "abcde\n", 6, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(codec.decode(Bytes("abcd\r"))->consumed == 0);
}

}  // namespace
}  // namespace gaio::codec
