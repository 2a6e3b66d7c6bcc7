// The echo load client: workloads against any TCP echo server on 127.0.0.1.
// Used by //benchmarks:echo_client (command line) and //benchmarks:compare
// (side-by-side runs). Every workload is bounded in connections and time and
// checks the echoed bytes; a wrong byte counts as an error.
//
// The client itself runs on a gaio::Watcher in caller-driven mode: one
// thread, no hand-off, so it takes one core and leaves the other to the
// server under test.
#ifndef GAIO_BENCHMARKS_LOAD_CLIENT_H_
#define GAIO_BENCHMARKS_LOAD_CLIENT_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gaio_bench {

struct LoadOptions {
  int port = 0;
  int connections = 1;
  size_t message_size = 1024;
  absl::Duration duration = absl::Seconds(5);
  absl::Duration warmup = absl::Milliseconds(300);
  // Messages each connection may have in flight (throughput only).
  int window = 4;
  // Server pid, for the idle workload's RSS readings.
  pid_t server_pid = 0;
  // Print a progress line every second to stderr.
  bool progress = false;
  // UDP: a datagram with no echo after this long is counted lost (and its
  // window slot reused).
  absl::Duration udp_timeout = absl::Milliseconds(200);
  // UDP: drive the senders with plain epoll and recvmmsg/sendmmsg (true), so
  // that the client costs less per datagram than the server it measures, or
  // with a gaio::Watcher (false).
  bool udp_batched_client = true;
  // UDP, batched: client threads, the senders shared out among them. Two
  // outweigh one server thread in the scheduler of a shared 2-core machine,
  // so that the server, not the client, sets the pace.
  int udp_client_threads = 2;
  // Chat: how many of the connections send (all of them receive).
  int chat_senders = 10;
  // WebSocket: wss (TLS 1.3, TLS_AES_128_GCM_SHA256) instead of ws.
  bool tls = false;
  // TLS workloads: TLS 1.2 (ECDHE-ECDSA-AES128-GCM-SHA256) instead of 1.3.
  bool tls12 = false;
};

// Every field a workload measured; the others stay negative.
struct LoadResult {
  double mb_per_s = -1;  // echoed bytes (one direction) per second / 1e6
  double msgs_per_s = -1;
  double p50_us = -1, p90_us = -1, p99_us = -1, p999_us = -1, max_us = -1;
  double seconds = -1;             // connect: time to finish
  double rss_per_conn_bytes = -1;  // idle: server RSS growth / connections
  uint64_t messages = 0;
  uint64_t errors = 0;                // failed statuses and wrong bytes
  double lost = -1;                   // UDP: datagrams whose echo never came
  double server_cpu_us_per_msg = -1;  // compare, UDP: server CPU time per echo
  double full_handshakes = -1;        // TLS handshake workloads: how many of each,
  double resumed_handshakes = -1;     // in the measured interval
};

// N connections stream messages of message_size, up to `window` in flight
// each; counts echoed bytes and messages after the warm-up.
absl::StatusOr<LoadResult> RunThroughput(const LoadOptions& options);

// N connections, one message in flight each; latency of every round trip
// (write submitted -> echo fully read) into a histogram.
absl::StatusOr<LoadResult> RunPingPong(const LoadOptions& options);

// Opens N connections and echoes 1 KiB on each once; time from the first
// connect to the last echo (gaio's 1k..12k test as a benchmark).
absl::StatusOr<LoadResult> RunConnect(const LoadOptions& options);

// Opens N idle connections and reports the server's RSS growth per
// connection (VmRSS of options.server_pid before and after, once stable).
absl::StatusOr<LoadResult> RunIdle(const LoadOptions& options);

// UDP echo: N senders (`connections`, each a UDP socket connected to
// 127.0.0.1:port), each keeping `window` datagrams of message_size in flight
// (sequence number and send time inside, the rest a pattern). Counts echoes
// per second after the warm-up and the round-trip latency of each; a wrong
// byte is an error. UDP may drop (a full receive buffer): a datagram with no
// echo within udp_timeout counts as lost, nothing is resent, and its slot
// sends the next one, so the window stays honest. message_size >= 24.
absl::StatusOr<LoadResult> RunUdpEcho(const LoadOptions& options);

