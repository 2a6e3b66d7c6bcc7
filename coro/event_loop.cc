#include "coro/event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "coro/scope.h"

namespace gaio::coro {

namespace {
thread_local EventLoop* tls_current = nullptr;
// The frame address of run_root() of the loop running on this thread.
thread_local uintptr_t tls_stack_base = 0;
constexpr size_t kInitialReady = 256;
}  // namespace

namespace internal {
bool PastResumeDepth() noexcept {
  if (tls_stack_base == 0) return false;
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  // Stacks grow down on every platform the project builds for.
  return here < tls_stack_base && tls_stack_base - here > kMaxResumeStack;
}
}  // namespace internal

WatcherOptions EventLoop::DefaultOptions() {
  WatcherOptions options;
  options.num_pollers = 0;
  return options;
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const WatcherOptions& options) {
  absl::StatusOr<Watcher> watcher = Watcher::Create(options);
  if (!watcher.ok()) return watcher.status();
  // The self-pipe of stop(): write(2) is what a signal handler may call.
  int fds[2];
  if (::pipe(fds) != 0) return absl::ErrnoToStatus(errno, "pipe");
  for (int fd : fds) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return std::unique_ptr<EventLoop>(new EventLoop(*std::move(watcher), fds[0], fds[1]));
}

EventLoop::EventLoop(Watcher watcher, int stop_read_fd, int stop_write_fd)
    : watcher_(std::move(watcher)),
      anchor_(new internal::LoopAnchor(this)),
      ready_(kInitialReady),
      stop_read_fd_(stop_read_fd),
      stop_write_fd_(stop_write_fd) {
  root_scope_ = std::make_unique<Scope>(*this);
  remote_taken_.reserve(64);
  internal::MutexLock lock(&remote_mu_);
  remote_.reserve(64);
}

EventLoop::~EventLoop() {
  // A thread still inside schedule_remote() (a Promise set elsewhere) leaves
  // before the loop goes.
  { internal::MutexLock lock(&remote_mu_); }
  // Tasks spawned but never started: their frames can simply go.
  for (auto& [task, rec] : pending_) rec->discard(task);
  pending_.clear();
  root_scope_.reset();
  watcher_.close().IgnoreError();
  // No completion comes any more: what was waiting for one goes.
  while (orphans_ != nullptr) {
    internal::Orphan* o = orphans_;
    orphans_ = o->next_orphan_;
    o->loop_gone();
  }
  // The read end went with the Watcher if it ever had it.
  if (!stop_read_registered_) ::close(stop_read_fd_);
  ::close(stop_write_fd_);
  // Sockets and Listeners that outlive the loop see it gone from here on.
  anchor_->detach();
  internal::LoopAnchor::Unref(anchor_);
}

EventLoop* EventLoop::current() { return tls_current; }

void EventLoop::schedule(std::coroutine_handle<> h) {
  if (ready_size_ == ready_.size()) {
    std::vector<std::coroutine_handle<>> bigger(ready_.size() * 2);
    for (size_t i = 0; i < ready_size_; ++i) {
      bigger[i] = ready_[(ready_head_ + i) & (ready_.size() - 1)];
    }
    ready_ = std::move(bigger);
    ready_head_ = 0;
  }
  ready_[(ready_head_ + ready_size_) & (ready_.size() - 1)] = h;
  ++ready_size_;
}

void EventLoop::adopt(internal::Orphan* o) {
  o->prev_orphan_ = nullptr;
  o->next_orphan_ = orphans_;
  if (orphans_ != nullptr) orphans_->prev_orphan_ = o;
  orphans_ = o;
}

void EventLoop::release(internal::Orphan* o) {
  if (o->prev_orphan_ != nullptr) {
    o->prev_orphan_->next_orphan_ = o->next_orphan_;
  } else {
    orphans_ = o->next_orphan_;
  }
  if (o->next_orphan_ != nullptr) o->next_orphan_->prev_orphan_ = o->prev_orphan_;
  o->prev_orphan_ = o->next_orphan_ = nullptr;
}

void EventLoop::defer(internal::Deferred* d) {
  d->next_deferred_ = nullptr;
  if (deferred_tail_ != nullptr) {
    deferred_tail_->next_deferred_ = d;
  } else {
    deferred_head_ = d;
  }
  deferred_tail_ = d;
}

void EventLoop::run_deferred() {
  // What runs may defer more: it runs too, before the loop looks for I/O.
  while (internal::Deferred* d = deferred_head_) {
    deferred_head_ = d->next_deferred_;
    if (deferred_head_ == nullptr) deferred_tail_ = nullptr;
    d->next_deferred_ = nullptr;
    d->run_deferred();
  }
}

void EventLoop::schedule_remote(std::coroutine_handle<> h) {
  // The post is made under the mutex so that the loop (whose destructor
  // takes it) cannot go away between the push and the post.
  internal::MutexLock lock(&remote_mu_);
  remote_.push_back(h);
  if (!remote_posted_) {
    remote_posted_ = true;
    // Refused only once the Watcher is closed: fail() then takes the queue.
    watcher_.post(remote_wake_.ctx()).IgnoreError();
  }
}

void EventLoop::take_remote() {
  {
    internal::MutexLock lock(&remote_mu_);
    remote_posted_ = false;
    remote_taken_.swap(remote_);
  }
  for (std::coroutine_handle<> h : remote_taken_) schedule(h);
  remote_taken_.clear();
}

void EventLoop::RemoteWake::complete(const OpResult&) noexcept { loop_->take_remote(); }

void EventLoop::StopRead::complete(const OpResult& r) noexcept {
  EventLoop* loop = loop_;
  loop->stop_read_pending_ = false;
  if (!r.status.ok()) return;  // the Watcher closed (Cancelled) or failed
  // Bytes written during an earlier run are dropped: only the target counts.
  if (loop->running_ && loop->stop_applies()) loop->cancel_all();
  if (loop->running_) loop->arm_stop_read();
}

void EventLoop::arm_stop_read() {
  if (stop_read_pending_) return;
  stop_read_pending_ =
      watcher_.read(stop_read_.ctx(), stop_read_fd_, absl::MakeSpan(stop_buf_)).ok();
  if (stop_read_pending_) stop_read_registered_ = true;
}

void EventLoop::stop() {
  // Async-signal-safe: lock-free atomics and write(2) only.
  const int saved_errno = errno;
  const uint64_t word = run_word_.load(std::memory_order_acquire);
  const uint64_t target = (word >> 1) + ((word & 1) != 0 ? 0 : 1);  // this run, or the next
  uint64_t current = stop_target_.load(std::memory_order_relaxed);
  while (current < target &&
         !stop_target_.compare_exchange_weak(current, target, std::memory_order_acq_rel)) {
  }
  const char byte = 1;
  // A full pipe (EAGAIN) already holds a wake-up.
  [[maybe_unused]] const ssize_t n = ::write(stop_write_fd_, &byte, 1);
  errno = saved_errno;
}

void EventLoop::start_spawned(std::coroutine_handle<> task, internal::SpawnRecord* rec) {
  if (running_) {
    schedule(task);
  } else {
    pending_.emplace_back(task, rec);
  }
}

void EventLoop::register_scope(Scope* scope) {
  scope->loop_next_ = scopes_;
  if (scopes_ != nullptr) scopes_->loop_prev_ = scope;
  scopes_ = scope;
}

void EventLoop::unregister_scope(Scope* scope) {
  if (scope->loop_prev_ != nullptr) {
    scope->loop_prev_->loop_next_ = scope->loop_next_;
  } else {
    scopes_ = scope->loop_next_;
  }
  if (scope->loop_next_ != nullptr) scope->loop_next_->loop_prev_ = scope->loop_prev_;
}

void EventLoop::run_ready_round() {
  // Only what was ready when the round began: a task that yields (or keeps
  // waking another) goes after the next poll for I/O, so it cannot starve it.
  for (size_t n = ready_size_; n > 0 && ready_size_ > 0; --n) {
    std::coroutine_handle<> h = ready_[ready_head_];
    ready_head_ = (ready_head_ + 1) & (ready_.size() - 1);
    --ready_size_;
    ++resumed_since_poll_;
    internal::BumpAwaitEpoch();  // another task: what others hold stays stale
    h.resume();
  }
}

void EventLoop::drain_ready() {
  while (ready_size_ > 0) {
    std::coroutine_handle<> h = ready_[ready_head_];
    ready_head_ = (ready_head_ + 1) & (ready_.size() - 1);
    --ready_size_;
    internal::BumpAwaitEpoch();  // another task: what others hold stays stale
    h.resume();
  }
}

void EventLoop::cancel_all() {
  if (root_ != nullptr) root_->fiber.cancel();
  for (Scope* s = scopes_; s != nullptr; s = s->loop_next_) s->cancel();
}

absl::Status EventLoop::run_root(RootBase& root, std::coroutine_handle<> start) {
  if (failed_) return absl::FailedPreconditionError("run: the loop failed before");
  if (running_) return absl::FailedPreconditionError("run: the loop is already running");
  if (tls_current != nullptr) {
    return absl::FailedPreconditionError("run: another loop is running on this thread");
  }
  tls_current = this;
  tls_stack_base = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  running_ = true;
  ++run_serial_;
  run_word_.store((run_serial_ << 1) | 1, std::memory_order_release);
  root_ = &root;
  root.started = true;
  schedule(start);
  for (auto& [task, rec] : pending_) schedule(task);
  pending_.clear();
  arm_stop_read();
  if (stop_applies()) cancel_all();  // a stop() made before this run

  absl::Status status;
  for (;;) {
    run_ready_round();
    run_deferred();
    if (finished(root)) break;
    // Tasks handing work to each other run more rounds before the next
    // look for I/O, up to kResumesPerPoll resumptions.
    if (ready_size_ > 0 && resumed_since_poll_ < internal::kResumesPerPoll) continue;
    resumed_since_poll_ = 0;
    // Tasks still ready (they yielded): only look for completions.
    internal::NoteLoopWait();  // the previous batch's swap bytes go back
    absl::StatusOr<absl::Span<const OpResult>> batch =
        ready_size_ > 0 ? watcher_.poll_io() : watcher_.wait_io();
    if (!batch.ok()) {
      status = fail(batch.status(), root);
      break;
    }
    // Each OpResult resumes the task that waits for it, in batch order.
    for (const OpResult& r : *batch) internal::Dispatch(r);
  }
  run_deferred();
  root_ = nullptr;
  running_ = false;
  run_word_.store(run_serial_ << 1, std::memory_order_release);
  tls_current = nullptr;
  tls_stack_base = 0;
  return status;
}

absl::Status EventLoop::fail(absl::Status error, RootBase& root) {
  failed_ = true;
  cancel_all();
  watcher_.close().IgnoreError();
  // Every request still pending comes back now (Cancelled or its own status),
  // then wait_io() fails for good; new submissions are refused.
  bool watcher_done = false;
  for (;;) {
    take_remote();
    const bool ran = ready_size_ > 0;
    drain_ready();
    run_deferred();
    if (finished(root)) break;
    if (!watcher_done) {
      internal::NoteLoopWait();
      absl::StatusOr<absl::Span<const OpResult>> batch = watcher_.wait_io();
      if (batch.ok()) {
        for (const OpResult& r : *batch) internal::Dispatch(r);
        continue;
      }
      watcher_done = true;
      continue;
    }
    if (!ran) break;  // nothing can make progress any more
  }
  return error;
}

}  // namespace gaio::coro
