#!/usr/bin/env bash
# The load client's ws_* modes, briefly, against the WebSocket peers: the
# Node server when `node` and its `ws` module are installed and, when given
# (not in the sanitized builds: see BUILD.bazel), the Boost.Beast server (ws
# and wss). Every mode must finish with errors=0; at least one peer must run.
#   ws_client_smoke_test.sh ECHO_CLIENT NODE_SERVER_JS [BEAST_SERVER]
set -euo pipefail
client=$1 node_js=$2 beast=${3:-}
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

peers=0
if [[ -n $beast ]]; then
  start beast "$beast"
  modes
  check --mode=ws_idle --conns=100 --server_pid="$pid"

  timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
  start beast_tls "$beast" --cert="$dir/cert.pem" --key="$dir/key.pem"
  modes --tls
  peers=$((peers + 1))
else
  echo "no Beast server given: the Beast peer (and wss) is not checked"
fi

if command -v node >/dev/null &&
  { node -e "require('ws')" || node -e "require('/usr/share/nodejs/ws')"; } 2>/dev/null; then
  start node node "$node_js"
  modes
  peers=$((peers + 1))
else
  echo "node or its ws module missing: the Node peer is not checked"
fi
((peers > 0)) || { echo "no peer ran"; exit 1; }
echo "smoke ok"
