// Linux backend of Poller: one epoll set (EPOLLET) plus an eventfd for
// wake-ups. Timeouts use epoll_pwait2 (nanoseconds) when the kernel has it and
// fall back to epoll_wait (milliseconds, rounded up) when it does not, or a
// seccomp filter refuses it.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "poller/poller.h"
#include "poller/posix_error.h"

namespace gaio::internal {
namespace {

constexpr int kMaxEvents = 256;

// Events returned per Wait() never include the wake-up fd; its data is this tag.
constexpr uint64_t kWakeTag = ~uint64_t{0};

std::atomic<bool> g_have_pwait2{true};

// One wait for events. Sets *call to the syscall made, for the error message.
int WaitEvents(int epfd, epoll_event* out, absl::Duration timeout, const char** call) {
  *call = "epoll_wait";
  if (timeout == absl::InfiniteDuration()) {
    return epoll_wait(epfd, out, kMaxEvents, -1);
  }
  if (timeout < absl::ZeroDuration()) timeout = absl::ZeroDuration();
  if (g_have_pwait2.load(std::memory_order_relaxed)) {
    *call = "epoll_pwait2";
    timespec ts = absl::ToTimespec(timeout);
    int n = epoll_pwait2(epfd, out, kMaxEvents, &ts, nullptr);
    // Kernels before 5.11 say ENOSYS; seccomp profiles that predate the call
    // (older Docker and podman defaults) say EPERM. Either way it is not
    // there for us: use epoll_wait from now on.
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    g_have_pwait2.store(false, std::memory_order_relaxed);
    *call = "epoll_wait";
  }
  // Round up so that a deadline is never reported early.
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1)));
  if (ms > 1'000'000'000) ms = 1'000'000'000;
  return epoll_wait(epfd, out, kMaxEvents, static_cast<int>(ms));
}

uint32_t ToFlags(uint32_t ev) {
  uint32_t flags = 0;
  if (ev & EPOLLIN) flags |= kPollReadable;
  if (ev & EPOLLPRI) flags |= kPollReadable | kPollUrgent;
  if (ev & EPOLLRDHUP) flags |= kPollReadable | kPollHangup;
  if (ev & EPOLLOUT) flags |= kPollWritable;
  if (ev & EPOLLHUP) flags |= kPollHangup | kPollReadable | kPollWritable;
  if (ev & EPOLLERR) flags |= kPollError | kPollReadable | kPollWritable;
  return flags;
}

}  // namespace

struct Poller::Native {
  epoll_event events[kMaxEvents];
};

absl::StatusOr<std::unique_ptr<Poller>> Poller::Create() {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return PosixError(errno, "epoll_create1");
  int wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wfd < 0) {
    absl::Status status = PosixError(errno, "eventfd");
    ::close(epfd);
    return status;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = kWakeTag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wfd, &ev) != 0) {
    absl::Status status = PosixError(errno, "epoll_ctl(ADD eventfd)");
    ::close(wfd);
    ::close(epfd);
    return status;
  }
  return std::unique_ptr<Poller>(new Poller(epfd, wfd));
}

Poller::Poller(int poll_fd, int wake_fd)
    : poll_fd_(poll_fd), wake_fd_(wake_fd), native_(std::make_unique<Native>()) {}

Poller::~Poller() {
  ::close(wake_fd_);
  ::close(poll_fd_);
}

absl::Status Poller::Add(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = static_cast<uint32_t>(fd);
  if (epoll_ctl(poll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return PosixError(errno, "epoll_ctl(ADD)");
  }
  return absl::OkStatus();
}

absl::Status Poller::Remove(int fd) {
  if (epoll_ctl(poll_fd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
    return PosixError(errno, "epoll_ctl(DEL)");
  }
  return absl::OkStatus();
}

absl::Status Poller::Wait(absl::Duration timeout, std::vector<PollEvent>* events, bool* woken) {
  events->clear();
  if (woken) *woken = false;
  const char* call;
  int n = WaitEvents(poll_fd_, native_->events, timeout, &call);
  if (n < 0) {
    if (errno == EINTR) return absl::OkStatus();
    return PosixError(errno, call);
  }
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = native_->events[i];
    if (ev.data.u64 == kWakeTag) {
      // Drain, then clear the flag. A Wake() before the clear finds the flag
      // set and is coalesced into this return (the caller re-examines its
      // state after Wait); one after it writes again. Clearing first would
      // let a Wake() write in between and have that write drained here, with
      // the flag left set and nothing left for epoll to report: every later
      // Wake() would then be dropped.
      uint64_t value;
      while (::read(wake_fd_, &value, sizeof(value)) < 0 && errno == EINTR) {
      }
      wake_pending_.store(false, std::memory_order_seq_cst);
      if (woken) *woken = true;
      continue;
    }
    // EPOLLERR leaves SO_ERROR pending for the fd's next read or write.
    events->push_back(PollEvent{static_cast<int>(ev.data.u64), ToFlags(ev.events)});
  }
  return absl::OkStatus();
}

absl::Status Poller::Wake() {
  if (wake_pending_.exchange(true, std::memory_order_seq_cst)) {
    return absl::OkStatus();  // a wake-up is already on its way
  }
  uint64_t one = 1;
  while (::write(wake_fd_, &one, sizeof(one)) < 0) {
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;  // counter saturated: a wake-up is pending
    wake_pending_.store(false, std::memory_order_seq_cst);
    return PosixError(errno, "write(eventfd)");
  }
  return absl::OkStatus();
}

std::vector<int> Poller::OwnFds() const { return {poll_fd_, wake_fd_}; }

IoResult Poller::Read(int fd, bool unix_stream, char* buf, size_t len) {
  return unix_stream ? RecvSome(fd, buf, len) : ReadSome(fd, buf, len);
}

IoResult Poller::Write(int fd, bool is_socket, const char* buf, size_t len) {
  return WriteSome(fd, is_socket, buf, len);
}

IoResult Poller::WriteV(int fd, bool is_socket, absl::Span<const absl::Span<const char>> bufs,
                        size_t skip) {
  return WriteVec(fd, is_socket, bufs, skip);
}

int Poller::SocketError(int fd) { return TakeSocketError(fd); }

}  // namespace gaio::internal
