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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

ABSL_FLAG(int, port, 0, "server port on 127.0.0.1 (required)");
ABSL_FLAG(std::string, protocol, "echo", "what the server speaks: echo | push");
ABSL_FLAG(int, seconds, 2, "how long to hammer");
ABSL_FLAG(int, threads, 4, "hammering threads");
ABSL_FLAG(int, max_connections, 5000, "hostile connections at most, spread over --seconds");

namespace {

// Every well-behaved session must finish within this; generous, so that only
// a server that stopped serving fails it (sanitizers, 2 busy cores).
constexpr absl::Duration kSessionPatience = absl::Seconds(15);
constexpr int kSocketTimeoutSec = 5;  // SO_SNDTIMEO/SO_RCVTIMEO: connect, send, recv

enum class Protocol { kEcho, kPush };

int g_port = 0;
Protocol g_protocol = Protocol::kEcho;

// Blocking TCP connection to the server with send/receive/connect timeouts;
// -1 on failure. A small receive buffer makes a reader that never reads stall
// the server's writes sooner.
int Connect(bool small_rcvbuf = false) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{kSocketTimeoutSec, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (small_rcvbuf) {
    int size = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(g_port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Closes with SO_LINGER 0: the peer gets a RST instead of a FIN.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

void SendByte(int fd) { send(fd, "x", 1, MSG_NOSIGNAL); }

// Sends up to `limit` bytes without blocking; stops once the peer has taken
// nothing for 20 ms (it stopped reading), on an error, or after 500 ms.
void Flood(int fd, size_t limit) {
  static const std::string chunk(64 * 1024, 'f');
  const absl::Time give_up = absl::Now() + absl::Milliseconds(500);
  for (size_t sent = 0; sent < limit && absl::Now() < give_up;) {
    ssize_t n =
        send(fd, chunk.data(), std::min(chunk.size(), limit - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 20) == 0) return;
  }
}

// Reads and discards until EOF, an error or `patience` passes.
void Drain(int fd, absl::Duration patience) {
  const absl::Time give_up = absl::Now() + patience;
  char buf[4096];
  while (absl::Now() < give_up) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return;
  }
}

// The nasty things clients do. Each opens one connection (the burst: kBurst);
// a slow reader is handed to `held`, which closes it a little later without
// ever reading from it.
struct Held {
  int fd;
  absl::Time release;
};

using Move = void (*)(std::deque<Held>& held);

void ConnectClose(std::deque<Held>&) {
  int fd = Connect();
  if (fd >= 0) close(fd);
}
void ConnectReset(std::deque<Held>&) {
  int fd = Connect();
  if (fd >= 0) Reset(fd);
}
void ByteClose(std::deque<Held>&) {
  int fd = Connect();
  if (fd < 0) return;
  SendByte(fd);
  close(fd);
}
void ByteReset(std::deque<Held>&) {
  int fd = Connect();
  if (fd < 0) return;
  SendByte(fd);
  Reset(fd);
}
// A large message, then a reset before reading the reply: the server is in
// the middle of writing (echo) or has a push in flight.
void ResetMidWrite(std::deque<Held>&) {
  int fd = Connect();
  if (fd < 0) return;
  Flood(fd, 1 << 20);
  Reset(fd);
}
// Sends, shuts down its sending side, reads what comes until EOF.
void HalfClose(std::deque<Held>&) {
  int fd = Connect();
  if (fd < 0) return;
  const std::string msg(1000, 'h');
  send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  Drain(fd, absl::Seconds(1));
  close(fd);
}
// Never reads: an echo server's writes back stall on the tiny receive
// buffer, as do a push server's after a while. Closed or reset later.
void SlowReader(std::deque<Held>& held) {
  int fd = Connect(/*small_rcvbuf=*/true);
  if (fd < 0) return;
  if (g_protocol == Protocol::kEcho) Flood(fd, 256 * 1024);
  held.push_back({fd, absl::Now() + absl::Milliseconds(300)});
}
// Many at once: kBurst connections, a byte on every other, all closed
// together, every third with a reset.
constexpr int kBurst = 25;
void Burst(std::deque<Held>&) {
  std::vector<int> fds;
  for (int i = 0; i < kBurst; ++i) {
    int fd = Connect();
    if (fd < 0) break;
    if (i % 2 == 0) SendByte(fd);
    fds.push_back(fd);
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if (i % 3 == 0) {
      Reset(fds[i]);
    } else {
      close(fds[i]);
    }
  }
}

struct NamedMove {
  const char* name;
  Move run;
};
constexpr NamedMove kMoves[] = {
    {"connect-close", ConnectClose},    {"connect-reset", ConnectReset},
    {"byte-close", ByteClose},          {"byte-reset", ByteReset},
    {"reset-mid-write", ResetMidWrite}, {"half-close", HalfClose},
    {"slow-reader", SlowReader},        {"burst", Burst},
};
constexpr size_t kNumMoves = sizeof(kMoves) / sizeof(kMoves[0]);

void ReleaseHeld(std::deque<Held>& held, bool all) {
  while (!held.empty() && (all || held.front().release <= absl::Now())) {
    if (held.front().fd % 2 == 0) {
      Reset(held.front().fd);
    } else {
      close(held.front().fd);
    }
    held.pop_front();
  }
}

// `n` bytes that depend on `seed`, so that misrouted or reordered bytes show.
std::string Pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

// Sends `msg` and reads back as many bytes, both directions at once (the echo
// starts before the send ends). Returns "" when the same bytes came back,
// otherwise what went wrong.
std::string EchoExchange(int fd, const std::string& msg, absl::Time deadline) {
  std::string back(msg.size(), '\0');
  size_t sent = 0, got = 0;
  while (got < msg.size()) {
    if (absl::Now() > deadline) return absl::StrCat("timed out: sent ", sent, ", got ", got);
    pollfd p{fd, static_cast<short>(POLLIN | (sent < msg.size() ? POLLOUT : 0)), 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (sent < msg.size() && (p.revents & POLLOUT)) {
      ssize_t n = send(fd, msg.data() + sent, msg.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN) return absl::StrCat("send: ", std::strerror(errno));
      if (n > 0) sent += static_cast<size_t>(n);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, back.data() + got, back.size() - got, MSG_DONTWAIT);
      if (n == 0) return absl::StrCat("EOF after ", got, " of ", msg.size(), " bytes");
      if (n < 0 && errno != EAGAIN) return absl::StrCat("recv: ", std::strerror(errno));
      if (n > 0) got += static_cast<size_t>(n);
    }
  }
  if (back == msg) return "";
  size_t at = 0;
  while (back[at] == msg[at]) ++at;
  return absl::StrCat("wrong byte at offset ", at, " of ", msg.size());
}

// One well-behaved echo client: messages of several sizes on one connection,
// every byte checked.
std::string EchoSession(uint64_t seed) {
  const absl::Time deadline = absl::Now() + kSessionPatience;
  int fd = Connect();
  if (fd < 0) return absl::StrCat("connect: ", std::strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::string error;
  for (size_t size : {1, 100, 4096, 200000}) {
    error = EchoExchange(fd, Pattern(size, seed + size), deadline);
    if (!error.empty()) break;
  }
  close(fd);
  return error;
}

// One well-behaved push client: three lines "tick N", N increasing.
std::string PushSession() {
  const absl::Time deadline = absl::Now() + kSessionPatience;
  int fd = Connect();
  if (fd < 0) return absl::StrCat("connect: ", std::strerror(errno));
  std::string in, error;
  std::vector<std::string> lines;
  while (lines.size() < 3 && error.empty()) {
    if (absl::Now() > deadline) {
      error = absl::StrCat("timed out after ", lines.size(), " lines");
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) error = "EOF before three lines";
    if (n < 0 && errno != EAGAIN) error = absl::StrCat("recv: ", std::strerror(errno));
    if (n > 0) in.append(buf, static_cast<size_t>(n));
    for (size_t nl; lines.size() < 3 && (nl = in.find('\n')) != std::string::npos;) {
      lines.push_back(in.substr(0, nl));
      in.erase(0, nl + 1);
    }
  }
  close(fd);
  if (!error.empty()) return error;
  int64_t last = -1;
  for (const std::string& line : lines) {
    int64_t tick;
    if (!absl::StartsWith(line, "tick ") || !absl::SimpleAtoi(line.substr(5), &tick) ||
        tick <= last) {
      return absl::StrCat("bad line \"", line, "\" after tick ", last);
    }
    last = tick;
  }
  return "";
}

std::string Session(uint64_t seed) {
  return g_protocol == Protocol::kEcho ? EchoSession(seed) : PushSession();
}

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
  g_port = absl::GetFlag(FLAGS_port);
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (g_port <= 0 || (protocol != "echo" && protocol != "push")) {
    std::fprintf(stderr, "hostile_client: needs --port and --protocol=echo|push\n");
    return 2;
  }
  g_protocol = protocol == "echo" ? Protocol::kEcho : Protocol::kPush;
  const absl::Time start = absl::Now();
  const absl::Time stop = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int max_connections = absl::GetFlag(FLAGS_max_connections);

  std::atomic<int> connections{0};
  std::atomic<int> per_move[kNumMoves] = {};
  std::vector<std::thread> hammers;
  for (int t = 0; t < absl::GetFlag(FLAGS_threads); ++t) {
    hammers.emplace_back([&, t] {
      std::deque<Held> held;
      for (size_t i = static_cast<size_t>(t); absl::Now() < stop; ++i) {
        // Spread the budget over the whole time, so that the hostile
        // connections overlap every well-behaved session.
        const double due = max_connections * absl::FDivDuration(absl::Now() - start, stop - start);
        if (connections.load() >= due) {
          ReleaseHeld(held, /*all=*/false);
          absl::SleepFor(absl::Milliseconds(1));
          --i;
          continue;
        }
        const NamedMove& move = kMoves[i % kNumMoves];
        if (connections.fetch_add(move.run == Burst ? kBurst : 1) >= max_connections) break;
        move.run(held);
        per_move[i % kNumMoves].fetch_add(1);
        ReleaseHeld(held, /*all=*/false);
      }
      ReleaseHeld(held, /*all=*/true);
    });
  }
  // Well-behaved sessions while the hammering goes on, then four at once.
  Verdict during, after;
  std::thread checker([&] {
    for (uint64_t seed = 1; absl::Now() < stop; ++seed) {
      const std::string error = Session(seed);
      during.Record(error);
      if (!error.empty()) break;  // one failure is enough to tell
    }
  });
  for (std::thread& t : hammers) t.join();
  const absl::Time hammer_end = absl::Now();
  checker.join();
  std::vector<std::thread> finals;
  for (uint64_t seed = 1000; seed < 1004; ++seed) {
    finals.emplace_back([&, seed] { after.Record(Session(seed)); });
  }
  for (std::thread& t : finals) t.join();

  std::string moves;
  for (size_t i = 0; i < kNumMoves; ++i) {
    absl::StrAppend(&moves, i ? ", " : "", kMoves[i].name, " ", per_move[i].load());
  }
  std::printf("hostile_client: %d hostile connections in %.1f s: %s\n",
              std::min(connections.load(), max_connections),
              absl::ToDoubleSeconds(hammer_end - start), moves.c_str());
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
