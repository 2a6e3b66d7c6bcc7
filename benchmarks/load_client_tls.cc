// The TLS echo workloads of the load client (load_client.h): gaio::coro with
// TlsSocket on a caller-driven loop (one thread, one core), the same for
// every server. The client offers one version and one cipher suite
// (TLS_AES_128_GCM_SHA256, or ECDHE-ECDSA-AES128-GCM-SHA256 for TLS 1.2),
// so every server runs the same one; no certificate check (the servers'
// certificates are made at run time). Every echoed byte is checked; a wrong
// byte or a failed status counts as an error.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/histogram.h"
#include "benchmarks/load_client.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "tls/context.h"
#include "tls/session.h"

namespace gaio_bench {
namespace {

using gaio::coro::Scope;
using gaio::coro::Task;
using gaio::coro::TlsSocket;

struct Stats {
  absl::Time start, end;  // the measured interval
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  uint64_t full = 0, resumed = 0;  // handshakes in the measured interval
  uint64_t established = 0;        // idle: connections up
  LatencyHistogram latency;
  bool measuring(absl::Time t) const { return t >= start && t < end; }
};

// What every connection task needs.
struct Shared {
  std::string address;
  gaio::tls::Context context;
  size_t size;
  Stats* s;
};

// Dials and handshakes for a measuring task; a failure counts as an error.
Task<absl::StatusOr<TlsSocket>> Connect(const Shared* sh, absl::Time deadline) {
  absl::StatusOr<TlsSocket> t =
      co_await gaio::coro::dial_tls(sh->address, sh->context, "localhost", deadline);
  if (!t.ok()) ++sh->s->errors;
  co_return t;
}

Task<> PingPong(const Shared* sh) {
  Stats* s = sh->s;
  const absl::Time deadline = s->end + absl::Seconds(10);
  absl::StatusOr<TlsSocket> t = co_await Connect(sh, deadline);
  if (!t.ok()) co_return;
  std::string out(sh->size, 'p'), in(sh->size, '\0');
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
    s->bytes += sh->size;
    s->latency.Record(absl::ToInt64Nanoseconds(got - sent));
  }
}

Task<> Stream(const Shared* sh, int window) {
  Stats* s = sh->s;
  const absl::Time deadline = s->end + absl::Seconds(10);
  absl::StatusOr<TlsSocket> t = co_await Connect(sh, deadline);
  if (!t.ok()) co_return;
  const std::string out(sh->size, 's');
  std::string in(sh->size, '\0');
  for (int i = 0; i < window; ++i) {
    if (!(co_await t->write(out, deadline)).ok()) {
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
      s->bytes += sh->size;
    }
    if (!(co_await t->write(out, deadline)).ok()) {
      ++s->errors;
      co_return;
    }
  }
}

// One connection: dial, handshake (resuming `ticket` when given), 1 byte
// echoed. Returns the established socket, or the first error.
Task<absl::StatusOr<TlsSocket>> Connect(const Shared* sh,
                                        std::optional<gaio::tls::ResumptionTicket> ticket,
                                        absl::Time deadline) {
  absl::StatusOr<gaio::coro::Socket> socket = co_await gaio::coro::dial(sh->address, deadline);
  if (!socket.ok()) co_return socket.status();
  socket->set_nodelay(true).IgnoreError();
  gaio::tls::SessionOptions so;
  so.server_name = "localhost";
  so.resume_from = std::move(ticket);
  absl::StatusOr<gaio::tls::Session> session = gaio::tls::Session::Create(sh->context, so);
  if (!session.ok()) co_return session.status();
  TlsSocket t(*std::move(socket), *std::move(session));
  if (absl::Status h = co_await t.handshake(deadline); !h.ok()) co_return h;
  char byte = 'h', back = 0;
  if (absl::Status w = co_await t.write(absl::string_view(&byte, 1), deadline); !w.ok()) {
    co_return w;
  }
  // In TLS 1.3 the server's ticket comes before the echo and is taken here.
  if (absl::Status r = co_await t.read_full(absl::MakeSpan(&back, 1), deadline); !r.ok()) {
    co_return r;
  }
  if (back != byte) co_return absl::DataLossError("wrong echo");
  co_return std::move(t);
}

// Handshake, 1 byte echoed, close (no close_notify), again. With `resume`,
// each connection resumes the session of the one before (a fresh ticket
// each time: TLS 1.3 tickets are for one use); only resumed handshakes count
// as messages, the full ones (the first, and any the server refused to
// resume) are counted apart.
Task<> Handshakes(const Shared* sh, bool resume) {
  Stats* s = sh->s;
  std::optional<gaio::tls::ResumptionTicket> ticket;
  while (absl::Now() < s->end) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<TlsSocket> t =
        co_await Connect(sh, std::exchange(ticket, std::nullopt), deadline);
    if (!t.ok()) {
      ++s->errors;
      co_return;
    }
    const bool resumed = t->session().resumed();
    if (resume) ticket = t->session().resumption_ticket();
    if (!s->measuring(absl::Now())) continue;
    ++(resumed ? s->resumed : s->full);
    if (resumed == resume) ++s->messages;
  }
}

