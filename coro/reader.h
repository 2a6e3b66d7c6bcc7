// Reader: lines, delimited and fixed-size pieces, and whole streams read from
// a Socket, with deadlines, on swap-buffer reads (asyncio's StreamReader:
// readline, readuntil, readexactly, read(-1)).
//
//   Reader r(socket);
//   absl::StatusOr<SwapBytes> line = co_await r.read_line(kDefaultMaxLine, absl::Seconds(300));
//   absl::StatusOr<SwapBytes> head = co_await r.read_until("\r\n\r\n", 8192, deadline);
//   absl::StatusOr<SwapBytes> body = co_await r.read_exactly(length, deadline);
//
// Cost. read_line, read_until and read_exactly are awaiters with no frame of
// their own: the Reader itself follows the reads (it is the requests'
// Watcher ctx), so a task waiting for a line holds the Reader (72 bytes) and
// the awaiter (56), no coroutine frame, no read buffer and no timer (a deadline is the read
// request's own). The stream is read into the Watcher's swap buffer; a
// piece that lies whole in one read is returned in place, pointing into the
// swap buffer (no copy); bytes left over for a later call are copied into
// the Reader's buffer, which is released as soon as it is empty again.
// lines() and chunks() are generators over the same (one frame each);
// lines() copies each line into the Reader's buffer, so that a line stays
// valid through a combinator's waits (bytes.h). read_all() is a task.
//
// Values. A returned SwapBytes is valid until the caller's next co_await
// and until the Reader's next call, whichever comes first. A read_until
// piece ends with its delimiter; a line has no '\n' (a '\r' before it is
// kept).
//
// Results: OK; DeadlineExceeded when `deadline` passes (read_until,
// read_exactly, read_all) or no byte arrives for `idle` (read_line, lines,
// chunks, and read_until / read_exactly given a Duration); ResourceExhausted when a piece would
// exceed `max` without being found (read_until's max counts the delimiter, max_line does not count
// the
// '\n', read_all's max is the whole stream); at end of file, read_line and
// chunks return what is left as a last piece, then (like read_until and
// read_exactly, which leave a partial piece buffered: buffered()) the end of
// file status (IsEof); the read's error otherwise (Cancelled when the task is
// cancelled: bytes already read stay buffered). After an error other than
// DeadlineExceeded, ResourceExhausted or end of file the stream's position is
// unknown: stop using it. InvalidArgument: read_until with an empty
// delimiter, chunks with n == 0. The generators end with OK at end of file,
// else with the error.
//
// Ownership and threads: the Reader refers to `socket`, which must outlive
// it, and should be its Socket's only reader. One call at a time; co_await
// each awaiter at once (it refers to its arguments); do not move or destroy
// the Reader while a call waits. Loop thread only.
#ifndef GAIO_CORO_READER_H_
#define GAIO_CORO_READER_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coro/bytes.h"
#include "coro/generator.h"
#include "coro/internal/byte_buffer.h"
#include "coro/internal/fiber.h"
#include "coro/socket.h"
#include "coro/task.h"

namespace gaio::coro {

inline constexpr size_t kDefaultMaxLine = 1 << 20;
inline constexpr size_t kMaxMaxLine = size_t{1} << 31;  // larger max_line values are clamped

class Reader : private internal::Operation {
 public:
  explicit Reader(Socket& socket) : socket_(&socket) {}
  Reader(Reader&&) = default;  // not while a call waits
  Reader& operator=(Reader&&) = default;

  // The awaiter of read_line, read_until and read_exactly (56 bytes).
  class [[nodiscard]] PieceOp {
   public:
    bool await_ready() const noexcept {
      internal::BumpAwaitEpoch();
      return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return r_->Begin(this, h, h.promise().fiber());
    }
    absl::StatusOr<SwapBytes> await_resume() const;

   private:
    friend class Reader;
    static constexpr int64_t kNever = INT64_MAX;
    PieceOp(Reader* r, bool exactly, absl::string_view delim, size_t max) noexcept;
    void set_deadline(absl::Time t);
    void set_idle(absl::Duration d);
    // The next read's deadline: `idle` after it is made, or the deadline.
    absl::Time ReadDeadline() const;
    absl::string_view delim() const { return absl::string_view(delim_, delim_size_); }
    const char* TooLong() const;

