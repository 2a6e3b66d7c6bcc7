// Benchmarks of the coroutine layer's primitives (coro/).
//
// BM_ChannelHandoff/capacity: a producer task sends ints into a
// Channel<int> and a consumer task receives them, on one loop (caller-driven
// mode). Reports items/s, ns per item (the time per iteration) and heap
// allocations per item (a counting operator new, tests/counting_new.h).
#include <cstdint>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "coro/coro.h"
#include "tests/counting_new.h"

namespace gaio::coro {
namespace {

Task<absl::Status> Drain(Channel<int>* ch, int64_t* received) {
  for (;;) {
    absl::StatusOr<int> v = co_await ch->recv();
    if (!v.ok()) co_return absl::IsOutOfRange(v.status()) ? absl::OkStatus() : v.status();
    ++*received;
  }
}

Task<absl::Status> Handoff(benchmark::State* state, size_t capacity) {
  Channel<int> ch(capacity);
  int64_t received = 0;
  Scope scope;
  JoinHandle<absl::Status> consumer = scope.spawn(Drain(&ch, &received));
  int i = 0;
  const uint64_t a0 = gaio::testing::AllocationCount();
  for (auto _ : *state) {
    absl::Status s = co_await ch.send(int{i++});
    if (!s.ok()) state->SkipWithError("send failed");
  }
  ch.close();
  absl::Status s = co_await consumer;
  const uint64_t allocations = gaio::testing::AllocationCount() - a0;
  co_await scope.join();
  if (!s.ok() || received != state->iterations()) state->SkipWithError("items lost");
  state->SetItemsProcessed(state->iterations());
  state->counters["allocs_per_item"] = benchmark::Counter(static_cast<double>(allocations) /
                                                          static_cast<double>(state->iterations()));
  co_return absl::OkStatus();
}

void BM_ChannelHandoff(benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    state.SkipWithError("no loop");
    return;
  }
  absl::Status s = (*loop)->run(Handoff(&state, static_cast<size_t>(state.range(0))));
  if (!s.ok()) state.SkipWithError("run failed");
}
BENCHMARK(BM_ChannelHandoff)->ArgName("capacity")->Arg(1)->Arg(64)->Arg(1024);

}  // namespace
}  // namespace gaio::coro

BENCHMARK_MAIN();
