// lines(socket) and dial_lines(address): the lines of a byte stream as an
// AsyncGenerator (asyncigo's ReadLine / Lines / DialLines).
//
//   AsyncGenerator<SwapBytes> g = lines(socket);
//   while (std::optional<SwapBytes> line = co_await g.next()) Print(line->view());
//   if (!g.status().ok()) ...
//
// Each value is one line without its '\n' (a '\r' before it is kept), valid
// until the consumer's next co_await (SwapBytes: checked in debug builds). A
// last line without '\n' is yielded at end of file. The stream is read with
// swap-buffer reads (Socket::read()): while the generator waits for bytes it
// holds no read buffer, only the start of an unfinished line, copied into a
// line buffer of its own that grows to the longest line seen.
//
// Ends with OK at end of file; with ResourceExhausted at a line longer than
// `max_line` bytes (without its '\n'), however the bytes were split into
// reads, after yielding the lines before it; with the read's error otherwise
// (Cancelled when the consuming task is cancelled). lines() refers to
// `socket`, which must outlive the generator; dial_lines() owns the socket it
// dials (its status is the dial's error if that fails).
#ifndef GAIO_CORO_LINES_H_
#define GAIO_CORO_LINES_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coro/bytes.h"
#include "coro/generator.h"
#include "coro/socket.h"

namespace gaio::coro {

inline constexpr size_t kDefaultMaxLine = 1 << 20;
inline constexpr size_t kMaxMaxLine = size_t{1} << 31;  // larger max_line values are clamped

AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line = kDefaultMaxLine);

AsyncGenerator<SwapBytes> dial_lines(std::string address,
                                     absl::Time deadline = absl::InfiniteFuture(),
                                     size_t max_line = kDefaultMaxLine);

}  // namespace gaio::coro

#endif  // GAIO_CORO_LINES_H_
