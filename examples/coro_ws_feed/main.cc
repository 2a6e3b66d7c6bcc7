// ws_feed: market-data style fan-out over WebSocket (//coro:ws). A server
// publishes timestamped ticks (16-byte binary messages: sequence number and
// the send time in ns since the epoch) to every subscriber; subscribers
// measure the end-to-end latency of each tick (same host: one clock) and
// report percentiles.
//
//   ws_feed --mode=both --subscribers=50 --rate=1000 --seconds=2
//   ws_feed --mode=server --port=9090 --seconds=60 [--cert=C --key=K]
//   ws_feed --mode=subscriber --url=ws://127.0.0.1:9090/feed --subscribers=10 --seconds=5
//
// The server prints "ws_feed server on 127.0.0.1:N"; subscribers print
// "ws_feed report: subscribers=S ticks=T p50=..us p90=..us p99=..us max=..us".
// The publisher sends each tick to the subscribers in turn: a subscriber
// whose send buffer is above --max_buffered is failed (the WsSocket's cap),
// the others go on.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "coro/ws_socket.h"
#include "tls/context.h"

ABSL_FLAG(std::string, mode, "both", "server, subscriber or both");
ABSL_FLAG(int, port, 0, "server: TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(std::string, url, "", "subscriber: ws://host:port/feed or wss://...");
ABSL_FLAG(int, subscribers, 10, "subscriber connections");
ABSL_FLAG(int, rate, 1000, "ticks per second");
ABSL_FLAG(double, seconds, 2, "how long to publish / to subscribe");
ABSL_FLAG(std::string, cert, "", "server: certificate (wss)");
ABSL_FLAG(std::string, key, "", "server: private key (wss)");
ABSL_FLAG(std::string, ca, "", "subscriber: CA file for wss");
ABSL_FLAG(int64_t, max_buffered, 1 << 20, "server: a subscriber's send cap in bytes");

namespace {

using gaio::coro::Listener;
using gaio::coro::Scope;
using gaio::coro::Socket;
using gaio::coro::Task;
using gaio::coro::TlsSocket;
using gaio::coro::WsMessage;
using gaio::coro::WsServerOptions;
using gaio::coro::WsSocket;

int64_t NowNs() { return absl::ToUnixNanos(absl::Now()); }

// A subscriber on the server; lives in its Subscriber frame, which waits
// until the publisher is not using it before it ends.
struct Entry {
  WsSocket* ws = nullptr;
  int busy = 0;
};

struct Feed {
  const gaio::tls::Context* tls = nullptr;
  std::vector<Entry*> subscribers;  // live subscribers
  absl::Time end;
  bool done = false;
  uint64_t sent = 0;
  uint64_t failed = 0;
};

// One subscriber connection on the server: registered until it ends.
Task<> Subscriber(Socket socket, Feed* feed) {
  WsServerOptions options;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  options.max_buffered = static_cast<size_t>(absl::GetFlag(FLAGS_max_buffered));
  absl::StatusOr<WsSocket> ws;
  if (feed->tls != nullptr) {
    absl::StatusOr<TlsSocket> t = TlsSocket::Server(std::move(socket), *feed->tls);
    if (!t.ok()) co_return;
    ws = co_await ws_accept(*std::move(t), options, deadline);
  } else {
    ws = co_await ws_accept(std::move(socket), options, deadline);
  }
  if (!ws.ok()) co_return;
  Entry entry{&*ws};
  feed->subscribers.push_back(&entry);
  for (;;) {  // subscribers send nothing; this sees their close or failure
    absl::StatusOr<WsMessage> m = co_await ws->receive();
    if (!m.ok()) break;
  }
  feed->subscribers.erase(std::find(feed->subscribers.begin(), feed->subscribers.end(), &entry));
  while (entry.busy > 0) {  // the publisher is in a send or close on it
    absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(1));
    slept.IgnoreError();
  }
}

Task<> Accept(const Listener* listener, Feed* feed, Scope* scope) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await listener->accept();
    if (absl::IsCancelled(s.status())) co_return;
    if (!s.ok()) {
      absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(50));
      if (!slept.ok()) co_return;
      continue;
    }
    s->set_nodelay(true).IgnoreError();
    scope->spawn(Subscriber(*std::move(s), feed));
  }
}

