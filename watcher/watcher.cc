#include "watcher/watcher.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/thread_affinity.h"
#include "watcher/completion_signal.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/shard.h"

namespace gaio {

using internal::Shard;
using internal::SubmitArgs;

bool IsEof(const absl::Status& status) { return absl::IsOutOfRange(status); }

class Watcher::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Create(const WatcherOptions& options);
  ~Impl() { Close().IgnoreError(); }

  absl::Status Submit(const SubmitArgs& args);
  absl::StatusOr<absl::Span<const OpResult>> Wait(absl::Duration timeout);
  absl::Status Free(int fd);
  absl::Status Close();
  WatcherStats Stats() const;

 private:
  Impl(bool caller_driven, bool caller_polls, absl::Duration busy_poll)
      : caller_driven_(caller_driven), caller_polls_(caller_polls), busy_poll_(busy_poll) {}
  Shard& ShardFor(int fd) { return *shards_[static_cast<size_t>(fd) % shards_.size()]; }
  size_t TakeAll();
  absl::Status Failure() const;  // the first shard's failure, or OK
  absl::StatusOr<absl::Span<const OpResult>> WaitLocked(absl::Duration timeout);

  const bool caller_driven_;
  // Threaded mode, one poller, poller_takeover > 0: wait_io() polls while
  // the poller thread lets it (Shard::PollAsCaller).
  const bool caller_polls_;
  const absl::Duration busy_poll_;
  internal::CompletionSignal signal_;
  std::vector<std::unique_ptr<Shard>> shards_;  // fixed after Create
  std::vector<std::thread> threads_;            // one per shard in threaded mode

  internal::Mutex close_mu_;  // serializes Close()
  std::atomic<bool> closed_{false};

  std::atomic<bool> in_wait_{false};
  std::vector<OpResult> batch_;  // owned by the thread inside wait_io()
};

absl::StatusOr<std::unique_ptr<Watcher::Impl>> Watcher::Impl::Create(
    const WatcherOptions& options) {
  if (options.num_pollers < 0 || options.num_pollers > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_pollers must be in [0, 1024], got ", options.num_pollers));
  }
  if (options.swap_buffer_size < 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("swap_buffer_size must be at least 64, got ", options.swap_buffer_size));
  }
  if (options.busy_poll < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("busy_poll must not be negative");
  }
  if (options.poller_takeover < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poller_takeover must not be negative");
  }
  const bool caller_driven = options.num_pollers == 0;
  if (caller_driven && !options.poller_cpus.empty()) {
    return absl::InvalidArgumentError(
        "poller_cpus needs poller threads; in caller-driven mode pin the calling thread");
  }
  for (int cpu : options.poller_cpus) {
    if (absl::Status s = internal::CheckCpu(cpu); !s.ok()) return s;
  }
  const size_t num_shards = caller_driven ? 1 : static_cast<size_t>(options.num_pollers);
  const bool caller_polls = !caller_driven && num_shards == 1 &&
                            options.poller_takeover > absl::ZeroDuration();
  std::unique_ptr<Impl> impl(new Impl(caller_driven, caller_polls, options.busy_poll));
  impl->batch_.reserve(Shard::kInitialBatch);
  for (size_t i = 0; i < num_shards; ++i) {
    absl::StatusOr<std::unique_ptr<Shard>> shard = Shard::Create(
        num_shards, options.swap_buffer_size, options.busy_poll,
        caller_polls ? options.poller_takeover : absl::ZeroDuration(),
        caller_driven ? nullptr : &impl->signal_);
    if (!shard.ok()) return shard.status();
    impl->shards_.push_back(*std::move(shard));
  }
  if (caller_driven) return impl;
  for (size_t i = 0; i < num_shards; ++i) {
    Shard* shard = impl->shards_[i].get();
    try {
      impl->threads_.emplace_back([shard] { shard->Run(); });
    } catch (const std::system_error& e) {
      return absl::ResourceExhaustedError(absl::StrCat("cannot start poller thread: ", e.what()));
    }
    internal::SetThreadName(impl->threads_.back(), absl::StrCat("gaio-poller-", i).c_str());
    if (!options.poller_cpus.empty()) {
      const int cpu = options.poller_cpus[i % options.poller_cpus.size()];
      if (absl::Status s = internal::PinThread(impl->threads_.back(), cpu); !s.ok()) return s;
    }
  }
  return impl;
}

