// hostile_client's well-behaved sessions: every byte the server sends back is
// checked.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/hostile_client/hostile_client.h"

namespace gaio_examples::hostile {
namespace {

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
std::string EchoSession(const Target& target, uint64_t seed, absl::Time deadline) {
  int fd = Connect(target);
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
std::string PushSession(const Target& target, absl::Time deadline) {
  int fd = Connect(target);
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

}  // namespace

std::string Session(const Target& target, uint64_t seed, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  return target.protocol == Protocol::kEcho ? EchoSession(target, seed, deadline)
                                            : PushSession(target, deadline);
}

}  // namespace gaio_examples::hostile
