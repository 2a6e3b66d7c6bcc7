// The reference model's checks: every completion against the request it
// answers and the state of its connection, and both byte streams.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/fault_util.h"
#include "tests/model_driver.h"
#include "tests/model_run.h"
#include "watcher/watcher.h"

namespace gaio::model {

using ::gaio::testing::ReadError;
using ::gaio::testing::WriteError;

uint8_t StreamByte(uint64_t key, uint64_t offset) {
  uint64_t x = key * 0x9E3779B97F4A7C15ull + offset;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<uint8_t>(x >> 24);
}

uint32_t ByteChoices::Next(uint32_t bound) {
  if (bound <= 1) return 0;
  uint32_t v = 0;
  const int bytes = bound <= 256 ? 1 : 2;
  for (int i = 0; i < bytes && pos_ < size_; ++i) v = (v << 8) | data_[pos_++];
  return v % bound;
}

void DriverStats::Add(const DriverStats& o) {
  requests += o.requests;
  completions += o.completions;
  bytes_read += o.bytes_read;
  bytes_written += o.bytes_written;
  ok += o.ok;
  eof += o.eof;
  deadline += o.deadline;
  cancelled += o.cancelled;
  errors += o.errors;
  deadline_before_cancel += o.deadline_before_cancel;
  peer_shutdowns += o.peer_shutdowns;
  peer_closes += o.peer_closes;
  peer_resets += o.peer_resets;
  frees += o.frees;
  closes += o.closes;
  steps += o.steps;
}

std::string DriverStats::ToString() const {
  return absl::StrCat("steps ", steps, ", requests ", requests, ", completions checked ",
                      completions, " (ok ", ok, ", eof ", eof, ", deadline ", deadline, " (",
                      deadline_before_cancel, " before a connect's cancel)", ", cancelled ",
                      cancelled, ", errors ", errors, "), bytes read ", bytes_read,
                      ", bytes written ", bytes_written, "; faults: peer shutdowns ",
                      peer_shutdowns, ", peer closes ", peer_closes, ", peer resets ", peer_resets,
                      ", frees ", frees, ", watcher closes ", closes);
}

void Run::Fail(absl::string_view what) {
  if (failed()) return;
  failure_ =
      absl::StrCat(what, "\n  mode ", mode_, ", swap ", swap_size_,
                   " bytes; last operations, oldest first:\n    ", absl::StrJoin(trace_, "\n    "));
}

void Run::Trace(std::string line) {
  trace_.push_back(std::move(line));
  if (trace_.size() > options_.trace_lines) trace_.pop_front();
}

bool Run::Wait(absl::Duration timeout, absl::Status* error) {
  CheckSwapUnchanged();
  last_swap_.clear();
  absl::StatusOr<absl::Span<const OpResult>> batch =
      timeout == absl::ZeroDuration() ? watcher_->poll_io() : watcher_->wait_io(timeout);
  if (!batch.ok()) {
    if (error != nullptr) *error = batch.status();
    return false;
  }
  for (const OpResult& r : *batch) {
    Check(r);
    if (failed()) return true;
  }
  RetireDone();
  return true;
}

void Run::CheckSwapUnchanged() {
  for (const SwapCheck& s : last_swap_) {
    for (size_t i = 0; i < s.size; ++i) {
      if (static_cast<uint8_t>(s.data[i]) != StreamByte(s.key, s.offset + i)) {
        return Fail(absl::StrCat("swap-buffer bytes changed before the next wait_io(): byte ", i,
                                 " of a ", s.size, "-byte read"));
      }
    }
  }
}

void Run::Check(const OpResult& r) {
  const uint64_t id = reinterpret_cast<uintptr_t>(r.ctx);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return Fail(absl::StrCat("completion for ctx ", id, " (fd ", r.fd, ", ", r.status.ToString(),
                             "), which is not pending: unknown or reported twice"));
  }
  Req& q = *it->second;
  ++stats_.completions;
  if (q.conn == nullptr) return CheckLoose(r, it);
  Conn* c = q.conn;
  Trace(absl::StrCat("  done #", id, " c", c->index, " size ", r.size, " ", r.status.ToString()));
  const bool swap = q.kind == Kind::kSwapRead;
  const OpType op = q.is_read()                 ? OpType::kRead
                    : q.kind == Kind::kConnect  ? OpType::kConnect
                    : q.kind == Kind::kReadable ? OpType::kReadable
                    : q.kind == Kind::kWritable ? OpType::kWritable
                                                : OpType::kWrite;
  if (r.fd != q.fd || r.op != op || r.is_swap_buffer != swap) {
    return Fail(absl::StrCat("#", id, ": fd/op/is_swap_buffer differ from the request"));
  }
  const bool own_buffer = q.kind != Kind::kSwapRead && q.kind != Kind::kWritev &&
                          q.kind != Kind::kConnect && !q.is_readiness();
  if (own_buffer && (r.buffer.data() != q.buf.get() || r.buffer.size() != q.len)) {
    return Fail(absl::StrCat("#", id, ": buffer is not the caller's"));
  }
  if (!own_buffer && !swap && !r.buffer.empty()) {
    return Fail(absl::StrCat("#", id, ": buffer should be empty"));
  }
  if (swap && r.buffer.size() != r.size) {
    return Fail(absl::StrCat("#", id, ": swap buffer span differs from size"));
  }
  std::deque<uint64_t>& queue = q.in_reads() ? c->reads : c->writes;
  auto pos = std::find(queue.begin(), queue.end(), id);
  if (pos == queue.end()) return Fail(absl::StrCat("#", id, " is not queued on its fd"));
  const bool may_overtake =
      (absl::IsDeadlineExceeded(r.status) && r.size == 0) || q.must_cancel;
  if (pos != queue.begin() && !may_overtake) {
    return Fail(absl::StrCat("#", id, " completed (", r.status.ToString(), ") ahead of #",
                             queue.front(), " on the same fd"));
  }
  // Nothing completes on its own while a connect is under way.
  if (c->connecting != 0 && q.kind != Kind::kConnect && !absl::IsCancelled(r.status) &&
      !absl::IsDeadlineExceeded(r.status)) {
    return Fail(absl::StrCat("#", id, " completed (", r.status.ToString(), ") before connect #",
                             c->connecting));
  }
  if (q.kind == Kind::kConnect) c->connecting = 0;
  queue.erase(pos);
  if (!CheckStatus(r, q)) return;
  if (q.is_read() && r.size > 0) {
    const char* data = swap ? r.buffer.data() : q.buf.get();
    if (swap) last_swap_.push_back({data, r.size, c->in_key, c->delivered});
    CheckReadBytes(c, data, r.size, "read");
  } else if (q.is_write() && r.size > 0) {
    c->segments.push_back({(q.id << 1) | 1, 0, r.size});
    stats_.bytes_written += r.size;
    Match(c);
  }
  const bool ends_stream =
      IsEof(r.status) || (q.is_read() && r.status == ReadError(ECONNRESET));
  if (ends_stream && !c->lossy_in && c->delivered != c->sent) {
    return Fail(absl::StrCat("#", id, " reported ", r.status.ToString(), " after ", c->delivered,
                             " of the ", c->sent, " bytes the peer sent"));
  }
  const bool resubmit = q.drain && r.status.ok();
  pending_.erase(it);  // releases the buffer: any later use by the watcher is a use-after-free
  if (resubmit && !failed()) SubmitRead(c, Kind::kSwapRead, /*drain=*/true);
}

