// coro_wait: waiting on a future and two tasks at once, where one task fails
// (asyncigo's second README example, same output).
//
//   ./bazelw run //examples:coro_wait
//
// Go returns a value and an error together; task2 here hands its 25.5 over
// through a pointer, as asyncigo's WriteResultTo does, and fails with "oops".
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "coro/coro.h"

ABSL_FLAG(int, tick_ms, 1000, "how long the tasks sleep");

using gaio::coro::Future;
using gaio::coro::Promise;
using gaio::coro::Task;

Task<absl::StatusOr<int>> Task1(Promise<std::string>* fut1, absl::Duration tick) {
  absl::Status slept = co_await gaio::coro::sleep(tick);
  if (!slept.ok()) co_return slept;
  fut1->set_value("test");
  co_return 20;
}

Task<absl::Status> Task2(double* result3, absl::Duration tick) {
  absl::Status slept = co_await gaio::coro::sleep(tick);
  if (!slept.ok()) co_return slept;
  *result3 = 25.5;
  co_return absl::UnknownError("oops");
}

Task<absl::Status> Main(absl::Duration tick) {
  Promise<std::string> promise;
  Future<std::string> fut1 = promise.get_future();
  double result3 = 0;
  // All three at once; an error would cancel the ones still running.
  auto [result1, result2, status3] =
      co_await gaio::coro::when_all(std::move(fut1), Task1(&promise, tick), Task2(&result3, tick));
  std::printf("results: %s %d %g\n", result1.value_or("").c_str(), result2.value_or(0), result3);
  absl::Status error = gaio::coro::FirstError(std::make_tuple(result1, result2, status3));
  std::printf("error: %s\n", error.ok() ? "<nil>" : std::string(error.message()).c_str());
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto loop = gaio::coro::EventLoop::Create();
  if (!loop.ok()) return 1;
  absl::Status s = (*loop)->run(Main(absl::Milliseconds(absl::GetFlag(FLAGS_tick_ms))));
  return s.ok() ? 0 : 1;
}
