#include "coro/lines.h"

#include <algorithm>
#include <string>
#include <utility>

namespace gaio::coro {

AsyncGenerator<SwapBytes> lines(Socket& socket, size_t max_line) {
  max_line = std::min(max_line, kMaxMaxLine);
  std::string buf;   // bytes of unfinished lines, copied out of the swap buffer
  size_t start = 0;  // first byte of buf not yet yielded
  for (;;) {
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      // However the line arrived (whole in one read or in pieces).
      if (nl - start > max_line) co_return absl::ResourceExhaustedError("lines: line too long");
      co_yield SwapBytes(buf.data() + start, nl - start);
    }
    buf.erase(0, start);
    start = 0;
    if (buf.size() > max_line) co_return absl::ResourceExhaustedError("lines: line too long");
    absl::StatusOr<SwapBytes> in = co_await socket.read();
    if (!in.ok()) {
      if (!IsEof(in.status())) co_return in.status();
      if (!buf.empty()) co_yield SwapBytes(buf.data(), buf.size());
      co_return absl::OkStatus();
    }
    buf.append(in->data(), in->size());
  }
}

AsyncGenerator<SwapBytes> dial_lines(std::string address, absl::Time deadline, size_t max_line) {
  absl::StatusOr<Socket> socket = co_await dial(address, deadline);
  if (!socket.ok()) co_return socket.status();
  AsyncGenerator<SwapBytes> inner = lines(*socket, max_line);
  while (std::optional<SwapBytes> line = co_await inner.next()) co_yield *line;
  co_return inner.status();
}

}  // namespace gaio::coro