// Timers and posts: no fd. Timers fire in due order, never early; posts in
// the order posted.
void Run::CheckLoose(const OpResult& r, std::map<uint64_t, std::unique_ptr<Req>>::iterator it) {
  const Req& q = *it->second;
  const uint64_t id = q.id;
  Trace(absl::StrCat("  done #", id, " ", q.kind == Kind::kTimer ? "timer " : "post ",
                     r.status.ToString()));
  const OpType op = q.kind == Kind::kTimer ? OpType::kTimer : OpType::kPost;
  if (r.op != op || r.fd != -1 || r.size != 0 || !r.buffer.empty() || r.is_swap_buffer) {
    return Fail(absl::StrCat("#", id, ": op/fd/size/buffer wrong for a ", op == OpType::kTimer ? "timer" : "post"));
  }
  std::deque<uint64_t>& queue = q.kind == Kind::kTimer ? timers_ : posts_;
  auto pos = std::find(queue.begin(), queue.end(), id);
  if (pos == queue.end()) return Fail(absl::StrCat("#", id, " is not pending"));
  if (absl::IsCancelled(r.status)) {
    if (!q.cancel_ok) return Fail(absl::StrCat("#", id, ": Cancelled without cancel() or close()"));
    ++stats_.cancelled;
  } else if (!r.status.ok() || q.must_cancel) {
    return Fail(absl::StrCat("#", id, ": ", r.status.ToString(),
                             q.must_cancel ? " although cancel() succeeded" : ""));
  } else if (q.kind == Kind::kPost) {
    if (pos != queue.begin()) return Fail(absl::StrCat("post #", id, " ahead of #", queue.front()));
    ++stats_.ok;
  } else {
    if (absl::Now() < q.due) return Fail(absl::StrCat("timer #", id, " fired early"));
    // Any timer still pending that was due well before this one (more than
    // the jitter of submission, 1 ms) should have fired first.
    for (uint64_t other : queue) {
      const Req& o = *pending_[other];
      if (other != id && !o.must_cancel && o.due + absl::Milliseconds(1) < q.due) {
        return Fail(absl::StrCat("timer #", id, " fired before #", other, ", due earlier"));
      }
    }
    ++stats_.ok;
  }
  queue.erase(pos);
  pending_.erase(it);
}

