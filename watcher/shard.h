// Shard: one poller's share of a Watcher. The same code runs in every mode:
// a poller thread calls PollOnce() in a loop (threaded mode), wait_io() calls
// it in the caller's thread (caller-driven mode), or both take turns
// (threaded mode with takeover; the protocol is Takeover's, takeover.h).
//
// A Shard owns a Poller, the fds whose number maps to it, their request
// queues, the deadlines of their requests, a swap buffer, the line of fds
// waiting for swap space, and the completions not yet taken by wait_io().
//
// Locking. mu_ guards the I/O state (fds, requests, timers, swap buffer,
// completions, the line): a read or write syscall on an fd is only ever made
// by the thread holding it, so submitting threads (try-first), the polling
// thread and the consumer (swap retries) take turns and no readiness edge is
// lost between them. Poller::Wait() runs without mu_, by one thread at a time:
// whoever owns the readiness set (the caller, the thread, or, with takeover,
// as Takeover decides). The atomics below mu_'s fields are lock-free mirrors
// for checks made without it; each says what it mirrors.
#ifndef GAIO_WATCHER_SHARD_H_
#define GAIO_WATCHER_SHARD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/fd_io.h"
#include "poller/poller.h"
#include "watcher/clock.h"
#include "watcher/completion_signal.h"
#include "watcher/datagram_storage.h"
#include "watcher/fd_table.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/stats.h"
#include "watcher/request.h"
#include "watcher/swap_buffer.h"
#include "watcher/takeover.h"

namespace gaio::internal {

// Releases what a completion that will never be delivered owns: an
// accept's connection (accepted_fd) is closed.
void DropCompletion(const OpResult& r);

// A read, write, writev or accept (Shard::Submit).
struct SubmitArgs {
  OpType op = OpType::kRead;
  void* ctx = nullptr;
  int fd = -1;
  char* data = nullptr;  // nullptr: swap-buffer read; writev: a WriteVector
  size_t len = 0;        // bytes (writev: all of them)
  bool fill = false;     // read_full / write: complete only when len bytes moved
  bool vectored = false;  // data is a WriteVector (write_vector.h)
  // A write of bytes in a swap buffer of this Watcher (Watcher::Impl tells):
  // what is not written in the submitting call is copied (KeptBytes).
  bool from_swap = false;
  bool want_peer = false;         // recv_from (datagram fds only)
  const sockaddr* to = nullptr;   // send_to (datagram fds only)
  socklen_t to_len = 0;
  MonoTime deadline = kMonoNever;
};

// What a completion carries besides its status (Shard::Complete).
struct CompletionExtra {
  absl::Span<char> swap_bytes = {};  // a swap read's data
  int accepted_fd = -1;
  const sockaddr* peer = nullptr;  // recv_from
  socklen_t peer_len = 0;
};

struct ShardOptions {
  // Number of shards of the Watcher: fd -> shard is fd % stride.
  size_t stride = 1;
  size_t swap_buffer_size = size_t{64} * 1024;
  absl::Duration busy_poll = absl::ZeroDuration();
  // Threaded mode: the Watcher's consumer signal, which completions notify.
  // nullptr in caller-driven mode (a completion then wakes this shard's own
  // poller, which the consumer polls).
  CompletionSignal* signal = nullptr;
  // Threaded mode with one poller: WatcherOptions::poller_takeover. Zero:
  // the poller thread always polls.
  absl::Duration takeover = absl::ZeroDuration();
};

class Shard {
 public:
  // Completions and events the vectors hold before they first grow.
  static constexpr size_t kInitialBatch = 64;

  static absl::StatusOr<std::unique_ptr<Shard>> Create(const ShardOptions& options);
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();

  // Registers args.fd on first use, queues the request and tries it at once
  // when nothing of its kind is queued before it. OK means the request will
  // complete exactly once.
  absl::Status Submit(const SubmitArgs& args) ABSL_LOCKS_EXCLUDED(mu_);

