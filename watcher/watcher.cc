#include "watcher/watcher.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/posix_error.h"
#include "poller/thread_affinity.h"
#include "watcher/clock.h"
#include "watcher/completion_signal.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/shard.h"
#include "watcher/swap_buffer.h"
#include "watcher/write_vector.h"

namespace gaio {

using internal::MonoTime;
using internal::Shard;
using internal::SubmitArgs;

bool IsEof(const absl::Status& status) { return absl::IsOutOfRange(status); }

int ErrnoOf(const absl::Status& status) { return internal::ErrnoOf(status); }

namespace {

// Who polls, by WatcherOptions (see options.h).
enum class Mode {
  kCallerDriven,  // num_pollers = 0: wait_io() polls the one shard
  kShared,        // 1 poller, poller_takeover > 0: the caller polls, the thread takes over
  kThreads,       // the poller threads always poll; wait_io() sleeps on the signal
};

absl::Status ValidateOptions(const WatcherOptions& options) {
  if (options.num_pollers < 0 || options.num_pollers > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_pollers must be in [0, 1024], got ", options.num_pollers));
  }
  if (options.swap_buffer_size < 64 || options.swap_buffer_size > internal::SwapBuffer::kMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("swap_buffer_size must be in [64, ", internal::SwapBuffer::kMaxSize,
                     "], got ", options.swap_buffer_size));
  }
  if (options.busy_poll < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("busy_poll must not be negative");
  }
  if (options.poller_takeover < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poller_takeover must not be negative");
  }
  if (options.num_pollers == 0 && !options.poller_cpus.empty()) {
    return absl::InvalidArgumentError(
        "poller_cpus needs poller threads; in caller-driven mode pin the calling thread");
  }
  for (int cpu : options.poller_cpus) {
    if (absl::Status s = internal::CheckCpu(cpu); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

class Watcher::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Create(const WatcherOptions& options);
  ~Impl();

  absl::Status Submit(const SubmitArgs& args);
  absl::Status Connect(void* ctx, int fd, const sockaddr* addr, socklen_t len, MonoTime deadline);
  Shard& Timers() { return *shards_[0]; }  // every timer lives in shard 0
  absl::Status Cancel(int fd, void* ctx);
  absl::Status Release(int fd);
  size_t PendingWriteBytes(int fd);
  absl::StatusOr<absl::Span<const OpResult>> Wait(absl::Duration timeout);
  absl::Status Free(int fd);
  absl::Status Close();
  WatcherStats Stats() const;

 private:
  Impl(Mode mode, absl::Duration busy_poll) : mode_(mode), busy_poll_(busy_poll) {}
  Shard& ShardFor(int fd) { return *shards_[static_cast<size_t>(fd) % shards_.size()]; }
  size_t TakeAll();
  absl::Status Failure() const;  // the first shard's failure, or OK
  absl::Span<const OpResult> Batch() const { return absl::Span<const OpResult>(batch_); }
  // What wait_io() returns before it would poll or sleep: a batch, the end
  // after close(), or a poller failure; nullopt when it must wait.
  std::optional<absl::StatusOr<absl::Span<const OpResult>>> Ready();
  absl::StatusOr<absl::Span<const OpResult>> WaitCallerDriven(MonoTime deadline);
  absl::StatusOr<absl::Span<const OpResult>> WaitShared(MonoTime deadline);
  absl::StatusOr<absl::Span<const OpResult>> WaitThreads(MonoTime deadline);

  const Mode mode_;
  const absl::Duration busy_poll_;
  internal::CompletionSignal signal_;
  std::vector<std::unique_ptr<Shard>> shards_;  // fixed after Create
  std::vector<std::thread> threads_;            // one per shard in threaded mode
  std::vector<int> poller_fds_;                 // sorted; refused as request fds

  internal::Mutex close_mu_;  // serializes Close()
  std::atomic<bool> closed_{false};

  // wait_io() entry and exit, and the destructor waiting for a wait_io()
  // caller to leave (kInside: a caller is inside; kDestroying: ~Impl runs).
  static constexpr int kInside = 1;
  static constexpr int kDestroying = 2;
  std::atomic<int> wait_state_{0};
  internal::Mutex exit_mu_;
  internal::CondVar exit_cv_;
  bool waiter_left_ ABSL_GUARDED_BY(exit_mu_) = false;

  std::vector<OpResult> batch_;  // owned by the thread inside wait_io()
};

absl::StatusOr<std::unique_ptr<Watcher::Impl>> Watcher::Impl::Create(
    const WatcherOptions& options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  const Mode mode = options.num_pollers == 0 ? Mode::kCallerDriven
                    : options.num_pollers == 1 && options.poller_takeover > absl::ZeroDuration()
                        ? Mode::kShared
                        : Mode::kThreads;
  const size_t num_shards = mode == Mode::kCallerDriven ? 1 : static_cast<size_t>(options.num_pollers);
  std::unique_ptr<Impl> impl(new Impl(mode, options.busy_poll));
  impl->batch_.reserve(Shard::kInitialBatch);
  for (size_t i = 0; i < num_shards; ++i) {
    internal::ShardOptions shard_options;
    shard_options.stride = num_shards;
    shard_options.swap_buffer_size = options.swap_buffer_size;
    shard_options.busy_poll = options.busy_poll;
    if (mode != Mode::kCallerDriven) shard_options.signal = &impl->signal_;
    if (mode == Mode::kShared) shard_options.takeover = options.poller_takeover;
    absl::StatusOr<std::unique_ptr<Shard>> shard = Shard::Create(shard_options);
    if (!shard.ok()) return shard.status();
    for (int fd : (*shard)->PollerFds()) impl->poller_fds_.push_back(fd);
    impl->shards_.push_back(*std::move(shard));
  }
  std::sort(impl->poller_fds_.begin(), impl->poller_fds_.end());
  if (mode == Mode::kCallerDriven) return impl;
  for (size_t i = 0; i < num_shards; ++i) {
    Shard* shard = impl->shards_[i].get();
    try {
      impl->threads_.emplace_back([shard] { shard->Run(); });
    } catch (const std::system_error& e) {
      return absl::ResourceExhaustedError(absl::StrCat("cannot start poller thread: ", e.what()));
    }
    internal::SetThreadName(impl->threads_.back(), absl::StrCat("gaio-poll-", i));
    if (!options.poller_cpus.empty()) {
      const int cpu = options.poller_cpus[i % options.poller_cpus.size()];
      if (absl::Status s = internal::PinThread(impl->threads_.back(), cpu); !s.ok()) return s;
    }
  }
  return impl;
}

Watcher::Impl::~Impl() {
  // A thread inside wait_io() (woken by Close() if asleep) returns
  // FailedPrecondition, not a batch about to be freed; wait until it has
  // left.
  const int state = wait_state_.fetch_or(kDestroying, std::memory_order_seq_cst);
  Close().IgnoreError();
  if (state & kInside) {
    internal::MutexLock lock(&exit_mu_);
    while (!waiter_left_) exit_cv_.Wait(&exit_mu_);
  }
}

absl::Status Watcher::Impl::Submit(const SubmitArgs& args) {
  if (args.fd < 0) return absl::InvalidArgumentError(absl::StrCat("invalid fd ", args.fd));
  if (std::binary_search(poller_fds_.begin(), poller_fds_.end(), args.fd)) {
    return absl::InvalidArgumentError(absl::StrCat("fd ", args.fd, " belongs to the watcher"));
  }
  if (args.op == OpType::kWrite && !args.vectored && args.len > 0) {
    for (const std::unique_ptr<Shard>& shard : shards_) {
      if (shard->SwapContains(args.data, args.len)) {
        SubmitArgs from_swap = args;
        from_swap.from_swap = true;
        return ShardFor(args.fd).Submit(from_swap);
      }
    }
  }
  return ShardFor(args.fd).Submit(args);
}

absl::Status Watcher::Impl::Connect(void* ctx, int fd, const sockaddr* addr, socklen_t len,
                                    MonoTime deadline) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("invalid fd ", fd));
  if (addr == nullptr || len == 0) return absl::InvalidArgumentError("connect needs an address");
  if (std::binary_search(poller_fds_.begin(), poller_fds_.end(), fd)) {
    return absl::InvalidArgumentError(absl::StrCat("fd ", fd, " belongs to the watcher"));
  }
  return ShardFor(fd).Connect(ctx, fd, addr, len, deadline);
}

absl::Status Watcher::Impl::Cancel(int fd, void* ctx) {
  if (fd < -1) return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  return fd == -1 ? Timers().Cancel(-1, ctx) : ShardFor(fd).Cancel(fd, ctx);
}

absl::Status Watcher::Impl::Release(int fd) {
  if (fd < 0) return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  return ShardFor(fd).Release(fd);
}

size_t Watcher::Impl::PendingWriteBytes(int fd) {
  return fd < 0 ? 0 : ShardFor(fd).PendingWriteBytes(fd);
}

absl::Status Watcher::Impl::Free(int fd) {
  if (fd < 0) return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  if (closed_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError("watcher is closed");
  }
  return ShardFor(fd).Free(fd);
}

absl::Status Watcher::Impl::Close() {
  internal::MutexLock lock(&close_mu_);
  if (closed_.load(std::memory_order_acquire)) return absl::OkStatus();
  for (const std::unique_ptr<Shard>& shard : shards_) shard->Close();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // Every cancellation is queued before closed_ turns true, so a consumer
  // that sees closed_ and then finds nothing left can report the end.
  closed_.store(true, std::memory_order_release);
  signal_.Notify();
  return absl::OkStatus();
}

WatcherStats Watcher::Impl::Stats() const {
  WatcherStats stats;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    stats.takeovers += shard->takeovers();
    stats.handbacks += shard->handbacks();
    stats.deadline_polls += shard->deadline_polls();
    shard->AddDatagramStats(&stats);
  }
  return stats;
}

