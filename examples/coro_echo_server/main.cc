// coro_echo_server: examples/echo_server in coroutines (echo.h is the server).
//
//   ./bazelw run //examples:coro_echo_server -- --port=9000 --pollers=1
//
// Runs until SIGINT/SIGTERM (coro::Signals), or for --seconds when given.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "coro/signals.h"
#include "examples/coro_echo_server/echo.h"

ABSL_FLAG(int, port, 9000, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

namespace {

// Ends at the first signal, or OK at `until`; the error that ended the wait
// otherwise (Cancelled when the loop stops).
gaio::coro::Task<absl::Status> UntilSignal(gaio::coro::Signals* signals, absl::Time until) {
  absl::StatusOr<int> signo = co_await signals->next(until);
  if (signo.ok() || absl::IsDeadlineExceeded(signo.status())) co_return absl::OkStatus();
  co_return signo.status();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  auto loop = gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) return std::fprintf(stderr, "%s\n", loop.status().ToString().c_str()), 1;
  absl::StatusOr<gaio::coro::Signals> signals =
      gaio::coro::Signals::Create(**loop, {SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "coro_echo_server: %s\n", signals.status().ToString().c_str());
    return 1;
  }
  auto listener =
      gaio::coro::listen(**loop, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)));
  if (!listener.ok()) {
    std::fprintf(stderr, "coro_echo_server: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  std::printf("coro_echo_server listening on %s\n", listener->address().c_str());
  std::fflush(stdout);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  absl::Status status = (*loop)->run(
      coro_echo::Serve(*std::move(listener),
                       UntilSignal(&*signals, seconds > 0 ? absl::Now() + absl::Seconds(seconds)
                                                          : absl::InfiniteFuture())));
  if (!status.ok()) {
    std::fprintf(stderr, "coro_echo_server: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("coro_echo_server: stopped\n");
  return 0;
}
