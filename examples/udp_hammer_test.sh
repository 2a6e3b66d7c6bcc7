#!/usr/bin/env bash
# Usage: udp_hammer_test.sh UDP_HOSTILE_CLIENT UDP_ECHO_SERVER [SERVER_ARGS...]
# Starts the UDP echo server on a free port (--port=0, parsed from its first
# line) with --max_datagram=1024, hammers it with udp_hostile_client for 2 s
# (garbage, empty and oversized datagrams, senders that vanish, plus a
# checked session whose every echo is compared), checks that it is still
# alive, then sends SIGTERM and expects exit code 0 and a summary that
# counted the truncated datagrams and echoed empty ones. Under
# --config=asan a use-after-free or leak in the server fails it. Every wait
# is bounded; the server is killed if the script ends early.
set -uo pipefail
client=$1 server=$2
shift 2
log=${TEST_TMPDIR:-/tmp}/udp_server.$$.log

"$server" --port=0 --max_datagram=1024 "$@" >"$log" 2>&1 &
pid=$!
trap 'kill -KILL "$pid" 2>/dev/null' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- server output ($server --port=0 --max_datagram=1024 $*):"
  cat "$log"
  exit 1
}

port=
for _ in $(seq 300); do  # up to 30 s: sanitizer builds start slowly
  port=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$log" | cut -d: -f2)
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || fail "server exited before reporting its port"
  sleep 0.1
done
[[ -n $port ]] || fail "server did not report its port within 30 s"

timeout 90 "$client" --port="$port" --seconds=2 --max_datagram=1024
rc=$?
[[ $rc -eq 0 ]] || fail "udp_hostile_client exit code $rc"
kill -0 "$pid" 2>/dev/null || fail "server died under the hammering"

kill -TERM "$pid"
(for _ in $(seq 300); do sleep 0.1; done; kill -KILL "$pid" 2>/dev/null) &
watchdog=$!
wait "$pid"
rc=$?
kill "$watchdog" 2>/dev/null
[[ $rc -eq 0 ]] || fail "server exit code $rc after SIGTERM"
cat "$log"
grep -qE '[1-9][0-9]* datagrams echoed \([0-9]+ bytes, [1-9][0-9]* empty\), [1-9][0-9]* truncated' "$log" ||
  fail "the summary does not show echoed, empty and truncated datagrams"
echo "udp hammer ok: $(basename "$server") $*"
