#include "coro/internal/happy_eyeballs.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coro/resolve.h"

namespace gaio::coro::internal {

struct HappyEyeballs::Attempt final : Operation {
  Attempt(HappyEyeballs* h, int f) : he(h), fd(f) {}
  void complete(const OpResult& r) noexcept override { he->OnAttempt(this, r); }
  void request_cancel() noexcept override {}
  HappyEyeballs* he;
  int fd;
  bool pending = true;
};

std::vector<SocketAddress> InterleaveFamilies(std::vector<SocketAddress> addresses) {
  if (addresses.empty()) return addresses;
  const int first = addresses.front().family();
  std::vector<SocketAddress> a, b, out;
  for (const SocketAddress& x : addresses) (x.family() == first ? a : b).push_back(x);
  for (size_t i = 0; i < a.size() || i < b.size(); ++i) {
    if (i < a.size()) out.push_back(a[i]);
    if (i < b.size()) out.push_back(b[i]);
  }
  return out;
}

HappyEyeballs::HappyEyeballs(std::vector<SocketAddress> addresses, absl::Time deadline)
    : addresses_(InterleaveFamilies(std::move(addresses))), deadline_(deadline) {}

HappyEyeballs::~HappyEyeballs() {
  if (winner_fd_ >= 0 && loop_ != nullptr) loop_->watcher().free(winner_fd_).IgnoreError();
}

bool HappyEyeballs::Start(std::coroutine_handle<> h, Fiber* fiber) {
  if (fiber->cancelled()) {
    status_ = absl::CancelledError("dial: task cancelled");
    return false;
  }
  loop_ = EventLoop::current();
  if (loop_ == nullptr) {
    status_ = absl::FailedPreconditionError("dial: no loop on this thread");
    return false;
  }
  if (addresses_.empty()) {
    status_ = absl::NotFoundError("dial: no address");
    return false;
  }
  StartNext();
  if (pending_ == 0) return false;  // finished_: every attempt refused at once
  waiter_ = h;
  fiber_ = fiber;
  fiber_->set_hook(this);
  return true;
}

void HappyEyeballs::NoteError(const absl::Status& s) {
  if (first_error_.ok()) first_error_ = s;
}

void HappyEyeballs::StartNext() {
  Watcher& w = loop_->watcher();
  while (!finished_ && next_ < addresses_.size()) {
    const SocketAddress& addr = addresses_[next_++];
    const int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      NoteError(absl::ErrnoToStatus(errno, "socket"));
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    attempts_.push_back(std::make_unique<Attempt>(this, fd));
    absl::Status s = w.connect(attempts_.back()->ctx(), fd, addr.get(), addr.len, deadline_);
    if (!s.ok()) {
      attempts_.pop_back();
      if (!w.free(fd).ok()) ::close(fd);
      NoteError(s);
      continue;
    }
    ++in_flight_;
    ++pending_;
    break;
  }
  if (finished_) return;
  if (in_flight_ == 0) {
    Finish(first_error_.ok() ? absl::NotFoundError("dial: no address") : first_error_);
    return;
  }
  if (next_ < addresses_.size() && !timer_pending_) {
    absl::Status s = w.after(timer_.ctx(), kConnectionAttemptDelay);
    if (s.ok()) {
      timer_pending_ = true;
      ++pending_;
    }  // else: the next attempt starts when this one fails
  }
}

void HappyEyeballs::OnAttempt(Attempt* a, const OpResult& r) {
  --pending_;
  a->pending = false;
  --in_flight_;
  if (r.status.ok() && !finished_) {
    winner_fd_ = a->fd;
    Finish(absl::OkStatus());
  } else {
    // A loser, a failure, or a success after the end: close it.
    loop_->watcher().free(a->fd).IgnoreError();
    if (!r.status.ok() && !absl::IsCancelled(r.status)) NoteError(r.status);
    if (!finished_) {
      if (next_ < addresses_.size() && timer_pending_) {
        advance_ = true;  // start the next one now, through the timer's completion
        loop_->watcher().cancel(-1, timer_.ctx()).IgnoreError();
      } else {
        StartNext();  // finishes when nothing is left
      }
    }
  }
  MaybeResume();
}

void HappyEyeballs::OnTimer(const OpResult& r) {
  --pending_;
  timer_pending_ = false;
  if (!finished_ && (r.status.ok() || advance_)) {
    advance_ = false;
    StartNext();
  }
  MaybeResume();
}

void HappyEyeballs::Finish(absl::Status s) {
  if (finished_) return;
  finished_ = true;
  if (!s.ok() && absl::Now() >= deadline_) {
    s = absl::DeadlineExceededError("dial: deadline exceeded");
  }
  status_ = std::move(s);
  for (auto& a : attempts_) {
    if (a->pending) loop_->watcher().cancel(a->fd, a->ctx()).IgnoreError();
  }
  if (timer_pending_) loop_->watcher().cancel(-1, timer_.ctx()).IgnoreError();
}

void HappyEyeballs::MaybeResume() {
  if (!finished_ || pending_ != 0 || !waiter_) return;
  fiber_->clear_hook();
  std::exchange(waiter_, nullptr).resume();  // last: may destroy *this
}

void HappyEyeballs::request_cancel() noexcept {
  Finish(absl::CancelledError("dial: task cancelled"));
  if (pending_ == 0 && waiter_) {
    fiber_->clear_hook();
    loop_->schedule(std::exchange(waiter_, nullptr));
  }
}

absl::StatusOr<Socket> HappyEyeballs::await_resume() {
  if (!status_.ok()) return status_;
  Socket s(*loop_, std::exchange(winner_fd_, -1));
  s.registered_ = true;  // connect() gave it to the Watcher
  return s;
}

Task<absl::StatusOr<Socket>> DialByName(std::string host, std::string service, absl::Time deadline,
                                        ResolverOptions options) {
  absl::StatusOr<std::vector<SocketAddress>> addresses =
      co_await resolve(std::move(host), std::move(service), deadline, std::move(options));
  if (!addresses.ok()) co_return addresses.status();
  HappyEyeballs he(*std::move(addresses), deadline);
  absl::StatusOr<Socket> s = co_await he;
  co_return s;
}

}  // namespace gaio::coro::internal
