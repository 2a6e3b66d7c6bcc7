// hostile_client's well-behaved sessions: every byte the server sends back is
// checked.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

// A chat connection read line by line, with a deadline.
struct ChatConn {
  int fd = -1;
  std::string in;
  // The next line (without '\n'), or "" with *error set (timed out, EOF).
  // `patience` bounds this call; `deadline` the session.
  std::string Next(absl::Duration patience, absl::Time deadline, std::string* error) {
    const absl::Time until = std::min(absl::Now() + patience, deadline);
    for (;;) {
      const size_t nl = in.find('\n');
      if (nl != std::string::npos) {
        std::string line = in.substr(0, nl);
        in.erase(0, nl + 1);
        return line;
      }
      if (absl::Now() > until) {
        if (absl::Now() > deadline) *error = "timed out";
        return "";
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0) *error = "EOF";
      if (n < 0 && errno != EAGAIN) *error = absl::StrCat("recv: ", std::strerror(errno));
      if (n == 0 || (n < 0 && errno != EAGAIN)) return "";
      if (n > 0) in.append(buf, static_cast<size_t>(n));
    }
  }
  bool Send(const std::string& line) {
    return send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  }
};

// One well-behaved pair of chat clients, A and B, among whatever else is
// connected (other lines are ignored): A repeats "sync T" until B hears it
// (both are then registered), B answers "ack T", then A sends kLines
// numbered lines that B must receive all, in order; A must never receive a
// line of its own.
std::string ChatSession(const Target& target, uint64_t seed, absl::Time deadline) {
  constexpr int kLines = 50;
  const std::string tag = absl::StrCat(" chat-", seed, "-", absl::ToUnixNanos(absl::Now()));
  ChatConn a, b;
  a.fd = Connect(target);
  b.fd = Connect(target);
  std::string error;
  auto fail = [&](std::string why) {
    if (error.empty()) error = std::move(why);
  };
  if (a.fd < 0 || b.fd < 0) fail(absl::StrCat("connect: ", std::strerror(errno)));
  // 1. sync until B hears it.
  for (bool heard = false; error.empty() && !heard;) {
    if (!a.Send("sync" + tag + "\n")) fail("send sync");
    const absl::Time resend = absl::Now() + absl::Milliseconds(50);
    while (error.empty() && !heard && absl::Now() < resend) {
      heard = b.Next(resend - absl::Now(), deadline, &error) == "sync" + tag;
    }
  }
  // 2. B acks; A waits for it, and must not see its own syncs.
  if (error.empty() && !b.Send("ack" + tag + "\n")) fail("send ack");
  for (std::string line; error.empty() && line != "ack" + tag;) {
    line = a.Next(absl::Seconds(1), deadline, &error);
    if (line == "sync" + tag) fail("a sender got its own line back");
  }
  // 3. A sends numbered lines in one go; B must get every one, in order.
  std::string burst;
  for (int i = 0; i < kLines; ++i) absl::StrAppend(&burst, "data", tag, " ", i, "\n");
  if (error.empty() && !a.Send(burst)) fail("send data");
  for (int want = 0; error.empty() && want < kLines;) {
    std::string line = b.Next(absl::Seconds(1), deadline, &error);
    if (line == "sync" + tag) continue;                         // more syncs than B needed
    if (!absl::StartsWith(line, "data" + tag + " ")) continue;  // someone else's
    if (line != absl::StrCat("data", tag, " ", want)) {
      fail(absl::StrCat("line \"", line, "\" where ", want, " was due"));
    }
    ++want;
  }
  // 4. Nothing of A's came back to A.
  for (std::string line; error.empty();) {
    std::string none;
    line = a.Next(absl::Milliseconds(100), absl::InfiniteFuture(), &none);
    if (line.empty()) break;
    if (absl::StrContains(line, tag) && line != "ack" + tag) fail("a sender got its own line back");
  }
  if (a.fd >= 0) close(a.fd);
  if (b.fd >= 0) close(b.fd);
  return error;
}

}  // namespace

std::string Session(const Target& target, uint64_t seed, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  switch (target.protocol) {
    case Protocol::kEcho:
      return EchoSession(target, seed, deadline);
    case Protocol::kPush:
      return PushSession(target, deadline);
    case Protocol::kChat:
      return ChatSession(target, seed, deadline);
  }
  return "unknown protocol";
}

}  // namespace gaio_examples::hostile
