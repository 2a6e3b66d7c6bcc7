// Shard lifecycle, registration, submission, release, and hand-over of
// completions to wait_io(). Polling is in shard_poll.cc, the I/O attempts in
// shard_io.cc.
#include "watcher/shard.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "poller/fd_io.h"
#include "poller/poller.h"
#include "watcher/clock.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/request.h"

namespace gaio::internal {

absl::StatusOr<std::unique_ptr<Shard>> Shard::Create(const ShardOptions& options) {
  absl::StatusOr<std::unique_ptr<Poller>> poller = Poller::Create();
  if (!poller.ok()) return poller.status();
  return std::unique_ptr<Shard>(new Shard(*std::move(poller), options));
}

Shard::Shard(std::unique_ptr<Poller> poller, const ShardOptions& options)
    : poller_(std::move(poller)),
      stride_(options.stride),
      busy_poll_(options.busy_poll),
      signal_(options.signal),
      takeover_(options.signal != nullptr && options.takeover > absl::ZeroDuration()
                    ? std::make_unique<Takeover>(options.takeover)
                    : nullptr),
      swap_(options.swap_buffer_size) {
  // Room for ordinary batches from the start, so that steady state does not
  // depend on which thread happened to gather the largest batch first.
  completions_.reserve(kInitialBatch);
  events_.reserve(kInitialBatch);
}

Shard::~Shard() { Close(); }

FdState* Shard::Lookup(int fd) {
  FdState* s = fds_.Find(SlotOf(fd));
  return s != nullptr && s->active ? s : nullptr;
}

absl::StatusOr<FdState*> Shard::Register(int fd) {
  absl::StatusOr<FdInfo> info = ProbeFd(fd);
  if (!info.ok()) return info.status();
  FdState* s = fds_.Get(SlotOf(fd));
  if (s == nullptr) return absl::ResourceExhaustedError("cannot allocate fd state");
  // Add first: it refuses regular files and directories before anything about
  // the fd is changed.
  if (absl::Status st = poller_->Add(fd); !st.ok()) return st;
  if (absl::Status st = PrepareFd(fd, *info); !st.ok()) {
    poller_->Remove(fd).IgnoreError();  // best effort; the fd stays the caller's
    return st;
  }
  *s = FdState{};
  s->fd = fd;
  s->active = true;
  s->is_socket = info->is_socket;
  s->is_stream = info->is_stream;
  s->is_unix_stream = info->is_unix_stream;
  s->swap_turn = static_cast<uint8_t>(Turn() - 1);  // its first swap read may run now
  return s;
}

void Shard::CompleteAll(FdState* s, const absl::Status& status) {
  while (!s->reads.empty()) Complete(s, s->reads.head, status);
  while (!s->writes.empty()) Complete(s, s->writes.head, status);
  if (s->in_line) {
    line_.Remove(s);
    has_line_.store(!line_.empty(), std::memory_order_relaxed);
  }
}

void Shard::Release(FdState* s) {
  static const absl::Status* const kCancelled = new absl::Status(absl::CancelledError("cancelled"));
  CompleteAll(s, *kCancelled);
  // Deregistration can only fail if the fd was closed behind our back.
  poller_->Remove(s->fd).IgnoreError();
  CloseFd(s->fd);
  s->active = false;
}

absl::Status Shard::Submit(const SubmitArgs& args) {
  MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  if (!failure_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("watcher failed and accepts no request: ", failure_.message()));
  }
  const bool swap_read = args.op == OpType::kRead && args.data == nullptr;
  if (swap_read) {
    if (absl::Status st = swap_.Allocate(); !st.ok()) return st;
  }
  FdState* s = Lookup(args.fd);
  if (s == nullptr) {
    absl::StatusOr<FdState*> registered = Register(args.fd);
    if (!registered.ok()) return registered.status();
    s = *registered;
  }
  const RequestId id = pool_.Get();
  if (id == kNoRequest) return absl::ResourceExhaustedError("cannot allocate a request record");
  Request& r = pool_[id];
  r.ctx = args.ctx;
  r.data = args.data;
  r.len = args.len;
  r.op = args.op;
  r.fill = args.fill;
  RequestQueue& queue = args.op == OpType::kRead ? s->reads : s->writes;
  const bool first_in_line = queue.empty();
  pool_.PushBack(&queue, id);
  if (args.deadline != kMonoNever) {
    timers_.Push(id, args.fd, args.deadline);
    if (polling_ && args.deadline < sleeping_until_) {
      // The sleeping poller would wake too late for this deadline.
      sleeping_until_ = args.deadline;
      poller_->Wake().IgnoreError();  // fails only if the eventfd is gone
    }
    PublishEarliestDeadline();
  }
  if (first_in_line) {
    if (args.op == OpType::kRead) {
      if (s->readable) ServeReads(s);
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
  fds_.ForEachActive([this](FdState* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { Release(s); });
  poller_->Wake().IgnoreError();
  if (takeover_) takeover_->Stop();
}

void Shard::Fail(const absl::Status& status) {
  failure_ = status;
  fds_.ForEachActive([&](FdState* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { CompleteAll(s, status); });
  if (takeover_) takeover_->Stop();
  if (signal_) signal_->Notify();
}

void Shard::FailWith(const absl::Status& status) {
  MutexLock lock(&mu_);
  if (closed_ || !failure_.ok()) return;
  Fail(status);
  poller_->Wake().IgnoreError();  // a poller thread asleep in Wait() stops
}

absl::Status Shard::failure() const {
  MutexLock lock(&mu_);
  return failure_;
}

size_t Shard::TakeCompletions(std::vector<OpResult>* out) {
  if (!has_completions_.load(std::memory_order_acquire) &&
      !has_line_.load(std::memory_order_acquire)) {
    return 0;
  }
  MutexLock lock(&mu_);
  const size_t n = completions_.size();
  for (OpResult& r : completions_) out->push_back(std::move(r));
  completions_.clear();
  has_completions_.store(false, std::memory_order_relaxed);
  // A new batch: the filled swap half goes with it, and every fd gets a new
  // turn for a swap read.
  swap_.Flip();
  ++batch_;
  if (!line_.empty()) ServeLine();
  return n;
}

}  // namespace gaio::internal