bool Run::CheckStatus(const OpResult& r, const Req& q) {
  const absl::Status& s = r.status;
  Conn* c = q.conn;
  if (q.must_cancel && !absl::IsCancelled(s) &&
      !(q.deadline_may_win && absl::IsDeadlineExceeded(s))) {
    Fail(absl::StrCat("#", q.id, ": ", s.ToString(), " although cancel() succeeded"));
    return false;
  }
  if (q.kind == Kind::kConnect) {
    if (s.ok()) {
      ++stats_.ok;
    } else if (absl::IsCancelled(s) && q.cancel_ok) {
      ++stats_.cancelled;
    } else if (c->reset_possible && ErrnoOf(s) != 0 && absl::StrContains(s.message(), "connect")) {
      // The peer reset the connection before the watcher saw it complete.
      q.conn->connect_failure = s;
      ++stats_.errors;
    } else {
      Fail(absl::StrCat("connect #", q.id, ": ", s.ToString()));
      return false;
    }
    return true;
  }
  if (!c->connect_failure.ok() && s == c->connect_failure) {
    if (r.size != 0) {
      Fail(absl::StrCat("#", q.id, ": progress after a failed connect"));
      return false;
    }
    ++stats_.errors;
    return true;
  }
  if (q.is_readiness()) {
    // No bytes move. OK for wait_readable needs something to read at that
    // moment: bytes the reads completed before it did not take, or the
    // peer's end (or a reset).
    if (r.size != 0) {
      Fail(absl::StrCat("#", q.id, ": a readiness request reported ", r.size, " bytes"));
      return false;
    }
    if (s.ok()) {
      if (q.kind == Kind::kReadable && c->sent == c->delivered &&
          c->peer_state == PeerState::kOpen && !c->reset_possible) {
        Fail(absl::StrCat("#", q.id, ": readable with nothing to read (", c->delivered, " of ",
                          c->sent, " bytes delivered, peer open)"));
        return false;
      }
      ++stats_.ok;
    } else if (absl::IsDeadlineExceeded(s) && q.deadline != absl::InfiniteFuture() &&
               absl::Now() >= q.deadline) {
      ++stats_.deadline;
      if (q.must_cancel) ++stats_.deadline_before_cancel;
    } else if (absl::IsCancelled(s) && q.cancel_ok) {
      ++stats_.cancelled;
    } else {
      Fail(absl::StrCat("#", q.id, " (", q.kind == Kind::kReadable ? "readable" : "writable",
                        "): status not possible: ", s.ToString()));
      return false;
    }
    return true;
  }
  const bool fill = q.kind == Kind::kReadFull || q.is_write();
  const bool swap = q.kind == Kind::kSwapRead;
  // Progress on failure: partial for read_full/write, none for single reads.
  const bool partial_size = fill ? r.size < q.len : r.size == 0;
  auto bad = [&](absl::string_view why) {
    Fail(absl::StrCat("#", q.id, " (c", c->index, ", ", q.is_read() ? "read" : "write", " kind ",
                      static_cast<int>(q.kind), ", len ", q.len, "): ", s.ToString(), " with size ",
                      r.size, ": ", why));
    return false;
  };
  if ((!swap && r.size > q.len) || (swap && r.size > swap_size_)) return bad("size too large");
  if (s.ok()) {
    if (fill ? r.size != q.len : r.size == 0) return bad("OK with the wrong size");
    ++stats_.ok;
  } else if (IsEof(s)) {
    if (!q.is_read()) return bad("EOF on a write");
    if (c->peer_state == PeerState::kOpen) return bad("EOF while the peer can still write");
    if (!partial_size) return bad("wrong size for EOF");
    ++stats_.eof;
  } else if (absl::IsDeadlineExceeded(s)) {
    if (q.deadline == absl::InfiniteFuture()) return bad("no deadline was given");
    if (absl::Now() < q.deadline) return bad("before its deadline");
    if (!partial_size) return bad("wrong size for DeadlineExceeded");
    ++stats_.deadline;
    if (q.must_cancel) ++stats_.deadline_before_cancel;
  } else if (absl::IsCancelled(s)) {
    if (!q.cancel_ok) return bad("Cancelled without free() or close()");
    if (!partial_size) return bad("wrong size for Cancelled");
    ++stats_.cancelled;
  } else if (q.is_read() && s == ReadError(ECONNRESET)) {
    if (!c->reset_possible) return bad("ECONNRESET without a peer reset");
    if (!partial_size) return bad("wrong size for a failed read");
    ++stats_.errors;
  } else if (q.is_write() && (s == WriteError(EPIPE) ||
                              s == WriteError(ECONNRESET))) {
    if (c->peer_state != PeerState::kClosed) return bad("write failed while the peer is open");
    if (!partial_size) return bad("wrong size for a failed write");
    ++stats_.errors;
  } else {
    return bad("status not possible in this state");
  }
  return true;
}

