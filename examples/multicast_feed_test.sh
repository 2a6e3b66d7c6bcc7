#!/usr/bin/env bash
# Usage: multicast_feed_test.sh MULTICAST_FEED
# Runs the multicast feed example in a private network namespace (unshare -n,
# its loopback brought up with multicast): nothing reaches the host's
# interfaces and the host's routes are untouched. 2 subscribers for 2 s at
# 2000 messages/s, each with an 8 MiB receive buffer (SO_RCVBUFFORCE) that
# holds the whole feed, so no datagram can be dropped however the machine
# schedules the threads: expects exit 0, a progress line, every message
# received by every subscriber (0 gaps, 0 missing, 0 duplicates, 0
# reordered) and a latency summary; then the same with the blocking recvfrom
# subscribers. Where no namespace can be made (not root, no unshare or ip),
# prints "SKIP: <why>" (also to the test's warnings) and exits 0.
set -uo pipefail
feed=$1

skip() {
  echo "SKIP: $*"
  echo "SKIP: $*" >&2
  if [[ -n ${TEST_WARNINGS_OUTPUT_FILE:-} ]]; then
    echo "multicast_feed_test skipped: $*" >>"$TEST_WARNINGS_OUTPUT_FILE"
  fi
  exit 0
}
[[ $(id -u) -eq 0 ]] || skip "not root: unshare -n and SO_RCVBUFFORCE need CAP_NET_ADMIN"
command -v unshare >/dev/null || skip "no unshare(1) on this machine"
command -v ip >/dev/null || skip "no ip(8) on this machine"
err=$(unshare -n true 2>&1) || skip "no private network namespace here: unshare -n: $err"

run() {
  # shellcheck disable=SC2016  # $0 and $@ belong to the inner shell
  timeout 120 unshare -n sh -c 'ip link set lo up multicast on && exec "$0" "$@"' \
    "$feed" --interface=lo --subscribers=2 --rate=2000 --seconds=2 \
    --rcvbuf_kib=8192 --rcvbuf_force "$@" 2>&1
}

for kind in gaio blocking; do
  out=$(run --subscriber="$kind")
  rc=$?
  echo "$out"
  [[ $rc -eq 0 ]] || { echo "FAIL: exit code $rc ($kind)"; exit 1; }
  grep -qE '^t=1s: published [0-9]+' <<<"$out" || { echo "FAIL: no progress line ($kind)"; exit 1; }
  summary=$(grep '^multicast_feed: ' <<<"$out")
  re="^multicast_feed: 2 $kind subscribers, ([0-9]+) published \(([0-9]+) sent, 0 send errors, [0-9]+ stalls\), ([0-9]+) received, 0 gaps, 0 missing, 0 duplicates, 0 reordered; one-way latency p50 [0-9.]+ us, p99 [0-9.]+ us"
  [[ $summary =~ $re ]] || { echo "FAIL: summary ($kind)"; exit 1; }
  published=${BASH_REMATCH[1]} sent=${BASH_REMATCH[2]} received=${BASH_REMATCH[3]}
  ((published >= 3000 && sent == published && received == 2 * published)) ||
    { echo "FAIL: $published published, $sent sent, $received received ($kind)"; exit 1; }
done
echo "multicast_feed ok"
