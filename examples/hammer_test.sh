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
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/server_harness.sh"
start_server "${TEST_TMPDIR:-/tmp}/server.$$.log" "$server" "$@"
wait_for_port

timeout 90 "$client" --port="$port" --protocol="$protocol" --seconds=2 --threads=4 \
  --max_connections=3000
rc=$?
[[ $rc -eq 0 ]] || fail "hostile_client exit code $rc"
kill -0 "$server_pid" 2>/dev/null || fail "server died under the hammering"

# A client still connected at shutdown: the server must release its
# connection state (LeakSanitizer checks at exit under --config=asan).
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect after the hammering"
printf x >&3
sleep 0.2
# A server that ignores SIGTERM is killed after 30 s (exit code 137).
stop_server
exec 3<&-
[[ $server_rc -eq 0 ]] || fail "server exit code $server_rc after SIGTERM"
cat "$server_log"
echo "hammer ok: $(basename "$server") $*"