// Handshaken, 1 byte echoed, then quiet until cancelled; at most `batch`
// handshakes in progress at once.
Task<> Idle(const Shared* sh, uint64_t index, uint64_t batch) {
  Stats* s = sh->s;
  while (batch > 0 && s->established + s->errors + batch <= index) {
    if (!(co_await gaio::coro::sleep(absl::Milliseconds(1))).ok()) co_return;
  }
  absl::StatusOr<TlsSocket> t = co_await Connect(sh, std::nullopt, absl::Now() + absl::Seconds(60));
  if (!t.ok()) {
    ++s->errors;
    co_return;
  }
  ++s->established;
  absl::Status slept = co_await gaio::coro::sleep(absl::InfiniteDuration());
  slept.IgnoreError();  // Cancelled once the RSS is read
}

// Idle: once every connection is up (or failed), the server's RSS once
// stable (unchanged for 500 ms, at least 1 s after the last handshake, at
// most 15 s), as RunIdle; then ends the connections.
Task<> MeasureIdle(const Shared* sh, const LoadOptions* o, int64_t before, Scope* conns,
                   LoadResult* result) {
  Stats* s = sh->s;
  const absl::Time give_up = absl::Now() + absl::Minutes(5);
  while (s->established + s->errors < static_cast<uint64_t>(o->connections) &&
         absl::Now() < give_up) {
    if (!(co_await gaio::coro::sleep(absl::Milliseconds(100))).ok()) break;
  }
  RssSettle settle(before);
  for (;;) {
    absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(100));
    if (!slept.ok() || !settle.Sample(o->server_pid)) break;
  }
  result->rss_per_conn_bytes = static_cast<double>(settle.rss() - before) / o->connections;
  result->messages = s->established;
  conns->cancel();
}

Task<absl::Status> Run(const LoadOptions* o, TlsWorkload kind, const Shared* sh,
                       LoadResult* result) {
  int64_t before = 0;
  if (kind == TlsWorkload::kIdle) {
    absl::StatusOr<int64_t> rss = ReadRssBytes(o->server_pid);
    if (!rss.ok()) co_return rss.status();
    before = *rss;
  }
  Scope scope;
  for (int i = 0; i < o->connections; ++i) {
    switch (kind) {
      case TlsWorkload::kPingPong:
        scope.spawn(PingPong(sh));
        break;
      case TlsWorkload::kStream:
        scope.spawn(Stream(sh, o->window));
        break;
      case TlsWorkload::kHandshakes:
      case TlsWorkload::kResumedHandshakes:
        scope.spawn(Handshakes(sh, kind == TlsWorkload::kResumedHandshakes));
        break;
      case TlsWorkload::kIdle:
        scope.spawn(Idle(sh, i, o->window));
        break;
    }
  }
  if (kind == TlsWorkload::kIdle) {
    Scope measure;
    measure.spawn(MeasureIdle(sh, o, before, &scope, result));
    co_await measure.join();
  }
  co_await scope.join();
  co_return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadResult> RunTls(const LoadOptions& o, TlsWorkload kind) {
  if (kind == TlsWorkload::kIdle && o.server_pid <= 0) {
    return absl::InvalidArgumentError("tls_idle needs the server's pid");
  }
  gaio::tls::ContextOptions co;
  co.verify_peer = gaio::tls::PeerVerification::kNone;  // the servers' certificates are test ones
  co.min_version = co.max_version =
      o.tls12 ? gaio::tls::Version::kTls12 : gaio::tls::Version::kTls13;
  co.tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  co.tls13_ciphersuites = "TLS_AES_128_GCM_SHA256";
  co.session_tickets = kind == TlsWorkload::kResumedHandshakes;  // else full handshakes only
  absl::StatusOr<gaio::tls::Context> context = gaio::tls::Context::Client(co);
  if (!context.ok()) return context.status();
  absl::StatusOr<std::unique_ptr<gaio::coro::EventLoop>> loop =
      gaio::coro::EventLoop::Create();  // caller-driven: one thread
  if (!loop.ok()) return loop.status();
  Stats s;
  s.start = absl::Now() + o.warmup;
  s.end = s.start + o.duration;
  const Shared sh{absl::StrCat("127.0.0.1:", o.port), *std::move(context), o.message_size, &s};
  LoadResult result;
  absl::Status status = (*loop)->run(Run(&o, kind, &sh, &result));
  if (!status.ok()) return status;
  result.errors = s.errors;
  if (kind == TlsWorkload::kIdle) return result;
  const double secs = absl::ToDoubleSeconds(o.duration);
  result.messages = s.messages;
  result.msgs_per_s = s.messages / secs;
  if (kind == TlsWorkload::kHandshakes || kind == TlsWorkload::kResumedHandshakes) {
    result.full_handshakes = static_cast<double>(s.full);
    result.resumed_handshakes = static_cast<double>(s.resumed);
    return result;
  }
  result.mb_per_s = s.bytes / secs / 1e6;
  if (kind == TlsWorkload::kPingPong) {
    result.p50_us = s.latency.Percentile(50) / 1e3;
    result.p90_us = s.latency.Percentile(90) / 1e3;
    result.p99_us = s.latency.Percentile(99) / 1e3;
    result.p999_us = s.latency.Percentile(99.9) / 1e3;
    result.max_us = s.latency.max() / 1e3;
  }
  return result;
}

}  // namespace gaio_bench
