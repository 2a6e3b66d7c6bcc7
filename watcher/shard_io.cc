// The I/O half of Shard: attempting queued requests, completing them, the
// line of swap reads waiting for space, and deadlines. Every function here
// runs with the shard's mutex held.
//
// The line. Swap reads share one half of the swap buffer per batch. A swap
// read that finds less than a quarter of it left, or whose fd already
// completed a swap read in this batch (its turn is used), waits in the line
// (FdLine, FIFO). At each new batch (TakeCompletions) every fd in the line
// gets one turn, in order: one swap read each. An fd served that still has a
// swap read queued goes to the back; the pass stops at the first fd that
// finds no space, which keeps its place at the front. So a retry costs what
// it serves, not the length of the line, and no fd can starve the others
// however fast its peer writes.
#include <cassert>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "poller/fd_io.h"
#include "poller/posix_error.h"
#include "watcher/clock.h"
#include "watcher/op_result.h"
#include "watcher/request.h"
#include "watcher/shard.h"
#include "watcher/statuses.h"
#include "watcher/write_vector.h"

namespace gaio::internal {

void Shard::ServeReads(FdState* s) {
  if (ProcessReads(s) != Pending::kNothing && !s->in_line) {
    line_.PushBack(s, SlotOf(s->fd));
    has_line_.store(true, std::memory_order_relaxed);
  }
}

Shard::Pending Shard::ProcessReads(FdState* s) {
  if (s->connecting) return Pending::kNothing;
  while (s->readable && !s->reads.empty()) {
    const RequestId head = s->reads.head;
    const OpType op = pool_[head].op;
    if (op == OpType::kReadable) {
      // `readable` may be an assumption (set at registration) or stale (the
      // caller's own reads drained the fd): look before saying so.
      if (!PollReady(s->fd, /*write=*/false)) {
        s->readable = false;
        return Pending::kNothing;
      }
      Complete(s, head, absl::OkStatus());  // the caller reads
      continue;
    }
    const Attempt a = op == OpType::kAccept ? TryAccept(s, head)
                      : s->is_datagram      ? TryReceiveBatch(s)
                                            : TryRead(s, head);
    switch (a) {
      case Attempt::kDone:
        continue;
      case Attempt::kNoSwapSpace:
        return Pending::kSwapSpace;
      case Attempt::kNoTurn:
        return Pending::kTurn;
      case Attempt::kWouldBlock:
      case Attempt::kHeld:
        return Pending::kNothing;
    }
  }
  return Pending::kNothing;
}

void Shard::ProcessWrites(FdState* s) {
  while (!s->writes.empty()) {
    const RequestId head = s->writes.head;
    if (pool_[head].op == OpType::kConnect) {
      // Writable (or an error) means the connect is over, either way.
      if (!s->writable || TryConnect(s, head) != Attempt::kDone) return;
      continue;
    }
    if (!s->writable) return;
    if (pool_[head].op == OpType::kWritable) {
      // As for kReadable: `writable` may be assumed or stale; look first.
      if (!PollReady(s->fd, /*write=*/true)) {
        s->writable = false;
        return;
      }
      Complete(s, head, absl::OkStatus());  // the caller writes
      continue;
    }
    if ((s->is_datagram ? TrySendBatch(s) : TryWrite(s, head)) != Attempt::kDone) return;
  }
}

Shard::Attempt Shard::TryAccept(FdState* s, RequestId id) {
  const IoResult io = AcceptOne(s->fd);
  if (io.n >= 0) {
    Complete(s, id, absl::OkStatus(), Extra{.accepted_fd = static_cast<int>(io.n)});
    return Attempt::kDone;
  }
  if (io.would_block()) {
    s->readable = false;
    return Attempt::kWouldBlock;
  }
  Complete(s, id, PosixError(io.err, "accept"));
  // Out of fds or memory (ResourceExhausted): the connection stays queued
  // and the listener readable, with no edge to come for it. One accept
  // fails per attempt; the others wait for the next attempt, made when a
  // connection arrives or another accept is submitted on this listener (so
  // a server backs off, then submits again). Failing them all at once
  // would make a resubmitting server spin. Other errors fail this request
  // only, and the next one is tried.
  if (io.err == EMFILE || io.err == ENFILE || io.err == ENOBUFS || io.err == ENOMEM) {
    return Attempt::kHeld;
  }
  return Attempt::kDone;
}

Shard::Attempt Shard::TryConnect(FdState* s, RequestId id) {
  const int err = poller_->SocketError(s->fd);
  // Writable without an error may be stale: an event the poller fetched
  // for the unconnected socket just before connect() started. Only a peer
  // proves the connection.
  if (err == 0 && !IsConnected(s->fd)) {
    s->writable = false;
    return Attempt::kWouldBlock;
  }
  FinishConnect(s, id, err == 0 ? absl::OkStatus() : PosixError(err, "connect"));
  return Attempt::kDone;
}

void Shard::FinishConnect(FdState* s, RequestId id, const absl::Status& status) {
  s->connecting = false;
  Complete(s, id, status);
  if (!status.ok()) {
    EndRequests(s, status, Select::kAll);  // what was queued behind it
    // Refused or unreachable: so are the requests still to come, until a
    // new connect. (After a deadline or a cancel the kernel may still
    // connect; those run. EALREADY and EISCONN say that such an earlier
    // attempt is still going on or has connected, and EAGAIN (AF_UNIX) that
    // the listener's queue is full: this attempt failed, the socket did not.)
    const int err = ErrnoOf(status);
    if (err != 0 && err != EALREADY && err != EISCONN && err != EAGAIN) {
      s->connect_failed = true;
      connect_failures_[s->fd] = status;
    }
    return;
  }
  // Connected: what was queued behind it may run now.
  s->writable = true;
  ServeReads(s);
  ProcessWrites(s);
}

Shard::Attempt Shard::TryRead(FdState* s, RequestId id) {
  Request& r = pool_[id];
  const bool swap = r.data == nullptr;
  if (swap && s->swap_turn == Turn()) return Attempt::kNoTurn;
  for (;;) {
    char* dst;
    size_t cap;
    if (swap) {
      if (!swap_.Reserve(&dst, &cap)) return Attempt::kNoSwapSpace;
    } else {
      dst = r.data + r.done;
      cap = r.len - r.done;
    }
    const IoResult io = poller_->Read(s->fd, s->is_unix_stream, dst, cap);
    if (io.n > 0) {
      const size_t n = static_cast<size_t>(io.n);
      // A short read drained a byte stream: wait for the next edge. Not when
      // the read may have stopped short of bytes still queued, which no edge
      // will announce: after a hang-up (the EOF is still to be read), at an
      // urgent mark, or at a message carrying ancillary data.
      if (n < cap && s->is_stream && !s->hangup && !s->urgent && !io.stopped_at_control) {
        s->readable = false;
      }
      r.done += n;
      if (swap) {
        swap_.Commit(n);
        s->swap_turn = Turn();
        Complete(s, id, absl::OkStatus(), Extra{.swap_bytes = absl::Span<char>(dst, n)});
        return Attempt::kDone;
      }
      if (!r.fill || r.done == r.len) {
        Complete(s, id, absl::OkStatus());
        return Attempt::kDone;
      }
      if (!s->readable) return Attempt::kWouldBlock;
      continue;  // read_full: keep filling
    }
    if (io.n == 0) {
      Complete(s, id, EofStatus());
    } else if (io.would_block()) {
      s->readable = false;
      s->urgent = false;  // drained: the urgent mark, if any, is behind us
      return Attempt::kWouldBlock;
    } else {
      Complete(s, id, PosixError(io.err, "read"));
    }
    return Attempt::kDone;
  }
}

void Shard::KeepUnsent(FdState* s, RequestId id) {
  Request& r = pool_[id];
  char*& bytes = BytesOf(r);
  char* rest = KeptBytes::Make(bytes + r.done, r.len - r.done, r.done);
  if (rest == nullptr) {
    Complete(s, id, absl::ResourceExhaustedError("write: no memory to keep the unsent swap bytes"));
    return;
  }
  bytes = rest;
  r.len -= r.done;
  r.done = 0;
  r.kept = true;
}

Shard::Attempt Shard::TryWrite(FdState* s, RequestId id) {
  Request& r = pool_[id];
  for (;;) {
    const size_t cap = r.len - r.done;
    const IoResult io =
        r.vectored ? poller_->WriteV(s->fd, s->is_socket, WriteVector::Get(r.data), r.done)
                   : poller_->Write(s->fd, s->is_socket, r.data + r.done, cap);
    if (io.n >= 0) {
      Advance(s, r, static_cast<size_t>(io.n));
      if (r.done == r.len) {
        Complete(s, id, absl::OkStatus());
        return Attempt::kDone;
      }
      // A short write filled a byte stream, and a write that moved nothing
      // made no progress whatever the fd: wait for the next edge rather than
      // retry at once (no spinning under the mutex).
      if (s->is_stream || io.n == 0) {
        s->writable = false;
        return Attempt::kWouldBlock;
      }
      continue;
    }
    if (io.would_block()) {
      s->writable = false;
      return Attempt::kWouldBlock;
    }
    Complete(s, id, PosixError(io.err, "write"));
    return Attempt::kDone;
  }
}

void Shard::ServeLine() {
  // One lap: each fd in the line now gets one turn. An fd sent to the back
  // lands behind `lap_end` and waits for the next batch.
  FdState* const lap_end = line_.back();
  for (FdState* s = line_.front(); s != nullptr; s = line_.front()) {
    line_.Remove(s);
    const Pending pending = ProcessReads(s);
    if (pending == Pending::kSwapSpace) {
      line_.PushFront(s, SlotOf(s->fd));  // keeps its place; no space for anyone after it
      break;
    }
    if (pending == Pending::kTurn) line_.PushBack(s, SlotOf(s->fd));
    if (s == lap_end) break;
  }
  has_line_.store(!line_.empty(), std::memory_order_relaxed);
}

void Shard::ExpireTimers(MonoTime now) {
  while (!timers_.empty() && timers_.top().deadline <= now) {
    const TimerHeap::Entry due = timers_.top();
    if (due.fd < 0) {  // a timer: its expiry is its success
      Complete(nullptr, due.id, absl::OkStatus());
      continue;
    }
    FdState* s = Lookup(due.fd);
    const OpType op = pool_[due.id].op;
    if (op == OpType::kConnect) {
      FinishConnect(s, due.id, DeadlineStatus());  // and what was queued behind it
      continue;
    }
    RequestQueue* queue = QueueOf(s, op);
    const bool was_head = queue->head == due.id;
    Complete(s, due.id, DeadlineStatus());  // recycles the request
    // The next request in line may be able to proceed right away (e.g. one
    // with its own buffer behind a swap read that waited for space).
    if (was_head && !queue->empty() && !s->connecting) {
      if (queue == &s->reads) {
        if (s->readable) ServeReads(s);
      } else if (s->writable) {
        ProcessWrites(s);
      }
    }
  }
}

void Shard::Complete(FdState* s, RequestId id, const absl::Status& status, const Extra& extra) {
  Request& r = pool_[id];
  if (s != nullptr) {
    pool_.Remove(QueueOf(s, r.op), id);
  } else if (r.op == OpType::kTimer) {
    auto it = timers_by_ctx_.find(r.ctx);
    assert(it != timers_by_ctx_.end());  // every pending timer is indexed
    pool_.Remove(&it->second, id);
    if (it->second.empty()) timers_by_ctx_.erase(it);
  }
  if (r.heap_index != kNotInHeap) {
    timers_.Remove(id);
    PublishEarliestDeadline();
  }
  if (r.counted) Uncount(s->fd, r.len - r.done);
  const bool is_swap = r.op == OpType::kRead && r.data == nullptr;
  absl::Span<char> buffer;
  size_t size = r.done;
  if (is_swap) {
    buffer = extra.swap_bytes;
  } else if (r.vectored) {
    WriteVector::Free(r.data);
  } else if (r.kept) {
    char* bytes = BytesOf(r);
    size += KeptBytes::Written(bytes);
    KeptBytes::Free(bytes);
  } else if (r.data != nullptr) {
    buffer = absl::Span<char>(BytesOf(r), r.len);
  }
  if (r.addressed) send_targets_.Put(reinterpret_cast<SendTarget*>(r.data));
  Deliver(OpResult{
      .op = r.op,
      .fd = s != nullptr ? s->fd : -1,
      .ctx = r.ctx,
      .buffer = buffer,
      .size = size,
      .is_swap_buffer = is_swap,
      .status = status,
      .accepted_fd = extra.accepted_fd,
      .peer = extra.peer,
      .peer_len = extra.peer_len,
  });
  pool_.Put(id);
}

void Shard::Deliver(OpResult result) {
  const bool was_empty = completions_.empty();
  completions_.push_back(std::move(result));
  if (!was_empty) return;  // the consumer has been told already
  has_completions_.store(true, std::memory_order_release);
  if (signal_ != nullptr) signal_->Notify();
  // The consumer may be asleep in the poller's Wait (caller-driven mode, or
  // the caller polling with takeover).
  if (polling_ && polling_for_consumer_) poller_->Wake().IgnoreError();
}

}  // namespace gaio::internal
