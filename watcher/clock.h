// MonoTime: the engine's clock. Every timeout, deadline and tick inside the
// Watcher is measured on the monotonic clock (CLOCK_MONOTONIC), so a step of
// the wall clock (NTP, settimeofday) neither stretches nor cuts a wait.
// Public calls take absl::Duration and absl::Time; they are converted here,
// once, and clamped so that no value can overflow a clock computation.
// Internal to //watcher.
#ifndef GAIO_WATCHER_CLOCK_H_
#define GAIO_WATCHER_CLOCK_H_

#include <time.h>

#include <cstdint>
#include <limits>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gaio::internal {

// Nanoseconds on the monotonic clock. kMonoNever means "no deadline".
using MonoTime = int64_t;
inline constexpr MonoTime kMonoNever = std::numeric_limits<int64_t>::max();

inline MonoTime MonoNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A deadline that has passed (a poll). Only DeadlineIn makes it.
inline constexpr MonoTime kMonoPast = 0;

// `d` in nanoseconds, clamped to [0, kMonoNever]: negative durations are
// zero, absl::InfiniteDuration() and anything beyond ~292 years is never.
inline int64_t ClampedNanos(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  if (d >= absl::Nanoseconds(kMonoNever)) return kMonoNever;
  return absl::ToInt64Nanoseconds(d);
}

// now + d, saturating at kMonoNever.
inline MonoTime MonoAfter(MonoTime now, absl::Duration d) {
  const int64_t ns = ClampedNanos(d);
  return ns >= kMonoNever - now ? kMonoNever : now + ns;
}

// A caller's wall-clock deadline on the monotonic clock: it falls due after
// the time left until it now. absl::InfiniteFuture() (and anything too far
// away to represent) is kMonoNever; a deadline in the past is due at once.
// The wall clock is read first: time spent between the two reads (the
// thread may be preempted there) makes the deadline late, never early, so a
// DeadlineExceeded result always comes after the caller's deadline.
inline MonoTime MonoDeadline(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return kMonoNever;
  const absl::Duration left = deadline - absl::Now();
  return MonoAfter(MonoNow(), left);
}

// Time left from `now` until `deadline`, as a Duration for a blocking call:
// zero when it has passed, absl::InfiniteDuration() for kMonoNever.
inline absl::Duration MonoUntil(MonoTime deadline, MonoTime now) {
  if (deadline == kMonoNever) return absl::InfiniteDuration();
  if (deadline <= now) return absl::ZeroDuration();
  return absl::Nanoseconds(deadline - now);
}

// The deadline `timeout` from now, reading the clock only for a finite,
// positive timeout: kMonoNever for absl::InfiniteDuration() (and beyond the
// clock's range), kMonoPast for zero or negative.
inline MonoTime DeadlineIn(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return kMonoPast;
  if (timeout == absl::InfiniteDuration()) return kMonoNever;
  return MonoAfter(MonoNow(), timeout);
}

// Time left until `deadline`, reading the clock only for a finite one.
inline absl::Duration TimeLeft(MonoTime deadline) {
  if (deadline == kMonoNever) return absl::InfiniteDuration();
  if (deadline <= kMonoPast) return absl::ZeroDuration();
  return MonoUntil(deadline, MonoNow());
}

// Whether `deadline` has passed, reading the clock only for a finite one.
inline bool Passed(MonoTime deadline) {
  if (deadline == kMonoNever) return false;
  if (deadline <= kMonoPast) return true;
  return MonoNow() >= deadline;
}

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_CLOCK_H_
