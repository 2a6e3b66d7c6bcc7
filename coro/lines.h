// lines(socket) and dial_lines(address): the lines of a byte stream as an
// AsyncGenerator (asyncigo's ReadLine / Lines / DialLines).
//
//   AsyncGenerator<SwapBytes> g = lines(socket, kDefaultMaxLine, absl::Seconds(300));
//   while (std::optional<SwapBytes> line = co_await g.next()) Print(line->view());
//   if (!g.status().ok()) ...            // OK at end of file; DeadlineExceeded when idle
//
// Each value is one line without its '\n' (a '\r' before it is kept), valid
// until the consumer's next co_await (SwapBytes: checked in debug builds). A
// last line without '\n' is yielded at end of file. The stream is read with
// swap-buffer reads (Socket::read(deadline)) by a Reader (reader.h) in the
// generator's frame, and each line is copied into the Reader's buffer, which
// is released whenever it is empty: while the generator waits for bytes it
// holds no read buffer (only the start of an unfinished line) and no timer.
//
// Ends with OK at end of file; with DeadlineExceeded when no byte arrives for
// `idle` (default: never); with ResourceExhausted at a line longer than
// `max_line` bytes (without its '\n'), however the bytes were split into
// reads, after yielding the lines before it; with the read's error otherwise
// (Cancelled when the consuming task is cancelled). lines() refers to
// `socket`, which must outlive the generator (declared in reader.h);
// dial_lines() owns the socket it dials (its status is the dial's error if
// that fails).
#ifndef GAIO_CORO_LINES_H_
#define GAIO_CORO_LINES_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "coro/bytes.h"
#include "coro/generator.h"
#include "coro/reader.h"
#include "coro/socket.h"

namespace gaio::coro {

AsyncGenerator<SwapBytes> dial_lines(std::string address,
                                     absl::Time deadline = absl::InfiniteFuture(),
                                     size_t max_line = kDefaultMaxLine,
                                     absl::Duration idle = absl::InfiniteDuration());

}  // namespace gaio::coro

#endif  // GAIO_CORO_LINES_H_
