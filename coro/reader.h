// Reader: delimited, fixed-size and whole-stream reads over a Socket, with
// deadlines, on swap-buffer reads (asyncio's StreamReader: readuntil,
// readexactly, read(-1)).
//
//   Reader r(socket);
//   absl::StatusOr<SwapBytes> head = co_await r.read_until("\r\n\r\n", 8192, deadline);
//   absl::StatusOr<SwapBytes> body = co_await r.read_exactly(length, deadline);
//   AsyncGenerator<SwapBytes> g = r.lines(kDefaultMaxLine, absl::Seconds(300));
//
// The stream is read with Socket::read(deadline) into the Watcher's swap
// buffer. A piece (read_until, read_exactly, chunks) that lies whole in one
// read is returned in place, pointing into the swap buffer (no copy); bytes
// left over for a later call are copied into the Reader's buffer, which is
// released as soon as it is empty again. lines() copies each line into that
// buffer (a line stays valid through a combinator's waits, see bytes.h) and
// releases it the same way. So a Reader waiting for bytes holds no buffer
// unless a piece is half-read, and no timer object: a deadline is the read
// request's own.
//
// Values. A returned SwapBytes is valid until the caller's next co_await
// (bytes.h) and until the Reader's next call, whichever comes first.
// read_until's piece ends with the delimiter; lines() strips the '\n' (a
// '\r' before it is kept).
//
// Results: OK; DeadlineExceeded when `deadline` (read_until, read_exactly,
// read_all) passes, or no byte arrives for `idle` (lines, chunks);
// ResourceExhausted when a piece would exceed `max` without being found
// (read_until's max counts the delimiter; lines' max_line does not count
// the '\n'; read_all's max is the whole stream); end of file (IsEof) from
// read_until / read_exactly when the stream ends before the piece (the bytes
// read stay in the Reader: buffered()); the read's error otherwise
// (Cancelled when the task is cancelled). After an error other than
// DeadlineExceeded or ResourceExhausted the stream's position is unknown:
// stop using it. The generators yield what they have, then end with one of
// these statuses (OK at end of file: a last line without '\n', a last short
// chunk, is yielded first). read_until: InvalidArgument for an empty
// delimiter; chunks: for n == 0.
//
// Ownership and threads: the Reader refers to `socket`, which must outlive
// it and every task or generator it returned, and should be its Socket's
// only reader. One call at a time. Loop thread only.
#ifndef GAIO_CORO_READER_H_
#define GAIO_CORO_READER_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coro/bytes.h"
#include "coro/generator.h"
#include "coro/socket.h"
#include "coro/task.h"

namespace gaio::coro {

inline constexpr size_t kDefaultMaxLine = 1 << 20;
inline constexpr size_t kMaxMaxLine = size_t{1} << 31;  // larger max_line values are clamped

class Reader {
 public:
  explicit Reader(Socket& socket) : socket_(&socket) {}
  Reader(Reader&&) = default;  // not while a call of it is in progress
  Reader& operator=(Reader&&) = default;

  Task<absl::StatusOr<SwapBytes>> read_until(std::string delim, size_t max,
                                             absl::Time deadline = absl::InfiniteFuture());
  Task<absl::StatusOr<SwapBytes>> read_exactly(size_t n,
                                               absl::Time deadline = absl::InfiniteFuture());
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
  // How a piece ends in the bytes at hand: its length, or npos.
  struct Until {
    absl::string_view delim;
    size_t operator()(absl::string_view have, size_t scanned) const;
  };
  struct Exactly {
    size_t n;
    size_t operator()(absl::string_view have, size_t) const {
      return have.size() >= n ? n : absl::string_view::npos;
    }
  };
  // What a step found: a piece, too long, or nothing yet.
  enum class Found { kPiece, kTooLong, kMore };
  template <class EndOf>
  Found FromBuffer(const EndOf& end_of, size_t max, SwapBytes* piece);
  template <class EndOf>
  Found FromRead(const SwapBytes& in, const EndOf& end_of, size_t max, SwapBytes* piece,
                 bool in_place = true);
  void DropReturned();
  void Append(absl::string_view bytes);
  absl::string_view Have() const {
    return absl::string_view(buf_.data() + start_, buf_.size() - start_);
  }
  // The rest of the buffer, for a last line or chunk at end of file.
  SwapBytes TakeRest();
  static absl::Time Deadline(absl::Duration idle) { return absl::Now() + idle; }
  // The body of lines(), on a Reader it points to (Reader*) or owns (Reader):
  // one frame either way.
  template <class R>
  static AsyncGenerator<SwapBytes> LinesOf(R r, size_t max_line, absl::Duration idle);
  friend AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line, absl::Duration idle);

  Socket* socket_;
  std::string buf_;  // unreturned bytes from buf_[start_] on
  size_t start_ = 0;
  size_t pending_ = 0;  // bytes at buf_[start_] returned by the last call
  size_t scanned_ = 0;  // bytes of Have() known to hold no end of a piece
};

// The lines of `socket` (a Reader of its own): see Reader::lines().
AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line = kDefaultMaxLine,
                                absl::Duration idle = absl::InfiniteDuration());

}  // namespace gaio::coro

#endif  // GAIO_CORO_READER_H_