// Chat (a server relaying each line to every other client): N connections,
// the first chat_senders of them sending lines of message_size, each with
// at most `window` lines that have not yet reached every other client (so
// the work in flight is bounded whatever order the server writes to its
// clients in; a lost line stalls its sender). Every receiver
// checks each sender's sequence numbers: msgs_per_s = deliveries (lines
// received, over all clients) per second after the warm-up; lost counts
// lines missing or out of order, which are errors too, as are garbled lines
// and lines back to their sender.
absl::StatusOr<LoadResult> RunChat(const LoadOptions& options);

// Chat, idle: N connections, quiet; with message_size > 0 the first sends
// one line first and every other one receives it. The server's RSS growth
// per connection once stable, as RunIdle.
absl::StatusOr<LoadResult> RunChatIdle(const LoadOptions& options);

// WebSocket echo (load_client_ws.cc), ws:// or wss:// (LoadOptions::tls):
// every connection handshakes (the upgrade, after TLS) first, then
//   kPingPong: one binary message of message_size in flight per connection;
//     msgs/s and the latency of each round trip (send -> echo checked);
//   kStream: `window` messages in flight per connection; msgs/s, MB/s;
//   kIdle: quiet after the handshake; the server's RSS growth per connection
//     once stable, as RunIdle.
// Each echo must be the connection's own message, whole, as one binary
// message; anything else (or a failed/closed connection) is an error.
enum class WsWorkload { kPingPong, kStream, kIdle };
absl::StatusOr<LoadResult> RunWs(const LoadOptions& options, WsWorkload kind);

// TLS echo (load_client_tls.cc): gaio::coro TlsSocket clients on a
// caller-driven loop, TLS 1.3 with TLS_AES_128_GCM_SHA256 (LoadOptions::tls12:
// TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256), no certificate check:
//   kPingPong: one message of message_size in flight per connection; msgs/s,
//     MB/s and the latency of each round trip;
//   kStream: `window` messages in flight per connection; msgs/s, MB/s;
//   kHandshakes: each connection loops: dial, full handshake (the client
//     takes no tickets), 1 byte echoed, close; msgs/s = handshakes/s;
//   kResumedHandshakes: the same, each connection resuming the session of
//     its previous one (a fresh TLS 1.3 ticket each time, SSL_set_session);
//     msgs/s counts only handshakes that were resumed (SSL_session_reused);
//     full_handshakes and resumed_handshakes say how many of each came;
//   kIdle: `connections` handshaken (1 byte echoed; at most `window`
//     handshakes at once) and kept open, quiet; the server's RSS growth per
//     connection once stable, as RunIdle.
enum class TlsWorkload { kPingPong, kStream, kHandshakes, kResumedHandshakes, kIdle };
absl::StatusOr<LoadResult> RunTls(const LoadOptions& options, TlsWorkload kind);

// VmRSS of `pid` in bytes, from /proc/PID/status.
absl::StatusOr<int64_t> ReadRssBytes(pid_t pid);

// Follows a server's RSS until it settles (the idle workloads): unchanged
// for 500 ms, at least 1 s after construction, at most 15 s. Sample it about
// every 100 ms.
class RssSettle {
 public:
  explicit RssSettle(int64_t initial) : rss_(initial) {}
  // Reads the RSS of `pid`. False once it has settled, the 15 s are up, or
  // it could not be read: stop sampling then.
  bool Sample(pid_t pid);
  int64_t rss() const { return rss_; }  // the last read (`initial` if none)

 private:
  const absl::Time start_ = absl::Now();
  absl::Time stable_since_ = start_;
  int64_t last_ = -1;
  int64_t rss_;
};

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to 127.0.0.1:port
// (blocking). -1 on failure, with errno set.
int ConnectLoopbackSocket(int port, int type);

// Connects to 127.0.0.1:port (blocking), TCP_NODELAY. -1 on failure.
int ConnectLoopback(int port);

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_LOAD_CLIENT_H_