void Run::CheckReadBytes(Conn* c, const char* data, size_t n, const char* what) {
  if (c->delivered + n > c->sent) {
    return Fail(absl::StrCat(what, " on c", c->index, " delivered bytes ", c->delivered, "..",
                             c->delivered + n, " but the peer sent only ", c->sent));
  }
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<uint8_t>(data[i]) != StreamByte(c->in_key, c->delivered + i)) {
      return Fail(absl::StrCat(what, " on c", c->index, ": byte ", c->delivered + i,
                               " of the peer's stream differs"));
    }
  }
  c->delivered += n;
  stats_.bytes_read += n;
}

void Run::Match(Conn* c) {
  size_t pos = 0;
  while (pos < c->unmatched.size() && !c->segments.empty()) {
    Segment& seg = c->segments.front();
    const size_t take = std::min<uint64_t>(seg.left, c->unmatched.size() - pos);
    for (size_t i = 0; i < take; ++i) {
      if (static_cast<uint8_t>(c->unmatched[pos + i]) != StreamByte(seg.key, seg.offset + i)) {
        return Fail(absl::StrCat("peer of c", c->index, " received a wrong byte at offset ",
                                 seg.offset + i, " of write #", seg.key >> 1));
      }
    }
    seg.offset += take;
    seg.left -= take;
    pos += take;
    if (seg.left == 0) c->segments.pop_front();
  }
  c->unmatched.erase(0, pos);
  // What is left can only be progress of writes still pending.
  uint64_t pending_bytes = 0;
  for (uint64_t id : c->writes) pending_bytes += pending_[id]->len;
  if (c->unmatched.size() > pending_bytes) {
    Fail(absl::StrCat("peer of c", c->index, " received ", c->unmatched.size(),
                      " bytes that no write accounts for"));
  }
}

void Run::RetireDone() {
  for (size_t i = 0; i < retired_.size() && !failed();) {
    Conn* c = retired_[i];
    if (c->reads.empty() && c->writes.empty()) {
      Finalize(c);
      retired_.erase(retired_.begin() + static_cast<ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

}  // namespace gaio::model
