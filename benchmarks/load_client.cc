#include "benchmarks/load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmarks/histogram.h"
#include "watcher/watcher.h"

namespace gaio_bench {
namespace {

uint64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// One client connection: a fixed message (distinct per connection, so a
// misrouted echo is caught) and a buffer for its echo.
struct Conn {
  int fd = -1;
  std::string message;
  std::string echo;
  uint64_t sent_at_ns = 0;
};

void FillMessage(size_t index, std::string* out) {
  uint64_t x = (index + 1) * 0x9E3779B97F4A7C15ull;
  for (char& c : *out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
}

absl::StatusOr<gaio::Watcher> ClientWatcher() {
  gaio::WatcherOptions options;
  options.num_pollers = 0;  // caller-driven: the client is one thread
  return gaio::Watcher::Create(options);
}

absl::Status OpenAll(const LoadOptions& o, std::vector<Conn>* conns) {
  conns->resize(o.connections);
  for (size_t i = 0; i < conns->size(); ++i) {
    Conn& c = (*conns)[i];
    c.fd = ConnectLoopback(o.port);
    if (c.fd < 0) {
      return absl::UnavailableError(absl::StrCat("connect #", i, " to 127.0.0.1:", o.port,
                                                 " failed: ", std::strerror(errno)));
    }
    c.message.resize(o.message_size);
    c.echo.resize(o.message_size);
    FillMessage(i, &c.message);
  }
  return absl::OkStatus();
}

// Issues one write of the connection's message.
bool SendMessage(gaio::Watcher& w, Conn& c) { return w.write(nullptr, c.fd, c.message).ok(); }

// Asks for the next message-sized chunk of echo.
bool ExpectEcho(gaio::Watcher& w, Conn& c) {
  return w.read_full(&c, c.fd, absl::MakeSpan(c.echo)).ok();
}

void Progress(const LoadOptions& o, const char* name, uint64_t start_ns, uint64_t messages,
              uint64_t bytes, uint64_t errors, uint64_t* next_ns) {
  if (!o.progress) return;
  const uint64_t now = NowNanos();
  if (now < *next_ns) return;
  const double secs = (now - start_ns) / 1e9;
  std::fprintf(stderr, "  [%s] t=%.0fs messages=%llu %.1f MB/s errors=%llu\n", name, secs,
               static_cast<unsigned long long>(messages), bytes / 1e6 / secs,
               static_cast<unsigned long long>(errors));
  *next_ns = now + 1'000'000'000u;
}

}  // namespace

int ConnectLoopbackSocket(int port, int type) {
  const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

int ConnectLoopback(int port) {
  const int fd = ConnectLoopbackSocket(port, SOCK_STREAM);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

absl::StatusOr<int64_t> ReadRssBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid));
}

bool RssSettle::Sample(pid_t pid) {
  if (absl::Now() - start_ >= absl::Seconds(15)) return false;
  absl::StatusOr<int64_t> now = ReadRssBytes(pid);
  if (!now.ok()) return false;
  rss_ = *now;
  if (rss_ != last_) {
    last_ = rss_;
    stable_since_ = absl::Now();
    return true;
  }
  return absl::Now() - start_ < absl::Seconds(1) ||
         absl::Now() - stable_since_ < absl::Milliseconds(500);
}

absl::StatusOr<LoadResult> RunThroughput(const LoadOptions& o) {
  absl::StatusOr<gaio::Watcher> w = ClientWatcher();
  if (!w.ok()) return w.status();
  std::vector<Conn> conns;
  if (absl::Status s = OpenAll(o, &conns); !s.ok()) return s;
  LoadResult result;
  for (Conn& c : conns) {
    for (int i = 0; i < o.window; ++i) {
      if (!SendMessage(*w, c)) ++result.errors;
    }
    if (!ExpectEcho(*w, c)) ++result.errors;
  }
  const uint64_t start = NowNanos();
  const uint64_t measure_from = start + absl::ToInt64Nanoseconds(o.warmup);
  const uint64_t end = measure_from + absl::ToInt64Nanoseconds(o.duration);
  uint64_t bytes = 0, next_progress = start + 1'000'000'000u;
  for (uint64_t now = start; now < end; now = NowNanos()) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(100));
    if (!batch.ok()) return batch.status();
    now = NowNanos();
    const bool counting = now >= measure_from;
    for (const gaio::OpResult& r : *batch) {
      if (!r.status.ok()) {
        ++result.errors;
        continue;
      }
      if (r.op == gaio::OpType::kWrite) continue;
      Conn& c = *static_cast<Conn*>(r.ctx);
      if (c.echo != c.message) ++result.errors;
      if (counting) {
        ++result.messages;
        bytes += r.size;
      }
      if (!SendMessage(*w, c) || !ExpectEcho(*w, c)) ++result.errors;
    }
    Progress(o, "throughput", start, result.messages, bytes, result.errors, &next_progress);
  }
  const double secs = absl::ToDoubleSeconds(o.duration);
  result.mb_per_s = bytes / 1e6 / secs;
  result.msgs_per_s = result.messages / secs;
  return result;  // ~Watcher closes the connections
}

