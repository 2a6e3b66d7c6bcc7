#include "tests/test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gaio::testing {
namespace {

absl::Status Errno(const char* op) { return absl::ErrnoToStatus(errno, op); }

int MillisLeft(absl::Time deadline) {
  int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(ms);
}

}  // namespace

absl::StatusOr<FdPair> UnixPair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return Errno("socketpair");
  return FdPair{sv[0], sv[1]};
}

absl::StatusOr<FdPair> TcpPair() {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 16) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status s = Errno("bind/listen");
    close(lfd);
    return s;
  }
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cfd < 0 || connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status s = Errno("connect");
    if (cfd >= 0) close(cfd);
    close(lfd);
    return s;
  }
  int afd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  close(lfd);
  if (afd < 0) {
    absl::Status s = Errno("accept4");
    close(cfd);
    return s;
  }
  int one = 1;
  setsockopt(afd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return FdPair{afd, cfd};
}

Completion Copy(const OpResult& r) {
  Completion c{r.op, r.fd, r.ctx, r.size, r.is_swap_buffer, r.status, {}, r.accepted_fd};
  if (r.op == OpType::kRead && r.size > 0) c.data.assign(r.buffer.data(), r.size);
  return c;
}

std::vector<Completion> Collect(Watcher& w, size_t n, absl::Duration patience,
                                absl::Status* error) {
  std::vector<Completion> out;
  const absl::Time deadline = absl::Now() + patience;
  while (out.size() < n) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(left);
    if (!batch.ok()) {
      if (error) *error = batch.status();
      break;
    }
    for (const OpResult& r : *batch) out.push_back(Copy(r));
  }
  return out;
}

absl::Status WriteAll(int fd, absl::string_view data, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Errno("send");
    pollfd p{fd, POLLOUT, 0};
    if (MillisLeft(deadline) == 0) return absl::DeadlineExceededError("WriteAll timed out");
    poll(&p, 1, MillisLeft(deadline));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadExactly(int fd, size_t n, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = recv(fd, out.data() + done, n - done, MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return absl::OutOfRangeError("EOF before all bytes arrived");
    if (errno != EAGAIN && errno != EINTR) return Errno("recv");
    if (MillisLeft(deadline) == 0) return absl::DeadlineExceededError("ReadExactly timed out");
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, MillisLeft(deadline));
  }
  return out;
}

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

int CountOpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 3;  // ".", ".." and the DIR's own fd
}

int FdBaseline() {
  // Once per process. If Create fails, the test's own Create will say why.
  [[maybe_unused]] static const bool once = [] {
    WatcherOptions options;
    options.num_pollers = 0;  // one Poller, no thread
    return Watcher::Create(options).ok();  // and destroyed at once
  }();
  return CountOpenFds();
}

bool FdIsOpen(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

}  // namespace gaio::testing
