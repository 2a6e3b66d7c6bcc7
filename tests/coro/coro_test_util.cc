#include "tests/coro/coro_test_util.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/time/clock.h"

namespace gaio::coro::testing {

std::unique_ptr<EventLoop> NewLoop(int pollers) {
  WatcherOptions options = EventLoop::DefaultOptions();
  options.num_pollers = pollers;
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(options);
  if (!loop.ok()) {
    ADD_FAILURE() << loop.status();
    std::abort();
  }
  return *std::move(loop);
}

Watchdog::Watchdog(EventLoop& loop, absl::Duration patience)
    : thread_([this, &loop, patience] {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(patience), [this] { return done_; })) {
          fired_.store(true);
          loop.stop();
        }
      }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

FdPair UnixPair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  return {sv[0], sv[1]};
}

FdPair TcpPair() {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(lfd, 16) != 0 || getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::abort();
  }
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cfd < 0 || ::connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    std::abort();
  int afd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  close(lfd);
  if (afd < 0) std::abort();
  int one = 1;
  setsockopt(afd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return {afd, cfd};
}

absl::Status WriteAll(int fd, absl::string_view data, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  while (!data.empty()) {
    pollfd p{fd, POLLOUT, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) return absl::DeadlineExceededError("WriteAll");
    if (poll(&p, 1, ms) <= 0) continue;
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "send");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadExactly(int fd, size_t n, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  std::string out;
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) return absl::DeadlineExceededError("ReadExactly");
    if (poll(&p, 1, ms) <= 0) continue;
    char buf[4096];
    ssize_t r = recv(fd, buf, std::min(sizeof(buf), n - out.size()), MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r < 0) return absl::ErrnoToStatus(errno, "recv");
    if (r == 0) return absl::OutOfRangeError("ReadExactly: EOF");
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

int Readable(int fd) {
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) return -1;
  return n;
}

int CountOpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n - 3;  // ".", "..", the DIR's own fd
}

std::string ListOpenFds() {
  std::string out;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return "(no /proc/self/fd)";
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    char target[256] = {};
    const std::string path = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
    out += std::string(e->d_name) + " -> " + (n > 0 ? target : "?") + "\n";
  }
  closedir(d);
  return out;
}

int CountOpenFdsAfterFirstLoop() {
  NewLoop(0).reset();
  NewLoop(1).reset();
  return CountOpenFds();
}

}  // namespace gaio::coro::testing
