// Shard lifecycle, registration, submission, release, and hand-over of
// completions to wait_io(). Polling is in shard_poll.cc, the I/O attempts in
// shard_io.cc.
#include "watcher/shard.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "poller/fd_io.h"
#include "poller/poller.h"
#include "poller/posix_error.h"
#include "watcher/clock.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/request.h"
#include "watcher/statuses.h"
#include "watcher/write_vector.h"

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

Shard::~Shard() {
  Close();
  // Completions never taken are dropped; what one owns goes with it.
  MutexLock lock(&mu_);
  for (const OpResult& r : completions_) DropCompletion(r);
}

void DropCompletion(const OpResult& r) {
  if (r.op == OpType::kAccept && r.accepted_fd >= 0) CloseFd(r.accepted_fd);
}

FdState* Shard::Lookup(int fd) {
  FdState* s = fds_.Find(SlotOf(fd));
  return s != nullptr && s->active ? s : nullptr;
}


absl::StatusOr<FdState*> Shard::Register(int fd, const FdInfo& info) {
  FdState* s = fds_.Get(SlotOf(fd));
  if (s == nullptr) return absl::ResourceExhaustedError("cannot allocate fd state");
  // Add first: it refuses regular files and directories before anything about
  // the fd is changed.
  if (absl::Status st = poller_->Add(fd); !st.ok()) return st;
  bool was_nonblocking = false;
  if (absl::Status st = PrepareFd(fd, info, &was_nonblocking); !st.ok()) {
    poller_->Remove(fd).IgnoreError();  // best effort; the fd stays the caller's
    return st;
  }
  *s = FdState{};
  s->fd = fd;
  s->active = true;
  s->is_socket = info.is_socket;
  s->is_stream = info.is_stream;
  s->is_unix_stream = info.is_unix_stream;
  s->is_datagram = info.is_datagram;
  s->is_seqpacket = info.is_seqpacket;
  s->is_udp = info.is_udp;
  s->was_nonblocking = was_nonblocking;
  s->swap_turn = static_cast<uint8_t>(Turn() - 1);  // its first swap read may run now
  return s;
}

size_t Shard::EndRequests(FdState* s, const absl::Status& status, Select select, void* ctx) {
  auto chosen = [&](RequestId id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return select == Select::kAll || pool_[id].ctx == ctx;
  };
  size_t ended = 0;
  // A connect under way heads the writes (Connect needs empty queues).
  if (s->connecting && !s->writes.empty() && pool_[s->writes.head].op == OpType::kConnect &&
      chosen(s->writes.head)) {
    ended = 1;
    s->connecting = false;
    Complete(s, s->writes.head, status);
    select = Select::kAll;  // what waits behind it goes with it
  }
  absl::InlinedVector<RequestId, 8> ids;
  for (RequestQueue* q : {&s->reads, &s->writes}) {
    if (select == Select::kAll) {
      for (; !q->empty(); ++ended) Complete(s, q->head, status);
      continue;
    }
    ids.clear();
    pool_.ForEach(*q, [&](RequestId id) {
      if (chosen(id)) ids.push_back(id);
    });
    for (RequestId id : ids) Complete(s, id, status);
    ended += ids.size();
  }
  if (s->in_line && s->reads.empty()) {
    line_.Remove(s);
    has_line_.store(!line_.empty(), std::memory_order_relaxed);
  }
  return ended;
}

void Shard::Detach(FdState* s, bool keep_open) {
  EndRequests(s, CancelledStatus(), Select::kAll);
  if (s->connect_failed) connect_failures_.erase(s->fd);
  // Deregistration can only fail if the fd was closed behind our back.
  poller_->Remove(s->fd).IgnoreError();
  if (keep_open) {
    RestoreBlocking(s->fd, s->was_nonblocking);
  } else {
    CloseFd(s->fd);
  }
  s->active = false;
}

absl::Status Shard::Accepting() const {
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  if (!failure_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("watcher failed and accepts no request: ", failure_.message()));
  }
  return absl::OkStatus();
}

