// The soak: many connections for a long time, with random message sizes,
// random disconnects and reconnects, and deadlines on both sides. The server
// (this process) echoes with a Watcher; the client (a child process, since
// the open-file limit is 20000) drives the connections with a Watcher of its
// own and checks every echoed byte (tests/soak_client.h).
//
//   ./bazelw run //tests:soak -- --connections=10000 --seconds=60
//
// At the end, on each side: completions == submissions, no byte mismatch,
// open fds back to the baseline; and the RSS of both processes (printed
// every 10 s) flat after the warm-up. Exits non-zero on any violation.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/echo_harness.h"
#include "tests/soak_client.h"
#include "tests/soak_common.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, connections, 10000, "concurrent client connections");
ABSL_FLAG(int, seconds, 60, "how long the client keeps the connections busy");
ABSL_FLAG(uint64_t, seed, 1, "seed of the client's random choices");
ABSL_FLAG(int, pollers, 1, "poller threads of the server's Watcher");
ABSL_FLAG(int, swap_buffer, 64 * 1024, "swap_buffer_size of the server's Watcher");
ABSL_FLAG(double, rss_growth, 0.10,
          "allowed RSS growth after the warm-up, as a fraction (plus 8 MiB)");

namespace gaio::soak {
namespace {

struct Conn {
  int fd = -1;
  bool read_pending = false;
  bool write_pending = false;
  bool closing = false;
  bool swap = false;  // swap-buffer reads; else into `in`
  std::unique_ptr<char[]> in;
  std::unique_ptr<char[]> out;
};

class Server {
 public:
  Server(Watcher w, int listen_fd, pid_t child)
      : w_(std::move(w)), lfd_(listen_fd), child_(child) {}
  // Serves until the child has exited and every connection is closed.
  void Run(absl::Duration duration);
  bool Finish(int fd_baseline);
  int child_status() const { return child_status_; }

 private:
  void Accept();
  void Read(Conn* c);
  void Close(Conn* c);
  void OnCompletion(const OpResult& r);
  void Submitted(const absl::Status& s, bool* pending);
  void Violation(const std::string& what);
  void Sample(absl::Duration elapsed);

  Watcher w_;
  const int lfd_;
  const pid_t child_;
  int child_status_ = -1;
  std::vector<std::unique_ptr<Conn>> all_;
  std::vector<Conn*> free_list_;
  int open_ = 0;
  uint64_t submitted_ = 0, completed_ = 0, accepted_ = 0, echoes_ = 0, bytes_ = 0;
  uint64_t closed_eof_ = 0, closed_reset_ = 0, closed_idle_ = 0, violations_ = 0;
  long rss_warm_[2] = {-1, -1}, rss_max_[2] = {0, 0};
  // Echoes per sampling interval after the warm-up: must stay steady.
  std::vector<uint64_t> rates_;
  uint64_t echoes_at_sample_ = 0;
};

void Server::Violation(const std::string& what) {
  if (++violations_ <= 10) std::fprintf(stderr, "soak server: VIOLATION: %s\n", what.c_str());
}

void Server::Submitted(const absl::Status& s, bool* pending) {
  if (!s.ok()) return Violation(absl::StrCat("submission refused: ", s.ToString()));
  ++submitted_;
  *pending = true;
}

void Server::Accept() {
  for (;;) {
    const int fd = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR) Violation(absl::StrCat("accept: ", strerror(errno)));
      return;
    }
    Conn* c;
    if (free_list_.empty()) {
      all_.push_back(std::make_unique<Conn>());
      c = all_.back().get();
      c->in = std::make_unique<char[]>(4096);
      c->out = std::make_unique<char[]>(kMaxMessage);
      std::memset(c->out.get(), 0, kMaxMessage);  // touched now: flat RSS later
    } else {
      c = free_list_.back();
      free_list_.pop_back();
    }
    c->fd = fd;
    c->closing = false;
    c->swap = accepted_ % 4 != 0;  // three in four read into the swap buffer
    ++accepted_;
    ++open_;
    Read(c);
  }
}

void Server::Read(Conn* c) {
  const absl::Time deadline = absl::Now() + kServerIdleTimeout;
  Submitted(c->swap ? w_.read_timeout(c, c->fd, nullptr, deadline)
                    : w_.read_timeout(c, c->fd, absl::Span<char>(c->in.get(), 4096), deadline),
            &c->read_pending);
}

