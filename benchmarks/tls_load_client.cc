// tls_load_client: TLS echo workloads against any TLS echo server on
// 127.0.0.1, for benchmarks/tls_compare.sh. The client is gaio::coro with
// TlsSocket on a caller-driven loop (one thread, one core), the same for
// every server; it offers one version and one cipher suite, so every server
// runs the same one. Every echoed byte is checked; a wrong byte or a failed
// status counts as an error.
//
//   tls_load_client --port=N --workload=pingpong|stream|handshake --conns=100 --size=1024
//
// pingpong: one message in flight per connection, round-trip latency.
// stream: `--window` messages in flight per connection, echoed bytes/s.
// handshake: each connection handshakes, echoes 1 byte, closes, again;
// handshakes/s. idle: connections handshaken (1 byte echoed) and held open
// until --seconds after the start; prints "idle: N connections established"
// once all are (tls_compare.sh then reads the server's RSS).
// Prints one line of key=value figures.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/histogram.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "tls/context.h"

ABSL_FLAG(int, port, 0, "server port on 127.0.0.1");
ABSL_FLAG(std::string, workload, "pingpong", "pingpong | stream | handshake | idle");
ABSL_FLAG(int, conns, 100, "connections");
ABSL_FLAG(int, size, 1024, "message size (bytes)");
ABSL_FLAG(int, window, 2, "stream: messages in flight per connection");
ABSL_FLAG(double, seconds, 3, "measured time");
ABSL_FLAG(double, warmup, 0.5, "seconds before measuring");
ABSL_FLAG(std::string, version, "1.3", "1.2 | 1.3");
ABSL_FLAG(int, idle_batch, 0, "idle: handshakes in progress at most (0 = all at once)");

namespace {

using gaio::coro::dial_tls;
using gaio::coro::Scope;
using gaio::coro::Task;
using gaio::coro::TlsSocket;

struct Stats {
  absl::Time start, end;  // the measured interval
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  gaio_bench::LatencyHistogram latency;
  bool measuring(absl::Time t) const { return t >= start && t < end; }
};

Task<> PingPong(std::string address, gaio::tls::Context context, size_t size, Stats* s) {
  const absl::Time deadline = s->end + absl::Seconds(10);
  absl::StatusOr<TlsSocket> t = co_await dial_tls(address, context, "localhost", deadline);
  if (!t.ok()) {
    ++s->errors;
    co_return;
  }
  std::string out(size, 'p'), in(size, '\0');
  for (uint64_t i = 0; absl::Now() < s->end; ++i) {
    out[0] = static_cast<char>(i);
    const absl::Time sent = absl::Now();
    absl::Status w = co_await t->write(out, deadline);
    absl::Status r = co_await t->read_full(absl::MakeSpan(in), deadline);
    const absl::Time got = absl::Now();
    if (!w.ok() || !r.ok() || in != out) {
      ++s->errors;
      co_return;
    }
    if (!s->measuring(sent)) continue;
    ++s->messages;
    s->bytes += size;
    s->latency.Record(absl::ToInt64Nanoseconds(got - sent));
  }
}

Task<> Stream(std::string address, gaio::tls::Context context, size_t size, int window, Stats* s) {
  const absl::Time deadline = s->end + absl::Seconds(10);
  absl::StatusOr<TlsSocket> t = co_await dial_tls(address, context, "localhost", deadline);
  if (!t.ok()) {
    ++s->errors;
    co_return;
  }
  const std::string out(size, 's');
  std::string in(size, '\0');
  for (int i = 0; i < window; ++i) {
    absl::Status w = co_await t->write(out, deadline);
    if (!w.ok()) {
      ++s->errors;
      co_return;
    }
  }
  while (absl::Now() < s->end) {
    absl::Status r = co_await t->read_full(absl::MakeSpan(in), deadline);
    if (!r.ok() || in != out) {
      ++s->errors;
      co_return;
    }
    if (s->measuring(absl::Now())) {
      ++s->messages;
      s->bytes += size;
    }
    absl::Status w = co_await t->write(out, deadline);
    if (!w.ok()) {
      ++s->errors;
      co_return;
    }
  }
}

Task<> Handshakes(std::string address, gaio::tls::Context context, Stats* s) {
  char byte = 'h';
  while (absl::Now() < s->end) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<TlsSocket> t = co_await dial_tls(address, context, "localhost", deadline);
    if (!t.ok()) {
      ++s->errors;
      co_return;
    }
    absl::Status w = co_await t->write(absl::string_view(&byte, 1), deadline);
    char back = 0;
    absl::Status r = co_await t->read_full(absl::MakeSpan(&back, 1), deadline);
    if (!w.ok() || !r.ok() || back != byte) {
      ++s->errors;
      co_return;
    }
    if (s->measuring(absl::Now())) ++s->messages;
  }
}

