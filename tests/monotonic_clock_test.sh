#!/usr/bin/env bash
# The engine measures every timeout, deadline and tick on the monotonic clock
# (watcher/clock.h), so a step of the wall clock cannot stretch or cut one.
# The wall clock is read in one place only: MonoDeadline, which converts a
# caller's absl::Time deadline once, at submission. This check fails when
# any other engine source reads the wall clock (absl::Now, system_clock,
# gettimeofday, time(), CLOCK_REALTIME).
#
#   tests/monotonic_clock_test.sh watcher/*.cc watcher/*.h poller/*.cc poller/*.h
set -euo pipefail
pattern='absl::Now\(|system_clock|gettimeofday|CLOCK_REALTIME|[^_a-z]time\(nullptr\)|[^_a-z]time\(NULL\)'
status=0
checked=0
for f in "$@"; do
  checked=$((checked + 1))
  while IFS= read -r hit; do
    line=${hit#*:}
    case "$f:$line" in
      */clock.h:*'const absl::Duration left = deadline - absl::Now();'*) continue ;;  # the one conversion
    esac
    echo "wall clock read in $f: $hit" >&2
    status=1
  done < <(grep -nE "$pattern" "$f" | grep -vE '^[0-9]+:\s*//' || true)
done
if ((checked < 10)); then
  echo "only $checked files given: the check would prove nothing" >&2
  exit 1
fi
if ((status == 0)); then echo "$checked engine files read the wall clock only in MonoDeadline"; fi
exit $status
