// echo_client: load for any TCP echo server on 127.0.0.1.
//
//   ./bazelw run --config=opt //benchmarks:echo_client --
//       --port=9000 --mode=pingpong --conns=100 --size=64 --seconds=5
//
// Modes: throughput (stream, --window messages in flight per connection),
// pingpong (one in flight; latency percentiles from a histogram), connect
// (open --conns and echo 1 KiB once on each; time to finish), idle (open
// --conns idle connections; server RSS growth per connection, needs
// --server_pid), udp (--conns UDP senders, --window datagrams in flight each,
// against a UDP echo server; echoes/s, round-trip percentiles, datagrams
// lost), ws_* (WebSocket), tls_* (TLS echo: tls_pingpong, tls_stream,
// tls_handshakes, tls_resumed, tls_idle; --tls_version=1.2|1.3). A table line by default, --json
// for machines. Exits 1 if any echo was wrong or failed.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "benchmarks/load_client.h"
#include "benchmarks/report.h"

ABSL_FLAG(int, port, 9000, "server port on 127.0.0.1");
ABSL_FLAG(std::string, mode, "pingpong",
          "throughput | pingpong | connect | idle | udp | chat | ws_pingpong | ws_stream | "
          "ws_idle | tls_pingpong | tls_stream | tls_handshakes | tls_resumed | tls_idle");
ABSL_FLAG(bool, tls, false, "ws_*: wss (TLS 1.3, AES-128-GCM) instead of ws");
ABSL_FLAG(std::string, tls_version, "1.3", "tls_*: 1.2 | 1.3");
ABSL_FLAG(int, conns, 1, "connections (at most 19000: the open-file limit is 20000)");
ABSL_FLAG(int, size, 1024, "message size in bytes");
ABSL_FLAG(double, seconds, 5, "measured duration (throughput, pingpong, udp)");
ABSL_FLAG(double, warmup, 0.3, "seconds of warm-up before measuring");
ABSL_FLAG(int, window, 4,
          "messages in flight per connection (throughput, udp, ws_stream, tls_stream); "
          "tls_idle: handshakes in progress at most");
ABSL_FLAG(double, udp_timeout_ms, 200, "udp: a datagram with no echo after this is lost");
ABSL_FLAG(std::string, udp_client, "batched",
          "udp: batched (epoll + recvmmsg/sendmmsg) | watcher (a gaio::Watcher)");
ABSL_FLAG(int, udp_client_threads, 2, "udp, batched: client threads");
ABSL_FLAG(int, senders, 10, "chat: how many of the connections send lines");
ABSL_FLAG(int, server_pid, 0, "server pid (idle)");
ABSL_FLAG(bool, json, false, "print JSON instead of a table line");
ABSL_FLAG(bool, progress, true, "print a progress line every second to stderr");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio_bench::LoadOptions o;
  o.port = absl::GetFlag(FLAGS_port);
  o.connections = absl::GetFlag(FLAGS_conns);
  o.message_size = static_cast<size_t>(absl::GetFlag(FLAGS_size));
  o.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  o.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  o.window = absl::GetFlag(FLAGS_window);
  o.server_pid = absl::GetFlag(FLAGS_server_pid);
  o.progress = absl::GetFlag(FLAGS_progress) && !absl::GetFlag(FLAGS_json);
  if (o.connections < 1 || o.connections > 19000 || o.message_size < 1 || o.window < 1 ||
      o.duration <= absl::ZeroDuration() || o.duration > absl::Minutes(10)) {
    std::fprintf(stderr,
                 "echo_client: --conns in [1,19000], --size >= 1, --window >= 1, "
                 "--seconds in (0, 600]\n");
    return 2;
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  absl::StatusOr<gaio_bench::LoadResult> r;
  if (mode == "throughput") {
    r = gaio_bench::RunThroughput(o);
  } else if (mode == "pingpong") {
    r = gaio_bench::RunPingPong(o);
  } else if (mode == "connect") {
    r = gaio_bench::RunConnect(o);
  } else if (mode == "idle") {
    r = gaio_bench::RunIdle(o);
  } else if (mode == "udp") {
    o.udp_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_udp_timeout_ms));
    o.udp_batched_client = absl::GetFlag(FLAGS_udp_client) != "watcher";
    o.udp_client_threads = absl::GetFlag(FLAGS_udp_client_threads);
    r = gaio_bench::RunUdpEcho(o);
  } else if (mode == "chat") {
    o.chat_senders = absl::GetFlag(FLAGS_senders);
    r = gaio_bench::RunChat(o);
  } else if (mode == "ws_pingpong" || mode == "ws_stream" || mode == "ws_idle") {
    o.tls = absl::GetFlag(FLAGS_tls);
    r = gaio_bench::RunWs(o, mode == "ws_pingpong" ? gaio_bench::WsWorkload::kPingPong
                             : mode == "ws_stream" ? gaio_bench::WsWorkload::kStream
                                                   : gaio_bench::WsWorkload::kIdle);
  } else if (mode.rfind("tls_", 0) == 0) {
    o.tls12 = absl::GetFlag(FLAGS_tls_version) == "1.2";
    const gaio_bench::TlsWorkload kinds[] = {
        gaio_bench::TlsWorkload::kPingPong, gaio_bench::TlsWorkload::kStream,
        gaio_bench::TlsWorkload::kHandshakes, gaio_bench::TlsWorkload::kResumedHandshakes,
        gaio_bench::TlsWorkload::kIdle};
    const char* names[] = {"tls_pingpong", "tls_stream", "tls_handshakes", "tls_resumed",
                           "tls_idle"};
    int i = 0;
    while (i < 5 && mode != names[i]) ++i;
    if (i < 5) {
      r = gaio_bench::RunTls(o, kinds[i]);
    } else {
      std::fprintf(stderr, "echo_client: unknown --mode=%s\n", mode.c_str());
      return 2;
    }
  } else {
    std::fprintf(stderr, "echo_client: unknown --mode=%s\n", mode.c_str());
    return 2;
  }
  if (!r.ok()) {
    std::fprintf(stderr, "echo_client: %s\n", r.status().ToString().c_str());
    return 1;
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("{\"mode\": \"%s\", \"conns\": %d, \"size\": %zu, \"result\": %s}\n", mode.c_str(),
                o.connections, o.message_size, gaio_bench::ToJson(*r).c_str());
  } else {
    std::printf("%-10s conns=%-5d size=%-6zu %s\n", mode.c_str(), o.connections, o.message_size,
                gaio_bench::ToText(*r).c_str());
  }
  return r->errors == 0 ? 0 : 1;
}