// Publishes until feed->end, then closes every subscriber (1001).
Task<> Publish(Feed* feed, int rate) {
  const absl::Duration period = absl::Seconds(1) / std::max(rate, 1);
  absl::Time next = absl::Now();
  uint64_t seq = 0;
  while (absl::Now() < feed->end) {
    next += period;
    absl::Status slept =
        co_await gaio::coro::sleep(std::max(next - absl::Now(), absl::ZeroDuration()));
    if (!slept.ok()) break;
    uint8_t tick[16];
    const int64_t now = NowNs();
    ++seq;
    std::memcpy(tick, &seq, 8);
    std::memcpy(tick + 8, &now, 8);
    // By index: the list may shrink while a send waits (an entry stays
    // valid while busy).
    for (size_t i = 0; i < feed->subscribers.size(); ++i) {
      Entry* e = feed->subscribers[i];
      ++e->busy;
      absl::Status s = co_await e->ws->send_binary(tick);
      --e->busy;
      if (s.ok()) {
        ++feed->sent;
      } else {
        ++feed->failed;
      }
    }
  }
  for (size_t i = 0; i < feed->subscribers.size(); ++i) {
    Entry* e = feed->subscribers[i];
    ++e->busy;
    absl::Status c = co_await e->ws->close(gaio::ws::kCloseGoingAway, "feed over");
    --e->busy;
    c.IgnoreError();  // the subscriber's receive sees the answer
  }
  feed->done = true;
}

struct Report {
  std::vector<int64_t> latencies_ns;
  int connected = 0;
  int failed = 0;
};

// One subscriber client: records each tick's latency until the server closes
// or the deadline.
Task<> Subscribe(std::string url, gaio::coro::WsOptions options, absl::Time end, Report* report) {
  absl::StatusOr<WsSocket> ws = co_await gaio::coro::ws_connect(url, options);
  if (!ws.ok()) {
    std::fprintf(stderr, "ws_feed: connect: %s\n", ws.status().ToString().c_str());
    ++report->failed;
    co_return;
  }
  ++report->connected;
  for (;;) {
    absl::StatusOr<WsMessage> m = co_await ws->receive(end);
    if (!m.ok()) break;  // the server's close (1001), the deadline, an error
    if (m->data.size() != 16) continue;
    int64_t sent = 0;
    std::memcpy(&sent, m->data.data() + 8, 8);
    report->latencies_ns.push_back(NowNs() - sent);
  }
}

void PrintReport(Report* r) {
  std::vector<int64_t>& v = r->latencies_ns;
  std::sort(v.begin(), v.end());
  auto pct = [&v](double p) -> double {
    if (v.empty()) return 0;
    return static_cast<double>(v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]) / 1e3;
  };
  std::printf(
      "ws_feed report: subscribers=%d failed=%d ticks=%zu p50=%.1fus p90=%.1fus p99=%.1fus "
      "max=%.1fus\n",
      r->connected, r->failed, v.size(), pct(0.5), pct(0.9), pct(0.99),
      v.empty() ? 0.0 : static_cast<double>(v.back()) / 1e3);
  std::fflush(stdout);
}

