// Polling a shard: one poll (PollOnce), the poller thread's body (Run), and
// the wait_io() caller's poll with takeover (PollAsCaller).
#include <algorithm>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "poller/fd_io.h"
#include "poller/poller.h"
#include "watcher/clock.h"
#include "watcher/mutex.h"
#include "watcher/shard.h"
#include "watcher/takeover.h"

namespace gaio::internal {

bool Shard::PollOnce(absl::Duration max_wait, bool for_consumer) {
  MonoTime until = DeadlineIn(max_wait);
  {
    MutexLock lock(&mu_);
    if (closed_ || !failure_.ok()) return false;
    // Completions already waiting for the consumer, or a caller waiting for
    // the set (a request that may have come just after Run() looked).
    if ((for_consumer && !completions_.empty()) || (takeover_ && takeover_->yield_requested())) {
      until = kMonoPast;
    }
    until = std::min(until, timers_.earliest());
    polling_ = true;
    polling_for_consumer_ = for_consumer;
    sleeping_until_ = until;
  }
  const absl::Duration wait = TimeLeft(until);
  absl::Status status;
  if (busy_poll_ > absl::ZeroDuration() && wait > absl::ZeroDuration()) {
    // Spin first; sleep only if nothing came within the window.
    const absl::Duration spin = std::min(busy_poll_, wait);
    if (!Spin(spin, for_consumer)) status = poller_->Wait(TimeLeft(until), &events_);
  } else {
    status = poller_->Wait(wait, &events_);
  }
  MutexLock lock(&mu_);
  polling_ = false;
  if (!status.ok()) {
    Fail(status);
    return false;
  }
  Dispatch();
  return !closed_;
}

void Shard::Dispatch() {
  for (const PollEvent& ev : events_) {
    FdState* s = Lookup(ev.fd);
    if (s == nullptr) continue;  // freed since the poller reported it
    if (ev.flags & (kPollHangup | kPollError)) s->hangup = true;
    if (ev.flags & kPollUrgent) s->urgent = true;
    if (ev.flags & kPollReadable) {
      s->readable = true;
      ServeReads(s);
    }
    if (ev.flags & kPollWritable) {
      s->writable = true;
      ProcessWrites(s);
    }
  }
  if (!timers_.empty()) ExpireTimers(MonoNow());
}

bool Shard::Spin(absl::Duration limit, bool for_consumer) {
  const MonoTime until = MonoAfter(MonoNow(), limit);
  do {
    bool woken = false;
    // An error here comes back from the blocking Wait that follows.
    if (!poller_->Wait(absl::ZeroDuration(), &events_, &woken).ok()) return false;
    if (!events_.empty() || woken) return true;
    if (for_consumer && has_completions_.load(std::memory_order_acquire)) return true;
  } while (MonoNow() < until);
  return false;
}

void Shard::Run() {
  BlockSigpipeInThisThread();
  if (!takeover_) {
    while (PollOnce(absl::InfiniteDuration(), /*for_consumer=*/false)) {
    }
    return;
  }
  for (;;) {
    const Takeover::Watched why = takeover_->Watch();
    if (why == Takeover::Watched::kStop) return;
    // The thread owns the set now (Takeover::Watch made it so).
    bool running = true;
    if (why == Takeover::Watched::kCallerAway) {
      while (running && !takeover_->yield_requested()) {
        running = PollOnce(absl::InfiniteDuration(), /*for_consumer=*/false);
      }
    } else {
      // One poll: data that came before the deadline still counts, then
      // ExpireTimers() completes what is due.
      running = PollOnce(absl::ZeroDuration(), /*for_consumer=*/false);
    }
    if (takeover_->HandBack()) signal_->Notify();
    if (!running) return;  // closed or failed; Watcher::Close() notifies the caller
  }
}

Shard::CallerPoll Shard::PollAsCaller(absl::Duration max_wait) {
  const bool ask = max_wait > absl::ZeroDuration();
  if (takeover_->BeginCallerPoll(ask) == Takeover::Begin::kThreadPolls) {
    // poll_io() does not wait, so it takes what the thread has and leaves
    // the set with it. A waiting caller has asked for it back: wake a thread
    // asleep in the poller (a thread about to sleep sees the request in
    // PollOnce; Wake() coalesces).
    if (ask) poller_->Wake().IgnoreError();
    return CallerPoll::kThreadPolls;
  }
  const bool ok = PollOnce(max_wait, /*for_consumer=*/true);
  takeover_->EndCallerPoll();
  return ok ? CallerPoll::kPolled : CallerPoll::kStopped;
}

}  // namespace gaio::internal
