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
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/server_harness.sh"
start_server "${TEST_TMPDIR:-/tmp}/udp_server.$$.log" "$server" --max_datagram=1024 "$@"
wait_for_port

timeout 90 "$client" --port="$port" --seconds=2 --max_datagram=1024
rc=$?
[[ $rc -eq 0 ]] || fail "udp_hostile_client exit code $rc"
kill -0 "$server_pid" 2>/dev/null || fail "server died under the hammering"

stop_server
[[ $server_rc -eq 0 ]] || fail "server exit code $server_rc after SIGTERM"
cat "$server_log"
grep -qE '[1-9][0-9]* datagrams echoed \([0-9]+ bytes, [1-9][0-9]* empty\), [1-9][0-9]* truncated' "$server_log" ||
  fail "the summary does not show echoed, empty and truncated datagrams"
echo "udp hammer ok: $(basename "$server") $*"
