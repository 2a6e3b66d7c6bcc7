#include "watcher/takeover.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "watcher/clock.h"
#include "watcher/mutex.h"

namespace gaio::internal {

std::atomic<uint64_t> Takeover::next_id_{0};
thread_local uint64_t Takeover::t_caller = 0;

Takeover::Begin Takeover::BeginCallerPoll(bool ask) {
  uint64_t s = state_.load(std::memory_order_seq_cst);
  for (;;) {
    if (s & kThreadOwns) {
      if (!ask || (s & kYield)) return Begin::kThreadPolls;
      if (state_.compare_exchange_weak(s, s | kYield, std::memory_order_seq_cst)) {
        return Begin::kThreadPolls;
      }
    } else if (state_.compare_exchange_weak(s, s | kInside, std::memory_order_seq_cst)) {
      return Begin::kCallerPolls;
    }
  }
}

void Takeover::EndCallerPoll() {
  // Clears kInside (set, so subtracting it clears it) and counts the poll,
  // in one step: a tick sees either the poll in progress or it finished.
  state_.fetch_add(kPollUnit - kInside, std::memory_order_seq_cst);
  if (!armed_.load(std::memory_order_seq_cst) && !armed_.exchange(true, std::memory_order_seq_cst)) {
    MutexLock lock(&watch_mu_);
    watch_cv_.Signal();
  }
}

void Takeover::Reclaim() {
  uint64_t s = state_.load(std::memory_order_seq_cst);
  while ((s & kThreadOwns) && !(s & kYield)) {
    if (state_.compare_exchange_weak(s, s | kYield, std::memory_order_seq_cst)) return;
  }
}

bool Takeover::HandBack() {
  uint64_t s = state_.load(std::memory_order_seq_cst);
  while (!state_.compare_exchange_weak(s, s & ~(kThreadOwns | kYield),
                                       std::memory_order_seq_cst)) {
  }
  armed_.store(true, std::memory_order_seq_cst);
  const bool asked = (s & kYield) != 0;
  quiet_needed_ = asked ? 2 : 1;
  if (asked) handbacks_.fetch_add(1, std::memory_order_relaxed);
  return asked;
}

bool Takeover::TryTakeOver(uint64_t seen, bool any_polls) {
  uint64_t s = state_.load(std::memory_order_seq_cst);
  for (;;) {
    if ((s & kInside) || (!any_polls && Polls(s) != seen)) return false;
    if (state_.compare_exchange_weak(s, s | kThreadOwns, std::memory_order_seq_cst)) return true;
  }
}

Takeover::Watched Takeover::Watch() {
  uint64_t seen = Polls(state_.load(std::memory_order_seq_cst));
  uint64_t work_seen = work_.load(std::memory_order_relaxed);
  MonoTime tick = NextTick();
  int quiet = 0;
  for (;;) {
    bool deadline_due;
    {
      MutexLock lock(&watch_mu_);
      if (!armed_.load(std::memory_order_seq_cst)) {
        // The caller re-arms (and signals) under watch_mu_ after setting the
        // flag, so checking it under watch_mu_ cannot miss that.
        while (!armed_.load(std::memory_order_seq_cst) &&
               !stopping_.load(std::memory_order_seq_cst)) {
          watch_cv_.Wait(&watch_mu_);
        }
        seen = Polls(state_.load(std::memory_order_seq_cst));
        tick = NextTick();
        quiet = 0;
      }
      deadline_due = SleepUntilTick(tick);
    }
    if (stopping_.load(std::memory_order_seq_cst)) return Watched::kStop;
    if (!deadline_due) {
      const uint64_t s = state_.load(std::memory_order_seq_cst);
      const bool came_by = Polls(s) != seen;
      seen = Polls(s);
      tick = NextTick();
      if (came_by) {
        quiet = 0;
        continue;
      }
      if (s & kInside) {
        Disarm(seen);  // idle inside wait_io()
        continue;
      }
      const uint64_t work = work_.load(std::memory_order_relaxed);
      const bool busy = work != work_seen;
      work_seen = work;
      if (++quiet < (busy ? std::max(quiet_needed_, kBusyCallerTicks) : quiet_needed_)) continue;
    }
    if (!TryTakeOver(seen, /*any_polls=*/deadline_due)) {
      quiet = 0;  // the caller started or finished a poll meanwhile
      continue;
    }
    if (deadline_due) {
      deadline_polls_.fetch_add(1, std::memory_order_relaxed);
      return Watched::kDeadline;
    }
    takeovers_.fetch_add(1, std::memory_order_relaxed);
    return Watched::kCallerAway;
  }
}

bool Takeover::SleepUntilTick(MonoTime tick) {
  bool due = false;
  while (!stopping_.load(std::memory_order_seq_cst)) {
    const MonoTime now = MonoNow();
    if (now >= tick) break;
    const MonoTime deadline = earliest_deadline_.load(std::memory_order_seq_cst);
    // A due deadline is the caller's while it is inside a poll (its poll
    // ends by expiring it); ours once it has left.
    if (deadline <= now && !(state_.load(std::memory_order_seq_cst) & kInside)) {
      due = true;
      break;
    }
    const MonoTime wake = deadline > now && deadline < tick ? deadline : tick;
    watch_wake_.store(wake, std::memory_order_seq_cst);
    // A change that published an earlier deadline before seeing watch_wake_
    // did not signal: look again (PublishDeadline).
    if (earliest_deadline_.load(std::memory_order_seq_cst) != deadline) continue;
    watch_cv_.WaitFor(&watch_mu_, MonoUntil(wake, now));
  }
  watch_wake_.store(kNotSleeping, std::memory_order_seq_cst);
  return due;
}

void Takeover::Disarm(uint64_t seen) {
  armed_.store(false, std::memory_order_seq_cst);
  // The caller may have left just before the store and seen the flag set.
  if (Polls(state_.load(std::memory_order_seq_cst)) != seen) {
    armed_.store(true, std::memory_order_seq_cst);
  }
}

void Takeover::PublishDeadline(MonoTime earliest) {
  earliest_deadline_.store(earliest, std::memory_order_seq_cst);
  // The watch sleeps past it: wake it to sleep less. (A new deadline, or the
  // next one after a poll expired the earlier: both can be due before the
  // tick the watch chose while it left due deadlines to the caller.)
  if (earliest < watch_wake_.load(std::memory_order_seq_cst)) {
    MutexLock lock(&watch_mu_);
    watch_cv_.Signal();
  }
}

void Takeover::Stop() {
  stopping_.store(true, std::memory_order_seq_cst);
  MutexLock lock(&watch_mu_);
  watch_cv_.SignalAll();
}

}  // namespace gaio::internal
