// Who polls a shard in threaded mode: the poller thread's body (Run), and,
// with WatcherOptions::poller_takeover, the hand-over of the readiness set
// between the wait_io() caller and the poller thread.
//
// thread_owns_ says who may call poller_->Wait(). The caller owns the set from the
// start and polls it from wait_io() (PollAsCaller). The thread watches: it
// ticks once per takeover_ period, reading atomics only, and takes the set
// when the caller has not finished a poll for whole periods and is not inside
// one (kCallerAway), or for a single poll when a deadline falls due while the
// caller is away (kDeadline), so that deadlines fire on time whoever is
// missing. A caller that finds the thread owning the set and nothing to take
// sets yield_requested_ and waits on the signal; the thread hands the set back
// after its current poll and notifies it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "poller/fd_io.h"
#include "watcher/mutex.h"
#include "watcher/shard.h"

namespace gaio::internal {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kNotSleeping = std::numeric_limits<int64_t>::min();

}  // namespace

void Shard::Run() {
  BlockSigpipeInThisThread();
  if (takeover_ == absl::ZeroDuration()) {
    while (PollOnce(absl::InfiniteDuration())) {
    }
    return;
  }
  int quiet_ticks = 1;
  for (;;) {
    const Watched why = Watch(quiet_ticks);
    if (why == Watched::kStop) return;
    mu_.Lock();  // the thread owns the set: Watch() made it so
    if (why == Watched::kCallerAway) {
      takeovers_.fetch_add(1, std::memory_order_relaxed);
      while (!closed_ && failure_.ok() && !yield_requested_) {
        mu_.Unlock();
        PollOnce(absl::InfiniteDuration());
        mu_.Lock();
      }
    } else {
      // One poll: data that came before the deadline still counts, then
      // ExpireTimers() completes what is due.
      deadline_polls_.fetch_add(1, std::memory_order_relaxed);
      mu_.Unlock();
      PollOnce(absl::ZeroDuration());
      mu_.Lock();
    }
    const bool stop = closed_ || !failure_.ok();
    thread_owns_.store(false, std::memory_order_seq_cst);
    watch_armed_.store(true, std::memory_order_seq_cst);
    quiet_ticks = 1;
    if (yield_requested_) {
      yield_requested_ = false;
      handbacks_.fetch_add(1, std::memory_order_relaxed);
      signal_->Notify();
      // The caller was just woken: give it a period to be scheduled before
      // it counts as away again.
      quiet_ticks = 2;
    }
    mu_.Unlock();
    if (stop) return;  // Impl::Close() notifies the caller after the join
  }
}

Shard::Watched Shard::Watch(int quiet_ticks) {
  const auto next_tick = [this] {
    return std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(takeover_);
  };
  uint64_t seen = caller_polls_.load(std::memory_order_seq_cst);
  auto tick = next_tick();
  int quiet = 0;
  for (;;) {
    bool deadline_due;
    {
      MutexLock lock(&watch_mu_);
      if (!watch_armed_.load(std::memory_order_seq_cst)) {
        // The caller re-arms (and signals) under watch_mu_ after setting the
        // flag, so checking it under watch_mu_ cannot miss that.
        while (!watch_armed_.load(std::memory_order_seq_cst) &&
               !stopping_.load(std::memory_order_seq_cst)) {
          watch_cv_.WaitUntil(&watch_mu_, absl::InfiniteFuture());
        }
        seen = caller_polls_.load(std::memory_order_seq_cst);
        tick = next_tick();
        quiet = 0;
      }
      deadline_due = SleepUntilTick(tick);
    }
    if (stopping_.load(std::memory_order_seq_cst)) return Watched::kStop;
    if (!deadline_due) {
      const uint64_t polls = caller_polls_.load(std::memory_order_seq_cst);
      const bool came_by = polls != seen;
      seen = polls;
      tick = next_tick();
      if (came_by) {
        quiet = 0;
        continue;
      }
      if (caller_polling_.load(std::memory_order_seq_cst)) {
        Disarm(seen);  // idle inside wait_io()
        continue;
      }
      if (++quiet < quiet_ticks) continue;
    }
    // Away, as far as the atomics tell: take the set unless the caller has
    // started a poll meanwhile.
    MutexLock lock(&mu_);
    if (closed_ || !failure_.ok()) return Watched::kStop;
    if (caller_polling_.load(std::memory_order_relaxed) ||
        (!deadline_due && caller_polls_.load(std::memory_order_relaxed) != seen)) {
      quiet = 0;
      continue;
    }
    thread_owns_.store(true, std::memory_order_seq_cst);
    return deadline_due ? Watched::kDeadline : Watched::kCallerAway;
  }
}