void Server::Close(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  if (absl::Status s = w_.free(c->fd); !s.ok()) Violation(absl::StrCat("free: ", s.ToString()));
  --open_;
}

void Server::OnCompletion(const OpResult& r) {
  Conn* c = static_cast<Conn*>(r.ctx);
  bool& pending = r.op == OpType::kRead ? c->read_pending : c->write_pending;
  if (!pending) return Violation("a completion for a request that was not pending (duplicate)");
  pending = false;
  const absl::Status& s = r.status;
  if (c->closing) {
    if (!absl::IsCancelled(s) && !s.ok() && !IsEof(s)) {
      Violation(absl::StrCat("after free: ", s.ToString()));
    }
  } else if (r.op == OpType::kRead) {
    if (s.ok()) {
      if (r.size > kMaxMessage) Violation(absl::StrCat("read of ", r.size, " bytes"));
      const size_t n = std::min(r.size, kMaxMessage);
      std::memcpy(c->out.get(), r.buffer.data(), n);
      Submitted(w_.write(c, c->fd, absl::Span<const char>(c->out.get(), n)), &c->write_pending);
    } else {
      if (IsEof(s)) {
        ++closed_eof_;
      } else if (absl::IsUnavailable(s)) {
        ++closed_reset_;  // the client's RST
      } else if (absl::IsDeadlineExceeded(s)) {
        ++closed_idle_;
      } else {
        Violation(absl::StrCat("read: ", s.ToString()));
      }
      Close(c);
    }
  } else if (s.ok()) {
    ++echoes_;
    bytes_ += r.size;
    Read(c);
  } else {
    Violation(absl::StrCat("write: ", s.ToString()));
    Close(c);
  }
  if (c->closing && !c->read_pending && !c->write_pending && c->fd >= 0) {
    c->fd = -1;
    free_list_.push_back(c);
  }
}

void Server::Sample(absl::Duration elapsed) {
  const long rss[2] = {RssKiB(), RssKiB(child_)};
  std::printf(
      "soak: t=%3llds  connections %5d  echoes %10llu  server rss %7.1f MiB  client rss %7.1f "
      "MiB\n",
      static_cast<long long>(absl::ToInt64Seconds(elapsed)), open_,
      static_cast<unsigned long long>(echoes_), rss[0] / 1024.0, rss[1] / 1024.0);
  std::fflush(stdout);
  if (rss_warm_[0] >= 0) rates_.push_back(echoes_ - echoes_at_sample_);
  echoes_at_sample_ = echoes_;
  for (int i = 0; i < 2; ++i) {
    if (rss[i] < 0) continue;
    if (rss_warm_[i] < 0) {
      rss_warm_[i] = rss[i];  // the first sample ends the warm-up
    } else {
      rss_max_[i] = std::max(rss_max_[i], rss[i]);
    }
  }
}

void Server::Run(absl::Duration duration) {
  const absl::Time start = absl::Now();
  const absl::Duration every = std::min(absl::Seconds(10), duration / 2);
  absl::Time next_sample = start + every;
  const absl::Time give_up = start + duration + absl::Seconds(90);
  while (child_status_ < 0 || open_ > 0) {
    if (child_status_ < 0) {
      Accept();
      int status;
      if (waitpid(child_, &status, WNOHANG) == child_) child_status_ = status;
    }
    // Samples while the client is busy: the wind-down is not steady state.
    if (absl::Now() >= next_sample && absl::Now() <= start + duration + absl::Seconds(2)) {
      Sample(absl::Now() - start);
      next_sample += every;
    }
    if (absl::Now() > give_up) {
      Violation(absl::StrCat("no wind-down: child ", child_status_ < 0 ? "running" : "gone", ", ",
                             open_, " connections open"));
      if (child_status_ < 0) {
        kill(child_, SIGKILL);
        waitpid(child_, &child_status_, 0);
      }
      break;
    }
    absl::StatusOr<absl::Span<const OpResult>> batch = w_.wait_io(absl::Milliseconds(10));
    if (!batch.ok()) return Violation(absl::StrCat("wait_io: ", batch.status().ToString()));
    for (const OpResult& r : *batch) {
      ++completed_;
      OnCompletion(r);
    }
  }
}

