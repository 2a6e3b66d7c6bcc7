// Google Benchmark suite: gaio's echo benchmarks plus wait_io() and
// submission costs.
//
//   ./bazelw run --config=opt //benchmarks:watcher_benchmark
//
// BM_Echo/size/conns: every iteration echoes one message of `size` bytes on
// each of `conns` loopback TCP connections; client and server ends are on one
// Watcher (1 poller), the server side reads into the swap buffer. Bytes
// counted are the bytes echoed (one direction), not buffer sizes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "benchmarks/load_client.h"
#include "watcher/watcher.h"

namespace {

struct EchoConn {
  bool server;  // role of the fd this ctx is for
  int client_fd = -1;
  int server_fd = -1;
  std::string message;
  std::string echo;  // client's read_full buffer
  std::string out;   // server's copy of what it read, being written back
};

// Connected loopback TCP pairs through a listener.
bool TcpPairs(int n, std::vector<EchoConn>* conns) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 4096) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return false;
  }
  conns->resize(2 * n);  // [2i] client role, [2i+1] server role
  for (int i = 0; i < n; ++i) {
    int c = gaio_bench::ConnectLoopback(ntohs(addr.sin_port));
    int s = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0 || s < 0) return false;
    for (int k = 0; k < 2; ++k) {
      EchoConn& e = (*conns)[2 * i + k];
      e.server = k == 1;
      e.client_fd = c;
      e.server_fd = s;
    }
  }
  close(lfd);
  return true;
}

void BM_Echo(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();
  std::vector<EchoConn> conns;
  if (!w.ok() || !TcpPairs(n, &conns)) {
    state.SkipWithError("set-up failed");
    return;
  }
  for (int i = 0; i < n; ++i) {
    conns[2 * i].message.assign(size, static_cast<char>('a' + i % 26));
    conns[2 * i].echo.resize(size);
    if (!w->read(&conns[2 * i + 1], conns[2 * i + 1].server_fd, nullptr).ok()) {
      state.SkipWithError("read failed");
      return;
    }
  }
  uint64_t echoed = 0;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      EchoConn& c = conns[2 * i];
      if (!w->write(nullptr, c.client_fd, c.message).ok() ||
          !w->read_full(&c, c.client_fd, absl::MakeSpan(c.echo)).ok()) {
        state.SkipWithError("submit failed");
        return;
      }
    }
    for (int remaining = n; remaining > 0;) {
      absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
      if (!batch.ok()) {
        state.SkipWithError("wait_io failed");
        return;
      }
      for (const gaio::OpResult& r : *batch) {
        if (!r.status.ok()) {
          state.SkipWithError(r.status.ToString().c_str());
          return;
        }
        if (r.ctx == nullptr) continue;  // client write done
        auto* c = static_cast<EchoConn*>(r.ctx);
        if (!c->server) {  // client got the whole echo
          echoed += r.size;
          --remaining;
        } else if (r.op == gaio::OpType::kRead) {
          c->out.assign(r.buffer.data(), r.size);
          (void)w->write(c, c->server_fd, c->out);
        } else {
          (void)w->read(c, c->server_fd, nullptr);
        }
      }
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(echoed));
  state.counters["conns"] = n;
}

BENCHMARK(BM_Echo)
    ->ArgNames({"size", "conns"})
    ->ArgsProduct({{128, 1024, 4096, 64 * 1024, 128 * 1024}, {1, 128}})
    ->Args({4096, 1024})
    ->Args({16 * 1024, 1024})
    ->UseRealTime();

// wait_io() handing out a batch of `batch` completions (1-byte writes that
// completed in their submitting call). Only the wait_io() call is timed.
// A pipe, not a socketpair: 1-byte writes share its pages, so 1024 of them
// fit, where a socket's send buffer (one skb per write) fills after ~200 and
// the rest would wait for a reader that only reads after wait_io().
void BM_WaitIO(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();
  int sv[2];
  if (!w.ok() || pipe2(sv, O_CLOEXEC) != 0) {
    state.SkipWithError("set-up failed");
    return;
  }
  const char byte = 'x';
  std::vector<char> sink(batch_size);
  for (auto _ : state) {
    for (int i = 0; i < batch_size; ++i)
      (void)w->write(nullptr, sv[1], absl::MakeConstSpan(&byte, 1));
    int got = 0;
    const auto start = std::chrono::steady_clock::now();
    while (got < batch_size) {
      absl::StatusOr<absl::Span<const gaio::OpResult>> b = w->wait_io();
      if (!b.ok()) break;
      got += static_cast<int>(b->size());
    }
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    for (int left = batch_size; left > 0;) {
      ssize_t n = read(sv[0], sink.data(), left);
      if (n <= 0) break;
      left -= static_cast<int>(n);
    }
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
  close(sv[0]);  // sv[1] belongs to the watcher
}

// Only a small part of each iteration is timed: a short minimum keeps the
// run to seconds (the untimed submissions cost 50-100x the timed part).
BENCHMARK(BM_WaitIO)->ArgName("batch")->Arg(1)->Arg(64)->Arg(1024)->UseManualTime()->MinTime(0.02);

// Submission cost with no I/O: reads queued on a socket with no data (its
// readiness is known to be empty, so no syscall is made). Only the submit
// calls are timed; each iteration submits 4096 and then cancels them.
// Submits `submit(w, fd)` 4096 times on an idle socket (after one that
// registers it and learns "no data"), timing only the submissions; then
// frees the fd and collects every completion.
template <typename Submit>
void SubmitMany(benchmark::State& state, Submit submit) {
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();
  if (!w.ok()) {
    state.SkipWithError("set-up failed");
    return;
  }
  constexpr int kPerIteration = 4096;
  for (auto _ : state) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) break;
    submit(*w, sv[0]);  // registers; learns "no data"
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kPerIteration; ++i) submit(*w, sv[0]);
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    (void)w->free(sv[0]);
    for (int got = 0; got < kPerIteration + 1;) {
      absl::StatusOr<absl::Span<const gaio::OpResult>> b = w->wait_io();
      if (!b.ok()) break;
      got += static_cast<int>(b->size());
    }
    close(sv[1]);
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
}

