#include "coro/lines.h"

#include <optional>
#include <string>
#include <utility>

namespace gaio::coro {

AsyncGenerator<SwapBytes> dial_lines(std::string address, absl::Time deadline, size_t max_line,
                                     absl::Duration idle) {
  absl::StatusOr<Socket> socket = co_await dial(address, deadline);
  if (!socket.ok()) co_return socket.status();
  AsyncGenerator<SwapBytes> inner = lines(*socket, max_line, idle);
  while (std::optional<SwapBytes> line = co_await inner.next()) co_yield *line;
  co_return inner.status();
}

}  // namespace gaio::coro
