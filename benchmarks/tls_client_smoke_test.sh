#!/usr/bin/env bash
# Runs each tls_* mode of the load client (echo_client) briefly against the
# tls_echo_server example (certificate made here with the openssl CLI):
# every run must report errors=0 and a figure; the resumed handshakes must
# have been resumed. Every wait is bounded.
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
  out=$(timeout 60 "$client" --port="$port" --seconds=0.5 --warmup=0.1 --progress=false "$@") ||
    fail "echo_client $* failed: $out"
  echo "$out"
  grep -q "errors=0" <<<"$out" || fail "errors: $out"
  # idle: any RSS figure (the server's heap may have had room already)
  grep -qE "msgs_per_s=[1-9]|rss_per_conn_bytes=" <<<"$out" || fail "no figure: $out"
}
check --mode=tls_pingpong --conns=4 --size=1024
check --mode=tls_stream --conns=2 --size=65536 --window=2
check --mode=tls_handshakes --conns=2
check --mode=tls_pingpong --conns=2 --tls_version=1.2
out=$(check --mode=tls_resumed --conns=2) || exit 1
echo "$out"
grep -qE "resumed_handshakes=[1-9]" <<<"$out" || fail "nothing resumed: $out"
check --mode=tls_idle --conns=50 --window=8 --server_pid="$server_pid"
stop_server
[[ $server_rc -eq 0 ]] || fail "server exit code $server_rc"
echo "tls client smoke ok"