absl::StatusOr<LoadResult> RunPingPong(const LoadOptions& o) {
  absl::StatusOr<gaio::Watcher> w = ClientWatcher();
  if (!w.ok()) return w.status();
  std::vector<Conn> conns;
  if (absl::Status s = OpenAll(o, &conns); !s.ok()) return s;
  LoadResult result;
  LatencyHistogram histogram;
  for (Conn& c : conns) {
    c.sent_at_ns = NowNanos();
    if (!SendMessage(*w, c) || !ExpectEcho(*w, c)) ++result.errors;
  }
  const uint64_t start = NowNanos();
  const uint64_t measure_from = start + absl::ToInt64Nanoseconds(o.warmup);
  const uint64_t end = measure_from + absl::ToInt64Nanoseconds(o.duration);
  uint64_t next_progress = start + 1'000'000'000u;
  for (uint64_t now = start; now < end; now = NowNanos()) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(100));
    if (!batch.ok()) return batch.status();
    for (const gaio::OpResult& r : *batch) {
      if (!r.status.ok()) {
        ++result.errors;
        continue;
      }
      if (r.op == gaio::OpType::kWrite) continue;
      Conn& c = *static_cast<Conn*>(r.ctx);
      const uint64_t done = NowNanos();
      if (c.echo != c.message) ++result.errors;
      if (done >= measure_from) {
        histogram.Record(done - c.sent_at_ns);
        ++result.messages;
      }
      c.sent_at_ns = NowNanos();
      if (!SendMessage(*w, c) || !ExpectEcho(*w, c)) ++result.errors;
    }
    Progress(o, "pingpong", start, result.messages, result.messages * o.message_size, result.errors,
             &next_progress);
  }
  const double secs = absl::ToDoubleSeconds(o.duration);
  result.msgs_per_s = result.messages / secs;
  result.mb_per_s = result.messages * o.message_size / 1e6 / secs;
  result.p50_us = histogram.Percentile(50) / 1e3;
  result.p90_us = histogram.Percentile(90) / 1e3;
  result.p99_us = histogram.Percentile(99) / 1e3;
  result.p999_us = histogram.Percentile(99.9) / 1e3;
  result.max_us = histogram.max() / 1e3;
  return result;
}

absl::StatusOr<LoadResult> RunConnect(const LoadOptions& o) {
  absl::StatusOr<gaio::Watcher> w = ClientWatcher();
  if (!w.ok()) return w.status();
  LoadOptions one_kib = o;
  one_kib.message_size = 1024;
  const uint64_t start = NowNanos();
  std::vector<Conn> conns;
  if (absl::Status s = OpenAll(one_kib, &conns); !s.ok()) return s;
  LoadResult result;
  for (Conn& c : conns) {
    if (!SendMessage(*w, c) || !ExpectEcho(*w, c)) ++result.errors;
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  uint64_t reads = 0, failed_reads = 0;
  while (reads + failed_reads < conns.size() && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(100));
    if (!batch.ok()) return batch.status();
    for (const gaio::OpResult& r : *batch) {
      if (!r.status.ok()) {
        ++result.errors;
        if (r.op == gaio::OpType::kRead) ++failed_reads;
      } else if (r.op == gaio::OpType::kRead) {
        Conn& c = *static_cast<Conn*>(r.ctx);
        if (c.echo != c.message) ++result.errors;
        ++reads;
      }
    }
  }
  result.seconds = (NowNanos() - start) / 1e9;
  result.messages = reads;
  result.errors += conns.size() - reads - failed_reads;  // echoes that never came
  return result;
}

absl::StatusOr<LoadResult> RunIdle(const LoadOptions& o) {
  if (o.server_pid <= 0) return absl::InvalidArgumentError("idle needs the server's pid");
  absl::StatusOr<int64_t> before = ReadRssBytes(o.server_pid);
  if (!before.ok()) return before.status();
  std::vector<int> fds;
  for (int i = 0; i < o.connections; ++i) {
    int fd = ConnectLoopback(o.port);
    if (fd < 0) {
      for (int f : fds) close(f);
      return absl::UnavailableError(absl::StrCat("idle connect #", i, ": ", std::strerror(errno)));
    }
    fds.push_back(fd);
  }
  // Let the server accept everything and settle: RSS unchanged for 500 ms,
  // at least 1 s after the last connect, at most 15 s.
  RssSettle settle(0);
  do {
    absl::SleepFor(absl::Milliseconds(100));
  } while (settle.Sample(o.server_pid));
  const int64_t rss = settle.rss();
  for (int fd : fds) close(fd);
  LoadResult result;
  result.rss_per_conn_bytes = static_cast<double>(rss - *before) / o.connections;
  return result;
}

}  // namespace gaio_bench
