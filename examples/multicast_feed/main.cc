// multicast_feed: a market-data-like UDP multicast feed in one process. A
// publisher sends sequenced, timestamped messages to a group; N subscribers
// on the same host receive them, detect gaps, duplicates and reordering, and
// measure the one-way latency (send to receive, on the monotonic clock the
// two sides share). A progress line every second, a summary at the end.
//
//   ./bazelw run //examples:multicast_feed -- --interface=lo --rate=20000
//
// The publisher runs in a thread of its own (a caller-driven Watcher, an
// after() tick every millisecond, send_to); the subscribers share one
// Watcher in the main thread, each with --inflight recv_from requests of its
// own buffers (served by recvmmsg). --subscriber=blocking replaces them by a
// thread per subscriber blocked in recvfrom: the baseline for the latency.
// --source joins source-specific (the publisher then sends from it).
//
// The interface must carry multicast. A host's loopback often lacks
// IFF_MULTICAST and a route for the group; in a network namespace of your
// own nothing reaches the host's interfaces (as root):
//   unshare -n sh -c 'ip link set lo up multicast on && exec multicast_feed --interface=lo'
// IPv6 groups need an interface other than lo (docs/DATAGRAMS.md).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/multicast_feed/feed.h"
#include "net/address.h"
#include "net/multicast.h"
#include "watcher/watcher.h"

ABSL_FLAG(std::string, group, "239.255.0.1:23900", "multicast group:port ([ipv6]:port)");
ABSL_FLAG(std::string, interface, "lo", "interface to join and send on (name or index)");
ABSL_FLAG(std::string, source, "", "join source-specific: the publisher sends from this address");
ABSL_FLAG(int, subscribers, 2, "subscribers (1..64)");
ABSL_FLAG(std::string, subscriber, "gaio", "gaio (one Watcher) | blocking (recvfrom threads)");
ABSL_FLAG(double, rate, 20000, "messages per second (0 = as fast as possible)");
ABSL_FLAG(int, size, 64, "message bytes (>= 16)");
ABSL_FLAG(double, seconds, 3, "how long to publish");
ABSL_FLAG(int, ttl, 1, "multicast TTL");
ABSL_FLAG(bool, loopback, true, "IP_MULTICAST_LOOP on the publisher");
ABSL_FLAG(int, inflight, 16, "recv_from requests in flight per subscriber (gaio)");
ABSL_FLAG(int, pollers, 1, "subscriber Watcher poller threads (0 = caller-driven)");
ABSL_FLAG(int, busy_poll_us, 0, "subscriber Watcher busy-poll window in microseconds");
ABSL_FLAG(int, rcvbuf_kib, 0, "SO_RCVBUF of each subscriber in KiB (0 = system default)");
ABSL_FLAG(bool, rcvbuf_force, false,
          "set --rcvbuf_kib with SO_RCVBUFFORCE, past net.core.rmem_max (needs CAP_NET_ADMIN)");

