// CompletionSignal: how poller threads tell the thread blocked in wait_io()
// that completions are ready. Producers pay one atomic increment and one
// atomic load when nobody waits; the mutex and condition variable are touched
// only when the consumer is asleep.
#ifndef GAIO_WATCHER_COMPLETION_SIGNAL_H_
#define GAIO_WATCHER_COMPLETION_SIGNAL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "watcher/clock.h"
#include "watcher/mutex.h"

namespace gaio::internal {

class CompletionSignal {
 public:
  // Read before looking for completions; pass to Wait().
  uint64_t sequence() const { return seq_.load(std::memory_order_seq_cst); }

  // Announces new completions. Any thread.
  void Notify() {
    seq_.fetch_add(1, std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) > 0) {
      MutexLock lock(&mu_);
      cv_.SignalAll();
    }
  }

  // Sleeps until sequence() differs from `seen` or the monotonic `deadline`
  // passes, after first spinning for up to `spin` without sleeping. Returns
  // true when the sequence moved.
  bool Wait(uint64_t seen, MonoTime deadline, absl::Duration spin = absl::ZeroDuration()) {
    if (spin > absl::ZeroDuration()) {
      const MonoTime until = std::min(deadline, MonoAfter(MonoNow(), spin));
      do {
        if (seq_.load(std::memory_order_seq_cst) != seen) return true;
      } while (MonoNow() < until);
    }
    MutexLock lock(&mu_);
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (seq_.load(std::memory_order_seq_cst) == seen) {
      const MonoTime now = MonoNow();
      if (now >= deadline) break;
      cv_.WaitFor(&mu_, MonoUntil(deadline, now));
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return seq_.load(std::memory_order_seq_cst) != seen;
  }

 private:
  std::atomic<uint64_t> seq_{0};
  std::atomic<int> waiters_{0};
  Mutex mu_;
  CondVar cv_;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_COMPLETION_SIGNAL_H_
