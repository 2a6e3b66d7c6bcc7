// udp_echo_server: a UDP echo server on 127.0.0.1 built on gaio::Watcher.
//
//   ./bazelw run //examples:udp_echo_server -- --port=9000 --inflight=32
//
// One socket and one thread. --inflight receive slots, each with a buffer of
// its own, keep that many recv_from requests in flight: receives queued on
// one fd with their own buffers are served together by one recvmmsg. Each
// datagram goes back to its sender with send_to from the same buffer, and
// the slot receives again once the send has completed, so a slot has exactly
// one request in flight at any time. An empty datagram is echoed (empty); one
// larger than --max_datagram completes with DataLoss and is counted, not
// echoed. Runs until SIGINT/SIGTERM, or for --seconds when given.
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "net/udp.h"
#include "watcher/signal_set.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, port, 9000, "UDP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, busy_poll_us, 0, "busy-poll window in microseconds (0 = off)");
ABSL_FLAG(int, inflight, 32, "receive requests kept in flight (1..1024)");
ABSL_FLAG(int, max_datagram, 65535, "largest datagram echoed, in bytes (buffer per slot)");
ABSL_FLAG(int, rcvbuf_kib, 0, "SO_RCVBUF in KiB (0 = the system default)");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

namespace {

// A receive buffer and the one request it has in flight.
struct Slot {
  std::vector<char> buf;
  bool done = false;  // its last request came back Cancelled (shutdown)
};

struct Counts {
  uint64_t echoed = 0, bytes = 0, empty = 0, truncated = 0, receive_errors = 0, send_errors = 0;
};

class UdpEcho {
 public:
  UdpEcho(gaio::Watcher& w, int fd) : w_(w), fd_(fd) {}

  // Queues the slot's receive; false when refused (only after close()).
  bool Receive(Slot* s) {
    if (w_.recv_from(s, fd_, absl::MakeSpan(s->buf)).ok()) return true;
    s->done = true;
    return false;
  }

  // Every completion, whatever its status.
  void Handle(const gaio::OpResult& r) {
    auto* s = static_cast<Slot*>(r.ctx);
    if (absl::IsCancelled(r.status)) {  // close(): the server is stopping
      s->done = true;
      return;
    }
    switch (r.op) {
      case gaio::OpType::kRead:
        OnReceive(s, r);
        return;
      case gaio::OpType::kWrite:
        if (r.status.ok()) {
          ++counts_.echoed;
          counts_.bytes += r.size;
          counts_.empty += r.size == 0;
        } else {
          Report("send_to", r.status, &counts_.send_errors);
        }
        Receive(s);
        return;
      case gaio::OpType::kTimer:  // the pause after a receive error is over
        Receive(s);
        return;
      default:
        return;
    }
  }

  const Counts& counts() const { return counts_; }

 private:
  void OnReceive(Slot* s, const gaio::OpResult& r) {
    if (r.status.ok()) {
      // Back to the sender, from the same buffer (the Watcher copies the
      // address, not the bytes: the slot keeps them until the send is done).
      if (!w_.send_to(s, fd_, r.buffer.first(r.size), r.peer, r.peer_len).ok()) s->done = true;
      return;
    }
    if (absl::IsDataLoss(r.status)) {  // larger than the buffer: not echoed
      ++counts_.truncated;
      Receive(s);
      return;
    }
    // Anything else (ENOMEM, an ICMP error with IP_RECVERR, ...): count it
    // and try again a little later, so that an error that lasts cannot spin.
    Report("recv_from", r.status, &counts_.receive_errors);
    if (!w_.after(s, absl::Milliseconds(10)).ok()) s->done = true;
  }

  static void Report(const char* what, const absl::Status& status, uint64_t* count) {
    if ((*count)++ < 5)
      std::fprintf(stderr, "udp_echo_server: %s: %s\n", what, status.ToString().c_str());
  }

