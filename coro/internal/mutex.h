// Mutex and MutexLock: std::mutex with Abseil's thread-safety annotations
// (clang -Wthread-safety checks the ABSL_GUARDED_BY members of coro/).
// Not absl::Mutex: Debian's prebuilt Abseil is not built with
// ThreadSanitizer, which then cannot see absl::Mutex's synchronization;
// std::mutex goes through pthread, which it intercepts (as watcher/mutex.h).
#ifndef GAIO_CORO_INTERNAL_MUTEX_H_
#define GAIO_CORO_INTERNAL_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace gaio::coro::internal {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
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

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_MUTEX_H_
