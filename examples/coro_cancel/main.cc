// coro_cancel: cancelling a task that awaits ten futures one by one
// (asyncigo's cancellation README example, same output): futures 0-4 are
// resolved, the cancel comes before 5, and from then on every await of the
// task returns Cancelled at once.
//
//   ./bazelw run //examples:coro_cancel
#include <cstdio>
#include <vector>

#include "coro/coro.h"

using gaio::coro::Future;
using gaio::coro::JoinHandle;
using gaio::coro::Promise;
using gaio::coro::Task;

// Go's spelling of the outcome, to print what asyncigo prints.
const char* GoError(const absl::Status& s) {
  if (s.ok()) return "<nil>";
  if (absl::IsCancelled(s)) return "context canceled";
  return "error";
}

Task<absl::StatusOr<int>> AwaitAll(std::vector<Future<int>>* futs) {
  absl::Status last;
  for (size_t i = 0; i < futs->size(); ++i) {
    absl::StatusOr<int> result = co_await (*futs)[i];
    std::printf("%zu: (%d, %s)\n", i, result.value_or(0), GoError(result.status()));
    if (!result.ok()) last = result.status();
  }
  if (!last.ok()) co_return last;
  co_return 0;
}

Task<absl::Status> Main() {
  std::vector<Promise<int>> promises(10);
  std::vector<Future<int>> futs;
  futs.reserve(promises.size());
  for (Promise<int>& p : promises) futs.push_back(p.get_future());
  JoinHandle<absl::StatusOr<int>> task = gaio::coro::spawn(AwaitAll(&futs));
  for (int i = 0; i < 10; ++i) {
    if (i == 5) task.cancel();
    co_await gaio::coro::yield();  // let the task run
    promises[i].set_value(i);
  }
  absl::StatusOr<int> result = co_await task;
  std::printf("task result: (%d, %s)\n", result.value_or(0), GoError(result.status()));
  co_return absl::OkStatus();
}

int main() {
  auto loop = gaio::coro::EventLoop::Create();
  if (!loop.ok()) return 1;
  return (*loop)->run(Main()).ok() ? 0 : 1;
}
