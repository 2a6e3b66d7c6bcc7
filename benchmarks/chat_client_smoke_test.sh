#!/usr/bin/env bash
# Usage: chat_client_smoke_test.sh ECHO_CLIENT CHAT_SERVER...
# The load client's chat mode (the compare tool's chat workloads) against
# each chat example, with a poller thread and caller-driven, for half a
# second: every run must report deliveries and no error (a line lost,
# reordered, garbled or sent back to its sender is an error); the server
# must then exit 0 on SIGTERM having relayed lines. Every wait is bounded.
set -uo pipefail
client=$1
shift
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../examples/server_harness.sh"

for server in "$@"; do
  for pollers in 1 0; do
    start_server "${TEST_TMPDIR:-/tmp}/chat.$$.log" "$server" --pollers="$pollers"
    wait_for_port
    for args in "--conns=2 --senders=1 --window=1" "--conns=60 --senders=6 --window=4"; do
      # shellcheck disable=SC2086  # args is a list of flags
      out=$(timeout 60 "$client" --mode=chat --port="$port" --progress=false --seconds=0.5 \
        --warmup=0.1 --size=64 $args)
      echo "$out"
      grep -qE 'msgs_per_s=[1-9]' <<<"$out" || fail "no deliveries ($args)"
      grep -q 'errors=0' <<<"$out" || fail "errors ($args)"
    done
    stop_server
    [[ $server_rc -eq 0 ]] || fail "exit code $server_rc"
    grep -qE '[1-9][0-9]* lines relayed' "$server_log" || fail "no lines relayed"
  done
done
echo "chat smoke ok"
