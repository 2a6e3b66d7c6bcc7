// Shard: one poller's share of a Watcher. The same code runs in both modes:
// a poller thread calls PollOnce() in a loop (threaded mode), or wait_io()
// calls it in the caller's thread (caller-driven mode, num_pollers = 0).
//
// A Shard owns a Poller, the fds whose number maps to it, their request
// queues, the deadlines of their requests, a swap buffer, and the completions
// not yet taken by wait_io(). One mutex guards all of it, so a read or write
// syscall on an fd is only ever made by the thread holding it: submitting
// threads (try-first), the poller thread, and the consumer (deferred swap
// reads) take turns, and no readiness edge is lost between them.
#ifndef GAIO_WATCHER_SHARD_H_
#define GAIO_WATCHER_SHARD_H_

#include <cstddef>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/poller.h"
#include "watcher/completion_signal.h"
#include "watcher/mutex.h"
#include "watcher/op_result.h"
#include "watcher/request.h"
#include "watcher/swap_buffer.h"

namespace gaio::internal {

struct SubmitArgs {
  OpType op;
  void* ctx;
  int fd;
  char* data;  // nullptr: swap-buffer read
  size_t len;
  bool fill;  // read_full / write
  absl::Time deadline;
};

class Shard {
 public:
  // Completions and events the vectors hold before they first grow.
  static constexpr size_t kInitialBatch = 64;

  // `stride` is the number of shards (fd -> shard is fd % stride). `signal`
  // is the Watcher's consumer signal in threaded mode, nullptr in
  // caller-driven mode (then a completion wakes this shard's own poller).
  // `busy_poll`: see WatcherOptions::busy_poll. `takeover` (threaded mode
  // only): WatcherOptions::poller_takeover; zero when the poller thread
  // always polls.
  static absl::StatusOr<std::unique_ptr<Shard>> Create(size_t stride, size_t swap_buffer_size,
                                                       absl::Duration busy_poll,
                                                       absl::Duration takeover,
                                                       CompletionSignal* signal);
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();

  // Registers args.fd on first use, queues the request and tries it at once
  // when nothing of its kind is queued before it. OK means the request will
  // complete exactly once.
  absl::Status Submit(const SubmitArgs& args) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels fd's requests, deregisters and closes it. NotFound if not ours.
  absl::Status Free(int fd) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels every request, closes every fd, refuses further submissions and
  // makes PollOnce() return false. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // Waits up to `max_wait` (less if a deadline is nearer) for readiness, then
  // performs the ready I/O and expires due deadlines. Returns false once the
  // shard is closed or its poller failed (see failure()).
  bool PollOnce(absl::Duration max_wait) ABSL_LOCKS_EXCLUDED(mu_);

  // Poller-thread body. Without takeover: PollOnce() until it returns false.
  // With takeover: watches the caller, polls while the caller is away (see
  // WatcherOptions::poller_takeover), and hands the set back on request.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  // Threaded mode with takeover, called by wait_io(): polls as PollOnce()
  // when the caller owns the readiness set (kPolled). When the poller thread
  // owns it, asks the thread to hand it back and returns kThreadPolls; the
  // thread then notifies the signal. kStopped: closed or failed.
  enum class CallerPoll { kPolled, kThreadPolls, kStopped };
  CallerPoll PollAsCaller(absl::Duration max_wait) ABSL_LOCKS_EXCLUDED(mu_);

  // Threaded mode with takeover, called when wait_io() starts: if the
  // poller thread took the set over while the caller was away, asks for it
  // back (the thread hands it over after its current poll, without being
  // woken for it), even though the caller may find completions and not poll
  // this time. Without this a
  // caller that always finds completions would leave the set with the
  // thread for good, and every completion would be handed over again.
  void ReclaimSet() ABSL_LOCKS_EXCLUDED(mu_);

  // Appends every pending completion to `*out` (consumer only), hands the
  // filled swap half over with them, and retries swap reads that were
  // waiting for space. Returns the number appended.
  size_t TakeCompletions(std::vector<OpResult>* out) ABSL_LOCKS_EXCLUDED(mu_);

  // The error that stopped the poller, or OK.
  absl::Status failure() const ABSL_LOCKS_EXCLUDED(mu_);

  // Takeover counters (WatcherStats).
  uint64_t takeovers() const { return takeovers_.load(std::memory_order_relaxed); }
  uint64_t handbacks() const { return handbacks_.load(std::memory_order_relaxed); }
  uint64_t deadline_polls() const { return deadline_polls_.load(std::memory_order_relaxed); }

  bool OwnsFd(int fd) const { return poller_->OwnsFd(fd); }
  absl::Status Wake() { return poller_->Wake(); }

 private:
  struct FdState {
    int fd = -1;
    bool active = false;
    bool is_socket = false;
    bool is_stream = false;  // see FdInfo::is_stream
    // Readiness as far as we know: set by a readiness edge (and at
    // registration), cleared when a syscall finds the fd drained or full.
    // A request is only attempted while its direction is ready, which saves
    // the syscall that would return EAGAIN.
    bool readable = true;
    bool writable = true;
    // The poller reported a hang-up or error: EOF (or an error) is pending
    // behind any data, with no further edge to come, so a short read no
    // longer means "drained".
    bool hangup = false;
    // A socket error the poller took from the fd to report an event
    // (PollEvent::error), 0 if none. The kernel no longer reports it: the
    // syscall it was due at returns EOF (a read) or EPIPE (a write) instead.
    // That completion reports this errno in their place (TakenErrorWasDue
    // tells which one it is), once. The next read's EOF clears it anyway.
    int taken_error = 0;
    bool deferred = false;  // listed in deferred_
    RequestQueue reads;
    RequestQueue writes;
  };
  enum class Attempt { kDone, kWouldBlock, kNoSwapSpace };

