#!/usr/bin/env bash
# Usage: hammer_test.sh PROTOCOL HOSTILE_CLIENT SERVER [SERVER_ARGS...]
# Starts SERVER on a free port (--port=0, the port parsed from its first
# line), hammers it with hostile_client for 2 s (hostile connections plus
# well-behaved sessions whose every byte is checked), checks that the server
# is still alive, then sends SIGTERM with a client still connected and
# expects exit code 0. Under
# --config=asan a use-after-free, double free or leak in the server fails it,
# and the server's output (with the sanitizer report) is printed.
# Every wait is bounded; the server is killed if the script ends early.
set -uo pipefail
protocol=$1 client=$2 server=$3
shift 3
server_args="$*"
log=${TEST_TMPDIR:-/tmp}/server.$$.log

"$server" --port=0 "$@" >"$log" 2>&1 &
pid=$!
trap 'kill -KILL "$pid" 2>/dev/null' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- server output ($server --port=0 $server_args):"
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

timeout 90 "$client" --port="$port" --protocol="$protocol" --seconds=2 --threads=4 \
  --max_connections=3000
rc=$?
[[ $rc -eq 0 ]] || fail "hostile_client exit code $rc"
kill -0 "$pid" 2>/dev/null || fail "server died under the hammering"

# A client still connected at shutdown: the server must release its
# connection state (LeakSanitizer checks at exit under --config=asan).
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect after the hammering"
printf x >&3
sleep 0.2
kill -TERM "$pid"
# A server that ignores SIGTERM is killed after 30 s (exit code 137).
(for _ in $(seq 300); do sleep 0.1; done; kill -KILL "$pid" 2>/dev/null) &
watchdog=$!
wait "$pid"
rc=$?
kill "$watchdog" 2>/dev/null
exec 3<&-
[[ $rc -eq 0 ]] || fail "server exit code $rc after SIGTERM"
cat "$log"
echo "hammer ok: $(basename "$server") $server_args"
