#!/usr/bin/env bash
# Usage: load_generator_test.sh LOAD_GENERATOR ECHO_SERVER
# Starts ECHO_SERVER on a free port (--port=0, parsed from its output), runs
# LOAD_GENERATOR against it (connect() with a deadline, after() progress
# timer, every echo compared) and expects exit 0 and its summary with every
# connection connected; then a run against a port nobody listens on must
# fail cleanly (exit 1, each connection reported failed, no crash or leak:
# under --config=asan). Every wait is bounded.
set -uo pipefail
generator=$1 server=$2
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/server_harness.sh"
start_server "${TEST_TMPDIR:-/tmp}/echo.$$.log" "$server"
wait_for_port

out=$(timeout 60 "$generator" --port="$port" --conns=40 --size=300 --seconds=2)
rc=$?
echo "$out"
[[ $rc -eq 0 ]] || { echo "FAIL: exit $rc"; exit 1; }
grep -q 't=1s:' <<<"$out" || { echo "FAIL: no progress line from the timer"; exit 1; }
grep -qE '40 connections, 40 connected, 0 failed, [1-9][0-9]* round trips' <<<"$out" ||
  { echo "FAIL: summary"; exit 1; }

stop_server

# Nobody listens there now: every connect is refused.
out=$(timeout 60 "$generator" --port="$port" --conns=5 --seconds=1 2>&1)
rc=$?
echo "$out"
[[ $rc -eq 1 ]] || { echo "FAIL: exit $rc against a closed port"; exit 1; }
grep -q '5 connections, 0 connected, 5 failed' <<<"$out" || { echo "FAIL: refusals"; exit 1; }
echo "load_generator ok"
