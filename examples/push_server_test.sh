#!/usr/bin/env bash
# Starts push_server on a free port for 3 s, connects a client with bash's
# /dev/tcp, and checks that ticks arrive in order.
set -euo pipefail
binary=$1
log=$(mktemp)
"$binary" --port=0 --interval_ms=50 --seconds=3 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "on 127.0.0.1:" "$log" && break; sleep 0.05; done
port=$(sed -n 's/.*on 127.0.0.1:\([0-9]*\),.*/\1/p' "$log")
[[ -n $port ]] || { cat "$log"; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$port"
lines=()
for _ in 1 2 3; do
  IFS= read -r -t 5 line <&3 || { echo "no tick arrived"; exit 1; }
  lines+=("$line")
done
exec 3<&-
wait "$pid"
cat "$log"
n1=${lines[0]#tick } n2=${lines[1]#tick } n3=${lines[2]#tick }
[[ ${lines[0]} == tick\ * && $n2 -gt $n1 && $n3 -gt $n2 ]] || { echo "bad ticks: ${lines[*]}"; exit 1; }
echo "push_server ok: ${lines[*]}"
