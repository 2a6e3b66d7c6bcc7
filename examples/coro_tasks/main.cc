// coro_tasks: two tasks interleaving with sleep, then awaiting a result
// (asyncigo's first README example, same output).
//
//   ./bazelw run //examples:coro_tasks
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "coro/coro.h"

ABSL_FLAG(int, tick_ms, 1000, "the sleep of each step");

using gaio::coro::JoinHandle;
using gaio::coro::Task;

Task<absl::StatusOr<int>> Subtask(absl::Duration tick) {
  for (int i = 0; i < 3; ++i) {
    std::printf("in subtask: %d\n", i);
    absl::Status slept = co_await gaio::coro::sleep(tick);
    if (!slept.ok()) co_return slept;
  }
  co_return 42;
}

Task<absl::Status> Main(absl::Duration tick) {
  // Starts when Main first suspends (asyncio's create_task).
  JoinHandle<absl::StatusOr<int>> task = gaio::coro::spawn(Subtask(tick));
  for (int j = 0; j < 3; ++j) {
    std::printf("in main task: %d\n", j);
    absl::Status slept = co_await gaio::coro::sleep(tick);
    if (!slept.ok()) co_return slept;
  }
  absl::StatusOr<int> result = co_await task;
  if (!result.ok()) co_return result.status();
  std::printf("task result: %d\n", *result);
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto loop = gaio::coro::EventLoop::Create();
  if (!loop.ok()) return 1;
  absl::Status s = (*loop)->run(Main(absl::Milliseconds(absl::GetFlag(FLAGS_tick_ms))));
  if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return s.ok() ? 0 : 1;
}
