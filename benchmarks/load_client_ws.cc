// The WebSocket workloads of the load client (load_client.h): ws ping-pong,
// ws stream and ws idle over ws:// or (LoadOptions::tls) wss://, on a
// caller-driven gaio::Watcher with the sans-I/O cores: gaio::ws's
// ClientHandshake and client Session (masking, framing, checking the echoed
// frames) and, for wss, gaio::tls's Session (TLS 1.3, TLS_AES_128_GCM_SHA256,
// no certificate check: the servers' certificates are made at run time).
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/histogram.h"
#include "benchmarks/load_client.h"
#include "tls/context.h"
#include "tls/session.h"
#include "watcher/watcher.h"
#include "ws/handshake.h"
#include "ws/session.h"

namespace gaio_bench {
namespace {

uint64_t NowNs() { return absl::GetCurrentTimeNanos(); }

struct WsConn {
  int fd = -1;
  size_t index = 0;
  std::unique_ptr<gaio::ws::ClientHandshake> handshake;
  std::unique_ptr<gaio::ws::Session> ws;
  std::optional<gaio::tls::Session> tls;
  std::string message;
  // Bytes being written, and bytes queued behind them.
  std::string writing, queued;
  bool write_pending = false;
  std::vector<char> in, plain;
  uint64_t sent_at_ns = 0;
  bool open = false, dead = false;
};

// One workload's connections and the Watcher that drives them.
class WsDriver {
 public:
  WsDriver(const LoadOptions& o, gaio::Watcher* w) : o_(o), w_(w) {}

  // Connects, handshakes (TLS, then the upgrade) every connection; at most
  // 60 s. Connections that fail count as errors.
  absl::Status Open(std::optional<gaio::tls::Context> tls) {
    conns_.resize(o_.connections);
    const size_t buf = std::clamp<size_t>(o_.message_size * 2 + 1024, 4096, 256 * 1024);
    for (size_t i = 0; i < conns_.size(); ++i) {
      WsConn& c = conns_[i];
      c.index = i;
      c.fd = ConnectLoopback(o_.port);
      if (c.fd < 0) {
        return absl::UnavailableError(absl::StrCat("ws connect #", i, " to 127.0.0.1:", o_.port,
                                                   " failed: ", std::strerror(errno)));
      }
      c.in.resize(buf);
      if (tls) {
        absl::StatusOr<gaio::tls::Session> s = gaio::tls::Session::Create(*tls);
        if (!s.ok()) return s.status();
        c.tls.emplace(std::move(*s));
        c.plain.resize(buf);
      }
      c.message.resize(o_.message_size);
      uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
      for (char& ch : c.message) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ch = static_cast<char>(x);
      }
      gaio::ws::ClientOptions co;
      co.host = absl::StrCat("127.0.0.1:", o_.port);
      c.handshake = std::make_unique<gaio::ws::ClientHandshake>(std::move(co));
      Send(c, c.handshake->request());
      Flush(c);
      if (!w_->read(&c, c.fd, absl::MakeSpan(c.in)).ok()) Kill(c);
    }
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (opened_ + dead_ < conns_.size() && absl::Now() < give_up) {
      if (absl::Status s = Poll(); !s.ok()) return s;
    }
    errors_ += conns_.size() - opened_ - dead_;  // handshakes that never finished
    if (opened_ == 0) return absl::UnavailableError("no ws connection opened");
    return absl::OkStatus();
  }

  // One round of completions.
  absl::Status Poll() {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w_->wait_io(absl::Milliseconds(100));
    if (!batch.ok()) return batch.status();
    for (const gaio::OpResult& r : *batch) {
      WsConn& c = *static_cast<WsConn*>(r.ctx);
      if (r.op == gaio::OpType::kWrite) {
        c.write_pending = false;
        if (!r.status.ok()) {
          Kill(c);
        } else {
          Flush(c);
        }
        continue;
      }
      if (!r.status.ok() || r.size == 0) {
        Kill(c);
        continue;
      }
      if (OnBytes(c, r.size)) {
        Flush(c);
        if (!c.dead && !w_->read(&c, c.fd, absl::MakeSpan(c.in)).ok()) Kill(c);
      }
    }
    return absl::OkStatus();
  }

