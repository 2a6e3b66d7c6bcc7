// hostile_client: hammers a loopback server with the connections real clients
// make (gone at once, one byte then close, resets, a reset in the middle of a
// large transfer, half-close, readers that never read, many at once), while
// well-behaved sessions check that the server keeps serving correctly.
//
//   ./bazelw run //examples:echo_server -- --port=9000
//   ./bazelw run //examples:hostile_client -- --port=9000 --protocol=echo
//   ./bazelw run //examples:push_server -- --port=9001 --interval_ms=1
//   ./bazelw run //examples:hostile_client -- --port=9001 --protocol=push
//
// Bounded: hammers for --seconds or --max_connections hostile connections,
// whichever ends first; every socket wait has a deadline; it stops by itself.
// What the server does with a hostile connection is not judged (any outcome
// but a crash is fine). Exits 0 when every well-behaved session, during the
// hammering and after it, got exactly the bytes it should; 1 otherwise.
// Loopback only, plain POSIX sockets: it does not use gaio itself.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "examples/hostile_client/hostile_client.h"

ABSL_FLAG(int, port, 0, "server port on 127.0.0.1 (required)");
ABSL_FLAG(std::string, protocol, "echo", "what the server speaks: echo | push | chat");
ABSL_FLAG(int, seconds, 2, "how long to hammer");
ABSL_FLAG(int, threads, 4, "hammering threads");
ABSL_FLAG(int, max_connections, 5000, "hostile connections at most, spread over --seconds");

namespace {

using gaio_examples::hostile::Held;
using gaio_examples::hostile::Move;
using gaio_examples::hostile::Protocol;
using gaio_examples::hostile::ReleaseHeld;
using gaio_examples::hostile::Session;
using gaio_examples::hostile::Target;

// Every well-behaved session must finish within this; generous, so that only
// a server that stopped serving fails it (sanitizers, 2 busy cores).
constexpr absl::Duration kSessionPatience = absl::Seconds(15);

// Counts sessions and keeps the first failure.
struct Verdict {
  std::mutex mu;
  int ok = 0;
  int failed = 0;
  std::string first_failure;
  void Record(const std::string& error) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.empty()) {
      ++ok;
      return;
    }
    if (failed++ == 0) first_failure = error;
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  Target target;
  target.port = absl::GetFlag(FLAGS_port);
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (target.port <= 0 || (protocol != "echo" && protocol != "push" && protocol != "chat")) {
    std::fprintf(stderr, "hostile_client: needs --port and --protocol=echo|push|chat\n");
    return 2;
  }
  target.protocol = protocol == "echo"   ? Protocol::kEcho
                    : protocol == "push" ? Protocol::kPush
                                         : Protocol::kChat;
  const absl::Time start = absl::Now();
  const absl::Time stop = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int max_connections = absl::GetFlag(FLAGS_max_connections);
  const absl::Span<const Move> moves = gaio_examples::hostile::Moves();

  std::atomic<int> connections{0};
  std::vector<std::atomic<int>> per_move(moves.size());
  std::vector<std::thread> hammers;
  hammers.reserve(absl::GetFlag(FLAGS_threads));
  for (int t = 0; t < absl::GetFlag(FLAGS_threads); ++t) {
    hammers.emplace_back([&, t] {
      std::deque<Held> held;
      for (size_t i = static_cast<size_t>(t); absl::Now() < stop; ++i) {
        // Spread the budget over the whole time, so that the hostile
        // connections overlap every well-behaved session.
        while (absl::Now() < stop &&
               connections.load() >=
                   max_connections * absl::FDivDuration(absl::Now() - start, stop - start)) {
          ReleaseHeld(held, /*all=*/false);
          absl::SleepFor(absl::Milliseconds(1));
        }
        const Move& move = moves[i % moves.size()];
        if (connections.fetch_add(move.connections) >= max_connections) break;
        move.run(target, held);
        per_move[i % moves.size()].fetch_add(1);
        ReleaseHeld(held, /*all=*/false);
      }
      ReleaseHeld(held, /*all=*/true);
    });
  }
  // Well-behaved sessions while the hammering goes on, then four at once.
  Verdict during, after;
  std::thread checker([&] {
    for (uint64_t seed = 1; absl::Now() < stop; ++seed) {
      const std::string error = Session(target, seed, kSessionPatience);
      during.Record(error);
      if (!error.empty()) break;  // one failure is enough to tell
    }
  });
  for (std::thread& t : hammers) t.join();
  const absl::Time hammer_end = absl::Now();
  checker.join();
  std::vector<std::thread> finals;
  for (uint64_t seed = 1000; seed < 1004; ++seed) {
    finals.emplace_back([&, seed] { after.Record(Session(target, seed, kSessionPatience)); });
  }
  for (std::thread& t : finals) t.join();

  std::string counts;
  for (size_t i = 0; i < moves.size(); ++i) {
    absl::StrAppend(&counts, i ? ", " : "", moves[i].name, " ", per_move[i].load());
  }
  std::printf("hostile_client: %d hostile connections in %.1f s: %s\n",
              std::min(connections.load(), max_connections),
              absl::ToDoubleSeconds(hammer_end - start), counts.c_str());
  std::printf(
      "hostile_client: well-behaved sessions: %d ok during the hammering, %d after; "
      "%d failed\n",
      during.ok, after.ok, during.failed + after.failed);
  for (Verdict* v : {&during, &after}) {
    if (v->failed > 0) {
      std::printf("hostile_client: FAILED %s: %s\n", v == &during ? "during" : "after",
                  v->first_failure.c_str());
    }
  }
  const bool ok = during.failed + after.failed == 0 && during.ok > 0 && after.ok == 4;
  return ok ? 0 : 1;
}