absl::Status Shard::CheckKind(const SubmitArgs& args, bool datagram) {
  if (datagram) {
    if (args.op == OpType::kRead && args.fill) {
      return absl::InvalidArgumentError("read_full on a datagram socket: a read is one datagram");
    }
    if (args.op == OpType::kAccept) return absl::InvalidArgumentError("accept on a datagram socket");
    // One request is one datagram: never split over two sends.
    if (args.vectored && WriteVector::Get(args.data).size() > MaxDatagramPieces()) {
      return absl::InvalidArgumentError(
          absl::StrCat("writev on a message socket: ", WriteVector::Get(args.data).size(),
                       " pieces, one datagram takes at most ", MaxDatagramPieces()));
    }
    return absl::OkStatus();
  }
  if (args.want_peer || args.to != nullptr) {
    return absl::InvalidArgumentError("recv_from/send_to need a datagram socket");
  }
  if (args.op == OpType::kWrite && args.len == 0) {
    return absl::InvalidArgumentError("write needs a non-empty buffer");
  }
  return absl::OkStatus();
}

absl::StatusOr<FdState*> Shard::Prepare(int fd, const SubmitArgs* args) {
  if (FdState* s = Lookup(fd)) {
    if (args != nullptr) {
      if (absl::Status st = CheckKind(*args, s->is_datagram); !st.ok()) return st;
    }
    return s;
  }
  absl::StatusOr<FdInfo> info = ProbeFd(fd);
  if (!info.ok()) return info.status();
  if (args != nullptr) {
    if (absl::Status st = CheckKind(*args, info->is_datagram); !st.ok()) return st;
  }
  return Register(fd, *info);
}

void Shard::Enqueue(FdState* s, RequestId id, MonoTime deadline) {
  Request& r = pool_[id];
  if (s != nullptr) pool_.PushBack(QueueOf(s, r.op), id);
  if (deadline == kMonoNever && s != nullptr) return;  // (a timer is always in the heap)
  timers_.Push(id, s != nullptr ? s->fd : -1, deadline);
  if (polling_ && deadline < sleeping_until_) {
    // The sleeping poller would wake too late for this deadline.
    sleeping_until_ = deadline;
    poller_->Wake().IgnoreError();  // fails only if the eventfd is gone
  }
  PublishEarliestDeadline();
}

absl::Status Shard::Submit(const SubmitArgs& args) {
  MutexLock lock(&mu_);
  if (absl::Status st = Accepting(); !st.ok()) return st;
  const bool swap_read = args.op == OpType::kRead && args.data == nullptr;
  if (swap_read) {
    if (absl::Status st = swap_.Allocate(); !st.ok()) return st;
  }
  absl::StatusOr<FdState*> state = Prepare(args.fd, &args);
  if (!state.ok()) return state.status();
  FdState* s = *state;
  if (takeover_ && takeover_->IsCaller()) takeover_->NoteCallerWork();
  SendTarget* target = nullptr;
  if (args.to != nullptr) {
    target = send_targets_.Get(args.to, args.to_len, args.data);
    if (target == nullptr) return absl::ResourceExhaustedError("cannot allocate a send target");
  }
  const RequestId id = pool_.Get();
  if (id == kNoRequest) {
    if (target != nullptr) send_targets_.Put(target);
    return absl::ResourceExhaustedError("cannot allocate a request record");
  }
  Request& r = pool_[id];
  r.ctx = args.ctx;
  r.data = target != nullptr ? reinterpret_cast<char*>(target) : args.data;
  r.len = args.len;
  r.op = args.op;
  r.fill = args.fill && !s->is_datagram;  // a datagram goes whole or not at all
  r.vectored = args.vectored;
  r.want_peer = args.want_peer;
  r.addressed = target != nullptr;
  const bool first_in_line = QueueOf(s, args.op)->empty();
  Enqueue(s, id, args.deadline);
  if (s->connect_failed) {
    Complete(s, id, connect_failures_[s->fd]);
    return absl::OkStatus();
  }
  // An accept is tried even behind others: accepts held at the fd limit
  // (TryAccept) are tried again, in order, when one more is submitted.
  if ((first_in_line || args.op == OpType::kAccept) && !s->connecting) {
    if (!InReads(args.op)) {
      if (s->writable) ProcessWrites(s);
    } else if (s->readable) {
      ServeReads(s);
    }
  }
  // A write still pending (not tried, or written in part; a completed one
  // has left the queue, and its id may be free: not touched then) joins the
  // count of unwritten bytes, and if its bytes are in the swap buffer, its
  // rest is copied to outlive them.
  if (args.op == OpType::kWrite && (!first_in_line || s->writes.head == id)) {
    Request& w = pool_[id];
    if (w.len > w.done) {  // (an empty datagram counts nothing)
      w.counted = true;
      unwritten_[s->fd] += w.len - w.done;
    }
    if (args.from_swap) KeepUnsent(s, id);
  }
  return absl::OkStatus();
}

