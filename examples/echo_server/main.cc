// echo_server: a TCP echo server on 127.0.0.1 built on gaio::Watcher.
//
//   ./bazelw run //examples:echo_server -- --port=9000 --pollers=1
//
// Runs until SIGINT/SIGTERM, or for --seconds when given.
#include <csignal>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/echo_service.h"
#include "watcher/signal_set.h"

ABSL_FLAG(int, port, 9000, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, busy_poll_us, 0, "busy-poll window in microseconds (0 = off)");
ABSL_FLAG(int, takeover_us, -1,
          "WatcherOptions::poller_takeover in microseconds (-1 = the library default, 0 = off)");
ABSL_FLAG(int, swap_kib, 0, "swap buffer half in KiB (0 = the library default)");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  options.busy_poll = absl::Microseconds(absl::GetFlag(FLAGS_busy_poll_us));
  if (absl::GetFlag(FLAGS_takeover_us) >= 0) {
    options.poller_takeover = absl::Microseconds(absl::GetFlag(FLAGS_takeover_us));
  }
  if (absl::GetFlag(FLAGS_swap_kib) > 0) {
    options.swap_buffer_size = static_cast<size_t>(absl::GetFlag(FLAGS_swap_kib)) * 1024;
  }
  auto service = gaio_examples::EchoService::Start(absl::GetFlag(FLAGS_port), options);
  if (!service.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", service.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<gaio::SignalSet>> signals =
      gaio::SignalSet::Create({SIGINT, SIGTERM});
  absl::Status stop_on_signals =
      signals.ok() ? (*service)->StopOnSignals(*std::move(signals)) : signals.status();
  if (!stop_on_signals.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", stop_on_signals.ToString().c_str());
    return 1;
  }
  std::printf("echo_server listening on 127.0.0.1:%d\n", (*service)->port());
  std::fflush(stdout);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  absl::Status status =
      (*service)->Run(seconds > 0 ? absl::Now() + absl::Seconds(seconds) : absl::InfiniteFuture());
  const gaio::WatcherStats stats = (*service)->watcher_stats();
  std::printf(
      "echo_server: %llu connections, %llu bytes echoed; poller takeovers %llu, hand-backs %llu, "
      "deadline polls %llu\n",
      static_cast<unsigned long long>((*service)->connections()),
      static_cast<unsigned long long>((*service)->bytes_echoed()),
      static_cast<unsigned long long>(stats.takeovers),
      static_cast<unsigned long long>(stats.handbacks),
      static_cast<unsigned long long>(stats.deadline_polls));
  if (!status.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
