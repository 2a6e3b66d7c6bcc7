// coro_echo_server: examples/echo_server in coroutines (echo.h is the server).
//
//   ./bazelw run //examples:coro_echo_server -- --port=9000 --pollers=1
//
// Runs until SIGINT/SIGTERM (coro::Signals, examples/common/serve.h), or for
// --seconds when given.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "examples/common/serve.h"
#include "examples/coro_echo_server/echo.h"

ABSL_FLAG(int, port, 9000, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  auto loop = gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) return std::fprintf(stderr, "%s\n", loop.status().ToString().c_str()), 1;
  auto listener =
      gaio::coro::listen(**loop, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)));
  if (!listener.ok()) {
    std::fprintf(stderr, "coro_echo_server: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  gaio_examples::ServeOptions serve;
  serve.name = "coro_echo_server";
  const int seconds = absl::GetFlag(FLAGS_seconds);
  if (seconds > 0) serve.until = absl::Now() + absl::Seconds(seconds);
  return gaio_examples::ServeUntilSignal(**loop, *std::move(listener), &coro_echo::Echo, serve);
}