    Reader* r_;
    const char* delim_;  // read_until, read_line
    uint32_t delim_size_;
    uint32_t max_;                // the longest piece; read_exactly: its size
    int64_t when_ = kNever;       // deadline (Unix ns) or, with idle_, the idle time (ns)
    const char* data_ = nullptr;  // the outcome, set before the task resumes
    absl::Status status_;
    uint32_t size_ = 0;
    bool exactly_ : 1;
    bool idle_ : 1 = false;
    bool rest_at_eof_ : 1 = false;  // read_line, chunks: the rest is a last piece
    bool trim_ : 1 = false;         // read_line: without the '\n'
    bool copy_ : 1 = false;         // lines(): never point into the swap buffer
    bool bulk_ : 1 = false;         // read_lines: through the last '\n' at hand
    bool swap_ : 1 = false;         // data_ is in the swap buffer
  };

  PieceOp read_line(size_t max_line = kDefaultMaxLine,
                    absl::Duration idle = absl::InfiniteDuration());
  // Every complete line at hand, at least one, each with its '\n': the bytes
  // through the last '\n' read so far (for relaying lines in batches; a line
  // longer than max_line, '\n' not counted, is ResourceExhausted once the
  // lines before it were returned). End of file: an unfinished last line
  // stays buffered, as with read_until.
  PieceOp read_lines(size_t max_line = kDefaultMaxLine,
                     absl::Duration idle = absl::InfiniteDuration());
  PieceOp read_until(absl::string_view delim, size_t max,
                     absl::Time deadline = absl::InfiniteFuture());
  PieceOp read_exactly(size_t n, absl::Time deadline = absl::InfiniteFuture());
  // The same with an idle timeout: DeadlineExceeded when no byte arrives
  // for `idle` (each read's own deadline), however long the piece takes.
  PieceOp read_until(absl::string_view delim, size_t max, absl::Duration idle);
  PieceOp read_exactly(size_t n, absl::Duration idle);
  // Everything up to end of file.
  Task<absl::StatusOr<std::string>> read_all(size_t max,
                                             absl::Time deadline = absl::InfiniteFuture());
  // Pieces of exactly n bytes (the last may be shorter).
  AsyncGenerator<SwapBytes> chunks(size_t n, absl::Duration idle = absl::InfiniteDuration());
  AsyncGenerator<SwapBytes> lines(size_t max_line = kDefaultMaxLine,
                                  absl::Duration idle = absl::InfiniteDuration());

  // Bytes read from the socket and not yet returned.
  size_t buffered() const { return buf_.size() - start_ - pending_; }

 private:
  friend AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line, absl::Duration idle);
  enum class Found { kPiece, kTooLong, kMore };

  // PieceOp's steps (reader.cc).
  bool Begin(PieceOp* op, std::coroutine_handle<> h, internal::Fiber* fiber);
  void complete(const OpResult& r) noexcept override;
  void request_cancel() noexcept override;
  absl::Status Submit(const PieceOp& op);
  void Finish();  // resumes the waiting task
  Found FromBuffer(PieceOp* op);
  Found FromRead(absl::string_view bytes, PieceOp* op);
  // Where the piece ends in `have` (npos: not yet); *too_long when a line
  // in it is longer than the maximum (read_lines).
  size_t EndOf(const PieceOp& op, absl::string_view have, bool* too_long) const;
  void SetPiece(PieceOp* op, const char* data, size_t size, bool swap);
  void DropReturned();
  void Append(absl::string_view bytes);
  absl::string_view Have() const {
    return absl::string_view(buf_.data() + start_, buf_.size() - start_);
  }
  template <class R>
  static AsyncGenerator<SwapBytes> LinesOf(R r, size_t max_line, absl::Duration idle);

  Socket* socket_;
  internal::ByteBuffer buf_;  // unreturned bytes from buf_[start_] on
  uint32_t start_ = 0;
  uint32_t pending_ = 0;   // bytes at buf_[start_] returned by the last call
  uint32_t scanned_ = 0;   // bytes of Have() known to hold no end of a piece
  bool eof_ = false;       // the stream has ended: no more reads
  PieceOp* op_ = nullptr;  // the call waiting for a read
  std::coroutine_handle<> waiting_;
  internal::Fiber* fiber_ = nullptr;
};

// The lines of `socket` (a Reader of its own, in the generator's frame): see
// Reader::lines().
AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line = kDefaultMaxLine,
                                absl::Duration idle = absl::InfiniteDuration());

}  // namespace gaio::coro

#endif  // GAIO_CORO_READER_H_