// Handshakes, echoes 1 byte, then stays open and idle (no read pending in
// the client) until the end of the run.
Task<> Idle(std::string address, gaio::tls::Context context, uint64_t index, Stats* s) {
  // At most --idle_batch handshakes in progress at once (0: all at once).
  const uint64_t batch = absl::GetFlag(FLAGS_idle_batch);
  while (batch > 0 && s->messages + s->errors + batch <= index) {
    absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(1));
    if (!slept.ok()) co_return;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::StatusOr<TlsSocket> t = co_await dial_tls(address, context, "localhost", deadline);
  if (!t.ok()) {
    ++s->errors;
    co_return;
  }
  char byte = 'i', back = 0;
  absl::Status w = co_await t->write(absl::string_view(&byte, 1), deadline);
  absl::Status r = co_await t->read_full(absl::MakeSpan(&back, 1), deadline);
  if (!w.ok() || !r.ok() || back != byte) {
    ++s->errors;
    co_return;
  }
  if (++s->messages == static_cast<uint64_t>(absl::GetFlag(FLAGS_conns))) {
    std::printf("idle: %llu connections established\n",
                static_cast<unsigned long long>(s->messages));
    std::fflush(stdout);
  }
  absl::Status slept = co_await gaio::coro::sleep(s->end - absl::Now());
  slept.IgnoreError();
}

Task<absl::Status> Run(std::string address, gaio::tls::Context context, Stats* s) {
  const std::string workload = absl::GetFlag(FLAGS_workload);
  const int conns = absl::GetFlag(FLAGS_conns);
  const size_t size = absl::GetFlag(FLAGS_size);
  Scope scope;
  for (int i = 0; i < conns; ++i) {
    if (workload == "pingpong") {
      scope.spawn(PingPong(address, context, size, s));
    } else if (workload == "stream") {
      scope.spawn(Stream(address, context, size, absl::GetFlag(FLAGS_window), s));
    } else if (workload == "idle") {
      scope.spawn(Idle(address, context, i, s));
    } else if (workload == "handshake") {
      scope.spawn(Handshakes(address, context, s));
    } else {
      co_return absl::InvalidArgumentError(absl::StrCat("unknown workload ", workload));
    }
  }
  co_await scope.join();
  co_return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio::tls::ContextOptions o;
  o.verify_peer = gaio::tls::PeerVerification::kNone;  // the server's certificate is a test one
  const bool v12 = absl::GetFlag(FLAGS_version) == "1.2";
  o.min_version = o.max_version = v12 ? gaio::tls::Version::kTls12 : gaio::tls::Version::kTls13;
  o.tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  o.tls13_ciphersuites = "TLS_AES_128_GCM_SHA256";
  o.session_tickets = false;  // full handshakes every time
  absl::StatusOr<gaio::tls::Context> context = gaio::tls::Context::Client(o);
  if (!context.ok()) return std::fprintf(stderr, "%s\n", context.status().ToString().c_str()), 1;
  auto loop = gaio::coro::EventLoop::Create();  // caller-driven: one thread
  if (!loop.ok()) return std::fprintf(stderr, "%s\n", loop.status().ToString().c_str()), 1;
  Stats s;
  s.start = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_warmup));
  s.end = s.start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const std::string address = absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port));
  absl::Status status = (*loop)->run(Run(address, *std::move(context), &s));
  if (!status.ok()) return std::fprintf(stderr, "%s\n", status.ToString().c_str()), 1;
  const double secs = absl::ToDoubleSeconds(s.end - s.start);
  std::printf(
      "workload=%s conns=%d size=%d per_s=%.0f mb_per_s=%.2f p50_us=%.1f p99_us=%.1f "
      "errors=%llu\n",
      absl::GetFlag(FLAGS_workload).c_str(), absl::GetFlag(FLAGS_conns), absl::GetFlag(FLAGS_size),
      s.messages / secs, s.bytes / secs / 1e6, s.latency.Percentile(50) / 1e3,
      s.latency.Percentile(99) / 1e3, static_cast<unsigned long long>(s.errors));
  return s.errors == 0 ? 0 : 2;
}
