// Takeover: who polls a shard's readiness set in threaded mode with one
// poller and WatcherOptions::poller_takeover > 0 — the wait_io() caller or
// the poller thread. The whole protocol is here; Shard only calls it.
//
// State, one atomic word (state_):
//   thread_owns  the poller thread owns the set; else the caller does.
//   inside       the caller is inside a poll (BeginCallerPoll .. EndCallerPoll).
//   yield        the caller asked the thread to hand the set back.
//   polls        how many polls the caller has finished (a generation).
// Only the owner calls Poller::Wait().
//
// Transitions:
//   caller -> thread  TakeOver, in Watch(): the caller finished no poll for
//                     `quiet` whole periods (1, or 2 right after a
//                     hand-back) and is not inside one (kCallerAway); or a
//                     deadline fell due and the caller is not inside a poll
//                     (kDeadline, for one poll). A compare-and-swap on the
//                     whole word, so a poll the caller started or finished
//                     meanwhile makes it fail.
//   thread -> caller  HandBack, by the thread: after its poll once yield is
//                     set (kCallerAway), or after its one poll (kDeadline).
//   yield             set by the caller only while the thread owns the set
//                     (Reclaim: no wake-up; BeginCallerPoll(ask): the caller
//                     then wakes the poller and waits to be notified);
//                     cleared by HandBack.
//   inside            set by the caller only while it owns the set.
// Invariants: thread_owns implies !inside; yield implies thread_owns.
//
// The watch (Watch, the thread's side while the caller owns the set): the
// thread sleeps until the next tick (one period), the earliest deadline
// (PublishDeadline), or Stop(). It ticks only while armed: it disarms itself
// when a tick finds the caller inside a poll it was already in at the
// previous tick (idle inside wait_io()), and EndCallerPoll re-arms it. Ticks
// read atomics only. Times are on the monotonic clock. A caller that has
// not polled but has submitted requests from its own thread since the last
// tick is busy with I/O (a large batch to handle), not away: it gets up to
// kBusyCallerTicks before a takeover.
//
// Period absl::InfiniteDuration(): the thread never takes the set over for
// the caller's absence; it still polls once for each deadline that falls due
// while the caller is away.
#ifndef GAIO_WATCHER_TAKEOVER_H_
#define GAIO_WATCHER_TAKEOVER_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "watcher/clock.h"
#include "watcher/mutex.h"

namespace gaio::internal {

class Takeover {
 public:
  explicit Takeover(absl::Duration period) : period_(period) {}
  Takeover(const Takeover&) = delete;
  Takeover& operator=(const Takeover&) = delete;

  // ---- The wait_io() caller.
  enum class Begin { kCallerPolls, kThreadPolls };
  // kCallerPolls: the caller owns the set and is now inside a poll; it calls
  // EndCallerPoll() after. kThreadPolls: the thread owns it; with `ask`,
  // yield is now set, and the caller must wake the poller and wait for the
  // notification that follows HandBack().
  Begin BeginCallerPoll(bool ask);
  void EndCallerPoll();
  // When the thread owns the set, asks for it back without waking anyone:
  // the thread hands it over after its current poll.
  void Reclaim();
  // The wait_io() thread submitted a request: it is busy with I/O of its
  // own (each submission tries its syscall at once), not away. Called by
  // that thread only, so a plain increment suffices. IsCaller() tells
  // whether the calling thread is the last one to call wait_io().
  void NoteCallerWork() { work_.store(work_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  // (Known by a number no other Takeover of the process ever had, not by
  // address: a new Watcher may be built where a dead one was.)
  bool IsCaller() const { return t_caller == id_; }
  void MarkCaller() { t_caller = id_; }

  // ---- The poller thread.
  enum class Watched { kStop, kCallerAway, kDeadline };
  // Sleeps while the caller owns the set; returns once the thread has taken
  // it over (kCallerAway, kDeadline) or on Stop() (kStop).
  Watched Watch();
  bool yield_requested() const { return (state_.load(std::memory_order_seq_cst) & kYield) != 0; }
  // Gives the set back to the caller. True when the caller had asked for it:
  // the shard then notifies it.
  bool HandBack();

  // ---- Either side.
  // The earliest deadline of the shard's requests (kMonoNever: none). Wakes
  // the watch when it sleeps past it.
  void PublishDeadline(MonoTime earliest);
  // Makes Watch() return kStop, now and from then on.
  void Stop();
  bool thread_owns() const { return (state_.load(std::memory_order_seq_cst) & kThreadOwns) != 0; }

  uint64_t takeovers() const { return takeovers_.load(std::memory_order_relaxed); }
  uint64_t handbacks() const { return handbacks_.load(std::memory_order_relaxed); }
  uint64_t deadline_polls() const { return deadline_polls_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kThreadOwns = 1;
  static constexpr uint64_t kInside = 2;
  static constexpr uint64_t kYield = 4;
  static constexpr uint64_t kPollUnit = 8;  // polls live in the bits above
  static uint64_t Polls(uint64_t state) { return state / kPollUnit; }

  // Takes the set if the caller is not inside a poll and, unless
  // `any_polls`, has finished no poll since `seen`.
  bool TryTakeOver(uint64_t seen, bool any_polls);
  // Sleeps until `tick`, a deadline that is ours to fire (true), or Stop().
  bool SleepUntilTick(MonoTime tick) ABSL_EXCLUSIVE_LOCKS_REQUIRED(watch_mu_);
  void Disarm(uint64_t seen);
  MonoTime NextTick() const { return MonoAfter(MonoNow(), period_); }

  const absl::Duration period_;
  std::atomic<uint64_t> state_{0};
  std::atomic<bool> armed_{true};
  std::atomic<bool> stopping_{false};
  // Ticks without a caller poll needed before a takeover (1; 2 right after
  // a hand-back, so that the woken caller gets a period to be scheduled).
  // The thread's own variable.
  int quiet_needed_ = 1;
  // A caller that keeps submitting (a long batch of completions to handle)
  // is given up to this many ticks before a takeover.
  static constexpr int kBusyCallerTicks = 4;
  std::atomic<uint64_t> work_{0};  // NoteCallerWork() calls
  static std::atomic<uint64_t> next_id_;
  const uint64_t id_ = next_id_.fetch_add(1, std::memory_order_relaxed) + 1;  // never 0
  static thread_local uint64_t t_caller;                                      // 0: none
  std::atomic<MonoTime> earliest_deadline_{kMonoNever};
  // When Watch() will next wake; kNotSleeping while it is not asleep.
  static constexpr MonoTime kNotSleeping = -1;
  std::atomic<MonoTime> watch_wake_{kNotSleeping};
  Mutex watch_mu_;
  CondVar watch_cv_;
  std::atomic<uint64_t> takeovers_{0};
  std::atomic<uint64_t> handbacks_{0};
  std::atomic<uint64_t> deadline_polls_{0};
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_TAKEOVER_H_