absl::Status Watcher::Impl::Submit(const SubmitArgs& args) {
  if (args.fd < 0) return absl::InvalidArgumentError(absl::StrCat("invalid fd ", args.fd));
  for (const std::unique_ptr<Shard>& shard : shards_) {
    if (shard->OwnsFd(args.fd)) {
      return absl::InvalidArgumentError(absl::StrCat("fd ", args.fd, " belongs to the watcher"));
    }
  }
  return ShardFor(args.fd).Submit(args);
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
  if (in_wait_.exchange(true, std::memory_order_acquire)) {
    return absl::FailedPreconditionError("wait_io() is already running in another thread");
  }
  absl::StatusOr<absl::Span<const OpResult>> result = WaitLocked(timeout);
  in_wait_.store(false, std::memory_order_release);
  return result;
}

absl::StatusOr<absl::Span<const OpResult>> Watcher::Impl::WaitLocked(absl::Duration timeout) {
  batch_.clear();  // releases the previous batch and its swap bytes
  // Back from its own work: take the polling back from a poller thread
  // that covered for it (poll_io() does not; see PollAsCaller).
  if (caller_polls_ && timeout > absl::ZeroDuration()) shards_[0]->ReclaimSet();
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  for (;;) {
    const uint64_t seen = signal_.sequence();
    const bool closed = closed_.load(std::memory_order_acquire);
    if (TakeAll() > 0) return absl::Span<const OpResult>(batch_);
    if (closed) return absl::FailedPreconditionError("watcher is closed");
    if (absl::Status failure = Failure(); !failure.ok()) return failure;
    if (caller_driven_ || caller_polls_) {
      absl::Duration left = deadline == absl::InfiniteFuture() ? absl::InfiniteDuration()
                                                               : deadline - absl::Now();
      if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
      Shard::CallerPoll polled = Shard::CallerPoll::kPolled;
      if (caller_driven_) {
        if (!shards_[0]->PollOnce(left)) polled = Shard::CallerPoll::kStopped;
      } else {
        polled = shards_[0]->PollAsCaller(left);
      }
      if (polled == Shard::CallerPoll::kStopped) {
        if (!Failure().ok()) continue;  // reported at the top
        // Closed: Close() notifies the signal once it has finished, and the
        // top of the loop then reports the end; sleep until then.
      } else if (polled == Shard::CallerPoll::kPolled) {
        if (TakeAll() > 0) return absl::Span<const OpResult>(batch_);
        if (left == absl::ZeroDuration()) return absl::Span<const OpResult>();
        continue;
      }
      // kThreadPolls: the thread hands the set back and notifies the signal.
    }
    if (!signal_.Wait(seen, deadline, busy_poll_)) {
      TakeAll();  // a completion may have raced with the deadline
      return absl::Span<const OpResult>(batch_);
    }
  }
}

// ---- Watcher: argument checks and forwarding -------------------------------

namespace {

absl::Status MovedFrom() { return absl::FailedPreconditionError("use of a moved-from Watcher"); }

SubmitArgs Args(OpType op, void* ctx, int fd, char* data, size_t len, bool fill,
                absl::Time deadline) {
  return SubmitArgs{op, ctx, fd, data, len, fill, deadline};
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
  if (buf.empty()) return absl::InvalidArgumentError("write needs a non-empty buffer");
  if (absl::Status s = CheckSpan(buf.data(), buf.size()); !s.ok()) return s;
  // The watcher never writes through this pointer; OpResult::buffer is a
  // Span<char> so that reads and writes share one result type.
  char* data = const_cast<char*>(buf.data());
  return impl_->Submit(Args(OpType::kWrite, ctx, fd, data, buf.size(), true, deadline));
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