  Shard(std::unique_ptr<Poller> poller, size_t stride, size_t swap_buffer_size,
        absl::Duration busy_poll, absl::Duration takeover, CompletionSignal* signal);
  // Polls without blocking until an event or a wake-up arrives, a completion
  // is pending (when `for_caller`), or `limit` passes. True when something
  // arrived (events, if any, are in events_).
  bool Spin(absl::Duration limit, bool for_caller) ABSL_LOCKS_EXCLUDED(mu_);
  // Poller thread with takeover (shard_takeover.cc): sleeps until the caller
  // has stayed away for `quiet_ticks` whole takeover_ periods (kCallerAway),
  // or a deadline falls due while it is away (kDeadline); then makes the
  // thread the owner. kStop once closed or failed. Ticks without touching
  // mu_, which the caller holds while it does I/O.
  enum class Watched { kStop, kCallerAway, kDeadline };
  Watched Watch(int quiet_ticks) ABSL_LOCKS_EXCLUDED(mu_, watch_mu_);
  // Sleeps on watch_cv_ until the tick, a deadline that Watch() must act on
  // (true), or stopping_.
  bool SleepUntilTick(std::chrono::steady_clock::time_point tick)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(watch_mu_);
  // Stops the ticks while the caller idles inside wait_io(); it re-arms them
  // when it leaves. `seen`: caller_polls_ at the tick.
  void Disarm(uint64_t seen);
  // With takeover: keeps earliest_deadline_ns_ current after timers_
  // changed, and wakes Watch() when that deadline is earlier than its
  // wake-up. Without: nothing.
  void PublishEarliestDeadline() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FdState* Lookup(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<FdState*> Register(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void ProcessReads(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProcessWrites(FdState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TryRead(FdState* s, Request* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Attempt TryWrite(FdState* s, Request* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RetryDeferred() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireTimers(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Removes r from its queue and the timer heap, records its OpResult and
  // recycles it. `swap_bytes` is the data of a swap read that returned bytes.
  void Complete(FdState* s, Request* r, const absl::Status& status,
                absl::Span<char> swap_bytes = {}) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<Poller> poller_;
  const size_t stride_;
  const absl::Duration busy_poll_;
  const absl::Duration takeover_;   // zero: the poller thread always polls
  CompletionSignal* const signal_;  // nullptr in caller-driven mode
  // Mirrors !completions_.empty() for lock-free checks while spinning.
  std::atomic<bool> has_completions_{false};

  mutable Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // Set while a thread sleeps in poller_->Wait(); a submission whose deadline
  // is earlier than sleeping_until_ wakes it.
  bool polling_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time sleeping_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  // Takeover state (threaded mode, takeover_ > 0). Whoever owns the set
  // alone calls poller_->Wait(). The caller owns it from the start; the
  // thread takes it in Watch() and hands it back when the caller asks
  // (yield_requested_). Written only under mu_, so decisions made under mu_
  // see them settled; atomic because Watch() and ReclaimSet() also read
  // them without mu_ (Watch() re-checks under mu_ before it acts).
  std::atomic<bool> thread_owns_;              // else the caller owns the set
  std::atomic<bool> caller_polling_{false};    // inside PollAsCaller's poll
  std::atomic<uint64_t> caller_polls_{0};      // polls the caller finished
  bool yield_requested_ ABSL_GUARDED_BY(mu_) = false;
  // Watch() ticks while armed; it disarms when the caller sat inside
  // wait_io() for a whole period, and the caller re-arms it on leaving.
  std::atomic<bool> watch_armed_{true};
  std::atomic<bool> stopping_{false};  // closed_, for Watch()
  // The earliest deadline in timers_ (Unix ns; max when none), and when
  // Watch() will next wake (min when it is not sleeping on a tick).
  std::atomic<int64_t> earliest_deadline_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> watch_wake_ns_{std::numeric_limits<int64_t>::min()};
  Mutex watch_mu_;  // Watch()'s sleep and its wake-ups
  CondVar watch_cv_;
  std::atomic<uint64_t> takeovers_{0};
  std::atomic<uint64_t> handbacks_{0};
  std::atomic<uint64_t> deadline_polls_{0};

  // fd / stride -> state; slots are kept and reused when fd numbers recur.
  std::vector<std::unique_ptr<FdState>> fds_ ABSL_GUARDED_BY(mu_);
  RequestPool pool_ ABSL_GUARDED_BY(mu_);
  TimerHeap timers_ ABSL_GUARDED_BY(mu_);
  SwapBuffer swap_ ABSL_GUARDED_BY(mu_);
  std::vector<OpResult> completions_ ABSL_GUARDED_BY(mu_);
  std::vector<int> deferred_ ABSL_GUARDED_BY(mu_);  // fds waiting for swap space
  std::vector<int> deferred_scratch_ ABSL_GUARDED_BY(mu_);

  std::vector<PollEvent> events_;  // used only by the thread inside PollOnce
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_SHARD_H_