  // Queues one message on `c`.
  void SendMessage(WsConn& c) {
    if (c.dead || !c.open) return;
    c.sent_at_ns = NowNs();
    if (!c.ws->send_binary(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(c.message.data()),
                                               c.message.size()))
             .ok()) {
      Kill(c);
      return;
    }
    DrainWs(c);
    Flush(c);
  }

  std::vector<WsConn>& conns() { return conns_; }
  uint64_t errors() const { return errors_; }
  // Called with each echoed message, checked; the connection sends more.
  std::function<void(WsConn&)> on_echo;

 private:
  void Kill(WsConn& c) {
    if (c.dead) return;
    c.dead = true;
    ++dead_;
    ++errors_;
  }

  // Application bytes out: through TLS when on.
  void Send(WsConn& c, absl::string_view bytes) {
    if (!c.tls) {
      c.queued.append(bytes.data(), bytes.size());
      return;
    }
    if (!c.tls->write(bytes).ok()) Kill(c);
    absl::string_view cipher = c.tls->ciphertext();
    c.queued.append(cipher.data(), cipher.size());
    c.tls->consume_ciphertext(cipher.size());
  }
  void DrainWs(WsConn& c) {
    absl::Span<const uint8_t> out = c.ws->output();
    Send(c, absl::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
    c.ws->consume_output(out.size());
  }
  void Flush(WsConn& c) {
    if (c.tls) {
      absl::string_view cipher = c.tls->ciphertext();
      c.queued.append(cipher.data(), cipher.size());
      c.tls->consume_ciphertext(cipher.size());
    }
    if (c.dead || c.write_pending || c.queued.empty()) return;
    std::swap(c.writing, c.queued);
    c.queued.clear();
    c.write_pending = true;
    if (!w_->write(&c, c.fd, c.writing).ok()) Kill(c);
  }

  // Ciphertext or plaintext bytes read; false when the connection failed.
  bool OnBytes(WsConn& c, size_t n) {
    if (!c.tls) return OnPlain(c, c.in.data(), n);
    absl::StatusOr<size_t> got =
        c.tls->feed(absl::MakeConstSpan(c.in.data(), n), absl::MakeSpan(c.plain));
    if (!got.ok()) {
      Kill(c);
      return false;
    }
    if (*got > 0 && !OnPlain(c, c.plain.data(), *got)) return false;
    for (;;) {
      absl::StatusOr<size_t> more = c.tls->read(absl::MakeSpan(c.plain));
      if (!more.ok()) {
        Kill(c);
        return false;
      }
      if (*more == 0) return true;
      if (!OnPlain(c, c.plain.data(), *more)) return false;
    }
  }

  bool OnPlain(WsConn& c, char* data, size_t n) {
    auto* bytes = reinterpret_cast<uint8_t*>(data);
    if (!c.open) {
      size_t consumed = 0;
      absl::StatusOr<bool> done = c.handshake->feed(absl::MakeConstSpan(bytes, n), &consumed);
      if (!done.ok()) {
        Kill(c);
        return false;
      }
      if (!*done) return true;
      c.ws = std::make_unique<gaio::ws::Session>(c.handshake->session_options());
      c.handshake.reset();
      c.open = true;
      ++opened_;
      bytes += consumed;
      n -= consumed;
      if (n == 0) return true;
    }
    c.ws->feed(absl::MakeSpan(bytes, n));
    for (;;) {
      absl::StatusOr<gaio::ws::Event> e = c.ws->next();
      if (!e.ok()) {
        Kill(c);
        return false;
      }
      using Type = gaio::ws::Event::Type;
      if (e->type == Type::kNone) break;
      if (e->type == Type::kClose) {
        Kill(c);
        return false;
      }
      if (e->type != Type::kBinary) continue;  // pings are answered by the session
      if (e->text() != c.message) ++errors_;
      if (on_echo) on_echo(c);
    }
    DrainWs(c);
    return !c.dead;
  }

  const LoadOptions& o_;
  gaio::Watcher* w_;
  std::vector<WsConn> conns_;
  size_t opened_ = 0, dead_ = 0;
  uint64_t errors_ = 0;
};

absl::StatusOr<std::optional<gaio::tls::Context>> ClientTls(const LoadOptions& o) {
  if (!o.tls) return std::optional<gaio::tls::Context>();
  gaio::tls::ContextOptions t;
  t.verify_peer = gaio::tls::PeerVerification::kNone;  // run-time test certificates
  t.min_version = t.max_version = gaio::tls::Version::kTls13;
  t.tls13_ciphersuites = "TLS_AES_128_GCM_SHA256";
  absl::StatusOr<gaio::tls::Context> c = gaio::tls::Context::Client(t);
  if (!c.ok()) return c.status();
  return std::optional<gaio::tls::Context>(std::move(*c));
}

absl::StatusOr<gaio::Watcher> Caller() {
  gaio::WatcherOptions options;
  options.num_pollers = 0;
  return gaio::Watcher::Create(options);
}

}  // namespace

