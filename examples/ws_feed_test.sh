#!/usr/bin/env bash
# Usage: ws_feed_test.sh WS_FEED
# Runs WS_FEED --mode=both for 2 s with 20 subscribers at 500 ticks/s, over
# ws and then wss (a certificate made with the openssl CLI), and checks the
# report: every subscriber connected, none failed, every tick the server sent
# received (the counts equal; at least 10 a subscriber, which takes 20 ms of
# the 2 s: how many more depends on the machine's speed, not checked), the
# percentiles printed. Bounded by timeout.
set -uo pipefail
feed=$1
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/ws_feed.XXXXXX")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/req.log" 2>&1 ||
  { cat "$dir/req.log"; echo "FAIL: openssl req"; exit 1; }
check() {
  local name=$1
  shift
  timeout 60 "$feed" --mode=both --subscribers=20 --rate=500 --seconds=2 "$@" >"$dir/$name.out" 2>&1
  local rc=$?
  cat "$dir/$name.out"
  [[ $rc -eq 0 ]] || { echo "FAIL: $name: exit $rc"; exit 1; }
  local report
  report=$(grep -m1 '^ws_feed report:' "$dir/$name.out") || { echo "FAIL: $name: no report"; exit 1; }
  [[ $report =~ subscribers=20\ failed=0\ ticks=([0-9]+)\ p50=[0-9.]+us\ p90=[0-9.]+us\ p99=[0-9.]+us\ max=[0-9.]+us ]] ||
    { echo "FAIL: $name: report: $report"; exit 1; }
  local ticks=${BASH_REMATCH[1]} sent
  sent=$(sed -n 's/^ws_feed server: sent=\([0-9]*\) failed=0$/\1/p' "$dir/$name.out")
  [[ -n $sent ]] || { echo "FAIL: $name: no server line with failed=0"; exit 1; }
  ((ticks == sent)) || { echo "FAIL: $name: $ticks ticks received of $sent sent"; exit 1; }
  ((ticks >= 200)) || { echo "FAIL: $name: only $ticks ticks"; exit 1; }
}
check ws
check wss --cert="$dir/cert.pem" --key="$dir/key.pem" --ca="$dir/cert.pem"
rm -rf "$dir"
echo "ws_feed ok"
