// The coroutine echo server: each connection is a task that reads into the
// loop's swap buffer and writes the bytes straight back, so an idle
// connection holds no buffer; 16 acceptor tasks keep 16 accepts in flight
// (examples/common/serve.h).
// Used by main.cc and by //tests/coro:echo_alloc_test.
#ifndef GAIO_EXAMPLES_CORO_ECHO_SERVER_ECHO_H_
#define GAIO_EXAMPLES_CORO_ECHO_SERVER_ECHO_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coro/coro.h"
#include "examples/common/serve.h"

namespace coro_echo {

using gaio::coro::Listener;
using gaio::coro::Socket;
using gaio::coro::SwapBytes;
using gaio::coro::Task;

inline Task<> Echo(Socket s) {
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await s.read();  // no buffer while we wait
    if (!in.ok()) co_return;                           // EOF, reset, or Cancelled at shutdown
    absl::Status out = co_await s.write(*in);          // the Watcher copies what waits
    if (!out.ok()) co_return;
  }
}

// Serves until `stop` finishes (main.cc: a signal or --seconds), then cancels
// the acceptors and every connection, joins them and returns `stop`'s status
// (examples/common/serve.h).
inline Task<absl::Status> Serve(Listener listener, Task<absl::Status> stop) {
  return gaio_examples::Serve(std::move(listener), &Echo, std::move(stop));
}

}  // namespace coro_echo

#endif  // GAIO_EXAMPLES_CORO_ECHO_SERVER_ECHO_H_
