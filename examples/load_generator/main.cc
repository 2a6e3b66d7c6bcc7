// load_generator: a small echo load generator on one gaio::Watcher and one
// thread. It connects --conns sockets with connect() (each with a deadline),
// then on each keeps one message of --size bytes going round (write it,
// read_full the echo, compare), and prints progress every second from an
// after() timer. Exits 0 when every echo came back intact and no connection
// failed.
//
//   ./bazelw run //examples:echo_server -- --port=9000 &
//   ./bazelw run //examples:load_generator -- --port=9000 --conns=100 --seconds=5
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, port, 9000, "echo server port on 127.0.0.1");
ABSL_FLAG(int, conns, 50, "connections");
ABSL_FLAG(int, size, 64, "message bytes");
ABSL_FLAG(int, seconds, 3, "how long to run");
ABSL_FLAG(int, connect_timeout_ms, 5000, "deadline of each connect");

namespace {

// One connection. It has one request in flight at a time except while the
// write and the read of a round are both pending; `pending` counts them, and
// the connection is deleted when it is done and none is left.
struct Conn {
  int fd = -1;
  int pending = 0;
  bool done = false;  // failed, or stopping: no new round
  std::string out;    // this round's message (stays valid until its write completes)
  std::string in;     // the echo
  uint64_t round = 0;
};

struct Totals {
  uint64_t rounds = 0, connected = 0, failed = 0, mismatches = 0;
};

void NextRound(gaio::Watcher& w, Conn* c, int size) {
  ++c->round;
  for (int i = 0; i < size; ++i) c->out[i] = static_cast<char>('a' + (c->round + i) % 26);
  // Write and read in flight together: the read waits for the echo.
  if (w.write(c, c->fd, c->out).ok()) ++c->pending;
  if (w.read_full(c, c->fd, absl::MakeSpan(c->in)).ok()) ++c->pending;
  if (c->pending < 2) c->done = true;  // refused: only after close()
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int conns = absl::GetFlag(FLAGS_conns);
  const int size = std::max(1, absl::GetFlag(FLAGS_size));
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();  // default: 1 poller thread
  if (!w.ok()) {
    std::fprintf(stderr, "load_generator: %s\n", w.status().ToString().c_str());
    return 1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(absl::GetFlag(FLAGS_port)));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(absl::GetFlag(FLAGS_connect_timeout_ms));

  Totals totals;
  int live = 0;  // connections not yet deleted
  for (int i = 0; i < conns; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++totals.failed;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto* c = new Conn{fd, 0, false, std::string(size, ' '), std::string(size, ' '), 0};
    // connect() owns fd from here on, even if the connection fails.
    if (!w->connect(c, fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), deadline).ok()) {
      close(fd);
      delete c;
      ++totals.failed;
      continue;
    }
    c->pending = 1;
    ++live;
  }

  char ticker = 0;  // ctx of the progress timer
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  w->after(&ticker, absl::Seconds(1)).IgnoreError();
  bool stopping = false;
  while (live > 0) {
    if (!stopping && absl::Now() >= end) {
      stopping = true;
      w->close().IgnoreError();  // ends every request: each comes back below
    }
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(end - absl::Now());
    if (!batch.ok()) break;  // closed and drained
    for (const gaio::OpResult& r : *batch) {
      if (r.ctx == &ticker) {
        if (!r.status.ok()) continue;  // Cancelled by close()
        std::printf("t=%.0fs: %llu round trips, %llu connected, %llu failed\n",
                    absl::ToDoubleSeconds(absl::Now() - start),
                    static_cast<unsigned long long>(totals.rounds),
                    static_cast<unsigned long long>(totals.connected),
                    static_cast<unsigned long long>(totals.failed));
        std::fflush(stdout);
        w->after(&ticker, absl::Seconds(1)).IgnoreError();  // repeat
        continue;
      }
      auto* c = static_cast<Conn*>(r.ctx);
      --c->pending;
      if (!r.status.ok()) {
        // Refused, timed out, reset, EOF... or Cancelled by close().
        if (!absl::IsCancelled(r.status) && !c->done) {
          ++totals.failed;
          std::fprintf(stderr, "connection %d: %s\n", c->fd, r.status.ToString().c_str());
        }
        if (!c->done) w->free(c->fd).IgnoreError();  // free once; cancels the other request
        c->done = true;
      } else if (r.op == gaio::OpType::kConnect) {
        ++totals.connected;
        NextRound(*w, c, size);
      } else if (r.op == gaio::OpType::kRead) {
        if (c->in != c->out) {
          ++totals.mismatches;
          c->done = true;
          w->free(c->fd).IgnoreError();
        } else {
          ++totals.rounds;
        }
      }
      // A round is over when both its write and its read are back.
      if (!c->done && c->pending == 0 && r.op != gaio::OpType::kConnect) NextRound(*w, c, size);
      if (c->done && c->pending == 0) {
        delete c;
        --live;
      }
    }
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "load_generator: %d connections, %llu connected, %llu failed, %llu round trips "
      "(%.0f/s), %llu mismatches\n",
      conns, static_cast<unsigned long long>(totals.connected),
      static_cast<unsigned long long>(totals.failed),
      static_cast<unsigned long long>(totals.rounds), secs > 0 ? totals.rounds / secs : 0.0,
      static_cast<unsigned long long>(totals.mismatches));
  return totals.failed == 0 && totals.mismatches == 0 && totals.connected > 0 ? 0 : 1;
}