absl::Status Watcher::Impl::Failure() const {
  for (const std::unique_ptr<Shard>& shard : shards_) {
    if (absl::Status failure = shard->failure(); !failure.ok()) return failure;
  }
  return absl::OkStatus();
}

size_t Watcher::Impl::TakeAll() {
  size_t n = 0;
  for (const std::unique_ptr<Shard>& shard : shards_) n += shard->TakeCompletions(&batch_);
  return n;
}

absl::StatusOr<absl::Span<const OpResult>> Watcher::Impl::Wait(absl::Duration timeout) {
  const int state = wait_state_.fetch_or(kInside, std::memory_order_seq_cst);
  if (state & kDestroying) return absl::FailedPreconditionError("watcher is being destroyed");
  if (state & kInside) {
    return absl::FailedPreconditionError("wait_io() is already running in another thread");
  }
  batch_.clear();  // releases the previous batch and its swap bytes
  // A busy caller that finds completions at once reads no clock.
  const MonoTime deadline = internal::DeadlineIn(timeout);
  absl::StatusOr<absl::Span<const OpResult>> result;
  switch (mode_) {
    case Mode::kCallerDriven:
      result = WaitCallerDriven(deadline);
      break;
    case Mode::kShared:
      // Back from its own work: take the polling back from a poller thread
      // that covered for it (poll_io() does not; see Shard::PollAsCaller).
      shards_[0]->ReclaimSet(/*ask=*/timeout > absl::ZeroDuration());
      result = WaitShared(deadline);
      break;
    case Mode::kThreads:
      result = WaitThreads(deadline);
      break;
  }
  if (wait_state_.fetch_and(~kInside, std::memory_order_seq_cst) & kDestroying) {
    // The batch gathered will not be delivered.
    for (const OpResult& r : batch_) internal::DropCompletion(r);
    batch_.clear();
    // ~Impl waits for this; nothing of *this may be touched after the unlock.
    internal::MutexLock lock(&exit_mu_);
    waiter_left_ = true;
    exit_cv_.SignalAll();
    return absl::FailedPreconditionError("watcher was destroyed");
  }
  return result;
}

