#!/usr/bin/env bash
# Usage: udp_echo_smoke_test.sh ECHO_CLIENT UDP_ECHO_SERVER
# The load client's UDP mode against the UDP echo example for a second or
# so: both client drivers (batched, watcher), small and large datagrams, one
# and several senders. Each run must report echoes and no error (a wrong
# byte is an error); the server must then exit 0 on SIGTERM and have echoed
# bytes. Every wait is bounded.
set -uo pipefail
client=$1 server=$2
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../examples/server_harness.sh"
start_server "${TEST_TMPDIR:-/tmp}/udp_echo.$$.log" "$server" --rcvbuf_kib=4096
wait_for_port

check() {
  local out
  out=$(timeout 60 "$client" --mode=udp --port="$port" --progress=false --seconds=0.5 \
    --warmup=0.1 "$@")
  echo "$out"
  grep -qE 'msgs_per_s=[1-9]' <<<"$out" || fail "no echoes ($*)"
  grep -q 'errors=0' <<<"$out" || fail "errors ($*)"
}
for driver in batched watcher; do
  check --udp_client="$driver" --conns=1 --window=1 --size=64
  check --udp_client="$driver" --conns=8 --window=4 --size=1200
done
json=$(timeout 60 "$client" --mode=udp --port="$port" --seconds=0.3 --warmup=0 --conns=2 --json)
echo "$json"
grep -q '"lost"' <<<"$json" || { echo "FAIL: json has no lost count"; exit 1; }

stop_server
cat "$server_log"
[[ $server_rc -eq 0 ]] || { echo "FAIL: server exit code $server_rc"; exit 1; }
grep -qE '[1-9][0-9]* datagrams echoed' "$server_log" || { echo "FAIL: server summary"; exit 1; }
echo "udp smoke ok"
