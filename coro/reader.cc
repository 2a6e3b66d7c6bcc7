#include "coro/reader.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace gaio::coro {

namespace {
absl::Status TooLong(const char* what) {
  return absl::ResourceExhaustedError(std::string(what) + ": piece longer than the maximum");
}
}  // namespace

size_t Reader::Until::operator()(absl::string_view have, size_t scanned) const {
  // The delimiter may straddle what was scanned before: look back its length.
  const size_t from = scanned >= delim.size() ? scanned - delim.size() + 1 : 0;
  const size_t at = have.find(delim, from);
  return at == absl::string_view::npos ? at : at + delim.size();
}

void Reader::DropReturned() {
  start_ += std::exchange(pending_, 0);
  if (start_ == buf_.size()) {
    std::string().swap(buf_);  // empty again: hold no buffer while waiting
    start_ = 0;
    scanned_ = 0;
  }
}

void Reader::Append(absl::string_view bytes) {
  if (start_ > 0) {  // keep the buffer as long as the unreturned bytes only
    buf_.erase(0, start_);
    start_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

template <class EndOf>
Reader::Found Reader::FromBuffer(const EndOf& end_of, size_t max, SwapBytes* piece) {
  const absl::string_view have = Have();
  if (have.empty()) return Found::kMore;
  const size_t end = end_of(have, scanned_);
  if (end == absl::string_view::npos || end > max) {
    scanned_ = have.size();
    return have.size() >= max ? Found::kTooLong : Found::kMore;
  }
  scanned_ = 0;
  pending_ = end;
  *piece = SwapBytes(have.data(), end);
  return Found::kPiece;
}

template <class EndOf>
Reader::Found Reader::FromRead(const SwapBytes& in, const EndOf& end_of, size_t max,
                               SwapBytes* piece, bool in_place) {
  const absl::string_view bytes = in.view();
  if (in_place && Have().empty()) {  // the piece may lie whole in the swap buffer: no copy
    const size_t end = end_of(bytes, 0);
    if (end != absl::string_view::npos && end <= max) {
      if (end < bytes.size()) Append(bytes.substr(end));
      scanned_ = 0;
      *piece = SwapBytes(internal::SwapBufferTag{}, bytes.data(), end);
      return Found::kPiece;
    }
  }
  Append(bytes);
  return FromBuffer(end_of, max, piece);
}

SwapBytes Reader::TakeRest() {
  const absl::string_view have = Have();
  pending_ = have.size();
  scanned_ = 0;
  return SwapBytes(have.data(), have.size());
}

Task<absl::StatusOr<SwapBytes>> Reader::read_until(std::string delim, size_t max,
                                                   absl::Time deadline) {
  if (delim.empty()) co_return absl::InvalidArgumentError("read_until: empty delimiter");
  DropReturned();
  scanned_ = 0;  // the last call's scan was for another piece
  const Until end_of{delim};
  SwapBytes piece;
  for (Found f = FromBuffer(end_of, max, &piece);; f = Found::kMore) {
    if (f == Found::kPiece) co_return piece;
    if (f == Found::kTooLong) co_return TooLong("read_until");
    absl::StatusOr<SwapBytes> in = co_await socket_->read(deadline);
    if (!in.ok()) co_return in.status();
    f = FromRead(*in, end_of, max, &piece);
    if (f == Found::kPiece) co_return piece;
    if (f == Found::kTooLong) co_return TooLong("read_until");
  }
}

Task<absl::StatusOr<SwapBytes>> Reader::read_exactly(size_t n, absl::Time deadline) {
  DropReturned();
  if (n == 0) co_return SwapBytes(nullptr, 0);
  const Exactly end_of{n};
  SwapBytes piece;
  if (FromBuffer(end_of, n, &piece) == Found::kPiece) co_return piece;
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await socket_->read(deadline);
    if (!in.ok()) co_return in.status();
    if (FromRead(*in, end_of, n, &piece) == Found::kPiece) co_return piece;
  }
}

Task<absl::StatusOr<std::string>> Reader::read_all(size_t max, absl::Time deadline) {
  DropReturned();
  std::string all(Have());
  pending_ = all.size();
  DropReturned();
  for (;;) {
    if (all.size() > max) co_return TooLong("read_all");
    absl::StatusOr<SwapBytes> in = co_await socket_->read(deadline);
    if (!in.ok()) {
      if (IsEof(in.status())) co_return all;
      co_return in.status();
    }
    all.append(in->data(), in->size());
  }
}

AsyncGenerator<SwapBytes> Reader::chunks(size_t n, absl::Duration idle) {
  if (n == 0) co_return absl::InvalidArgumentError("chunks: n == 0");
  const Exactly end_of{n};
  scanned_ = 0;
  for (;;) {
    DropReturned();
    SwapBytes piece;
    if (FromBuffer(end_of, n, &piece) != Found::kPiece) {
      absl::StatusOr<SwapBytes> in = co_await socket_->read(Deadline(idle));
      if (!in.ok()) {
        if (!IsEof(in.status())) co_return in.status();
        if (buffered() > 0) co_yield TakeRest();
        co_return absl::OkStatus();
      }
      if (FromRead(*in, end_of, n, &piece) != Found::kPiece) continue;
    }
    co_yield piece;
  }
}

namespace {
Reader& Deref(Reader* r) { return *r; }
Reader& Deref(Reader& r) { return r; }
}  // namespace

template <class R>
AsyncGenerator<SwapBytes> Reader::LinesOf(R r, size_t max_line, absl::Duration idle) {
  Reader& self = Deref(r);
  max_line = std::min(max_line, kMaxMaxLine);
  const Until end_of{"\n"};
  const size_t max = max_line + 1;  // with its '\n'
  self.scanned_ = 0;
  for (;;) {
    self.DropReturned();
    SwapBytes piece;
    Found f = self.FromBuffer(end_of, max, &piece);
    if (f == Found::kMore) {
      absl::StatusOr<SwapBytes> in = co_await self.socket_->read(Deadline(idle));
      if (!in.ok()) {
        if (!IsEof(in.status())) co_return in.status();
        if (self.buffered() > 0) co_yield self.TakeRest();
        co_return absl::OkStatus();
      }
      f = self.FromRead(*in, end_of, max, &piece, /*in_place=*/false);
      if (f == Found::kMore) continue;
    }
    if (f == Found::kTooLong) co_return absl::ResourceExhaustedError("lines: line too long");
    co_yield piece.first(piece.size() - 1);
  }
}

AsyncGenerator<SwapBytes> Reader::lines(size_t max_line, absl::Duration idle) {
  return LinesOf<Reader*>(this, max_line, idle);
}

AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line, absl::Duration idle) {
  return Reader::LinesOf<Reader>(Reader(socket), max_line, idle);
}

}  // namespace gaio::coro
