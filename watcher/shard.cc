// Shard lifecycle, registration, submission, polling and hand-over to
// wait_io(). The I/O attempts themselves are in shard_io.cc.
#include "watcher/shard.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "poller/fd_io.h"
#include "poller/poller.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/request.h"

namespace gaio::internal {

absl::StatusOr<std::unique_ptr<Shard>> Shard::Create(size_t stride, size_t swap_buffer_size,
                                                     absl::Duration busy_poll,
                                                     absl::Duration takeover,
                                                     CompletionSignal* signal) {
  absl::StatusOr<std::unique_ptr<Poller>> poller = Poller::Create();
  if (!poller.ok()) return poller.status();
  return std::unique_ptr<Shard>(
      new Shard(*std::move(poller), stride, swap_buffer_size, busy_poll, takeover, signal));
}

Shard::Shard(std::unique_ptr<Poller> poller, size_t stride, size_t swap_buffer_size,
             absl::Duration busy_poll, absl::Duration takeover, CompletionSignal* signal)
    : poller_(std::move(poller)),
      stride_(stride),
      busy_poll_(busy_poll),
      takeover_(signal != nullptr ? takeover : absl::ZeroDuration()),
      signal_(signal),
      thread_owns_(takeover_ == absl::ZeroDuration()),
      swap_(swap_buffer_size) {
  // Room for ordinary batches from the start, so that steady state does not
  // depend on which thread happened to gather the largest batch first.
  completions_.reserve(kInitialBatch);
  events_.reserve(kInitialBatch);
}

Shard::~Shard() { Close(); }

Shard::FdState* Shard::Lookup(int fd) {
  size_t slot = static_cast<size_t>(fd) / stride_;
  if (slot >= fds_.size() || !fds_[slot] || !fds_[slot]->active) return nullptr;
  return fds_[slot].get();
}

absl::StatusOr<Shard::FdState*> Shard::Register(int fd) {
  absl::StatusOr<FdInfo> info = ProbeFd(fd);
  if (!info.ok()) return info.status();
  // Add first: it refuses regular files and directories before anything about
  // the fd is changed.
  if (absl::Status s = poller_->Add(fd); !s.ok()) return s;
  if (absl::Status s = PrepareFd(fd, *info); !s.ok()) {
    poller_->Remove(fd).IgnoreError();  // best effort; the fd stays the caller's
    return s;
  }
  size_t slot = static_cast<size_t>(fd) / stride_;
  if (slot >= fds_.size()) fds_.resize(std::max(slot + 1, fds_.size() * 2));
  if (!fds_[slot]) fds_[slot] = std::make_unique<FdState>();
  FdState* s = fds_[slot].get();
  s->fd = fd;
  s->active = true;
  s->is_socket = info->is_socket;
  s->is_stream = info->is_stream;
  s->readable = s->writable = true;
  s->hangup = false;
  s->taken_error = 0;
  s->deferred = false;
  return s;
}

void Shard::Release(FdState* s) {
  static const absl::Status* const kCancelled = new absl::Status(absl::CancelledError("cancelled"));
  while (Request* r = s->reads.front()) Complete(s, r, *kCancelled);
  while (Request* r = s->writes.front()) Complete(s, r, *kCancelled);
  if (s->deferred) {
    deferred_.erase(std::find(deferred_.begin(), deferred_.end(), s->fd));
    s->deferred = false;
  }
  // Deregistration can only fail if the fd was closed behind our back.
  poller_->Remove(s->fd).IgnoreError();
  CloseFd(s->fd);
  s->active = false;
}

absl::Status Shard::Submit(const SubmitArgs& args) {
  MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  FdState* s = Lookup(args.fd);
  if (s == nullptr) {
    absl::StatusOr<FdState*> registered = Register(args.fd);
    if (!registered.ok()) return registered.status();
    s = *registered;
  }
  Request* r = pool_.Get();
  r->ctx = args.ctx;
  r->data = args.data;
  r->len = args.len;
  r->deadline = args.deadline;
  r->fd = args.fd;
  r->op = args.op;
  r->fill = args.fill;
  RequestQueue& queue = args.op == OpType::kRead ? s->reads : s->writes;
  const bool first_in_line = queue.empty();
  queue.PushBack(r);
  if (args.deadline != absl::InfiniteFuture()) {
    timers_.Push(r);
    if (args.deadline < sleeping_until_) {
      // The sleeping poller would wake too late for this deadline.
      sleeping_until_ = args.deadline;
      poller_->Wake().IgnoreError();  // fails only if the eventfd is gone
    }
    PublishEarliestDeadline();
  }
  if (first_in_line) {
    if (args.op == OpType::kRead) {
      if (s->readable) ProcessReads(s);
    } else if (s->writable) {
      ProcessWrites(s);
    }
  }
  return absl::OkStatus();
}

absl::Status Shard::Free(int fd) {
  MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  FdState* s = Lookup(fd);
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  Release(s);
  return absl::OkStatus();
}

void Shard::Close() {
  MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  for (const std::unique_ptr<FdState>& s : fds_) {
    if (s && s->active) Release(s.get());
  }
  poller_->Wake().IgnoreError();
  stopping_.store(true, std::memory_order_seq_cst);
  MutexLock watch_lock(&watch_mu_);
  watch_cv_.SignalAll();
}

absl::Status Shard::failure() const {
  MutexLock lock(&mu_);
  return failure_;
}

bool Shard::PollOnce(absl::Duration max_wait) {
  absl::Duration wait = max_wait;
  bool for_caller;  // the polling thread is the one that takes completions
  {
    MutexLock lock(&mu_);
    if (closed_ || !failure_.ok()) return false;
    for_caller = signal_ == nullptr || caller_polling_.load(std::memory_order_relaxed);
    // Completions already waiting for the caller, or a caller waiting for
    // the set (a request that may have come just after Run() looked).
    if ((for_caller && !completions_.empty()) || yield_requested_) wait = absl::ZeroDuration();
    if (!timers_.empty()) {
      absl::Time now = absl::Now();
      wait = std::min(wait, std::max(absl::ZeroDuration(), timers_.top()->deadline - now));
      sleeping_until_ = now + wait;
    } else {
      sleeping_until_ = wait == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                         : absl::Now() + wait;
    }
    polling_ = true;
  }
  absl::Status status;
  if (busy_poll_ > absl::ZeroDuration() && wait > absl::ZeroDuration()) {
    // Spin first; sleep only if nothing came within the window.
    const absl::Duration spin = std::min(busy_poll_, wait);
    if (!Spin(spin, for_caller)) status = poller_->Wait(wait - spin, &events_);
  } else {
    status = poller_->Wait(wait, &events_);
  }
  MutexLock lock(&mu_);
  polling_ = false;
  sleeping_until_ = absl::InfinitePast();
  if (!status.ok()) {
    failure_ = status;
    if (signal_) signal_->Notify();
    return false;
  }
  for (const PollEvent& ev : events_) {
    FdState* s = Lookup(ev.fd);
    if (s == nullptr) continue;  // freed since the poller reported it
    if (ev.flags & (kPollHangup | kPollError)) s->hangup = true;
    if (ev.error != 0 && s->is_socket) s->taken_error = ev.error;
    if (ev.flags & kPollReadable) {
      s->readable = true;
      ProcessReads(s);
    }
    if (ev.flags & kPollWritable) {
      s->writable = true;
      ProcessWrites(s);
    }
  }
  if (!timers_.empty()) ExpireTimers(absl::Now());
  return !closed_;
}

bool Shard::Spin(absl::Duration limit, bool for_caller) {
  const absl::Time until = absl::Now() + limit;
  do {
    bool woken = false;
    // An error here comes back from the blocking Wait that follows.
    if (!poller_->Wait(absl::ZeroDuration(), &events_, &woken).ok()) return false;
    if (!events_.empty() || woken) return true;
    if (for_caller && has_completions_.load(std::memory_order_acquire)) return true;
  } while (absl::Now() < until);
  return false;
}

size_t Shard::TakeCompletions(std::vector<OpResult>* out) {
  MutexLock lock(&mu_);
  const size_t n = completions_.size();
  if (n == 0 && deferred_.empty()) return 0;
  for (OpResult& r : completions_) out->push_back(std::move(r));
  completions_.clear();
  has_completions_.store(false, std::memory_order_relaxed);
  swap_.Flip();
  if (!deferred_.empty()) RetryDeferred();
  return n;
}

}  // namespace gaio::internal