Task<absl::Status> Run(std::string mode, Listener* listener, Feed* feed, std::string url,
                       gaio::coro::WsOptions options, Report* report) {
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  Scope connections, acceptors, clients;
  if (listener != nullptr) {
    acceptors.spawn(Accept(listener, feed, &connections));
  }
  if (mode != "server") {
    const absl::Time end = absl::Now() + length + absl::Seconds(5);
    for (int i = 0; i < absl::GetFlag(FLAGS_subscribers); ++i) {
      options.deadline = absl::Now() + absl::Seconds(10);
      clients.spawn(Subscribe(url, options, end, report));
    }
  }
  if (listener != nullptr) {
    if (mode == "both") {  // publish once the subscribers are in
      const absl::Time give_up = absl::Now() + absl::Seconds(10);
      while (static_cast<int>(feed->subscribers.size()) < absl::GetFlag(FLAGS_subscribers) &&
             absl::Now() < give_up) {
        absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(5));
        slept.IgnoreError();
      }
    }
    feed->end = absl::Now() + length;
    co_await Publish(feed, absl::GetFlag(FLAGS_rate));
    acceptors.cancel();
  }
  co_await clients.join();
  co_await acceptors.join();
  co_await connections.join();
  co_return absl::OkStatus();
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "ws_feed: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "server" && mode != "subscriber" && mode != "both") {
    return Fail("--mode", absl::InvalidArgumentError("server, subscriber or both"));
  }
  std::optional<gaio::tls::Context> server_tls, client_tls;
  if (!absl::GetFlag(FLAGS_cert).empty()) {
    absl::StatusOr<gaio::tls::CertifiedKey> key =
        gaio::tls::CertifiedKey::FromFiles(absl::GetFlag(FLAGS_cert), absl::GetFlag(FLAGS_key));
    if (!key.ok()) return Fail("--cert/--key", key.status());
    gaio::tls::ContextOptions o;
    o.certificate = *std::move(key);
    absl::StatusOr<gaio::tls::Context> made = gaio::tls::Context::Server(o);
    if (!made.ok()) return Fail("certificate", made.status());
    server_tls.emplace(*std::move(made));
  }
  if (!absl::GetFlag(FLAGS_ca).empty()) {
    gaio::tls::ContextOptions o;
    o.ca_file = absl::GetFlag(FLAGS_ca);
    absl::StatusOr<gaio::tls::Context> made = gaio::tls::Context::Client(o);
    if (!made.ok()) return Fail("--ca", made.status());
    client_tls.emplace(*std::move(made));
  }
  gaio::WatcherOptions options;
  options.num_pollers = 1;
  auto loop = gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) return Fail("loop", loop.status());
  Feed feed;
  feed.tls = server_tls ? &*server_tls : nullptr;
  std::optional<Listener> listener;
  std::string url = absl::GetFlag(FLAGS_url);
  if (mode != "subscriber") {
    auto l = gaio::coro::listen(**loop, absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)));
    if (!l.ok()) return Fail("listen", l.status());
    listener.emplace(*std::move(l));
    std::printf("ws_feed server on %s (%s)\n", listener->address().c_str(),
                feed.tls != nullptr ? "wss" : "ws");
    std::fflush(stdout);
    if (url.empty()) {
      url = absl::StrCat(feed.tls != nullptr ? "wss://localhost:" : "ws://localhost:",
                         listener->address().substr(listener->address().rfind(':') + 1), "/feed");
    }
  } else if (url.empty()) {
    return Fail("--url", absl::InvalidArgumentError("required with --mode=subscriber"));
  }
  gaio::coro::WsOptions ws_options;
  ws_options.tls = client_tls ? &*client_tls : nullptr;
  Report report;
  absl::Status status =
      (*loop)->run(Run(mode, listener ? &*listener : nullptr, &feed, url, ws_options, &report));
  if (!status.ok()) return Fail("run", status);
  if (mode != "server") PrintReport(&report);
  if (mode != "subscriber") {
    std::printf("ws_feed server: sent=%llu failed=%llu\n",
                static_cast<unsigned long long>(feed.sent),
                static_cast<unsigned long long>(feed.failed));
  }
  return report.failed == 0 ? 0 : 1;
}
