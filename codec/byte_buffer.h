// gaio::codec::ByteBuffer: a growable byte buffer for users' own protocols:
// read into reserve()d space, commit() what arrived, decode from data(),
// consume() what was decoded.
//
// Ownership: the buffer owns its storage. Spans from reserve() and data() are
// valid until the next non-const call. consume() of everything resets the
// read and write positions without freeing; release() frees the storage when
// the buffer is empty (an idle connection then holds nothing).
// Errors: none (allocation failure terminates, as in the rest of the project's
// containers). Thread safety: one thread at a time.
#ifndef GAIO_CODEC_BYTE_BUFFER_H_
#define GAIO_CODEC_BYTE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/types/span.h"

namespace gaio::codec {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;

  // At least `n` writable bytes after the data (moves the data to the front
  // or grows, geometrically, when needed).
  absl::Span<uint8_t> reserve(size_t n);
  // The first `n` bytes of the last reserve() become data (n <= that size).
  void commit(size_t n);
  // Copies `bytes` after the data.
  void append(absl::Span<const uint8_t> bytes);

  absl::Span<const uint8_t> data() const { return {storage_.get() + begin_, end_ - begin_}; }
  absl::Span<uint8_t> mutable_data() { return {storage_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return capacity_; }

  // Drops the first `n` bytes of data (n <= size()).
  void consume(size_t n);
  // Frees the storage if the buffer is empty; returns whether it did.
  bool release();

 private:
  std::unique_ptr<uint8_t[]> storage_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace gaio::codec

#endif  // GAIO_CODEC_BYTE_BUFFER_H_
