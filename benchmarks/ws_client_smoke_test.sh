#!/usr/bin/env bash
# The load client's ws_* modes, briefly, against the WebSocket peers: the
# Boost.Beast server (ws and wss) and, when `node` and its `ws` module are
# installed, the Node server. Every mode must finish with errors=0.
#   ws_client_smoke_test.sh ECHO_CLIENT BEAST_SERVER NODE_SERVER_JS
set -euo pipefail
client=$1 beast=$2 node_js=$3
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT

# start NAME CMD...: runs a server (at most 60 s), sets $port and $pid.
start() {
  local name=$1
  shift
  timeout 60 "$@" --port=0 >"$dir/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 200); do grep -q "127.0.0.1:" "$dir/$name.log" && break; sleep 0.05; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/$name.log" | head -1)
  [[ -n $port ]] || { cat "$dir/$name.log"; exit 1; }
}
check() {
  local out
  out=$(timeout 30 "$client" --port="$port" --progress=false "$@")
  echo "$out"
  grep -q "errors=0" <<<"$out"
}
modes() {
  check --mode=ws_pingpong --conns=4 --size=64 --seconds=0.3 --warmup=0.1 "$@"
  check --mode=ws_stream --conns=2 --size=65536 --window=2 --seconds=0.3 --warmup=0.1 "$@"
}

start beast "$beast"
modes
check --mode=ws_idle --conns=100 --server_pid="$pid"

timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
start beast_tls "$beast" --cert="$dir/cert.pem" --key="$dir/key.pem"
modes --tls

if command -v node >/dev/null &&
  { node -e "require('ws')" || node -e "require('/usr/share/nodejs/ws')"; } 2>/dev/null; then
  start node node "$node_js"
  modes
else
  echo "node or its ws module missing: the Node peer is not checked"
fi
echo "smoke ok"
