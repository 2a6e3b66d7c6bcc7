// Frame headers (all three length encodings, at their boundaries), masking
// against a byte-at-a-time reference, and UTF-8 validation.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ws/frame.h"
#include "ws/mask.h"
#include "ws/utf8.h"

namespace gaio::ws {
namespace {

std::vector<uint8_t> Write(const FrameHeader& h) {
  uint8_t out[kMaxFrameHeaderSize];
  const size_t n = WriteFrameHeader(h, out);
  return std::vector<uint8_t>(out, out + n);
}

TEST(Frame, LengthEncodingsAtTheirBoundaries) {
  struct Case {
    uint64_t size;
    std::vector<uint8_t> bytes;
  };
  const Case cases[] = {
      {0, {0x82, 0x00}},
      {125, {0x82, 125}},
      {126, {0x82, 126, 0x00, 126}},
      {65535, {0x82, 126, 0xff, 0xff}},
      {65536, {0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
      {uint64_t{1} << 40, {0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    FrameHeader h;
    h.opcode = 2;
    h.payload_size = c.size;
    EXPECT_EQ(Write(h), c.bytes) << c.size;
    FrameHeader parsed;
    EXPECT_EQ(ParseFrameHeader(c.bytes.data(), c.bytes.size(), &parsed),
              static_cast<int>(c.bytes.size()));
    EXPECT_EQ(parsed.payload_size, c.size);
    // Every proper prefix asks for more.
    for (size_t i = 0; i < c.bytes.size(); ++i) {
      EXPECT_EQ(ParseFrameHeader(c.bytes.data(), i, &parsed), 0);
    }
  }
}

TEST(Frame, BitsAndMaskKeyRoundTrip) {
  FrameHeader h;
  h.fin = false;
  h.rsv = 5;
  h.opcode = 0x9;
  h.masked = true;
  h.mask_key[0] = 1;
  h.mask_key[1] = 2;
  h.mask_key[2] = 3;
  h.mask_key[3] = 4;
  h.payload_size = 300;
  const std::vector<uint8_t> bytes = Write(h);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x59, 0xfe, 0x01, 0x2c, 1, 2, 3, 4}));
  FrameHeader p;
  ASSERT_EQ(ParseFrameHeader(bytes.data(), bytes.size(), &p), 8);
  EXPECT_FALSE(p.fin);
  EXPECT_EQ(p.rsv, 5);
  EXPECT_EQ(p.opcode, 0x9);
  EXPECT_TRUE(p.masked);
  EXPECT_EQ(p.mask_key[3], 4);
  EXPECT_EQ(p.payload_size, 300u);
}

TEST(Frame, SixtyFourBitLengthWithTopBitIsAnError) {
  const uint8_t bytes[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
  FrameHeader h;
  EXPECT_EQ(ParseFrameHeader(bytes, sizeof bytes, &h), -1);
}

TEST(Mask, MatchesBytewiseReferenceAtAllOffsetsAndAlignments) {
  const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
  std::vector<uint8_t> src(300);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t align = 0; align < 8; ++align) {
    for (size_t size : {0, 1, 3, 7, 8, 9, 31, 32, 33, 64, 255}) {
      for (size_t offset = 0; offset < 4; ++offset) {
        std::vector<uint8_t> buf(src.data(), src.data() + align + size);
        MaskInPlace(buf.data() + align, size, key, offset);
        for (size_t i = 0; i < size; ++i) {
          ASSERT_EQ(buf[align + i], src[align + i] ^ key[(offset + i) % 4])
              << "align " << align << " size " << size << " offset " << offset << " i " << i;
        }
      }
    }
  }
}

TEST(Mask, InPiecesEqualsWhole) {
  const uint8_t key[4] = {1, 2, 3, 4};
  std::string whole(1000, 'x');
  std::string pieces = whole;
  MaskInPlace(reinterpret_cast<uint8_t*>(whole.data()), whole.size(), key);
  size_t done = 0;
  for (size_t n : {1, 5, 17, 100, 877}) {
    MaskInPlace(reinterpret_cast<uint8_t*>(pieces.data()) + done, n, key, done);
    done += n;
  }
  EXPECT_EQ(whole, pieces);
}

bool Valid(absl::string_view s) {
  return IsValidUtf8(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Utf8, AcceptsValidAndRejectsOverlongsSurrogatesAndBeyondMax) {
  EXPECT_TRUE(Valid(""));
  EXPECT_TRUE(Valid("hello, world, plain ascii of some length"));
  EXPECT_TRUE(Valid("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
  EXPECT_TRUE(Valid("\xf4\x8f\xbf\xbf"));                              // U+10FFFF
  EXPECT_TRUE(Valid("\xed\x9f\xbf"));                                  // U+D7FF
  EXPECT_FALSE(Valid("\xc0\xaf"));                                     // overlong '/'
  EXPECT_FALSE(Valid("\xe0\x80\xaf"));                                 // overlong
  EXPECT_FALSE(Valid("\xf0\x80\x80\xaf"));                             // overlong
  EXPECT_FALSE(Valid("\xed\xa0\x80"));                                 // U+D800 surrogate
  EXPECT_FALSE(Valid("\xed\xbf\xbf"));                                 // U+DFFF surrogate
  EXPECT_FALSE(Valid("\xf4\x90\x80\x80"));                             // U+110000
  EXPECT_FALSE(Valid("\xff"));
  EXPECT_FALSE(Valid("\xce"));  // truncated
  EXPECT_FALSE(Valid("\x80"));  // lone continuation
}

TEST(Utf8, CodePointSplitAcrossCallsAndFailFast) {
  const std::string s = "a\xf0\x9f\x98\x80z";  // U+1F600 between ASCII
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(reinterpret_cast<const uint8_t*>(s.data()), cut));
    EXPECT_EQ(v.complete(), cut <= 1 || cut >= 5);
    EXPECT_TRUE(v.feed(reinterpret_cast<const uint8_t*>(s.data()) + cut, s.size() - cut));
    EXPECT_TRUE(v.complete());
  }
  Utf8Validator v;
  EXPECT_FALSE(v.feed(reinterpret_cast<const uint8_t*>("\xed\xa0"), 2));  // surrogate lead
}

}  // namespace
}  // namespace gaio::ws