absl::Status Shard::Connect(void* ctx, int fd, const void* addr, unsigned addr_len,
                            MonoTime deadline) {
  MutexLock lock(&mu_);
  if (absl::Status st = Accepting(); !st.ok()) return st;
  absl::StatusOr<FdState*> state = Prepare(fd);
  if (!state.ok()) return state.status();
  FdState* s = *state;
  if (!s->reads.empty() || !s->writes.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("connect: fd ", fd, " has requests pending"));
  }
  const RequestId id = pool_.Get();
  if (id == kNoRequest) return absl::ResourceExhaustedError("cannot allocate a request record");
  // A new attempt: an earlier connect's failure no longer stands for fd.
  if (s->connect_failed) {
    s->connect_failed = false;
    connect_failures_.erase(fd);
  }
  Request& r = pool_[id];
  r.ctx = ctx;
  r.op = OpType::kConnect;
  Enqueue(s, id, deadline);
  const int err = StartConnect(fd, addr, addr_len);
  if (err == EINPROGRESS) {
    // The writable edge tells when it is done (TryConnect).
    s->connecting = true;
    s->writable = false;
  } else {
    // Done at once (an AF_UNIX connect, or a refusal): still a completion.
    FinishConnect(s, id, err == 0 ? absl::OkStatus() : PosixError(err, "connect"));
  }
  return absl::OkStatus();
}

absl::Status Shard::After(void* ctx, MonoTime deadline) {
  MutexLock lock(&mu_);
  if (absl::Status st = Accepting(); !st.ok()) return st;
  const RequestId id = pool_.Get();
  if (id == kNoRequest) return absl::ResourceExhaustedError("cannot allocate a request record");
  // A timer is in no fd's queue: its links join the timers with its ctx.
  // (The map entry first: nothing is enqueued if inserting it fails.)
  RequestQueue& with_ctx = timers_by_ctx_[ctx];
  Request& r = pool_[id];
  r.ctx = ctx;
  r.op = OpType::kTimer;
  Enqueue(nullptr, id, deadline);
  pool_.PushBack(&with_ctx, id);
  // Due already: complete it (and any other due one, in due order) now.
  if (deadline <= MonoNow()) ExpireTimers(MonoNow());
  return absl::OkStatus();
}

absl::Status Shard::Post(void* ctx) {
  MutexLock lock(&mu_);
  if (absl::Status st = Accepting(); !st.ok()) return st;
  Deliver(OpResult{.op = OpType::kPost,
                   .fd = -1,
                   .ctx = ctx,
                   .buffer = {},
                   .size = 0,
                   .is_swap_buffer = false,
                   .status = absl::OkStatus()});
  return absl::OkStatus();
}

