// The two halves of hostile_client: hostile moves (moves.cc) and well-behaved
// sessions that check every byte (sessions.cc). Plain blocking POSIX sockets
// on 127.0.0.1, every wait bounded.
#ifndef GAIO_EXAMPLES_HOSTILE_CLIENT_HOSTILE_CLIENT_H_
#define GAIO_EXAMPLES_HOSTILE_CLIENT_HOSTILE_CLIENT_H_

#include <cstdint>
#include <deque>
#include <string>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace gaio_examples::hostile {

enum class Protocol { kEcho, kPush, kChat };

struct Target {
  int port = 0;
  Protocol protocol = Protocol::kEcho;
};

// A blocking connection to the target with connect/send/receive timeouts of
// 5 s; -1 on failure (errno set). A small receive buffer makes a reader that
// never reads stall the server's writes sooner.
int Connect(const Target& target, bool small_rcvbuf = false);

// A connection a slow reader keeps, never reading, until `release`.
struct Held {
  int fd;
  absl::Time release;
};

// One nasty thing a client does; opens `connections` connections. Slow
// readers are appended to `held`.
struct Move {
  const char* name;
  int connections;
  void (*run)(const Target& target, std::deque<Held>& held);
};
absl::Span<const Move> Moves();

// Closes (every other one with a reset) the held connections whose time has
// come, or all of them.
void ReleaseHeld(std::deque<Held>& held, bool all);

// One well-behaved client session, bounded by `patience`: echo messages of
// several sizes (the bytes depend on `seed`), three "tick N" lines with N
// increasing, or a pair of chat clients (one's numbered lines reach the
// other, all and in order, never the sender). Returns "" when served correctly, otherwise what went
// wrong.
std::string Session(const Target& target, uint64_t seed, absl::Duration patience);

}  // namespace gaio_examples::hostile

#endif  // GAIO_EXAMPLES_HOSTILE_CLIENT_HOSTILE_CLIENT_H_
