// The I/O half of Shard: attempting queued requests, completing them, and
// deadlines. Every function here runs with the shard's mutex held.
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/fd_io.h"
#include "poller/posix_error.h"
#include "watcher/op_result.h"
#include "watcher/request.h"
#include "watcher/shard.h"

namespace gaio::internal {
namespace {

// Shared, immutable statuses: copying one costs a reference-count increment
// instead of an allocation per completion.
const absl::Status& EofStatus() {
  static const absl::Status* const kEof = new absl::Status(absl::OutOfRangeError("EOF"));
  return *kEof;
}

const absl::Status& DeadlineStatus() {
  static const absl::Status* const kDeadline =
      new absl::Status(absl::DeadlineExceededError("deadline exceeded"));
  return *kDeadline;
}

}  // namespace

void Shard::ProcessReads(FdState* s) {
  while (s->readable && !s->reads.empty()) {
    Request* r = s->reads.front();
    Attempt a = TryRead(s, r);
    if (a == Attempt::kDone) continue;
    if (a == Attempt::kNoSwapSpace && !s->deferred) {
      s->deferred = true;
      deferred_.push_back(s->fd);
    }
    return;
  }
}

void Shard::ProcessWrites(FdState* s) {
  while (s->writable && !s->writes.empty()) {
    if (TryWrite(s, s->writes.front()) != Attempt::kDone) return;
  }
}

Shard::Attempt Shard::TryRead(FdState* s, Request* r) {
  for (;;) {
    char* dst;
    size_t cap;
    const bool swap = r->data == nullptr;
    if (swap) {
      if (!swap_.Reserve(&dst, &cap)) return Attempt::kNoSwapSpace;
    } else {
      dst = r->data + r->done;
      cap = r->len - r->done;
    }
    IoResult io = ReadSome(s->fd, dst, cap);
    if (io.n > 0) {
      const size_t n = static_cast<size_t>(io.n);
      // A short read drained a byte stream: wait for the next edge. Not after
      // a hang-up, whose EOF is still to be read and will bring no edge.
      if (n < cap && s->is_stream && !s->hangup) s->readable = false;
      r->done += n;
      if (swap) {
        swap_.Commit(n);
        Complete(s, r, absl::OkStatus(), absl::Span<char>(dst, n));
        return Attempt::kDone;
      }
      if (!r->fill || r->done == r->len) {
        Complete(s, r, absl::OkStatus());
        return Attempt::kDone;
      }
      if (!s->readable) return Attempt::kWouldBlock;
      continue;  // read_full: keep filling
    }
    if (io.n == 0) {
      // An error the poller took (FdState::taken_error) may be due here.
      const int taken = std::exchange(s->taken_error, 0);
      if (taken != 0 && TakenErrorWasDue(s->fd, taken, /*write=*/false)) {
        Complete(s, r, PosixError(taken, "read"));
      } else {
        Complete(s, r, EofStatus());
      }
    } else if (io.would_block()) {
      s->readable = false;
      return Attempt::kWouldBlock;
    } else {
      Complete(s, r, PosixError(io.err, "read"));
    }
    return Attempt::kDone;
  }
}

Shard::Attempt Shard::TryWrite(FdState* s, Request* r) {
  for (;;) {
    const size_t cap = r->len - r->done;
    IoResult io = WriteSome(s->fd, s->is_socket, r->data + r->done, cap);
    if (io.n >= 0) {
      r->done += static_cast<size_t>(io.n);
      if (r->done == r->len) {
        Complete(s, r, absl::OkStatus());
        return Attempt::kDone;
      }
      // A short write filled a byte stream: wait for the next edge.
      if (s->is_stream) {
        s->writable = false;
        return Attempt::kWouldBlock;
      }
      continue;
    }
    if (io.would_block()) {
      s->writable = false;
      return Attempt::kWouldBlock;
    }
    int err = io.err;
    // An error the poller took (FdState::taken_error) may be due here; if
    // not, it stays for the read it is due at.
    if (err == EPIPE && s->taken_error != 0 &&
        TakenErrorWasDue(s->fd, s->taken_error, /*write=*/true)) {
      err = std::exchange(s->taken_error, 0);
    }
    Complete(s, r, PosixError(err, "write"));
    return Attempt::kDone;
  }
}

void Shard::RetryDeferred() {
  deferred_scratch_.swap(deferred_);
  size_t i = 0;
  for (; i < deferred_scratch_.size(); ++i) {
    FdState* s = Lookup(deferred_scratch_[i]);
    if (s == nullptr) continue;
    s->deferred = false;
    ProcessReads(s);
    // Deferred again: the swap space of this batch is used up, and would be
    // for every fd after it too. They keep their place in line, untouched,
    // so a retry costs what it serves, not the length of the line.
    if (s->deferred) break;
  }
  if (i < deferred_scratch_.size()) {
    deferred_.insert(deferred_.end(), deferred_scratch_.begin() + static_cast<ptrdiff_t>(i) + 1,
                     deferred_scratch_.end());
  }
  deferred_scratch_.clear();
}

void Shard::ExpireTimers(absl::Time now) {
  while (!timers_.empty() && timers_.top()->deadline <= now) {
    Request* r = timers_.top();
    FdState* s = Lookup(r->fd);
    const bool is_read = r->op == OpType::kRead;
    RequestQueue& queue = is_read ? s->reads : s->writes;
    const bool was_head = queue.front() == r;
    Complete(s, r, DeadlineStatus());  // recycles r
    // The next request in line may be able to proceed right away (e.g. one
    // with its own buffer behind a swap read that waited for space).
    if (was_head && !queue.empty()) {
      if (is_read) {
        if (s->readable) ProcessReads(s);
      } else if (s->writable) {
        ProcessWrites(s);
      }
    }
  }
}

void Shard::Complete(FdState* s, Request* r, const absl::Status& status,
                     absl::Span<char> swap_bytes) {
  const bool is_read = r->op == OpType::kRead;
  (is_read ? s->reads : s->writes).Remove(r);
  if (r->heap_index != kNotInHeap) {
    timers_.Remove(r);
    PublishEarliestDeadline();
  }
  const bool is_swap = is_read && r->data == nullptr;
  const bool was_empty = completions_.empty();
  completions_.push_back(OpResult{
      .op = r->op,
      .fd = r->fd,
      .ctx = r->ctx,
      .buffer = is_swap ? swap_bytes : absl::Span<char>(r->data, r->len),
      .size = r->done,
      .is_swap_buffer = is_swap,
      .status = status,
  });
  pool_.Put(r);
  if (!was_empty) return;  // the consumer has been told already
  has_completions_.store(true, std::memory_order_release);
  if (signal_ != nullptr) signal_->Notify();
  // The thread that takes completions may be asleep in the poller's Wait
  // (caller-driven mode, or a caller polling in threaded mode).
  if (polling_ && (signal_ == nullptr || caller_polling_.load(std::memory_order_relaxed))) {
    poller_->Wake().IgnoreError();
  }
}

}  // namespace gaio::internal