std::optional<absl::StatusOr<absl::Span<const OpResult>>> Watcher::Impl::Ready() {
  const bool closed = closed_.load(std::memory_order_acquire);
  if (TakeAll() > 0) return Batch();
  if (closed) return absl::FailedPreconditionError("watcher is closed");
  if (absl::Status failure = Failure(); !failure.ok()) {
    // One poller failed: the Watcher fails as a whole. The other shards'
    // requests complete with the same status and are delivered first.
    for (const std::unique_ptr<Shard>& shard : shards_) shard->FailWith(failure);
    if (TakeAll() > 0) return Batch();
    return failure;
  }
  return std::nullopt;
}

// num_pollers = 0: this thread polls the one shard and does the I/O.
absl::StatusOr<absl::Span<const OpResult>> Watcher::Impl::WaitCallerDriven(MonoTime deadline) {
  Shard& shard = *shards_[0];
  for (;;) {
    const uint64_t seen = signal_.sequence();
    if (auto ready = Ready()) return *std::move(ready);
    if (shard.PollOnce(internal::TimeLeft(deadline), /*for_consumer=*/true)) {
      if (TakeAll() > 0) return Batch();
      if (internal::Passed(deadline)) return Batch();  // empty: timed out
      continue;
    }
    // Stopped. A failure is reported by Ready(); a close() in another thread
    // notifies the signal once it has finished: sleep until then.
    if (!Failure().ok()) continue;
    if (!signal_.Wait(seen, deadline)) return Batch();
  }
}

