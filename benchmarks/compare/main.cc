// compare: gaio-cpp and its peers side by side, in one run.
//
//   ./bazelw run --config=opt //benchmarks:compare -- [--quick] [--repeat=N] [--json_out=FILE]
//
// Starts each echo server in turn (a fresh process per workload), drives it
// with the same echo_client workloads, and prints one table per workload with
// each server's figures and the ratio gaio / peer. Ratios from one run are
// what to compare: absolute figures drift on shared machines.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "benchmarks/compare/catalog.h"
#include "benchmarks/compare/server_process.h"
#include "benchmarks/load_client.h"
#include "benchmarks/report.h"

ABSL_FLAG(bool, quick, false, "short run (under 3 minutes)");
ABSL_FLAG(std::string, json_out, "", "also write the results as JSON to this file");
ABSL_FLAG(std::string, servers, "", "comma-separated subset of servers (default: all)");
ABSL_FLAG(std::string, workloads, "", "comma-separated subset of workloads (default: all)");
ABSL_FLAG(std::string, extra_servers, "",
          "more servers to run beside the built-in ones, for A/B runs of another build: "
          "'name=/abs/path/echo_server --flag ...;name2=...' (each gets --port=0)");
ABSL_FLAG(int, repeat, 1,
          "runs per server and workload, interleaved (server A, B, ..., A, B, ...); "
          "the run with the median headline figure is reported");

namespace gaio_bench {
namespace {

// The built-in servers plus --extra_servers.
const std::vector<Server>& Servers() {
  static const auto* servers = [] {
    auto* all = new std::vector<Server>(BuiltinServers());
    for (absl::string_view spec :
         absl::StrSplit(absl::GetFlag(FLAGS_extra_servers), ';', absl::SkipEmpty())) {
      std::pair<std::string, std::string> name_cmd = absl::StrSplit(spec, absl::MaxSplits('=', 1));
      std::vector<std::string> words = absl::StrSplit(name_cmd.second, ' ', absl::SkipEmpty());
      if (name_cmd.first.empty() || words.empty()) continue;
      // A name with "udp" in it serves the udp_* workloads, "chat" the chat_*
      // ones, "tls" the tls_* ones, "ws" the ws_* and wss_* ones (given
      // --cert/--key for tls_* and wss).
      Server s{name_cmd.first,
               words[0],
               {},
               absl::StrContains(name_cmd.first, "udp")    ? Proto::kUdp
               : absl::StrContains(name_cmd.first, "chat") ? Proto::kChat
               : absl::StrContains(name_cmd.first, "tls")  ? Proto::kTls
               : absl::StrContains(name_cmd.first, "ws")   ? Proto::kWs
                                                           : Proto::kEcho};
      // WebSocket and TLS servers take --cert/--key.
      s.takes_tls = s.proto == Proto::kWs || s.proto == Proto::kTls;
      s.args.assign(words.begin() + 1, words.end());
      all->push_back(std::move(s));
    }
    return all;
  }();
  return *servers;
}

// utime + stime of `pid` in seconds, from /proc/PID/stat; -1 if unreadable.
double ServerCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos) return -1;
  // Fields after the name, from the 3rd (state): utime and stime are the 14th and 15th.
  std::vector<std::string> f = absl::StrSplit(stat.substr(end_of_name + 2), ' ');
  double utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtod(f[11], &utime) || !absl::SimpleAtod(f[12], &stime)) {
    return -1;
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Runs `load` and adds the server's CPU time per message (utime + stime
// from /proc, per echo, delivery or handshake): a figure the other jobs of a
// shared machine disturb less than the rate.
template <class Load>
absl::StatusOr<LoadResult> WithServerCpu(pid_t pid, const LoadOptions& o, Load load) {
  const double before = ServerCpuSeconds(pid);
  absl::StatusOr<LoadResult> r = load();
  const double used = ServerCpuSeconds(pid) - before;
  if (r.ok() && before >= 0 && r->messages > 0) {
    r->server_cpu_us_per_msg =
        used * 1e6 /
        (r->msgs_per_s * (absl::ToDoubleSeconds(o.duration) + absl::ToDoubleSeconds(o.warmup)));
  }
  return r;
}

absl::StatusOr<LoadResult> RunOne(const Workload& w, int port, pid_t pid, absl::Duration secs) {
  LoadOptions o;
  o.port = port;
  o.connections = w.conns;
  o.message_size = w.size;
  o.window = w.window;
  o.duration = secs;
  o.server_pid = pid;
  o.tls = w.tls;
  switch (w.kind) {
    case Kind::kWsPingPong:
      return WithServerCpu(pid, o, [&] { return RunWs(o, WsWorkload::kPingPong); });
    case Kind::kWsStream:
      return WithServerCpu(pid, o, [&] { return RunWs(o, WsWorkload::kStream); });
    case Kind::kWsIdle:
      return RunWs(o, WsWorkload::kIdle);
    case Kind::kTlsIdle:
      return RunTls(o, TlsWorkload::kIdle);
    case Kind::kTlsPingPong:
    case Kind::kTlsStream:
    case Kind::kTlsHandshakes:
    case Kind::kTlsResumed: {
      const TlsWorkload kind = w.kind == Kind::kTlsPingPong     ? TlsWorkload::kPingPong
                               : w.kind == Kind::kTlsStream     ? TlsWorkload::kStream
                               : w.kind == Kind::kTlsHandshakes ? TlsWorkload::kHandshakes
                                                                : TlsWorkload::kResumedHandshakes;
      return WithServerCpu(pid, o, [&] { return RunTls(o, kind); });
    }
    case Kind::kThroughput:
      return RunThroughput(o);
    case Kind::kPingPong:
      return RunPingPong(o);
    case Kind::kConnect:
      return RunConnect(o);
    case Kind::kIdle:
      return RunIdle(o);
    case Kind::kChat:
      return WithServerCpu(pid, o, [&] { return RunChat(o); });
    case Kind::kChatIdle:
      return RunChatIdle(o);
    case Kind::kUdpEcho:
      return WithServerCpu(pid, o, [&] { return RunUdpEcho(o); });
  }
  return absl::InternalError("unknown workload");
}

bool Selected(const std::string& list, const std::string& name) {
  if (list.empty()) return true;
  for (absl::string_view s : absl::StrSplit(list, ',')) {
    if (s == name) return true;
  }
  return false;
}

}  // namespace
}  // namespace gaio_bench

