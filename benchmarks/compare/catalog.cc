#include "benchmarks/compare/catalog.h"

#include <string>
#include <vector>

namespace gaio_bench {
namespace {

// Every UDP server gets the same socket receive buffer: 64 senders with 8
// datagrams in flight each overflow the default one.
const char kUdpRcvbuf[] = "--rcvbuf_kib=4096";

}  // namespace

std::vector<Server> BuiltinServers() {
  return {
      {"gaio", "examples/echo_server", {"--pollers=1"}},
      {"gaio_no_takeover", "examples/echo_server", {"--pollers=1", "--takeover_us=0"}},
      {"gaio_2pollers", "examples/echo_server", {"--pollers=2"}},
      {"gaio_caller_driven", "examples/echo_server", {"--pollers=0"}},
      {"gaio_busy_poll", "examples/echo_server", {"--pollers=0", "--busy_poll_us=50"}},
      {"gaio_coro", "examples/coro_echo_server", {"--pollers=1"}},
      {"asio", "benchmarks/peers/asio_echo_server", {}},
      {"asio_coro", "benchmarks/peers/asio_coro_echo_server", {}},
      {"libuv", "benchmarks/peers/libuv_echo_server", {}},
      {"blocking", "benchmarks/peers/blocking_echo_server", {}},
      {"epoll", "benchmarks/peers/epoll_echo_server", {}},
      {"gaio_udp", "examples/udp_echo_server", {"--pollers=1", kUdpRcvbuf}, Proto::kUdp},
      {"gaio_udp_caller_driven",
       "examples/udp_echo_server",
       {"--pollers=0", kUdpRcvbuf},
       Proto::kUdp},
      {"udp_epoll", "benchmarks/peers/udp_epoll_echo_server", {kUdpRcvbuf}, Proto::kUdp},
      {"udp_asio", "benchmarks/peers/udp_asio_echo_server", {kUdpRcvbuf}, Proto::kUdp},
      {"chat_coro", "examples/chat_server", {"--pollers=1"}, Proto::kChat},
      {"chat_raw", "examples/chat_server_raw", {"--pollers=1"}, Proto::kChat},
      {"chat_raw_caller_driven", "examples/chat_server_raw", {"--pollers=0"}, Proto::kChat},
      // WebSocket echo; gaio_ws* run only once //examples:ws_echo_server is in
      // the runfiles (see main()).
      {"gaio_ws", "examples/ws_echo_server", {"--pollers=1"}, Proto::kWs, true},
      {"gaio_ws_caller_driven", "examples/ws_echo_server", {"--pollers=0"}, Proto::kWs, true},
      {"ws_beast", "benchmarks/peers/beast_ws_echo_server", {}, Proto::kWs, true},
      {"ws_node", "benchmarks/peers/node_ws_echo_server.js", {}, Proto::kWs},
      // TLS echo (1.2/1.3, OpenSSL 3 behind both); the client picks TLS 1.3
      // and TLS_AES_128_GCM_SHA256.
      {"gaio_tls", "examples/tls_echo_server", {"--pollers=1"}, Proto::kTls, true},
      {"gaio_tls_caller_driven", "examples/tls_echo_server", {"--pollers=0"}, Proto::kTls, true},
      {"asio_ssl", "benchmarks/peers/asio_ssl_echo_server", {}, Proto::kTls, true},
  };
}

Proto ProtoOf(Kind kind) {
  switch (kind) {
    case Kind::kUdpEcho:
      return Proto::kUdp;
    case Kind::kChat:
    case Kind::kChatIdle:
      return Proto::kChat;
    case Kind::kWsPingPong:
    case Kind::kWsStream:
    case Kind::kWsIdle:
      return Proto::kWs;
    case Kind::kTlsPingPong:
    case Kind::kTlsStream:
    case Kind::kTlsHandshakes:
    case Kind::kTlsResumed:
    case Kind::kTlsIdle:
      return Proto::kTls;
    default:
      return Proto::kEcho;
  }
}

std::vector<Workload> Workloads() {
  return {
      {"throughput_small_128B_x128", Kind::kThroughput, 128, 128, 8, true},
      {"throughput_large_64KiB_x8", Kind::kThroughput, 8, 64 * 1024, 2, true},
      {"pingpong_64B_x1", Kind::kPingPong, 1, 64, 1, true},
      {"pingpong_64B_x100", Kind::kPingPong, 100, 64, 1, true},
      {"pingpong_64B_x1000", Kind::kPingPong, 1000, 64, 1, true},
      {"connect_1k", Kind::kConnect, 1000, 1024, 1, true},
      {"connect_2k", Kind::kConnect, 2000, 1024, 1, false},
      {"connect_4k", Kind::kConnect, 4000, 1024, 1, true},
      {"connect_8k", Kind::kConnect, 8000, 1024, 1, false},
      {"idle_10k", Kind::kIdle, 10000, 0, 1, true},
      // UDP echo: `conns` senders, `window` datagrams in flight each.
      {"udp_64B_x1", Kind::kUdpEcho, 1, 64, 1, true},
      {"udp_1200B_x1", Kind::kUdpEcho, 1, 1200, 1, true},
      {"udp_64B_x64", Kind::kUdpEcho, 64, 64, 8, true},
      {"udp_1200B_x64", Kind::kUdpEcho, 64, 1200, 8, true},
      // Chat: `conns` clients, 10 of them sending 64-byte lines, each at most
      // `window` lines ahead; every line goes to every other client.
      {"chat_64B_x100", Kind::kChat, 100, 64, 16, true},
      {"chat_64B_x1000", Kind::kChat, 1000, 64, 4, true},
      {"chat_idle_1k", Kind::kChatIdle, 1000, 0, 1, true},  // connected, quiet
      {"chat_idle_10k", Kind::kChatIdle, 10000, 0, 1, false},
      {"chat_after_line_1k", Kind::kChatIdle, 1000, 64, 1, true},  // after one broadcast
      // WebSocket echo of binary messages (permessage-deflate off everywhere).
      {"ws_64B_x100", Kind::kWsPingPong, 100, 64, 1, true},
      {"ws_64B_x1000", Kind::kWsPingPong, 1000, 64, 1, true},
      {"ws_64KiB_x8", Kind::kWsStream, 8, 64 * 1024, 2, true},
      {"ws_idle_10k", Kind::kWsIdle, 10000, 0, 1, false},
      {"wss_64B_x100", Kind::kWsPingPong, 100, 64, 1, true, true},
      {"wss_64KiB_x8", Kind::kWsStream, 8, 64 * 1024, 2, true, true},
      // TLS echo (issue 21). Handshakes: 16 connections in a loop (dial,
      // handshake, 1 byte echoed, close); resumed: each resumes the session
      // of its previous one. Idle: `window` = handshakes in progress at most.
      {"tls_1KiB_x100", Kind::kTlsPingPong, 100, 1024, 1, true, true},
      {"tls_64KiB_x8", Kind::kTlsStream, 8, 64 * 1024, 2, true, true},
      {"tls_handshakes", Kind::kTlsHandshakes, 16, 1, 1, true, true},
      {"tls_resumed_handshakes", Kind::kTlsResumed, 16, 1, 1, true, true},
      {"tls_idle_10k", Kind::kTlsIdle, 10000, 0, 16, false, true},
  };
}

// The figure a workload is judged by, and whether higher is better.
double Headline(Kind kind, const LoadResult& r, bool* higher_better, const char** unit) {
  switch (kind) {
    case Kind::kThroughput:
    case Kind::kUdpEcho:
    case Kind::kWsPingPong:
    case Kind::kWsStream:
      *higher_better = true;
      *unit = "msgs/s";
      return r.msgs_per_s;
    case Kind::kTlsPingPong:
    case Kind::kTlsStream:
      *higher_better = true;
      *unit = "msgs/s";
      return r.msgs_per_s;
    case Kind::kTlsHandshakes:
    case Kind::kTlsResumed:
      *higher_better = true;
      *unit = "handshakes/s";
      return r.msgs_per_s;
    case Kind::kChat:
      *higher_better = true;
      *unit = "deliveries/s";
      return r.msgs_per_s;
    case Kind::kPingPong:
      *higher_better = false;
      *unit = "p99 us";
      return r.p99_us;
    case Kind::kConnect:
      *higher_better = false;
      *unit = "seconds";
      return r.seconds;
    case Kind::kIdle:
    case Kind::kChatIdle:
    case Kind::kWsIdle:
    case Kind::kTlsIdle:
      *higher_better = false;
      *unit = "RSS B/conn";
      return r.rss_per_conn_bytes;
  }
  return 0;
}

}  // namespace gaio_bench
