// hostile_client's moves: the nasty things real clients do to a server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "examples/hostile_client/hostile_client.h"

namespace gaio_examples::hostile {
namespace {

constexpr int kSocketTimeoutSec = 5;  // SO_SNDTIMEO/SO_RCVTIMEO: connect, send, recv

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

// The moves. Each opens one connection (the burst: kBurst); what the server
// answers is not judged, only that it survives and keeps serving.
void ConnectClose(const Target& target, std::deque<Held>&) {
  int fd = Connect(target);
  if (fd >= 0) close(fd);
}
void ConnectReset(const Target& target, std::deque<Held>&) {
  int fd = Connect(target);
  if (fd >= 0) Reset(fd);
}
void ByteClose(const Target& target, std::deque<Held>&) {
  int fd = Connect(target);
  if (fd < 0) return;
  SendByte(fd);
  close(fd);
}
void ByteReset(const Target& target, std::deque<Held>&) {
  int fd = Connect(target);
  if (fd < 0) return;
  SendByte(fd);
  Reset(fd);
}
// A large message, then a reset before reading the reply: the server is in
// the middle of writing (echo) or has a push in flight.
void ResetMidWrite(const Target& target, std::deque<Held>&) {
  int fd = Connect(target);
  if (fd < 0) return;
  Flood(fd, 1 << 20);
  Reset(fd);
}
// Sends, shuts down its sending side, reads what comes until EOF.
void HalfClose(const Target& target, std::deque<Held>&) {
  int fd = Connect(target);
  if (fd < 0) return;
  const std::string msg(1000, 'h');
  send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  Drain(fd, absl::Seconds(1));
  close(fd);
}
// Never reads: an echo server's writes back stall on the tiny receive
// buffer, as do a push server's after a while. Closed or reset later.
void SlowReader(const Target& target, std::deque<Held>& held) {
  int fd = Connect(target, /*small_rcvbuf=*/true);
  if (fd < 0) return;
  if (target.protocol == Protocol::kEcho) Flood(fd, 256 * 1024);
  held.push_back({fd, absl::Now() + absl::Milliseconds(300)});
}
// Many at once: kBurst connections, a byte on every other, all closed
// together, every third with a reset.
constexpr int kBurst = 25;
void Burst(const Target& target, std::deque<Held>&) {
  std::vector<int> fds;
  for (int i = 0; i < kBurst; ++i) {
    int fd = Connect(target);
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

}  // namespace

int Connect(const Target& target, bool small_rcvbuf) {
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
  addr.sin_port = htons(static_cast<uint16_t>(target.port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

absl::Span<const Move> Moves() {
  static constexpr Move kMoves[] = {
      {"connect-close", 1, ConnectClose},    {"connect-reset", 1, ConnectReset},
      {"byte-close", 1, ByteClose},          {"byte-reset", 1, ByteReset},
      {"reset-mid-write", 1, ResetMidWrite}, {"half-close", 1, HalfClose},
      {"slow-reader", 1, SlowReader},        {"burst", kBurst, Burst},
  };
  return kMoves;
}

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

}  // namespace gaio_examples::hostile
