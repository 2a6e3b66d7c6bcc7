#include "coro/reader.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "coro/event_loop.h"

namespace gaio::coro {

// ---- PieceOp ----

Reader::PieceOp::PieceOp(Reader* r, bool exactly, absl::string_view delim, size_t max) noexcept
    : r_(r),
      delim_(delim.data()),
      delim_size_(static_cast<uint32_t>(delim.size())),
      max_(static_cast<uint32_t>(std::min(max, kMaxMaxLine + 1))),
      exactly_(exactly) {}

void Reader::PieceOp::set_deadline(absl::Time t) {
  idle_ = false;
  when_ = t == absl::InfiniteFuture() ? kNever : absl::ToUnixNanos(t);
}

void Reader::PieceOp::set_idle(absl::Duration d) {
  idle_ = true;
  when_ = d == absl::InfiniteDuration() ? kNever : absl::ToInt64Nanoseconds(d);
}

absl::Time Reader::PieceOp::ReadDeadline() const {
  if (when_ == kNever) return absl::InfiniteFuture();
  return idle_ ? absl::Now() + absl::Nanoseconds(when_) : absl::FromUnixNanos(when_);
}

const char* Reader::PieceOp::TooLong() const {
  if (copy_) return "lines: line too long";
  if (trim_) return "read_line: line longer than its maximum";
  if (bulk_) return "read_lines: line longer than its maximum";
  return "read_until: piece longer than its maximum";
}

absl::StatusOr<SwapBytes> Reader::PieceOp::await_resume() const {
  if (!status_.ok()) return status_;
  if (swap_) return SwapBytes(internal::SwapBufferTag{}, data_, size_);
  return SwapBytes(data_, size_);
}

Reader::PieceOp Reader::read_line(size_t max_line, absl::Duration idle) {
  PieceOp op(this, false, "\n", std::min(max_line, kMaxMaxLine) + 1);
  op.set_idle(idle);
  op.rest_at_eof_ = true;
  op.trim_ = true;
  return op;
}

Reader::PieceOp Reader::read_lines(size_t max_line, absl::Duration idle) {
  PieceOp op(this, false, "\n", std::min(max_line, kMaxMaxLine) + 1);
  op.set_idle(idle);
  op.bulk_ = true;
  return op;
}

Reader::PieceOp Reader::read_until(absl::string_view delim, size_t max, absl::Time deadline) {
  PieceOp op(this, false, delim, max);
  op.set_deadline(deadline);
  return op;
}

Reader::PieceOp Reader::read_exactly(size_t n, absl::Time deadline) {
  PieceOp op(this, true, {}, n);
  op.set_deadline(deadline);
  return op;
}

Reader::PieceOp Reader::read_until(absl::string_view delim, size_t max, absl::Duration idle) {
  PieceOp op = read_until(delim, max);
  op.set_idle(idle);
  return op;
}

Reader::PieceOp Reader::read_exactly(size_t n, absl::Duration idle) {
  PieceOp op = read_exactly(n);
  op.set_idle(idle);
  return op;
}

// ---- The steps ----

size_t Reader::EndOf(const PieceOp& op, absl::string_view have, bool* too_long) const {
  if (op.exactly_) return have.size() >= op.max_ ? op.max_ : absl::string_view::npos;
  // The delimiter may straddle what was scanned before: look back its length.
  const absl::string_view delim = op.delim();
  const size_t from = scanned_ >= delim.size() ? scanned_ - delim.size() + 1 : 0;
  const size_t at = have.find(delim, from);
  if (at == absl::string_view::npos || !op.bulk_) {
    return at == absl::string_view::npos ? at : at + delim.size();
  }
  // read_lines: through the last '\n', each line within the maximum.
  size_t start = 0;
  for (size_t nl = at; nl != absl::string_view::npos; nl = have.find('\n', start)) {
    if (nl + 1 - start > op.max_) {
      *too_long = start == 0;  // else: return the lines before it first
      return start == 0 ? absl::string_view::npos : start;
    }
    start = nl + 1;
  }
  return start;
}

void Reader::SetPiece(PieceOp* op, const char* data, size_t size, bool swap) {
  op->data_ = data;
  op->size_ =
      static_cast<uint32_t>(op->trim_ && size > 0 && data[size - 1] == '\n' ? size - 1 : size);
  op->swap_ = swap;
  scanned_ = 0;
}

void Reader::DropReturned() {
  start_ += std::exchange(pending_, 0);
  if (start_ == buf_.size()) {
    buf_.Release();  // empty again: hold no buffer while waiting
    start_ = 0;
    scanned_ = 0;
  }
}

void Reader::Append(absl::string_view bytes) {
  if (start_ > 0) {  // keep the buffer as long as the unreturned bytes only
    buf_.DropFront(start_);
    start_ = 0;
  }
  buf_.Append(bytes);
}

Reader::Found Reader::FromBuffer(PieceOp* op) {
  const absl::string_view have = Have();
  if (have.empty()) return Found::kMore;
  bool too_long = false;
  const size_t end = EndOf(*op, have, &too_long);
  if (too_long) return Found::kTooLong;
  if (end == absl::string_view::npos || (!op->bulk_ && end > op->max_)) {
    scanned_ = static_cast<uint32_t>(have.size());
    return have.size() >= op->max_ ? Found::kTooLong : Found::kMore;
  }
  pending_ = static_cast<uint32_t>(end);
  SetPiece(op, have.data(), end, false);
  return Found::kPiece;
}

Reader::Found Reader::FromRead(absl::string_view bytes, PieceOp* op) {
  if (!op->copy_ && Have().empty()) {  // the piece may lie whole in the swap buffer
    bool too_long = false;
    const size_t end = EndOf(*op, bytes, &too_long);
    if (end != absl::string_view::npos && !too_long && (op->bulk_ || end <= op->max_)) {
      if (end < bytes.size()) Append(bytes.substr(end));
      SetPiece(op, bytes.data(), end, true);
      return Found::kPiece;
    }
  }
  Append(bytes);
  return FromBuffer(op);
}

bool Reader::Begin(PieceOp* op, std::coroutine_handle<> h, internal::Fiber* fiber) {
  DropReturned();
  scanned_ = 0;  // the last call's scan may have been for another piece
  if (fiber->cancelled()) {
    op->status_ = absl::CancelledError("Reader: task cancelled");
    return false;
  }
  if (!op->exactly_ && op->delim_size_ == 0) {
    op->status_ = absl::InvalidArgumentError("read_until: empty delimiter");
    return false;
  }
  if (op->exactly_ && op->max_ == 0) {
    SetPiece(op, nullptr, 0, false);
    return false;
  }
  switch (FromBuffer(op)) {
    case Found::kPiece:
      return false;
    case Found::kTooLong:
      op->status_ = absl::ResourceExhaustedError(op->TooLong());
      return false;
    case Found::kMore:
      break;
  }
  if (eof_) {  // no more reads
    if (op->rest_at_eof_ && buffered() > 0) {
      pending_ = static_cast<uint32_t>(buffered());
      SetPiece(op, Have().data(), Have().size(), false);
    } else {
      op->status_ = absl::OutOfRangeError("end of file");
    }
    return false;
  }
  absl::Status s = Submit(*op);
  if (!s.ok()) {
    op->status_ = std::move(s);
    return false;
  }
  op_ = op;
  waiting_ = h;
  fiber_ = fiber;
  fiber->set_hook(this);
  return true;
}

absl::Status Reader::Submit(const PieceOp& op) {
  EventLoop* loop = socket_->loop();
  if (loop == nullptr || EventLoop::current() != loop) {
    return absl::FailedPreconditionError("Reader: not on the Socket's running loop");
  }
  return socket_->Submitted(
      loop->watcher().read_timeout(ctx(), socket_->fd(), nullptr, op.ReadDeadline()));
}

void Reader::Finish() {
  fiber_->clear_hook();
  op_ = nullptr;
  std::exchange(waiting_, nullptr).resume();
}

void Reader::complete(const OpResult& r) noexcept {
  PieceOp* op = op_;
  if (!r.status.ok()) {
    if (IsEof(r.status)) eof_ = true;
    if (IsEof(r.status) && op->rest_at_eof_ && buffered() > 0) {
      pending_ = static_cast<uint32_t>(buffered());
      SetPiece(op, Have().data(), Have().size(), false);
    } else {
      op->status_ = r.status;
    }
    Finish();
    return;
  }
  switch (FromRead(absl::string_view(r.buffer.data(), r.size), op)) {
    case Found::kPiece:
      Finish();
      return;
    case Found::kTooLong:
      op->status_ = absl::ResourceExhaustedError(op->TooLong());
      Finish();
      return;
    case Found::kMore:
      break;
  }
  if (fiber_->cancelled()) {  // what was read stays buffered
    op->status_ = absl::CancelledError("Reader: task cancelled");
    Finish();
    return;
  }
  absl::Status s = Submit(*op);
  if (!s.ok()) {
    op->status_ = std::move(s);
    Finish();
  }
}

void Reader::request_cancel() noexcept {
  if (EventLoop* loop = EventLoop::current()) {
    loop->watcher().cancel(socket_->fd(), ctx()).IgnoreError();
  }
}

// ---- Tasks and generators ----

Task<absl::StatusOr<std::string>> Reader::read_all(size_t max, absl::Time deadline) {
  DropReturned();
  std::string all(Have());
  pending_ = static_cast<uint32_t>(all.size());
  DropReturned();
  for (;;) {
    if (all.size() > max) co_return absl::ResourceExhaustedError("read_all: stream too long");
    if (eof_) co_return all;
    absl::StatusOr<SwapBytes> in = co_await socket_->read(deadline);
    if (!in.ok()) {
      if (!IsEof(in.status())) co_return in.status();
      eof_ = true;
      continue;
    }
    all.append(in->data(), in->size());
  }
}

AsyncGenerator<SwapBytes> Reader::chunks(size_t n, absl::Duration idle) {
  if (n == 0) co_return absl::InvalidArgumentError("chunks: n == 0");
  for (;;) {
    PieceOp op = read_exactly(n, idle);
    op.rest_at_eof_ = true;
    absl::StatusOr<SwapBytes> chunk = co_await op;
    if (!chunk.ok()) co_return IsEof(chunk.status()) ? absl::OkStatus() : chunk.status();
    co_yield *chunk;
  }
}

namespace {
Reader& Deref(Reader* r) { return *r; }
Reader& Deref(Reader& r) { return r; }
}  // namespace

template <class R>
AsyncGenerator<SwapBytes> Reader::LinesOf(R r, size_t max_line, absl::Duration idle) {
  Reader& self = Deref(r);
  for (;;) {
    PieceOp op = self.read_line(max_line, idle);
    op.copy_ = true;
    absl::StatusOr<SwapBytes> line = co_await op;
    if (!line.ok()) co_return IsEof(line.status()) ? absl::OkStatus() : line.status();
    co_yield *line;
  }
}

AsyncGenerator<SwapBytes> Reader::lines(size_t max_line, absl::Duration idle) {
  return LinesOf<Reader*>(this, max_line, idle);
}

AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line, absl::Duration idle) {
  return Reader::LinesOf<Reader>(Reader(socket), max_line, idle);
}

}  // namespace gaio::coro