bool Server::Finish(int fd_baseline) {
  close(lfd_);
  if (absl::Status s = w_.close(); !s.ok()) Violation(absl::StrCat("close: ", s.ToString()));
  for (;;) {  // whatever was still pending completes now, Cancelled
    absl::StatusOr<absl::Span<const OpResult>> batch = w_.wait_io();
    if (!batch.ok()) break;
    completed_ += batch->size();
  }
  if (submitted_ != completed_) {
    Violation(absl::StrCat("submitted ", submitted_, " != completed ", completed_));
  }
  const int fds = testing::CountOpenFds();
  if (fds != fd_baseline) Violation(absl::StrCat(fds, " fds open, ", fd_baseline, " before"));
  const double growth = absl::GetFlag(FLAGS_rss_growth);
  const char* names[2] = {"server", "client"};
  for (int i = 0; i < 2; ++i) {
    if (rss_warm_[i] < 0 || rss_max_[i] == 0) continue;  // too short to tell
    const long allowed = static_cast<long>(rss_warm_[i] * (1 + growth)) + 8 * 1024;
    std::printf("soak: %s rss after warm-up %.1f MiB, highest later %.1f MiB (allowed %.1f)\n",
                names[i], rss_warm_[i] / 1024.0, rss_max_[i] / 1024.0, allowed / 1024.0);
    if (rss_max_[i] > allowed) Violation(absl::StrCat(names[i], " RSS grew after the warm-up"));
  }
  // Throughput must not sag as the run goes on (it did when every wait_io()
  // rescanned all the reads waiting for swap space).
  if (rates_.size() >= 2) {
    std::printf("soak: echoes per interval after warm-up: first %llu, last %llu\n",
                (unsigned long long)rates_.front(), (unsigned long long)rates_.back());
    if (rates_.back() * 2 < rates_.front()) Violation("throughput fell by more than half");
  }
  if (!WIFEXITED(child_status_) || WEXITSTATUS(child_status_) != 0) {
    Violation(absl::StrCat("client exited with status ", child_status_));
  }
  std::printf(
      "soak server: %llu connections accepted, %llu echoes, %llu bytes; closed on EOF %llu, on "
      "RST %llu, on idle timeout %llu; requests submitted %llu, completed %llu; fds back to %d; "
      "violations %llu\n",
      (unsigned long long)accepted_, (unsigned long long)echoes_, (unsigned long long)bytes_,
      (unsigned long long)closed_eof_, (unsigned long long)closed_reset_,
      (unsigned long long)closed_idle_, (unsigned long long)submitted_,
      (unsigned long long)completed_, fds, (unsigned long long)violations_);
  return violations_ == 0;
}

int Main() {
  const int connections = absl::GetFlag(FLAGS_connections);
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  absl::StatusOr<testing::Listener> listener = testing::Listen(4096);
  if (!listener.ok()) {
    std::fprintf(stderr, "soak: listen: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  MessageBytes();  // before fork: both processes share the pages
  std::fflush(stdout);
  // Fork before either process starts a thread.
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    close(listener->fd);
    std::fflush(stdout);
    _exit(RunClient({connections, duration, absl::GetFlag(FLAGS_seed), listener->port}));
  }
  fcntl(listener->fd, F_SETFL, fcntl(listener->fd, F_GETFL) | O_NONBLOCK);
  std::printf("soak: %d connections for %lld s, server pid %d, client pid %d\n", connections,
              static_cast<long long>(absl::ToInt64Seconds(duration)), getpid(), child);
  WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  options.swap_buffer_size = static_cast<size_t>(absl::GetFlag(FLAGS_swap_buffer));
  bool ok;
  {
    absl::StatusOr<Watcher> w = Watcher::Create(options);
    if (!w.ok()) {
      std::fprintf(stderr, "soak: Watcher::Create: %s\n", w.status().ToString().c_str());
      kill(child, SIGKILL);
      return 1;
    }
    // The watcher's own fds stay open until it is destroyed; the listener
    // closes at the end.
    const int fd_baseline = testing::CountOpenFds() - 1;
    Server server(*std::move(w), listener->fd, child);
    server.Run(duration);
    ok = server.Finish(fd_baseline);
  }
  std::printf("soak: %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace gaio::soak

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_DFL);  // a SIGPIPE would kill the soak: the watcher must never raise one
  return gaio::soak::Main();
}