  gaio::Watcher& w_;
  const int fd_;
  Counts counts_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int inflight = absl::GetFlag(FLAGS_inflight);
  const int max_datagram = absl::GetFlag(FLAGS_max_datagram);
  if (inflight < 1 || inflight > 1024 || max_datagram < 1 || max_datagram > 65535) {
    std::fprintf(stderr, "udp_echo_server: --inflight in [1,1024], --max_datagram in [1,65535]\n");
    return 2;
  }
  // Declared before the watcher, so that they outlive every request. The
  // stop's requests (the signal pipe's read, the --seconds timer) carry
  // stop_tag.
  std::vector<Slot> slots(static_cast<size_t>(inflight));
  char stop_tag = 0, signal_bytes[16];
  for (Slot& s : slots) s.buf.resize(static_cast<size_t>(max_datagram));

  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  options.busy_poll = absl::Microseconds(absl::GetFlag(FLAGS_busy_poll_us));
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(options);
  if (!w.ok()) {
    std::fprintf(stderr, "udp_echo_server: %s\n", w.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<gaio::net::SocketAddress> addr = gaio::net::SocketAddress::FromIp(
      "127.0.0.1", static_cast<uint16_t>(absl::GetFlag(FLAGS_port)));
  gaio::net::UdpOptions udp;
  udp.receive_buffer_bytes = absl::GetFlag(FLAGS_rcvbuf_kib) * 1024;
  absl::StatusOr<int> fd = addr.ok() ? gaio::net::OpenUdpSocket(*addr, udp) : addr.status();
  absl::StatusOr<gaio::net::SocketAddress> local =
      fd.ok() ? gaio::net::LocalAddress(*fd) : fd.status();
  if (!local.ok()) {
    std::fprintf(stderr, "udp_echo_server: %s\n", local.status().ToString().c_str());
    return 1;
  }
  UdpEcho echo(*w, *fd);
  // The first request makes the watcher the owner of fd (close() closes it).
  for (Slot& s : slots) {
    if (!echo.Receive(&s)) {
      std::fprintf(stderr, "udp_echo_server: recv_from refused\n");
      return 1;
    }
  }
  // SIGINT and SIGTERM: bytes on a pipe that the watcher reads; --seconds:
  // a timer. Either completion stops the server.
  absl::StatusOr<std::unique_ptr<gaio::SignalSet>> signals =
      gaio::SignalSet::Create({SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "udp_echo_server: %s\n", signals.status().ToString().c_str());
    return 1;  // the watcher closes the socket
  }
  const int signal_fd = (*signals)->TakeReadFd();
  if (!w->read(&stop_tag, signal_fd, absl::MakeSpan(signal_bytes)).ok()) {
    close(signal_fd);  // refused: the watcher does not own it
    return 1;
  }
  const int seconds = absl::GetFlag(FLAGS_seconds);
  if (seconds > 0 && !w->after(&stop_tag, absl::Seconds(seconds)).ok()) return 1;
  std::printf("udp_echo_server listening on %s\n", local->ToString().c_str());
  std::fflush(stdout);

  bool stopping = false;
  auto handle = [&](const gaio::OpResult& r) {
    if (r.ctx != &stop_tag) {
      echo.Handle(r);
    } else if (!absl::IsCancelled(r.status)) {  // Cancelled: close(), stopping already
      stopping = true;
    }
  };
  absl::Status status;
  while (!stopping) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  // Shut down: every request in flight comes back (finished ones with their
  // own status, the rest Cancelled), then wait_io() fails.
  w->close().IgnoreError();
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  const Counts& c = echo.counts();
  const gaio::WatcherStats st = w->stats();
  std::printf(
      "udp_echo_server: %llu datagrams echoed (%llu bytes, %llu empty), %llu truncated (not "
      "echoed), %llu receive errors, %llu send errors; %llu receive calls for %llu datagrams, "
      "%llu send calls for %llu\n",
      static_cast<unsigned long long>(c.echoed), static_cast<unsigned long long>(c.bytes),
      static_cast<unsigned long long>(c.empty), static_cast<unsigned long long>(c.truncated),
      static_cast<unsigned long long>(c.receive_errors),
      static_cast<unsigned long long>(c.send_errors),
      static_cast<unsigned long long>(st.datagram_receive_calls),
      static_cast<unsigned long long>(st.datagrams_received),
      static_cast<unsigned long long>(st.datagram_send_calls),
      static_cast<unsigned long long>(st.datagrams_sent));
  if (!status.ok()) {
    std::fprintf(stderr, "udp_echo_server: %s\n", status.ToString().c_str());
    return 1;
  }
  // Every slot's last request came back: none is still in the watcher.
  for (const Slot& s : slots) {
    if (!s.done) {
      std::fprintf(stderr, "udp_echo_server: a receive slot never came back\n");
      return 1;
    }
  }
  return 0;
}
