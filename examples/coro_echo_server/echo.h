// The coroutine echo server: each connection is a task that reads into the
// loop's swap buffer and writes the bytes straight back, so an idle
// connection holds no buffer; 16 acceptor tasks keep 16 accepts in flight.
// Used by main.cc and by //tests/coro:echo_alloc_test.
#ifndef GAIO_EXAMPLES_CORO_ECHO_SERVER_ECHO_H_
#define GAIO_EXAMPLES_CORO_ECHO_SERVER_ECHO_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coro/coro.h"

namespace coro_echo {

using gaio::coro::Listener;
using gaio::coro::Scope;
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

// Parameters are pointers into Serve's frame, which joins this task before
// it ends (a reference or pointer argument must outlive the task).
inline Task<> Accept(const Listener* listener, Scope* sessions) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await listener->accept();
    if (absl::IsCancelled(s.status())) co_return;
    if (!s.ok()) {  // EMFILE and the like: the connection waits in the backlog
      absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(50));
      if (!slept.ok()) co_return;
      continue;
    }
    s->set_nodelay(true).IgnoreError();
    sessions->spawn(Echo(*std::move(s)));
  }
}

// Serves until `stop` finishes (main.cc: a signal or --seconds), then cancels
// the acceptors and every connection, joins them and returns `stop`'s status.
inline Task<absl::Status> Serve(Listener listener, Task<absl::Status> stop) {
  Scope sessions, acceptors;
  for (int i = 0; i < 16; ++i) acceptors.spawn(Accept(&listener, &sessions));
  absl::Status stopped = co_await std::move(stop);
  acceptors.cancel();
  sessions.cancel();
  co_await acceptors.join();
  co_await sessions.join();
  co_return stopped;
}

}  // namespace coro_echo

#endif  // GAIO_EXAMPLES_CORO_ECHO_SERVER_ECHO_H_