bool Shard::SleepUntilTick(std::chrono::steady_clock::time_point tick) {
  bool due = false;
  while (!stopping_.load(std::memory_order_seq_cst)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= tick) break;
    const int64_t now_ns = absl::ToUnixNanos(absl::Now());
    const int64_t to_tick =
        std::chrono::duration_cast<std::chrono::nanoseconds>(tick - now).count();
    const int64_t deadline = earliest_deadline_ns_.load(std::memory_order_seq_cst);
    const bool caller_inside = caller_polling_.load(std::memory_order_seq_cst);
    // A due deadline is the caller's while it is inside a poll (its poll
    // ends with ExpireTimers); ours once it has left.
    if (deadline <= now_ns && !caller_inside) {
      due = true;
      break;
    }
    int64_t wake = now_ns + to_tick;
    if (deadline > now_ns && deadline < wake) wake = deadline;
    watch_wake_ns_.store(wake, std::memory_order_seq_cst);
    // A change that published an earlier deadline before seeing
    // watch_wake_ns_ did not signal: look again (PublishEarliestDeadline).
    if (earliest_deadline_ns_.load(std::memory_order_seq_cst) != deadline) continue;
    watch_cv_.WaitFor(&watch_mu_, absl::Nanoseconds(wake - now_ns));
  }
  watch_wake_ns_.store(kNotSleeping, std::memory_order_seq_cst);
  return due;
}

void Shard::Disarm(uint64_t seen) {
  watch_armed_.store(false, std::memory_order_seq_cst);
  // The caller may have left just before the store and seen the flag set.
  if (caller_polls_.load(std::memory_order_seq_cst) != seen) {
    watch_armed_.store(true, std::memory_order_seq_cst);
  }
}

void Shard::PublishEarliestDeadline() {
  if (takeover_ == absl::ZeroDuration()) return;  // no Watch() to tell
  const int64_t earliest = timers_.empty() ? kNever : absl::ToUnixNanos(timers_.top()->deadline);
  earliest_deadline_ns_.store(earliest, std::memory_order_seq_cst);
  // Watch() sleeps past it: wake it to sleep less. (A new deadline, or the
  // next one after a poll expired the earlier: both can be due before the
  // tick Watch() chose while it left due deadlines to the caller.)
  if (earliest < watch_wake_ns_.load(std::memory_order_seq_cst)) {
    MutexLock lock(&watch_mu_);
    watch_cv_.Signal();
  }
}

void Shard::ReclaimSet() {
  // Lock-free in the common case: the caller owns the set.
  if (!thread_owns_.load(std::memory_order_relaxed)) return;
  MutexLock lock(&mu_);
  if (!thread_owns_.load(std::memory_order_relaxed) || closed_) return;
  // No wake-up here: the caller may find completions and not need the set
  // yet, and a thread asleep in the poller hands it back at its next event.
  // PollAsCaller wakes it when the caller does need the set.
  yield_requested_ = true;
}

Shard::CallerPoll Shard::PollAsCaller(absl::Duration max_wait) {
  {
    MutexLock lock(&mu_);
    if (closed_ || !failure_.ok()) return CallerPoll::kStopped;
    if (thread_owns_.load(std::memory_order_relaxed)) {
      // poll_io() does not wait, so it takes what the thread has and leaves
      // the set with it; a waiting caller asks for it back.
      if (max_wait > absl::ZeroDuration()) {
        yield_requested_ = true;
        // A thread about to sleep sees the request in PollOnce's prologue;
        // one asleep is woken (again, if ReclaimSet asked without waking:
        // Wake() coalesces).
        if (polling_) poller_->Wake().IgnoreError();
      }
      return CallerPoll::kThreadPolls;
    }
    caller_polling_.store(true, std::memory_order_seq_cst);
  }
  const bool ok = PollOnce(max_wait);
  {
    MutexLock lock(&mu_);
    caller_polling_.store(false, std::memory_order_seq_cst);
    caller_polls_.fetch_add(1, std::memory_order_seq_cst);
  }
  if (!watch_armed_.load(std::memory_order_seq_cst) &&
      !watch_armed_.exchange(true, std::memory_order_seq_cst)) {
    MutexLock lock(&watch_mu_);
    watch_cv_.Signal();
  }
  return ok ? CallerPoll::kPolled : CallerPoll::kStopped;
}

}  // namespace gaio::internal
