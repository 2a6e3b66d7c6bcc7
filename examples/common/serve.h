// The part the coroutine example servers share (coro_echo_server,
// coro_tls_echo_server, coro_ws_echo_server): accept connections into
// session tasks, stop on SIGINT/SIGTERM, cancel and join everything.
//
//   int main() {
//     ... the loop, the listener, the session's configuration ...
//     gaio_examples::ServeOptions serve;
//     serve.name = "my_server";
//     return gaio_examples::ServeUntilSignal(
//         **loop, *std::move(listener),
//         [&config](Socket s) { return Echo(std::move(s), &config); }, serve);
//   }
//
// A session is a callable that takes the connection's Socket (and, if it
// accepts one, the sessions' Scope*, to hand the connection on to a task of
// its own: ws_echo_server's upgrade does) and returns the Task<> that serves
// it. It is kept in Serve's frame and called for each
// connection; it must not be a coroutine lambda with captures (its captures
// would die at the first suspension): call a coroutine function instead, as
// above, passing what the session needs by value or by pointer to something
// that outlives the loop's run().
//
// Every accept error is handled: Cancelled ends an acceptor (the server
// stops); any other (EMFILE and the like, the connection staying in the
// backlog) backs off 50 ms before the next accept, so an acceptor never
// spins. Loop thread only.
#ifndef GAIO_EXAMPLES_COMMON_SERVE_H_
#define GAIO_EXAMPLES_COMMON_SERVE_H_

#include <csignal>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coro/coro.h"
#include "coro/signals.h"

namespace gaio_examples {

// Accepts on `listener` until cancelled, each connection spawned in
// `sessions` as (*session)(socket), with TCP_NODELAY. The pointers refer to
// Serve's frame, which joins this task before it ends.
template <class Session>
gaio::coro::Task<> AcceptLoop(const gaio::coro::Listener* listener, const Session* session,
                              gaio::coro::Scope* sessions) {
  for (;;) {
    absl::StatusOr<gaio::coro::Socket> s = co_await listener->accept();
    if (absl::IsCancelled(s.status())) co_return;
    if (!s.ok()) {  // EMFILE and the like: the connection waits in the backlog
      absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(50));
      if (!slept.ok()) co_return;
      continue;
    }
    s->set_nodelay(true).IgnoreError();
    if constexpr (std::is_invocable_v<const Session&, gaio::coro::Socket, gaio::coro::Scope*>) {
      sessions->spawn((*session)(*std::move(s), sessions));
    } else {
      sessions->spawn((*session)(*std::move(s)));
    }
  }
}

// Serves `listener` with `acceptors` accept loops until `stop` ends, then
// cancels the acceptors and every session, joins them, and returns `stop`'s
// status.
template <class Session>
gaio::coro::Task<absl::Status> Serve(gaio::coro::Listener listener, Session session,
                                     gaio::coro::Task<absl::Status> stop, int acceptors = 16) {
  gaio::coro::Scope sessions, accepting;
  for (int i = 0; i < acceptors; ++i) accepting.spawn(AcceptLoop(&listener, &session, &sessions));
  absl::Status stopped = co_await std::move(stop);
  accepting.cancel();
  sessions.cancel();
  co_await accepting.join();
  co_await sessions.join();
  co_return stopped;
}

// The next of `signals`, or `until`: OK. Otherwise the error that ended the
// wait (Cancelled when the loop stops).
inline gaio::coro::Task<absl::Status> UntilSignal(gaio::coro::Signals* signals,
                                                  absl::Time until = absl::InfiniteFuture()) {
  absl::StatusOr<int> signo = co_await signals->next(until);
  if (signo.ok() || absl::IsDeadlineExceeded(signo.status())) co_return absl::OkStatus();
  co_return signo.status();
}

struct ServeOptions {
  const char* name = "server";                // in the lines printed
  std::string note;                           // after the address in the "listening" line
  int acceptors = 16;                         // accepts kept in flight
  absl::Time until = absl::InfiniteFuture();  // stop then if no signal came
};

// A main()'s serving part: catches SIGINT and SIGTERM (coro::Signals), then
// prints "NAME listening on 127.0.0.1:N[ NOTE]" (so a signal sent once the
// line is seen is handled), runs Serve() until a signal or `until`, and
// prints "NAME: stopped". The exit code: 0, or 1 after printing
// "NAME: what: error" on stderr.
template <class Session>
int ServeUntilSignal(gaio::coro::EventLoop& loop, gaio::coro::Listener listener, Session session,
                     const ServeOptions& options) {
  absl::StatusOr<gaio::coro::Signals> signals =
      gaio::coro::Signals::Create(loop, {SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "%s: signals: %s\n", options.name, signals.status().ToString().c_str());
    return 1;
  }
  std::printf("%s listening on %s%s%s\n", options.name, listener.address().c_str(),
              options.note.empty() ? "" : " ", options.note.c_str());
  std::fflush(stdout);
  absl::Status status = loop.run(Serve(std::move(listener), std::move(session),
                                       UntilSignal(&*signals, options.until), options.acceptors));
  if (!status.ok()) {
    std::fprintf(stderr, "%s: serve: %s\n", options.name, status.ToString().c_str());
    return 1;
  }
  std::printf("%s: stopped\n", options.name);
  return 0;
}

}  // namespace gaio_examples

#endif  // GAIO_EXAMPLES_COMMON_SERVE_H_
