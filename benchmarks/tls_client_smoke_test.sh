#!/usr/bin/env bash
# Runs each tls_load_client workload briefly against the tls_echo_server
# example (certificate made here with the openssl CLI): every run must echo
# something and report errors=0. Every wait is bounded.
set -uo pipefail
client=$1 server=$2
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../examples/server_harness.sh"
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tls_smoke.XXXXXX")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
  { echo "FAIL: openssl req"; exit 1; }
start_server "$dir/server.log" "$server" --cert="$dir/cert.pem" --key="$dir/key.pem"
wait_for_port
check() {
  local out
  out=$(timeout 60 "$client" --port="$port" --seconds=0.5 --warmup=0.1 "$@") ||
    fail "tls_load_client $* failed: $out"
  echo "$out"
  grep -q "errors=0" <<<"$out" || fail "errors: $out"
  grep -qE "(^| )per_s=[1-9]" <<<"$out" || [[ $* == *idle* ]] || fail "nothing echoed: $out"
}
check --workload=pingpong --conns=4 --size=1024
check --workload=stream --conns=2 --size=65536
check --workload=handshake --conns=2
check --workload=pingpong --conns=2 --version=1.2
check --workload=idle --conns=50 --idle_batch=8
stop_server
[[ $server_rc -eq 0 ]] || fail "server exit code $server_rc"
echo "tls client smoke ok"