  // Registers fd on first use and starts a non-blocking connect to `addr`;
  // the request completes when it is connected or failed. FailedPrecondition
  // if fd has requests pending.
  absl::Status Connect(void* ctx, int fd, const void* addr, unsigned addr_len,
                       MonoTime deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // A timer (no fd) that completes with OK at `deadline` (shard 0 holds
  // every timer of a Watcher, so that they complete in due order).
  absl::Status After(void* ctx, MonoTime deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // A completion of its own (kPost), at once; wakes the consumer.
  absl::Status Post(void* ctx) ABSL_LOCKS_EXCLUDED(mu_);

  // Completes fd's pending requests submitted with ctx (fd -1: the pending
  // timers with ctx) with Cancelled, reads then writes, each in order.
  // NotFound when none matched (or fd is not ours).
  absl::Status Cancel(int fd, void* ctx) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels fd's requests, deregisters it and gives it back open with its
  // O_NONBLOCK flag as it was (release) or closes it (free). NotFound if
  // not ours.
  absl::Status Free(int fd) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Release(int fd) ABSL_LOCKS_EXCLUDED(mu_);

  // Bytes of fd's queued writes not yet written; 0 if fd is not ours.
  size_t PendingWriteBytes(int fd) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels every request, closes every fd, refuses further submissions and
  // makes PollOnce() return false. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // Waits up to `max_wait` (less if a deadline is nearer) for readiness, then
  // performs the ready I/O and expires due deadlines. `for_consumer`: the
  // calling thread is the one that takes the completions (caller-driven mode,
  // or the caller polling with takeover), so a completion made meanwhile by
  // another thread must end the wait. Returns false once the shard is closed
  // or its poller failed (see failure()); a poller failure completes every
  // pending request with that failure.
  bool PollOnce(absl::Duration max_wait, bool for_consumer) ABSL_LOCKS_EXCLUDED(mu_);

  // Poller-thread body (threaded mode). Without takeover: PollOnce() until it
  // returns false. With takeover: Takeover::Watch(), polls while it owns the
  // set, hands it back.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  // Threaded mode with takeover, called by wait_io(). kPolled: polled as
  // PollOnce(max_wait, true). kThreadPolls: the poller thread owns the set;
  // when max_wait > 0 it has been asked for it back and will notify the
  // signal. kStopped: closed or failed.
  enum class CallerPoll { kPolled, kThreadPolls, kStopped };
  CallerPoll PollAsCaller(absl::Duration max_wait) ABSL_LOCKS_EXCLUDED(mu_);
  // Threaded mode with takeover, when wait_io() starts: the calling thread
  // is the caller (Takeover::MarkCaller), and with `ask` (a wait_io() that
  // may wait, not poll_io()) Takeover::Reclaim().
  void ReclaimSet(bool ask) {
    if (!takeover_) return;
    takeover_->MarkCaller();
    if (ask) takeover_->Reclaim();
  }

  // Appends every pending completion to `*out` (consumer only), hands the
  // filled swap half over with them, and serves the line of swap reads
  // waiting for space. Returns the number appended. Lock-free when there is
  // nothing to take.
  size_t TakeCompletions(std::vector<OpResult>* out) ABSL_LOCKS_EXCLUDED(mu_);

  // The error that stopped the poller, or OK.
  absl::Status failure() const ABSL_LOCKS_EXCLUDED(mu_);

  // Another shard's poller failed with `status`: fail this one the same way
  // (its pending requests complete with `status`, submissions are refused,
  // its poller stops). Nothing if closed or failed already.
  void FailWith(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

  // Takeover counters (WatcherStats); zero without takeover.
  uint64_t takeovers() const { return takeover_ ? takeover_->takeovers() : 0; }
  uint64_t handbacks() const { return takeover_ ? takeover_->handbacks() : 0; }
  uint64_t deadline_polls() const { return takeover_ ? takeover_->deadline_polls() : 0; }

  // Adds this shard's datagram counters to `*stats`.
  void AddDatagramStats(WatcherStats* stats) const ABSL_LOCKS_EXCLUDED(mu_);

  // The Poller's own fds (which no request may name).
  std::vector<int> PollerFds() const { return poller_->OwnFds(); }

  // Whether [p, p + n) lies in this shard's swap buffer. Any thread.
  bool SwapContains(const char* p, size_t n) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return swap_.Contains(p, n);
  }

 private:
  // What ServeReads left an fd waiting for.
  enum class Pending { kNothing, kSwapSpace, kTurn };
  // kHeld: a request failed for lack of a resource (an accept at the fd
  // limit); the fd stays ready but its other requests wait for the next
  // edge or submission.
  enum class Attempt { kDone, kWouldBlock, kNoSwapSpace, kNoTurn, kHeld };

  Shard(std::unique_ptr<Poller> poller, const ShardOptions& options);
  // Polls without blocking until an event or a wake-up arrives, a completion
  // is pending (when `for_consumer`), or `limit` passes. True when something
  // arrived (events, if any, are in events_).
  bool Spin(absl::Duration limit, bool for_consumer) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs the I/O of the events in events_ and expires due deadlines.
  void Dispatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The poller failed with `status`: every pending request completes with it,
  // submissions are refused from now on.
  void Fail(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps the takeover's copy of the earliest deadline current.
  void PublishEarliestDeadline() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (takeover_) takeover_->PublishDeadline(timers_.earliest());
  }

  FdState* Lookup(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<FdState*> Register(int fd, const FdInfo& info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends requests of `s` with `status` in the contract's order. The one
  // place that ends several requests of an fd at once: free, release,
  // close, cancel, a poller failure, and a connect that failed, timed out
  // or was cancelled all come through here.
  //  1. A connect under way, if selected, completes first, and then every
  //     request queued behind it ends with it, selected or not: they cannot
  //     run on a socket that did not connect.
  //  2. Then the selected reads (and accepts), in submission order.
  //  3. Then the selected writes, in submission order.
  // kAll selects every request, kCtx those submitted with `ctx`. An fd left
  // with no read leaves the line. Returns how many requests ended.
  enum class Select { kAll, kCtx };
  size_t EndRequests(FdState* s, const absl::Status& status, Select select, void* ctx = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cancels fd's requests and deregisters it; then closes it or, with
  // `keep_open`, restores its O_NONBLOCK flag.
  void Detach(FdState* s, bool keep_open) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Shared by Submit and Connect: the state of fd, registered if need be,
  // and a new request record for it. Locked, not closed or failed.
  // `args` (when given) is checked against the fd's kind before anything is
  // registered.
  absl::StatusOr<FdState*> Prepare(int fd, const SubmitArgs* args = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Accepting() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues request `id` (with its deadline) for `s` (nullptr: a timer).
  void Enqueue(FdState* s, RequestId id, MonoTime deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A connect ended (OK, an error, its deadline, cancelled): complete it,
  // and on failure every request queued behind it with the same status
  // (EndRequests).
  void FinishConnect(FdState* s, RequestId id, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TryConnect(FdState* s, RequestId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Write request `r` of `s` moved `n` more bytes (r.done += n), keeping
  // unwritten_ exact.
  void Advance(FdState* s, Request& r, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes `n` bytes off fd's count in unwritten_.
  void Uncount(int fd, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies the unsent rest of a pending write out of the swap buffer.
  void KeepUnsent(FdState* s, RequestId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TryAccept(FdState* s, RequestId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records an OpResult (and tells the consumer when it is the first).
  void Deliver(OpResult result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Completes every request left in the timer heap (timers) with `status`.
  void CompleteTimers(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The message-socket half of TryRead/TryWrite (shard_datagram.cc).
  Attempt TryReceive(FdState* s, RequestId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Several own-buffer receives queued at the head: one recvmmsg for them.
  // kDone when it served any (the rest are tried again), else as TryReceive.
  Attempt TryReceiveBatch(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TrySendBatch(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK, DataLoss (truncated) or EOF (a sequenced-packet peer's end) for a
  // message just received.
  absl::Status DatagramStatus(const FdState* s, const DatagramSlot& slot) const;
  // Refuses what a message socket (or a byte stream) cannot do.
  static absl::Status CheckKind(const SubmitArgs& args, bool datagram);
  // The queue a request of kind `op` waits in: reads, accepts and
  // wait_readable in reads; writes, connects and wait_writable in writes.
  static bool InReads(OpType op) {
    return op == OpType::kRead || op == OpType::kAccept || op == OpType::kReadable;
  }
  static RequestQueue* QueueOf(FdState* s, OpType op) {
    return InReads(op) ? &s->reads : &s->writes;
  }

  // Runs fd's queued reads while it is readable, and puts it in the line
  // (at the back) when a swap read must wait for space or for its turn.
  void ServeReads(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Pending ProcessReads(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProcessWrites(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TryRead(FdState* s, RequestId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TryWrite(FdState* s, RequestId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One pass over the line: each fd in it gets one turn, in order.
  void ServeLine() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireTimers(MonoTime now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Removes request `id` from its queue and the timer heap, records its
  // OpResult and recycles it. `swap_bytes` is the data of a swap read that
  // returned bytes.
  // Where a request's bytes are: its data, or its send target's (send_to).
  static char*& BytesOf(Request& r) {
    return r.addressed ? reinterpret_cast<SendTarget*>(r.data)->data : r.data;
  }
  using Extra = CompletionExtra;
  void Complete(FdState* s, RequestId id, const absl::Status& status, const Extra& extra = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint32_t SlotOf(int fd) const { return static_cast<uint32_t>(static_cast<size_t>(fd) / stride_); }
  uint8_t Turn() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return static_cast<uint8_t>(batch_); }

  const std::unique_ptr<Poller> poller_;
  const size_t stride_;
  const absl::Duration busy_poll_;
  CompletionSignal* const signal_;  // nullptr in caller-driven mode
  // Threaded mode with one poller and poller_takeover > 0; else nullptr.
  const std::unique_ptr<Takeover> takeover_;
  // Lock-free mirrors: !completions_.empty() (checked while spinning and by
  // TakeCompletions) and !line_.empty() (TakeCompletions).
  std::atomic<bool> has_completions_{false};
  std::atomic<bool> has_line_{false};

  mutable Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // Set while a thread sleeps in poller_->Wait(): until when, and whether it
  // is the consumer (whom a new completion must wake). A submission whose
  // deadline is earlier than sleeping_until_ wakes it.
  bool polling_ ABSL_GUARDED_BY(mu_) = false;
  bool polling_for_consumer_ ABSL_GUARDED_BY(mu_) = false;
  MonoTime sleeping_until_ ABSL_GUARDED_BY(mu_) = 0;

  FdTable fds_ ABSL_GUARDED_BY(mu_);
  RequestPool pool_ ABSL_GUARDED_BY(mu_);
  TimerHeap timers_ ABSL_GUARDED_BY(mu_){&pool_};
  SwapBuffer swap_ ABSL_GUARDED_BY(mu_);
  PeerArena peers_ ABSL_GUARDED_BY(mu_);       // recv_from addresses, flipped with swap_
  SendTargets send_targets_ ABSL_GUARDED_BY(mu_);
  // Message sockets: receive and send syscalls made, datagrams moved
  // (WatcherStats).
  uint64_t datagram_receive_calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t datagrams_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t datagram_send_calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t datagrams_sent_ ABSL_GUARDED_BY(mu_) = 0;
  // Batches taken so far: a swap read's turn (FdState::swap_turn).
  uint32_t batch_ ABSL_GUARDED_BY(mu_) = 0;
  FdLine line_ ABSL_GUARDED_BY(mu_){&fds_};  // fds whose swap read waits
  std::vector<OpResult> completions_ ABSL_GUARDED_BY(mu_);
  // The pending timers by ctx (linked through their Request's prev/next),
  // so that cancel(-1, ctx) costs what it cancels.
  absl::flat_hash_map<void*, RequestQueue> timers_by_ctx_ ABSL_GUARDED_BY(mu_);
  // fd -> bytes not yet written of its counted writes (Request::counted),
  // so that PendingWriteBytes is O(1). A write that completes in its
  // submitting call is never counted: the common case costs no map update.
  absl::flat_hash_map<int, size_t> unwritten_ ABSL_GUARDED_BY(mu_);
  // fd -> the status its connect failed with. Every request submitted on fd
  // afterwards (until free/release or a new connect) completes with it: the socket is of no
  // use, and a request submitted before the caller saw the failure must not
  // behave differently from one queued behind the connect.
  absl::flat_hash_map<int, absl::Status> connect_failures_ ABSL_GUARDED_BY(mu_);

  std::vector<PollEvent> events_;  // used only by the thread inside PollOnce
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_SHARD_H_
