// compare's catalog: the servers it starts, the workloads it runs, and the
// figure each workload is judged by.
#ifndef GAIO_BENCHMARKS_COMPARE_CATALOG_H_
#define GAIO_BENCHMARKS_COMPARE_CATALOG_H_

#include <cstddef>
#include <string>
#include <vector>

#include "benchmarks/load_client.h"

namespace gaio_bench {

// What a server speaks; each workload is for one of them.
enum class Proto { kEcho, kUdp, kChat, kWs, kTls };

struct Server {
  std::string name;
  std::string binary;  // runfiles-relative
  std::vector<std::string> args;
  Proto proto = Proto::kEcho;
  bool takes_tls = false;  // --cert/--key: serves the wss_* (or tls_*) workloads
};

// The servers compare knows (before --extra_servers).
std::vector<Server> BuiltinServers();

enum class Kind {
  kThroughput,
  kPingPong,
  kConnect,
  kIdle,
  kUdpEcho,
  kChat,
  kChatIdle,
  kWsPingPong,
  kWsStream,
  kWsIdle,
  kTlsPingPong,
  kTlsStream,
  kTlsHandshakes,
  kTlsResumed,
  kTlsIdle
};

Proto ProtoOf(Kind kind);

struct Workload {
  std::string name;
  Kind kind;
  int conns;
  size_t size;
  int window;
  bool in_quick;
  bool tls = false;  // wss, tls_*: the server gets --cert/--key
};

std::vector<Workload> Workloads();

// The figure a workload is judged by, and whether higher is better.
double Headline(Kind kind, const LoadResult& r, bool* higher_better, const char** unit);

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_COMPARE_CATALOG_H_
