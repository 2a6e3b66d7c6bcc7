// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// Abseil's thread-safety annotations, so that clang's -Wthread-safety checks
// every ABSL_GUARDED_BY in the watcher.
//
// Why not absl::Mutex: the build links Debian's prebuilt Abseil, which is not
// built with ThreadSanitizer, so TSan cannot see absl::Mutex's
// synchronization and would report false races. std::mutex goes through
// pthread, which TSan intercepts.
#ifndef GAIO_WATCHER_MUTEX_H_
#define GAIO_WATCHER_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace gaio::internal {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  // Atomically releases *mu and waits for a Signal/SignalAll or a spurious
  // wake-up; reacquires *mu before returning.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // *mu stays held, as the annotation says
  }
  // As Wait, for up to `timeout` on the monotonic clock (steady_clock).
  // Returns false when the timeout passed. A timeout beyond kMaxWait waits
  // kMaxWait (callers re-check their condition in a loop), so that no clock
  // computation can overflow; absl::InfiniteDuration() waits like Wait().
  bool WaitFor(Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (timeout <= absl::ZeroDuration()) return false;
    if (timeout == absl::InfiniteDuration()) {
      Wait(mu);
      return true;
    }
    if (timeout > kMaxWait) timeout = kMaxWait;
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool in_time =
        cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout)) == std::cv_status::no_timeout;
    lock.release();  // *mu stays held
    return in_time;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

  static constexpr absl::Duration kMaxWait = absl::Hours(24);

 private:
  std::condition_variable cv_;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_MUTEX_H_
