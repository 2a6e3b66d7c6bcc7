#include "tests/tls/peer_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace gaio::tls::testing {
namespace {

int MillisUntil(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000000));
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

absl::StatusOr<Child> Child::Start(const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  if (pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  Child c;
  c.pid_ = pid;
  c.stdin_ = in[1];
  c.stdout_ = out[0];
  return c;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_(std::exchange(other.stdin_, -1)),
      stdout_(std::exchange(other.stdout_, -1)),
      output_(std::move(other.output_)) {}

Child::~Child() {
  Kill();
  CloseStdin();
  if (stdout_ >= 0) close(stdout_);
}

absl::Status Child::WriteStdin(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(stdin_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::ErrnoToStatus(errno, "write to the child's stdin");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void Child::CloseStdin() {
  if (stdin_ >= 0) close(stdin_);
  stdin_ = -1;
}

bool Child::ReadSome(int timeout_ms) {
  if (stdout_ < 0) return false;
  pollfd p{stdout_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return true;
  char buf[4096];
  const ssize_t n = ::read(stdout_, buf, sizeof(buf));
  if (n <= 0) {
    close(stdout_);
    stdout_ = -1;
    return false;
  }
  output_.append(buf, static_cast<size_t>(n));
  return true;
}

absl::Status Child::WaitForOutput(const std::string& needle, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (output_.find(needle) == std::string::npos) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("no '", needle, "' in: ", output_));
    }
    if (!ReadSome(MillisUntil(deadline))) {
      return absl::NotFoundError(absl::StrCat("exited without '", needle, "': ", output_));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Child::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      while (ReadSome(0)) {
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("the child did not exit");
    ReadSome(10);  // keeps its pipe drained meanwhile
  }
  return absl::FailedPreconditionError("no child");
}

void Child::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ListenLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int AcceptWithin(int listen_fd, absl::Duration timeout) {
  pollfd p{listen_fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1) return -1;
  return accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
}

int ConnectLoopback(int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const sockaddr_in a = Loopback(port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) return fd;
    close(fd);
    if (absl::Now() >= deadline) return -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

SocketDriver::SocketDriver(Session& session, int fd, size_t read_size)
    : session_(session), fd_(fd), read_size_(read_size) {}

SocketDriver::~SocketDriver() { CloseSocket(); }

void SocketDriver::CloseSocket() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status SocketDriver::Flush() {
  const std::string bytes = session_.take_ciphertext();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "send");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SocketDriver::Step(absl::Time deadline, bool* timed_out) {
  *timed_out = false;
  pollfd p{fd_, POLLIN, 0};
  const int ready = poll(&p, 1, MillisUntil(deadline));
  if (ready == 0) {
    *timed_out = true;
    return absl::OkStatus();
  }
  std::string buf(read_size_, '\0');
  const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
  absl::Status s;
  if (n < 0) {
    s = absl::ErrnoToStatus(errno, "recv");  // ECONNRESET: ends like an EOF
    if (errno == ECONNRESET) s = session_.feed_eof();
  } else if (n == 0) {
    s = session_.feed_eof();
  } else {
    s = session_.feed(absl::Span<const char>(buf.data(), static_cast<size_t>(n)));
  }
  // Whatever the outcome, what the session queued (replies, alerts) goes out.
  absl::Status sent = Flush();
  if (!s.ok()) return s;
  return sent;
}

absl::Status SocketDriver::Handshake(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (absl::Status s = Flush(); !s.ok()) return s;
  while (!session_.handshake_done()) {
    bool timed_out = false;
    if (absl::Status s = Step(deadline, &timed_out); !s.ok()) return s;
    if (timed_out) return absl::DeadlineExceededError("TLS handshake");
  }
  return absl::OkStatus();
}

absl::Status SocketDriver::ReadAtLeast(size_t n, std::string* got, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const absl::string_view p = session_.plaintext();
    got->append(p.data(), p.size());
    session_.consume_plaintext(p.size());
    if (got->size() >= n) return absl::OkStatus();
    if (!session_.status().ok()) return session_.status();
    if (session_.peer_closed()) return MakeTlsStatus(TlsError::kClosed, "close_notify");
    bool timed_out = false;
    absl::Status s = Step(deadline, &timed_out);
    if (timed_out) return absl::DeadlineExceededError(absl::StrCat("read ", got->size()));
    if (!s.ok()) {
      const absl::string_view rest = session_.plaintext();
      got->append(rest.data(), rest.size());
      session_.consume_plaintext(rest.size());
      return s;
    }
  }
}

absl::Status SocketDriver::ReadToEnd(std::string* got, absl::Duration timeout) {
  absl::Status s = ReadAtLeast(static_cast<size_t>(-1), got, timeout);
  if (IsCleanClose(s)) {
    // After close_notify the transport's end is the clean end.
    return session_.feed_eof();
  }
  return s;
}

absl::Status SocketDriver::Write(const std::string& plaintext) {
  if (absl::Status s = session_.write(plaintext); !s.ok()) return s;
  return Flush();
}

}  // namespace gaio::tls::testing
