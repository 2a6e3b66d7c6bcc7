#!/usr/bin/env bash
# Runs each echo_client mode briefly against the echo_server example.
set -euo pipefail
client=$1 server=$2
log=$(mktemp)
"$server" --port=0 --seconds=30 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "127.0.0.1:" "$log" && break; sleep 0.05; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
[[ -n $port ]] || { cat "$log"; exit 1; }
check() {
  local out
  out=$("$client" --port="$port" --progress=false "$@")
  echo "$out"
  grep -q "errors=0" <<<"$out"
}
check --mode=pingpong --conns=4 --size=64 --seconds=0.5 --warmup=0.1
check --mode=throughput --conns=4 --size=4096 --seconds=0.5 --warmup=0.1
check --mode=connect --conns=200
check --mode=idle --conns=200 --server_pid="$pid"
json=$("$client" --port="$port" --mode=pingpong --conns=2 --size=64 --seconds=0.3 --json)
echo "$json"
grep -q '"p99_us"' <<<"$json"
grep -q '"errors": 0' <<<"$json"
echo "smoke ok"