// One poller thread with takeover: this thread polls while it owns the set
// (Takeover, takeover.h); while the thread owns it, sleep on the signal.
absl::StatusOr<absl::Span<const OpResult>> Watcher::Impl::WaitShared(MonoTime deadline) {
  Shard& shard = *shards_[0];
  for (;;) {
    const uint64_t seen = signal_.sequence();
    if (auto ready = Ready()) return *std::move(ready);
    switch (shard.PollAsCaller(internal::TimeLeft(deadline))) {
      case Shard::CallerPoll::kPolled:
        if (TakeAll() > 0) return Batch();
        if (internal::Passed(deadline)) return Batch();  // empty: timed out
        continue;
      case Shard::CallerPoll::kStopped:
        if (!Failure().ok()) continue;  // reported by Ready()
        break;  // closed: Close() notifies the signal once it has finished
      case Shard::CallerPoll::kThreadPolls:
        break;  // the thread hands the set back and notifies the signal
    }
    if (!signal_.Wait(seen, deadline, busy_poll_)) {
      TakeAll();  // a completion may have raced with the deadline
      return Batch();
    }
  }
}

// Poller threads that always poll: sleep on the signal they notify.
absl::StatusOr<absl::Span<const OpResult>> Watcher::Impl::WaitThreads(MonoTime deadline) {
  for (;;) {
    const uint64_t seen = signal_.sequence();
    if (auto ready = Ready()) return *std::move(ready);
    if (!signal_.Wait(seen, deadline, busy_poll_)) {
      TakeAll();  // a completion may have raced with the deadline
      return Batch();
    }
  }
}

// ---- Watcher: argument checks and forwarding -------------------------------