void BM_Submit(benchmark::State& state) {
  static char buf[64];
  SubmitMany(state,
             [](gaio::Watcher& w, int fd) { (void)w.read(nullptr, fd, absl::MakeSpan(buf)); });
}

BENCHMARK(BM_Submit)->UseManualTime()->MinTime(0.02);

// As BM_Submit, with wait_readable() instead of read(): a readiness request
// must cost no more than a read request (issue 20).
void BM_SubmitReadable(benchmark::State& state) {
  SubmitMany(state, [](gaio::Watcher& w, int fd) { (void)w.wait_readable(nullptr, fd); });
}

BENCHMARK(BM_SubmitReadable)->UseManualTime()->MinTime(0.02);

// pending_write_bytes() with `queued` writes waiting on a full socket: O(1),
// whatever the queue (it walked the queue before issue 19).
void BM_PendingWriteBytes(benchmark::State& state) {
  gaio::WatcherOptions o;
  o.num_pollers = 0;
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(o);
  int sv[2];
  if (!w.ok() || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    state.SkipWithError("set-up failed");
    return;
  }
  static char chunk[64 * 1024];
  for (int64_t i = 0; i < state.range(0); ++i)
    (void)w->write(nullptr, sv[0], absl::MakeSpan(chunk));
  size_t sum = 0;
  for (auto _ : state) {
    sum += w->pending_write_bytes(sv[0]);
    benchmark::DoNotOptimize(sum);
  }
  (void)w->close();
  close(sv[1]);
}
BENCHMARK(BM_PendingWriteBytes)->ArgName("queued")->Arg(1)->Arg(100)->Arg(10'000);

// A caller-driven Watcher, so that nothing else runs; on failure the
// benchmark is marked skipped and the error returned.
absl::StatusOr<gaio::Watcher> CallerDrivenWatcher(benchmark::State& state) {
  gaio::WatcherOptions o;
  o.num_pollers = 0;
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(o);
  if (!w.ok()) state.SkipWithError("set-up failed");
  return w;
}

// A timer's whole life: after(0), which fires in the call, and wait_io()
// handing its completion out.
void BM_AfterExpiry(benchmark::State& state) {
  absl::StatusOr<gaio::Watcher> w = CallerDrivenWatcher(state);
  if (!w.ok()) return;
  for (auto _ : state) {
    (void)w->after(nullptr, absl::ZeroDuration());
    absl::StatusOr<absl::Span<const gaio::OpResult>> b = w->wait_io();
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AfterExpiry);

// cancel() of one pending request among many on an fd, and its Cancelled
// completion handed out: a read (no data) submitted, cancelled, collected.
void BM_Cancel(benchmark::State& state) {
  absl::StatusOr<gaio::Watcher> w = CallerDrivenWatcher(state);
  if (!w.ok()) return;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    state.SkipWithError("set-up failed");
    return;
  }
  char buf[64];
  int other = 0, mine = 0;
  (void)w->read(&other, sv[0], absl::MakeSpan(buf));  // stays pending throughout
  for (auto _ : state) {
    (void)w->read(&mine, sv[0], absl::MakeSpan(buf));
    (void)w->cancel(sv[0], &mine);
    absl::StatusOr<absl::Span<const gaio::OpResult>> b = w->wait_io();
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
  close(sv[1]);
}
BENCHMARK(BM_Cancel);

// A timer set and cancelled (cancel(-1, ctx)) with N other timers pending:
// the cost must not grow with N (timers are found by ctx, not by a scan).
void BM_CancelTimer(benchmark::State& state) {
  absl::StatusOr<gaio::Watcher> w = CallerDrivenWatcher(state);
  if (!w.ok()) return;
  // The others with a ctx each, as N tasks under with_timeout() would be.
  std::vector<char> others(static_cast<size_t>(state.range(0)));
  int mine = 0;
  for (char& c : others) (void)w->after(&c, absl::Hours(1));
  for (auto _ : state) {
    (void)w->after(&mine, absl::Hours(1));
    (void)w->cancel(-1, &mine);
    absl::StatusOr<absl::Span<const gaio::OpResult>> b = w->wait_io();
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CancelTimer)->ArgName("pending")->Arg(0)->Arg(100'000);

// wait_io() with N timers pending (due in an hour): one post per iteration,
// so each call hands out one completion. Its cost must not grow with N.
void BM_WaitIOWithTimers(benchmark::State& state) {
  absl::StatusOr<gaio::Watcher> w = CallerDrivenWatcher(state);
  if (!w.ok()) return;
  for (int64_t i = 0; i < state.range(0); ++i) (void)w->after(nullptr, absl::Hours(1));
  for (auto _ : state) {
    (void)w->post(nullptr);
    absl::StatusOr<absl::Span<const gaio::OpResult>> b = w->wait_io();
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WaitIOWithTimers)->ArgName("timers")->Arg(0)->Arg(1000)->Arg(100'000);

}  // namespace

BENCHMARK_MAIN();
