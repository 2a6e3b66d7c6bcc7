#include "ws/internal/zstream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ws/status.h"

namespace gaio::ws::internal {
namespace {

// zalloc/zfree that count the bytes of zlib's state in *opaque (a size_t).
// Each block carries its size in a 16-byte prefix (keeps malloc's alignment).
constexpr size_t kPrefix = 16;

voidpf CountingAlloc(voidpf opaque, uInt items, uInt size) {
  const size_t n = static_cast<size_t>(items) * size;
  auto* p = static_cast<uint8_t*>(std::malloc(n + kPrefix));
  if (p == nullptr) return Z_NULL;
  std::memcpy(p, &n, sizeof n);
  *static_cast<size_t*>(opaque) += n;
  return p + kPrefix;
}

void CountingFree(voidpf opaque, voidpf address) {
  if (address == Z_NULL) return;
  uint8_t* p = static_cast<uint8_t*>(address) - kPrefix;
  size_t n;
  std::memcpy(&n, p, sizeof n);
  *static_cast<size_t*>(opaque) -= n;
  std::free(p);
}

constexpr uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

absl::Status Inflater::inflate(const uint8_t* in, size_t size, bool finish, std::string* out,
                               uint64_t limit) {
  limit = std::min<uint64_t>(limit, uint64_t{1} << 62);  // limit + 1 must not wrap
  if (!active_) {
    strm_ = z_stream{};
    strm_.zalloc = CountingAlloc;
    strm_.zfree = CountingFree;
    strm_.opaque = &memory_;
    if (inflateInit2(&strm_, -window_bits_) != Z_OK) {
      return MakeCloseStatus(kCloseInternalError, "inflateInit2 failed");
    }
    active_ = true;
  }
  for (int pass = 0; pass < 2; ++pass) {
    const uint8_t* data = pass == 0 ? in : kTail;
    const size_t n = pass == 0 ? size : (finish ? sizeof kTail : 0);
    strm_.next_in = const_cast<Bytef*>(data);
    strm_.avail_in = static_cast<uInt>(n);
    while (n > 0) {
      const size_t old = out->size();
      size_t room = old < 1024 ? 1024 : old;  // grow geometrically
      if (old + room > limit + 1) room = static_cast<size_t>(limit + 1 - old);
      if (room == 0) return MakeCloseStatus(kCloseTooBig, "inflated message too big");
      out->resize(old + room);
      strm_.next_out = reinterpret_cast<Bytef*>(out->data() + old);
      strm_.avail_out = static_cast<uInt>(room);
      const int rc = ::inflate(&strm_, Z_SYNC_FLUSH);
      out->resize(old + room - strm_.avail_out);
      if (out->size() > limit) return MakeCloseStatus(kCloseTooBig, "inflated message too big");
      if (rc == Z_STREAM_END) {
        // A final block: the peer's stream ended; later messages start anew.
        inflateReset(&strm_);
        if (strm_.avail_in == 0) break;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return MakeCloseStatus(kCloseProtocolError, "corrupt compressed data");
      }
      // Done when the input is used up and zlib had output room to spare.
      if (strm_.avail_in == 0 && strm_.avail_out != 0) break;
      if (rc == Z_BUF_ERROR && strm_.avail_out != 0) break;
    }
  }
  return absl::OkStatus();
}

void Inflater::reset() {
  if (active_) inflateEnd(&strm_);
  active_ = false;
}

absl::Status Deflater::deflate(const uint8_t* in, size_t size, std::string* out) {
  if (!active_) {
    strm_ = z_stream{};
    strm_.zalloc = CountingAlloc;
    strm_.zfree = CountingFree;
    strm_.opaque = &memory_;
    if (deflateInit2(&strm_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits_, mem_level_,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return MakeCloseStatus(kCloseInternalError, "deflateInit2 failed");
    }
    active_ = true;
  }
  const size_t start = out->size();
  strm_.next_in = const_cast<Bytef*>(in);
  strm_.avail_in = static_cast<uInt>(size);
  for (;;) {
    const size_t old = out->size();
    const size_t room = deflateBound(&strm_, strm_.avail_in) + 16;
    out->resize(old + room);
    strm_.next_out = reinterpret_cast<Bytef*>(out->data() + old);
    strm_.avail_out = static_cast<uInt>(room);
    const int rc = ::deflate(&strm_, Z_SYNC_FLUSH);
    out->resize(old + room - strm_.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return MakeCloseStatus(kCloseInternalError, "deflate failed");
    }
    if (strm_.avail_in == 0 && strm_.avail_out != 0) break;
  }
  // Z_SYNC_FLUSH ends with an empty stored block 00 00 ff ff: drop it.
  if (out->size() - start >= 4 && std::memcmp(out->data() + out->size() - 4, kTail, 4) == 0) {
    out->resize(out->size() - 4);
  }
  // Nothing left to flush (an empty message after a flush): send the one
  // byte 0x00 of RFC 7692 7.2.3.6, which with the receiver's appended tail
  // is an empty stored block; an empty payload would desynchronise it.
  if (out->size() == start) out->push_back('\0');
  return absl::OkStatus();
}

void Deflater::reset() {
  if (active_) deflateEnd(&strm_);
  active_ = false;
}

}  // namespace gaio::ws::internal