namespace {

absl::Status MovedFrom() { return absl::FailedPreconditionError("use of a moved-from Watcher"); }

SubmitArgs Args(OpType op, void* ctx, int fd, char* data, size_t len, bool fill,
                absl::Time deadline) {
  return SubmitArgs{.op = op,
                    .ctx = ctx,
                    .fd = fd,
                    .data = data,
                    .len = len,
                    .fill = fill,
                    .vectored = false,
                    .from_swap = false,
                    .want_peer = false,
                    .to = nullptr,
                    .to_len = 0,
                    .deadline = internal::MonoDeadline(deadline)};
}

absl::Status CheckSpan(const char* data, size_t len) {
  if (data == nullptr && len != 0) {
    return absl::InvalidArgumentError("buffer is null but its size is not zero");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Watcher> Watcher::Create(const WatcherOptions& options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Create(options);
  if (!impl.ok()) return impl.status();
  return Watcher(*std::move(impl));
}

Watcher::Watcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Watcher::Watcher(Watcher&& other) noexcept = default;
Watcher& Watcher::operator=(Watcher&& other) noexcept = default;
Watcher::~Watcher() = default;

absl::Status Watcher::read(void* ctx, int fd, absl::Span<char> buf) {
  return read_timeout(ctx, fd, buf, absl::InfiniteFuture());
}

absl::Status Watcher::read(void* ctx, int fd, std::nullptr_t) {
  return read_timeout(ctx, fd, absl::Span<char>(), absl::InfiniteFuture());
}

absl::Status Watcher::read_timeout(void* ctx, int fd, absl::Span<char> buf, absl::Time deadline) {
  if (!impl_) return MovedFrom();
  if (absl::Status s = CheckSpan(buf.data(), buf.size()); !s.ok()) return s;
  // An empty span means "use the swap buffer".
  char* data = buf.empty() ? nullptr : buf.data();
  return impl_->Submit(Args(OpType::kRead, ctx, fd, data, buf.size(), false, deadline));
}

absl::Status Watcher::read_timeout(void* ctx, int fd, std::nullptr_t, absl::Time deadline) {
  return read_timeout(ctx, fd, absl::Span<char>(), deadline);
}

absl::Status Watcher::read_full(void* ctx, int fd, absl::Span<char> buf, absl::Time deadline) {
  if (!impl_) return MovedFrom();
  if (buf.empty()) return absl::InvalidArgumentError("read_full needs a non-empty buffer");
  if (absl::Status s = CheckSpan(buf.data(), buf.size()); !s.ok()) return s;
  return impl_->Submit(Args(OpType::kRead, ctx, fd, buf.data(), buf.size(), true, deadline));
}

absl::Status Watcher::write(void* ctx, int fd, absl::Span<const char> buf) {
  return write_timeout(ctx, fd, buf, absl::InfiniteFuture());
}

absl::Status Watcher::write_timeout(void* ctx, int fd, absl::Span<const char> buf,
                                    absl::Time deadline) {
  if (!impl_) return MovedFrom();
  if (absl::Status s = CheckSpan(buf.data(), buf.size()); !s.ok()) return s;
  // The watcher never writes through this pointer; OpResult::buffer is a
  // Span<char> so that reads and writes share one result type. (An empty
  // buffer is refused unless fd carries messages: Shard::CheckKind.)
  char* data = const_cast<char*>(buf.data());
  return impl_->Submit(Args(OpType::kWrite, ctx, fd, data, buf.size(), true, deadline));
}

absl::Status Watcher::recv_from(void* ctx, int fd, absl::Span<char> buf) {
  if (!impl_) return MovedFrom();
  if (absl::Status s = CheckSpan(buf.data(), buf.size()); !s.ok()) return s;
  SubmitArgs args = Args(OpType::kRead, ctx, fd, buf.empty() ? nullptr : buf.data(), buf.size(),
                         false, absl::InfiniteFuture());
  args.want_peer = true;
  return impl_->Submit(args);
}

absl::Status Watcher::recv_from(void* ctx, int fd, std::nullptr_t) {
  return recv_from(ctx, fd, absl::Span<char>());
}

absl::Status Watcher::send_to(void* ctx, int fd, absl::Span<const char> buf, const sockaddr* addr,
                              socklen_t addrlen) {
  if (!impl_) return MovedFrom();
  if (absl::Status s = CheckSpan(buf.data(), buf.size()); !s.ok()) return s;
  if (addr == nullptr || addrlen == 0 || addrlen > sizeof(sockaddr_storage)) {
    return absl::InvalidArgumentError("send_to needs an address of at most sockaddr_storage");
  }
  SubmitArgs args = Args(OpType::kWrite, ctx, fd, const_cast<char*>(buf.data()), buf.size(), true,
                         absl::InfiniteFuture());
  args.to = addr;
  args.to_len = addrlen;
  return impl_->Submit(args);
}

absl::Status Watcher::writev(void* ctx, int fd, absl::Span<const absl::Span<const char>> bufs) {
  return writev_timeout(ctx, fd, bufs, absl::InfiniteFuture());
}

absl::Status Watcher::writev_timeout(void* ctx, int fd,
                                     absl::Span<const absl::Span<const char>> bufs,
                                     absl::Time deadline) {
  if (!impl_) return MovedFrom();
  for (absl::Span<const char> b : bufs) {
    if (absl::Status s = CheckSpan(b.data(), b.size()); !s.ok()) return s;
  }
  const size_t bytes = internal::WriteVector::Bytes(bufs);
  if (bytes == 0) return absl::InvalidArgumentError("writev needs at least one byte");
  char* list = internal::WriteVector::Make(bufs);
  if (list == nullptr) return absl::ResourceExhaustedError("cannot copy the list of buffers");
  SubmitArgs args = Args(OpType::kWrite, ctx, fd, list, bytes, true, deadline);
  args.vectored = true;
  absl::Status status = impl_->Submit(args);
  if (!status.ok()) internal::WriteVector::Free(list);
  return status;
}

absl::Status Watcher::wait_readable(void* ctx, int fd, absl::Time deadline) {
  if (!impl_) return MovedFrom();
  return impl_->Submit(Args(OpType::kReadable, ctx, fd, nullptr, 0, false, deadline));
}

absl::Status Watcher::wait_writable(void* ctx, int fd, absl::Time deadline) {
  if (!impl_) return MovedFrom();
  return impl_->Submit(Args(OpType::kWritable, ctx, fd, nullptr, 0, false, deadline));
}

absl::Status Watcher::accept(void* ctx, int listen_fd) {
  if (!impl_) return MovedFrom();
  return impl_->Submit(Args(OpType::kAccept, ctx, listen_fd, nullptr, 0, false,
                            absl::InfiniteFuture()));
}

absl::Status Watcher::connect(void* ctx, int fd, const sockaddr* addr, socklen_t addrlen,
                              absl::Time deadline) {
  if (!impl_) return MovedFrom();
  return impl_->Connect(ctx, fd, addr, addrlen, internal::MonoDeadline(deadline));
}

absl::Status Watcher::after(void* ctx, absl::Duration delay) {
  if (!impl_) return MovedFrom();
  return impl_->Timers().After(ctx, internal::MonoAfter(internal::MonoNow(), delay));
}

absl::Status Watcher::post(void* ctx) {
  if (!impl_) return MovedFrom();
  return impl_->Timers().Post(ctx);
}

absl::Status Watcher::cancel(int fd, void* ctx) {
  if (!impl_) return MovedFrom();
  return impl_->Cancel(fd, ctx);
}

absl::Status Watcher::release(int fd) {
  if (!impl_) return MovedFrom();
  return impl_->Release(fd);
}

size_t Watcher::pending_write_bytes(int fd) const {
  return impl_ ? impl_->PendingWriteBytes(fd) : 0;
}

absl::StatusOr<absl::Span<const OpResult>> Watcher::wait_io() {
  return wait_io(absl::InfiniteDuration());
}

absl::StatusOr<absl::Span<const OpResult>> Watcher::wait_io(absl::Duration timeout) {
  if (!impl_) return MovedFrom();
  return impl_->Wait(timeout);
}

absl::StatusOr<absl::Span<const OpResult>> Watcher::poll_io() {
  return wait_io(absl::ZeroDuration());
}

absl::Status Watcher::free(int fd) {
  if (!impl_) return MovedFrom();
  return impl_->Free(fd);
}

WatcherStats Watcher::stats() const { return impl_ ? impl_->Stats() : WatcherStats{}; }

absl::Status Watcher::close() {
  if (!impl_) return MovedFrom();
  return impl_->Close();
}

}  // namespace gaio
