#include "watcher/signal_set.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "poller/posix_error.h"
#include "watcher/mutex.h"

namespace gaio {
namespace {

// Process-wide state, per signal number. The handler reads only the atomics.
std::atomic<int> g_write_fd[NSIG];  // zero-initialised: 0 means "no set"
std::atomic<int> g_in_handler{0};   // handlers between their load and their write
static_assert(std::atomic<int>::is_always_lock_free, "the handler must be signal-safe");

internal::Mutex g_mu;  // Create() and ~SignalSet
struct sigaction g_old_action[NSIG] ABSL_GUARDED_BY(g_mu);
bool g_held[NSIG] ABSL_GUARDED_BY(g_mu) = {};

// write fds are stored plus one, so that zero-initialised storage means none.
void OnSignal(int signo) {
  const int saved_errno = errno;
  g_in_handler.fetch_add(1, std::memory_order_acq_rel);
  const int fd = g_write_fd[signo].load(std::memory_order_acquire) - 1;
  if (fd >= 0) {
    const unsigned char byte = static_cast<unsigned char>(signo);
    ssize_t n;
    do {
      n = ::write(fd, &byte, 1);
    } while (n < 0 && errno == EINTR);  // EAGAIN (the pipe is full): dropped
  }
  g_in_handler.fetch_sub(1, std::memory_order_acq_rel);
  errno = saved_errno;
}

void Uninstall(const std::vector<int>& signals) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  for (int s : signals) {
    ::sigaction(s, &g_old_action[s], nullptr);
    g_write_fd[s].store(0, std::memory_order_release);
    g_held[s] = false;
  }
  // A handler that loaded the old fd may still be writing to it.
  while (g_in_handler.load(std::memory_order_acquire) != 0) sched_yield();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SignalSet>> SignalSet::Create(absl::Span<const int> signals) {
  if (signals.empty()) return absl::InvalidArgumentError("SignalSet: no signal");
  std::vector<int> list;
  for (int s : signals) {
    if (s <= 0 || s >= NSIG || s == SIGKILL || s == SIGSTOP) {
      return absl::InvalidArgumentError(absl::StrCat("SignalSet: cannot catch signal ", s));
    }
    bool dup = false;
    for (int t : list) dup |= t == s;
    if (!dup) list.push_back(s);
  }
  int fds[2];
  if (::pipe(fds) != 0) return internal::PosixError(errno, "pipe");
  for (int fd : fds) {  // pipe2() is not on every BSD-like system the kqueue backend serves
    if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
      absl::Status error = internal::PosixError(errno, "fcntl");
      ::close(fds[0]);
      ::close(fds[1]);
      return error;
    }
  }

  internal::MutexLock lock(&g_mu);
  for (int s : list) {
    if (g_held[s]) {
      ::close(fds[0]);
      ::close(fds[1]);
      return absl::AlreadyExistsError(
          absl::StrCat("SignalSet: signal ", s, " is held by another set"));
    }
  }
  std::vector<int> installed;
  for (int s : list) {
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    g_write_fd[s].store(fds[1] + 1, std::memory_order_release);
    if (::sigaction(s, &sa, &g_old_action[s]) != 0) {
      absl::Status error = internal::PosixError(errno, "sigaction");
      g_write_fd[s].store(0, std::memory_order_release);
      Uninstall(installed);
      ::close(fds[0]);
      ::close(fds[1]);
      return error;
    }
    g_held[s] = true;
    installed.push_back(s);
  }
  return std::unique_ptr<SignalSet>(new SignalSet(std::move(list), fds[0], fds[1]));
}

SignalSet::~SignalSet() {
  {
    internal::MutexLock lock(&g_mu);
    Uninstall(signals_);
  }
  ::close(write_fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
}

int SignalSet::TakeReadFd() { return std::exchange(read_fd_, -1); }

}  // namespace gaio