int main(int argc, char** argv) {
  using namespace gaio_bench;  // NOLINT: a main of this package
  absl::ParseCommandLine(argc, argv);
  const bool quick = absl::GetFlag(FLAGS_quick);
  const absl::Duration secs = quick ? absl::Seconds(1.5) : absl::Seconds(5);
  std::vector<std::string> json_workloads;
  int failures = 0;
  std::map<std::string, std::vector<std::pair<int, double>>> connect_points;

  for (const Workload& w : Workloads()) {
    if ((quick && !w.in_quick) || !Selected(absl::GetFlag(FLAGS_workloads), w.name)) continue;
    std::printf("\n== %s\n", w.name.c_str());
    // Every server once per round, rounds interleaved, so that a slow spell
    // of the shared machine hits all servers alike; then the median run.
    const int repeat = std::max(1, absl::GetFlag(FLAGS_repeat));
    std::map<std::string, std::vector<LoadResult>> runs;
    for (int round = 0; round < repeat; ++round) {
      for (const Server& s : Servers()) {
        if (!Selected(absl::GetFlag(FLAGS_servers), s.name)) continue;
        if (s.proto != ProtoOf(w.kind)) continue;  // e.g. a TCP echo server for a UDP workload
        if (w.tls && !s.takes_tls) continue;
        if (!BinaryPresent(argv[0], s.binary)) {
          if (round == 0) std::printf("  %-20s not built here: skipped\n", s.name.c_str());
          continue;
        }
        std::vector<std::string> args = s.args;
        if (w.tls) {
          absl::StatusOr<std::pair<std::string, std::string>> files = TestCertificate();
          if (!files.ok()) {
            std::printf("  %-20s no certificate: %s\n", s.name.c_str(),
                        files.status().ToString().c_str());
            ++failures;
            continue;
          }
          args.push_back("--cert=" + files->first);
          args.push_back("--key=" + files->second);
        }
        absl::StatusOr<ServerProcess> server = ServerProcess::Start(argv[0], s.binary, args);
        if (!server.ok()) {
          std::printf("  %-20s could not start: %s\n", s.name.c_str(),
                      server.status().ToString().c_str());
          ++failures;
          continue;
        }
        absl::StatusOr<LoadResult> r = RunOne(w, server->port(), server->pid(), secs);
        server->Stop();
        if (!r.ok()) {
          std::printf("  %-20s failed: %s\n", s.name.c_str(), r.status().ToString().c_str());
          ++failures;
          continue;
        }
        if (r->errors > 0) ++failures;
        runs[s.name].push_back(*r);
      }
    }
    std::map<std::string, LoadResult> results;
    std::vector<std::string> json_results;
    for (const Server& s : Servers()) {
      auto it = runs.find(s.name);
      if (it == runs.end()) continue;
      std::vector<LoadResult>& rs = it->second;
      bool higher_better = true;
      const char* unit = "";
      std::sort(rs.begin(), rs.end(), [&](const LoadResult& a, const LoadResult& b) {
        return Headline(w.kind, a, &higher_better, &unit) <
               Headline(w.kind, b, &higher_better, &unit);
      });
      const LoadResult& r = rs[rs.size() / 2];
      results[s.name] = r;
      std::string spread;
      if (rs.size() > 1) {
        spread = absl::StrFormat("  [%s over %d runs: %.1f .. %.1f]", unit, rs.size(),
                                 Headline(w.kind, rs.front(), &higher_better, &unit),
                                 Headline(w.kind, rs.back(), &higher_better, &unit));
        // The server's CPU per message too, where measured: its median and
        // spread over the same runs (a busy machine disturbs it less).
        std::vector<double> cpu;
        for (const LoadResult& x : rs) {
          if (x.server_cpu_us_per_msg > 0) cpu.push_back(x.server_cpu_us_per_msg);
        }
        // TLS handshakes: how many were resumed and how many full, each run.
        if (rs.front().resumed_handshakes >= 0) {
          std::vector<std::string> counts;
          for (const LoadResult& x : rs) {
            counts.push_back(absl::StrFormat("%.0f/%.0f", x.resumed_handshakes, x.full_handshakes));
          }
          absl::StrAppend(&spread,
                          "  [resumed/full handshakes per run: ", absl::StrJoin(counts, " "), "]");
        }
        if (cpu.size() == rs.size()) {
          std::sort(cpu.begin(), cpu.end());
          absl::StrAppendFormat(&spread, "  [server CPU us/msg: median %.1f, %.1f .. %.1f]",
                                cpu[cpu.size() / 2], cpu.front(), cpu.back());
        }
      }
      std::printf("  %-20s %s%s\n", s.name.c_str(), ToText(r).c_str(), spread.c_str());
      std::fflush(stdout);
      json_results.push_back(absl::StrCat("\"", s.name, "\": ", ToJson(r)));
      if (w.kind == Kind::kConnect) connect_points[s.name].push_back({w.conns, r.seconds});
    }
    // Ratios on the headline figure: the threaded default (1 poller) and the
    // caller-driven mode, each against every peer (> 1 = gaio better).
    // Every gaio_ws* and gaio_tls* too (also --extra_servers builds).
    std::vector<std::string> mines = {"gaio", "gaio_caller_driven", "gaio_coro", "gaio_udp",
                                      "gaio_udp_caller_driven"};
    for (const auto& [name, r] : results) {
      if (name.rfind("gaio_ws", 0) == 0 || name.rfind("gaio_tls", 0) == 0) mines.push_back(name);
    }
    for (const std::string& mine_name : mines) {
      const char* mine = mine_name.c_str();
      auto g_it = results.find(mine_name);
      if (g_it == results.end()) continue;
      bool higher_better = true;
      const char* unit = "";
      const double g = Headline(w.kind, g_it->second, &higher_better, &unit);
      std::vector<std::string> ratios;
      for (const auto& [name, r] : results) {
        if (name.rfind("gaio", 0) == 0) continue;  // peers only
        const double p = Headline(w.kind, r, &higher_better, &unit);
        if (g <= 0 || p <= 0) continue;
        ratios.push_back(absl::StrFormat("%s %.2fx", name, higher_better ? g / p : p / g));
      }
      std::printf("  %-18s vs (on %s; >1 = gaio better): %s\n", mine, unit,
                  absl::StrJoin(ratios, ", ").c_str());
      if (g_it->second.server_cpu_us_per_msg > 0) {  // UDP, TLS and WebSocket echo
        std::vector<std::string> cpu;
        const double gc = g_it->second.server_cpu_us_per_msg;
        for (const auto& [name, r] : results) {
          if (name.rfind("gaio", 0) == 0 || gc <= 0 || r.server_cpu_us_per_msg <= 0) continue;
          cpu.push_back(absl::StrFormat("%s %.2fx", name, r.server_cpu_us_per_msg / gc));
        }
        std::printf("  %-18s vs (server CPU per %s; >1 = gaio cheaper): %s\n", mine,
                    w.kind == Kind::kUdpEcho ? "datagram" : "message",
                    absl::StrJoin(cpu, ", ").c_str());
      }
    }
    // The coroutine layer against the raw Watcher it runs on.
    if (results.count("gaio_coro") > 0 && results.count("gaio") > 0) {
      bool higher_better = true;
      const char* unit = "";
      const double c = Headline(w.kind, results["gaio_coro"], &higher_better, &unit);
      const double g = Headline(w.kind, results["gaio"], &higher_better, &unit);
      if (c > 0 && g > 0) {
        std::printf("  %-18s vs gaio (raw Watcher, on %s; >1 = coro better): %.2fx\n", "gaio_coro",
                    unit, higher_better ? c / g : g / c);
      }
    }
    // The coroutine chat server against the raw-Watcher one.
    if (results.count("chat_coro") > 0 && results.count("chat_raw") > 0) {
      bool higher_better = true;
      const char* unit = "";
      const double c = Headline(w.kind, results["chat_coro"], &higher_better, &unit);
      const double g = Headline(w.kind, results["chat_raw"], &higher_better, &unit);
      if (c > 0 && g > 0) {
        std::printf("  %-18s vs chat_raw (on %s; >1 = coro better): %.2fx\n", "chat_coro", unit,
                    higher_better ? c / g : g / c);
      }
      const double cc = results["chat_coro"].server_cpu_us_per_msg;
      const double gc = results["chat_raw"].server_cpu_us_per_msg;
      if (cc > 0 && gc > 0) {
        std::printf("  %-18s vs chat_raw (server CPU per delivery; >1 = coro cheaper): %.2fx\n",
                    "chat_coro", gc / cc);
      }
    }
    json_workloads.push_back(absl::StrCat("{\"name\": \"", w.name, "\", \"results\": {",
                                          absl::StrJoin(json_results, ", "), "}}"));
  }

  // Connect scaling: least-squares time = a + b*N.
  if (!connect_points.empty()) std::printf("\n== connect fit: seconds = a + b * N\n");
  for (const auto& [name, pts] : connect_points) {
    if (pts.size() < 2) continue;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (auto [n, t] : pts) {
      sx += n;
      sy += t;
      sxx += 1.0 * n * n;
      sxy += n * t;
    }
    const double k = pts.size();
    const double b = (k * sxy - sx * sy) / (k * sxx - sx * sx);
    const double a = (sy - b * sx) / k;
    std::printf("  %-20s a=%.4f s  b=%.2f us/conn\n", name.c_str(), a, b * 1e6);
  }

  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::ofstream out(path);
    out << "{\"workloads\": [" << absl::StrJoin(json_workloads, ", ") << "]}\n";
    std::printf("\nwrote %s\n", path.c_str());
  }
  return failures == 0 ? 0 : 1;
}
