#include "codec/byte_buffer.h"

#include <algorithm>
#include <cstring>

namespace gaio::codec {

absl::Span<uint8_t> ByteBuffer::reserve(size_t n) {
  if (capacity_ - end_ < n) {
    const size_t size = end_ - begin_;
    if (capacity_ - size >= n && begin_ > 0) {
      std::memmove(storage_.get(), storage_.get() + begin_, size);
    } else {
      const size_t capacity = std::max({capacity_ * 2, size + n, size_t{64}});
      std::unique_ptr<uint8_t[]> bigger(new uint8_t[capacity]);  // not zeroed
      if (size > 0) std::memcpy(bigger.get(), storage_.get() + begin_, size);
      storage_ = std::move(bigger);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = size;
  }
  return {storage_.get() + end_, capacity_ - end_};
}

void ByteBuffer::commit(size_t n) { end_ = std::min(end_ + n, capacity_); }

void ByteBuffer::append(absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  absl::Span<uint8_t> room = reserve(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

void ByteBuffer::consume(size_t n) {
  begin_ += std::min(n, end_ - begin_);
  if (begin_ == end_) begin_ = end_ = 0;
}

bool ByteBuffer::release() {
  if (!empty()) return false;
  storage_.reset();
  capacity_ = begin_ = end_ = 0;
  return true;
}

}  // namespace gaio::codec