namespace {

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "multicast_feed: %s: %s\n", what, v.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(v);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "multicast_feed: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

std::string Micros(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", ns / 1e3);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_subscribers);
  const int size = absl::GetFlag(FLAGS_size);
  const std::string kind = absl::GetFlag(FLAGS_subscriber);
  if (n < 1 || n > 64 || size < static_cast<int>(feed::kHeader) || size > 65000 ||
      absl::GetFlag(FLAGS_inflight) < 1 || (kind != "gaio" && kind != "blocking")) {
    std::fprintf(stderr,
                 "multicast_feed: --subscribers in [1,64], --size in [16,65000], --inflight >= 1, "
                 "--subscriber=gaio|blocking\n");
    return 2;
  }
  using gaio::net::SocketAddress;
  const SocketAddress group = OrDie(SocketAddress::Parse(absl::GetFlag(FLAGS_group)), "--group");
  const unsigned interface =
      OrDie(gaio::net::InterfaceIndex(absl::GetFlag(FLAGS_interface)), "--interface");
  const std::string source_text = absl::GetFlag(FLAGS_source);
  const SocketAddress source = source_text.empty()
                                   ? SocketAddress::Any(group.family())
                                   : OrDie(SocketAddress::FromIp(source_text, 0), "--source");

  // The subscribers' sockets, joined before anything is sent.
  std::vector<int> fds;
  gaio::net::MulticastReceiverOptions ro;
  ro.interface = interface;
  ro.udp.receive_buffer_bytes = absl::GetFlag(FLAGS_rcvbuf_kib) * 1024;
  ro.udp.force_buffer_sizes = absl::GetFlag(FLAGS_rcvbuf_force);
  for (int i = 0; i < n; ++i) {
    const int fd = OrDie(gaio::net::OpenMulticastReceiver(group, ro), "receiver");
    Check(source_text.empty() ? gaio::net::JoinGroup(fd, group, interface)
                              : gaio::net::JoinSourceGroup(fd, group, source, interface),
          "join");
    fds.push_back(fd);
  }
  gaio::net::MulticastSenderOptions so;
  so.interface = interface;
  so.ttl = absl::GetFlag(FLAGS_ttl);
  so.loopback = absl::GetFlag(FLAGS_loopback);
  const int sender = OrDie(gaio::net::OpenMulticastSender(source, so), "sender");

  std::atomic<uint64_t> published{0};
  std::atomic<bool> publisher_done{false};
  feed::PublisherResult pub;
  std::thread publisher([&] {
    pub = feed::RunPublisher(sender, group, static_cast<size_t>(size), absl::GetFlag(FLAGS_rate),
                             absl::Seconds(absl::GetFlag(FLAGS_seconds)), &published);
    publisher_done.store(true);
  });

  std::vector<feed::FeedStats> stats(static_cast<size_t>(n));
  const absl::Time start = absl::Now();
  absl::Time done_at = absl::InfiniteFuture();
  feed::Hooks hooks;
  // Over once the publisher is done and every subscriber has caught up with
  // what it sent, or a second after that (what is missing then is lost).
  hooks.finished = [&] {
    if (!publisher_done.load()) return false;
    if (done_at == absl::InfiniteFuture()) done_at = absl::Now();
    for (const feed::FeedStats& s : stats) {
      if (s.next() < published.load() && absl::Now() < done_at + absl::Seconds(1)) return false;
    }
    return true;
  };
  hooks.progress = [&] {
    std::string line = absl::StrCat("t=", absl::ToInt64Seconds(absl::Now() - start),
                                    "s: published ", published.load());
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&line, " | sub", i, " ", stats[i].received(), " received, ", stats[i].gaps(),
                      " gaps");
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  absl::Status status;
  gaio::WatcherStats ws;
  if (kind == "gaio") {
    gaio::WatcherOptions options;
    options.num_pollers = absl::GetFlag(FLAGS_pollers);
    options.busy_poll = absl::Microseconds(absl::GetFlag(FLAGS_busy_poll_us));
    status = feed::RunGaioSubscribers(fds, static_cast<size_t>(size) + 1024,
                                      absl::GetFlag(FLAGS_inflight), options, stats, hooks, &ws);
  } else {
    status = feed::RunBlockingSubscribers(fds, static_cast<size_t>(size) + 1024, stats, hooks);
  }
  publisher.join();

  // The summary: per subscriber, then all together.
  const double secs = absl::GetFlag(FLAGS_seconds);
  uint64_t received = 0, gaps = 0, missing = 0, duplicates = 0, reordered = 0, bad = 0;
  feed::Histogram all;
  for (int i = 0; i < n; ++i) {
    const feed::FeedStats& s = stats[i];
    // Missing: skipped and never come, plus the tail never reached.
    const uint64_t lost = s.missing() + (pub.published > s.next() ? pub.published - s.next() : 0);
    const feed::Histogram& h = s.latency();
    std::printf(
        "sub%d: %llu received of %llu, %llu gaps, %llu missing, %llu duplicates, %llu reordered, "
        "%llu truncated, %llu malformed, %llu errors; %.0f msgs/s; one-way latency p50 %s us, "
        "p99 %s us, max %s us\n",
        i, static_cast<unsigned long long>(s.received()),
        static_cast<unsigned long long>(pub.published), static_cast<unsigned long long>(s.gaps()),
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(s.duplicates()),
        static_cast<unsigned long long>(s.reordered()),
        static_cast<unsigned long long>(s.truncated()),
        static_cast<unsigned long long>(s.malformed()), static_cast<unsigned long long>(s.errors()),
        s.received() / secs, Micros(h.Percentile(50)).c_str(), Micros(h.Percentile(99)).c_str(),
        Micros(h.max()).c_str());
    received += s.received();
    gaps += s.gaps();
    missing += lost;
    duplicates += s.duplicates();
    reordered += s.reordered();
    bad += s.errors();
    all.Merge(h);
  }
  std::printf(
      "multicast_feed: %d %s subscribers, %llu published (%llu sent, %llu send errors, %llu "
      "stalls), %llu received, %llu gaps, %llu missing, %llu duplicates, %llu reordered; one-way "
      "latency p50 %s us, p99 %s us, p99.9 %s us, max %s us\n",
      n, kind.c_str(), static_cast<unsigned long long>(pub.published),
      static_cast<unsigned long long>(pub.sent), static_cast<unsigned long long>(pub.send_errors),
      static_cast<unsigned long long>(pub.stalls), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(gaps), static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(reordered),
      Micros(all.Percentile(50)).c_str(), Micros(all.Percentile(99)).c_str(),
      Micros(all.Percentile(99.9)).c_str(), Micros(all.max()).c_str());
  if (kind == "gaio") {
    std::printf("subscriber watcher: %llu receive calls for %llu datagrams\n",
                static_cast<unsigned long long>(ws.datagram_receive_calls),
                static_cast<unsigned long long>(ws.datagrams_received));
    std::printf("publisher watcher: %llu send calls for %llu datagrams\n",
                static_cast<unsigned long long>(pub.watcher.datagram_send_calls),
                static_cast<unsigned long long>(pub.watcher.datagrams_sent));
  }
  for (const absl::Status& s : {pub.status, status}) {
    if (!s.ok()) std::fprintf(stderr, "multicast_feed: %s\n", s.ToString().c_str());
  }
  const bool ok =
      pub.status.ok() && status.ok() && pub.send_errors == 0 && bad == 0 && pub.published > 0;
  return ok ? 0 : 1;
}