absl::Status Shard::Cancel(int fd, void* ctx) {
  MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  absl::InlinedVector<RequestId, 8> matched;
  if (fd < 0) {
    // Timers: every one with ctx (found by ctx, whatever the number of
    // timers pending), in due order.
    if (auto it = timers_by_ctx_.find(ctx); it != timers_by_ctx_.end()) {
      pool_.ForEach(it->second, [&](RequestId id) { matched.push_back(id); });
    }
    std::sort(matched.begin(), matched.end(),
              [&](RequestId a, RequestId b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                return timers_.Before(a, b);
              });
    for (RequestId id : matched) Complete(nullptr, id, CancelledStatus());
  } else if (FdState* s = Lookup(fd)) {
    const RequestId read_head = s->reads.head;
    const RequestId write_head = s->writes.head;
    if (EndRequests(s, CancelledStatus(), Select::kCtx, ctx) == 0) {
      return absl::NotFoundError(absl::StrCat("no pending request with this ctx on fd ", fd));
    }
    // A request now at the head of its queue may be able to run at once.
    // (No request was made meanwhile, so a new head has a new id.)
    if (!s->connecting) {
      if (!s->reads.empty() && s->reads.head != read_head && s->readable) ServeReads(s);
      if (!s->writes.empty() && s->writes.head != write_head && s->writable) ProcessWrites(s);
    }
    return absl::OkStatus();
  }
  if (matched.empty()) {
    return absl::NotFoundError(absl::StrCat("no pending request with this ctx on fd ", fd));
  }
  return absl::OkStatus();
}

absl::Status Shard::Free(int fd) {
  MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  FdState* s = Lookup(fd);
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  Detach(s, /*keep_open=*/false);
  return absl::OkStatus();
}

absl::Status Shard::Release(int fd) {
  MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("watcher is closed");
  FdState* s = Lookup(fd);
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("fd ", fd, " is not watched"));
  Detach(s, /*keep_open=*/true);
  return absl::OkStatus();
}

size_t Shard::PendingWriteBytes(int fd) {
  MutexLock lock(&mu_);
  FdState* s = Lookup(fd);
  if (s == nullptr) return 0;
  auto it = unwritten_.find(fd);
  const size_t n = it == unwritten_.end() ? 0 : it->second;
#ifndef NDEBUG
  // Debug builds check the count against the queue.
  size_t walked = 0;
  pool_.ForEach(s->writes, [&](RequestId id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const Request& r = pool_[id];
    if (r.op == OpType::kWrite) walked += r.len - r.done;
  });
  assert(walked == n);
#endif
  return n;
}

void Shard::Advance(FdState* s, Request& r, size_t n) {
  r.done += n;
  if (r.counted) Uncount(s->fd, n);
}

void Shard::Uncount(int fd, size_t n) {
  if (n == 0) return;
  auto it = unwritten_.find(fd);
  assert(it != unwritten_.end() && it->second >= n);
  it->second -= n;
  if (it->second == 0) unwritten_.erase(it);
}

void Shard::CompleteTimers(const absl::Status& status) {
  while (!timers_.empty()) {
    // fd deadlines went with their fds already; what is left are timers.
    const TimerHeap::Entry e = timers_.top();
    FdState* s = e.fd < 0 ? nullptr : Lookup(e.fd);
    Complete(s, e.id, status);
  }
}

void Shard::Close() {
  MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  fds_.ForEachActive(
      [this](FdState* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { Detach(s, /*keep_open=*/false); });
  CompleteTimers(CancelledStatus());
  poller_->Wake().IgnoreError();
  if (takeover_) takeover_->Stop();
}

void Shard::Fail(const absl::Status& status) {
  failure_ = status;
  fds_.ForEachActive([&](FdState* s)
                         ABSL_NO_THREAD_SAFETY_ANALYSIS { EndRequests(s, status, Select::kAll); });
  CompleteTimers(status);
  if (takeover_) takeover_->Stop();
  if (signal_) signal_->Notify();
}

void Shard::FailWith(const absl::Status& status) {
  MutexLock lock(&mu_);
  if (closed_ || !failure_.ok()) return;
  Fail(status);
  poller_->Wake().IgnoreError();  // a poller thread asleep in Wait() stops
}

void Shard::AddDatagramStats(WatcherStats* stats) const {
  MutexLock lock(&mu_);
  stats->datagram_receive_calls += datagram_receive_calls_;
  stats->datagrams_received += datagrams_received_;
  stats->datagram_send_calls += datagram_send_calls_;
  stats->datagrams_sent += datagrams_sent_;
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
  peers_.Flip();
  ++batch_;
  if (!line_.empty()) ServeLine();
  return n;
}

}  // namespace gaio::internal
