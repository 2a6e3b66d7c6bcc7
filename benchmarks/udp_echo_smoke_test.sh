#!/usr/bin/env bash
# Usage: udp_echo_smoke_test.sh ECHO_CLIENT UDP_ECHO_SERVER
# The load client's UDP mode against the UDP echo example for a second or
# so: both client drivers (batched, watcher), small and large datagrams, one
# and several senders. Each run must report echoes and no error (a wrong
# byte is an error); the server must then exit 0 on SIGTERM and have echoed
# bytes. Every wait is bounded.
set -uo pipefail
client=$1 server=$2
log=${TEST_TMPDIR:-/tmp}/udp_echo.$$.log
"$server" --port=0 --rcvbuf_kib=4096 >"$log" 2>&1 &
pid=$!
trap 'kill -KILL "$pid" 2>/dev/null' EXIT
port=
for _ in $(seq 300); do
  port=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$log" | cut -d: -f2)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { echo "FAIL: no port"; cat "$log"; exit 1; }

check() {
  local out
  out=$(timeout 60 "$client" --mode=udp --port="$port" --progress=false --seconds=0.5 \
    --warmup=0.1 "$@")
  echo "$out"
  grep -qE 'msgs_per_s=[1-9]' <<<"$out" || { echo "FAIL: no echoes ($*)"; cat "$log"; exit 1; }
  grep -q 'errors=0' <<<"$out" || { echo "FAIL: errors ($*)"; cat "$log"; exit 1; }
}
for driver in batched watcher; do
  check --udp_client="$driver" --conns=1 --window=1 --size=64
  check --udp_client="$driver" --conns=8 --window=4 --size=1200
done
json=$(timeout 60 "$client" --mode=udp --port="$port" --seconds=0.3 --warmup=0 --conns=2 --json)
echo "$json"
grep -q '"lost"' <<<"$json" || { echo "FAIL: json has no lost count"; exit 1; }

kill -TERM "$pid"
wait "$pid"
rc=$?
cat "$log"
[[ $rc -eq 0 ]] || { echo "FAIL: server exit code $rc"; exit 1; }
grep -qE '[1-9][0-9]* datagrams echoed' "$log" || { echo "FAIL: server summary"; exit 1; }
echo "udp smoke ok"