absl::StatusOr<LoadResult> RunWs(const LoadOptions& o, WsWorkload kind) {
  absl::StatusOr<std::optional<gaio::tls::Context>> tls = ClientTls(o);
  if (!tls.ok()) return tls.status();
  absl::StatusOr<gaio::Watcher> w = Caller();
  if (!w.ok()) return w.status();
  LoadResult result;
  int64_t rss_before = 0;
  if (kind == WsWorkload::kIdle) {
    if (o.server_pid <= 0) return absl::InvalidArgumentError("ws idle needs the server's pid");
    absl::StatusOr<int64_t> rss = ReadRssBytes(o.server_pid);
    if (!rss.ok()) return rss.status();
    rss_before = *rss;
  }
  WsDriver d(o, &*w);
  if (absl::Status s = d.Open(*tls); !s.ok()) return s;
  if (kind == WsWorkload::kIdle) {
    // Handshaken: RSS unchanged for 500 ms, at least 1 s on, at most 15 s.
    RssSettle settle(0);
    do {
      if (absl::Status s = d.Poll(); !s.ok()) return s;  // ~100 ms
    } while (settle.Sample(o.server_pid));
    result.rss_per_conn_bytes = static_cast<double>(settle.rss() - rss_before) / o.connections;
    result.errors = d.errors();
    return result;
  }
  LatencyHistogram histogram;
  const uint64_t start = NowNs();
  const uint64_t measure_from = start + absl::ToInt64Nanoseconds(o.warmup);
  const uint64_t end = measure_from + absl::ToInt64Nanoseconds(o.duration);
  d.on_echo = [&](WsConn& c) {
    const uint64_t now = NowNs();
    if (now >= measure_from) {
      ++result.messages;
      if (kind == WsWorkload::kPingPong) histogram.Record(now - c.sent_at_ns);
    }
    if (now < end) d.SendMessage(c);
  };
  const int window = kind == WsWorkload::kPingPong ? 1 : std::max(1, o.window);
  for (WsConn& c : d.conns()) {
    for (int i = 0; i < window; ++i) d.SendMessage(c);
  }
  while (NowNs() < end) {
    if (absl::Status s = d.Poll(); !s.ok()) return s;
  }
  const double secs = absl::ToDoubleSeconds(o.duration);
  result.errors = d.errors();
  result.msgs_per_s = result.messages / secs;
  result.mb_per_s = result.messages * o.message_size / 1e6 / secs;
  if (kind == WsWorkload::kPingPong) {
    result.p50_us = histogram.Percentile(50) / 1e3;
    result.p90_us = histogram.Percentile(90) / 1e3;
    result.p99_us = histogram.Percentile(99) / 1e3;
    result.p999_us = histogram.Percentile(99.9) / 1e3;
    result.max_us = histogram.max() / 1e3;
  }
  return result;  // ~Watcher closes the connections
}

}  // namespace gaio_bench
