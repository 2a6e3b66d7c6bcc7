// echo_demo: gaio-cpp working end to end, with no set-up.
//
//   ./bazelw run //examples:echo_demo
//
// Starts an echo server on a free loopback port in this process, then drives
// it with --conns client connections (themselves on a second Watcher) for
// --seconds: each connection writes a message, read_fulls the echo, checks
// every byte, and repeats. Prints a progress line every second and a summary.
// Exits 0 only when messages flowed and no byte or status was wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/echo_service.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, conns, 300, "client connections");
ABSL_FLAG(int, seconds, 3, "how long to run");
ABSL_FLAG(int, message, 1024, "bytes per message");

namespace {

// An exchange is a write of `sent` and a read_full of its echo into `echoed`;
// both buffers are reused for the next exchange only after both requests have
// reported (a request owns its buffer until its OpResult is returned, even
// when the other one already tells that it must have finished).
struct Client {
  int fd = -1;
  uint64_t seq = 0;
  int outstanding = 0;  // requests of the current exchange not yet reported
  bool failed = false;  // one of them failed or the echo was wrong
  std::string sent;
  std::string echoed;
};

// Fills `out` with bytes that depend on the connection and the sequence
// number, so a misrouted or reordered echo is caught.
void FillMessage(size_t conn, uint64_t seq, std::string* out) {
  uint64_t x = (conn + 1) * 0x9E3779B97F4A7C15ull + seq;
  for (char& c : *out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
}

// Blocking connect to 127.0.0.1:port; -1 on failure.
int ConnectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Sends the client's next message and asks for its echo; counts the
// requests accepted. False when one was refused.
bool Exchange(gaio::Watcher& w, Client& c) {
  if (!w.write(&c, c.fd, c.sent).ok()) return false;
  ++c.outstanding;
  if (!w.read_full(&c, c.fd, absl::MakeSpan(c.echoed), absl::Now() + absl::Seconds(30)).ok()) {
    return false;
  }
  ++c.outstanding;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int conns = absl::GetFlag(FLAGS_conns);
  const size_t message = static_cast<size_t>(absl::GetFlag(FLAGS_message));
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  if (conns <= 0 || message == 0) {
    std::fprintf(stderr, "echo_demo: --conns and --message must be positive\n");
    return 2;
  }

  auto server = gaio_examples::EchoService::Start(0, gaio::WatcherOptions{});
  if (!server.ok()) {
    std::fprintf(stderr, "echo_demo: server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::thread server_thread([s = server->get()] { s->Run().IgnoreError(); });
  std::printf("echo server on 127.0.0.1:%d; %d client connections, %zu-byte messages, %s\n",
              (*server)->port(), conns, message, absl::FormatDuration(duration).c_str());

  absl::StatusOr<gaio::Watcher> client = gaio::Watcher::Create();
  if (!client.ok()) return 1;
  std::vector<Client> clients(conns);
  uint64_t errors = 0, messages = 0, bytes = 0;
  int active = 0;  // clients with an exchange under way
  auto fail = [&errors](Client& c) {
    ++errors;
    c.failed = true;
  };
  for (size_t i = 0; i < clients.size(); ++i) {
    Client& c = clients[i];
    c.fd = ConnectTo((*server)->port());
    if (c.fd < 0) {
      std::fprintf(stderr, "echo_demo: connect failed\n");
      return 1;
    }
    c.sent.resize(message);
    c.echoed.resize(message);
    FillMessage(i, c.seq, &c.sent);
    if (!Exchange(*client, c)) fail(c);
    if (c.outstanding > 0) ++active;
  }

  const absl::Time start = absl::Now();
  const absl::Time give_up = start + duration + absl::Seconds(30);
  absl::Time last_report = start;
  uint64_t reported_bytes = 0;
  while (active > 0 && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch =
        client->wait_io(absl::Milliseconds(100));
    if (!batch.ok()) break;
    const bool more = absl::Now() - start < duration;
    for (const gaio::OpResult& r : *batch) {
      Client& c = *static_cast<Client*>(r.ctx);
      --c.outstanding;
      if (!r.status.ok()) {
        fail(c);
      } else if (r.op == gaio::OpType::kRead) {
        if (c.echoed != c.sent) {
          fail(c);
        } else {
          ++messages;
          bytes += r.size;
        }
      }
      if (c.outstanding > 0) continue;  // the other half of the exchange is still out
      // Both reported: the buffers are the client's again.
      if (more && !c.failed) {
        FillMessage(&c - clients.data(), ++c.seq, &c.sent);
        if (!Exchange(*client, c)) fail(c);
      }
      if (c.outstanding == 0) --active;
    }
    const absl::Time now = absl::Now();
    if (now - last_report >= absl::Seconds(1)) {
      std::printf("  t=%4.1fs  messages=%-9llu %8.1f MB/s  errors=%llu\n",
                  absl::ToDoubleSeconds(now - start), static_cast<unsigned long long>(messages),
                  (bytes - reported_bytes) / 1e6 / absl::ToDoubleSeconds(now - last_report),
                  static_cast<unsigned long long>(errors));
      std::fflush(stdout);
      reported_bytes = bytes;
      last_report = now;
    }
  }
  errors += active;  // exchanges that never finished
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  // After close() no request touches the clients' buffers any more.
  client->close().IgnoreError();
  (*server)->Stop();
  server_thread.join();
  std::printf(
      "summary: %d connections, %llu messages echoed and verified (%.0f msg/s, "
      "%.1f MB/s each way), %llu errors\n",
      conns, static_cast<unsigned long long>(messages), messages / secs, bytes / 1e6 / secs,
      static_cast<unsigned long long>(errors));
  return errors == 0 && messages > 0 ? 0 : 1;
}
