#!/usr/bin/env bash
# TLS echo servers side by side, in one run: gaio's (examples:tls_echo_server,
# coroutines, --pollers=1) and Asio's (peers/asio_ssl_echo_server, callbacks,
# one thread), each driven by the same tls_load_client (TLS 1.3,
# TLS_AES_128_GCM_SHA256, P-256 certificate made here with the openssl CLI).
# Runs are interleaved (gaio, asio, gaio, asio, ...), a fresh server process
# per run; prints every run, then the median and the min-max spread per
# server and workload, and the ratio of the medians.
#
#   ./bazelw run --config=opt //benchmarks:tls_compare -- [RUNS] [SECONDS]
set -uo pipefail
gaio=$1 asio=$2 client=$3 runs=${4:-3} seconds=${5:-3}
dir=$(mktemp -d)
trap 'kill -KILL "${server_pid:-}" 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
  { echo "openssl req failed"; exit 1; }

workloads=(
  "pingpong_1KiB_x100 --workload=pingpong --conns=100 --size=1024"
  "stream_64KiB_x8 --workload=stream --conns=8 --size=65536 --window=2"
  "handshakes_x16 --workload=handshake --conns=16"
)
declare -A figures  # "workload server" -> space-separated per_s figures

run_one() {  # SERVER_NAME SERVER_CMD... -- CLIENT_ARGS...
  local name=$1
  shift
  local cmd=()
  while [[ $1 != -- ]]; do cmd+=("$1"); shift; done
  shift
  "${cmd[@]}" --port=0 --cert="$dir/cert.pem" --key="$dir/key.pem" >"$dir/server.log" 2>&1 &
  server_pid=$!
  local port=
  for _ in $(seq 100); do
    port=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$dir/server.log" | cut -d: -f2)
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "$name: no port"; cat "$dir/server.log"; exit 1; }
  local line
  line=$("$client" --port="$port" --seconds="$seconds" "$@") || echo "$name: client failed: $line"
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  echo "$line"
}

for spec in "${workloads[@]}"; do
  read -r wname wargs <<<"$spec"
  for run in $(seq "$runs"); do
    for server in gaio asio; do
      if [[ $server == gaio ]]; then
        line=$(run_one gaio "$gaio" --pollers=1 -- $wargs)
      else
        line=$(run_one asio "$asio" -- $wargs)
      fi
      echo "$wname run $run $server: $line"
      per_s=$(grep -oE '(^| )per_s=[0-9.]+' <<<"$line" | cut -d= -f2)
      mb=$(grep -oE 'mb_per_s=[0-9.]+' <<<"$line" | cut -d= -f2)
      p99=$(grep -oE 'p99_us=[0-9.]+' <<<"$line" | cut -d= -f2)
      figures["$wname $server"]+="${per_s:-0}/${mb:-0}/${p99:-0} "
    done
  done
done

echo
printf '%-20s %-5s %28s %22s %22s\n' workload server "per_s median [min-max]" "MB/s median" "p99 us median"
for spec in "${workloads[@]}"; do
  read -r wname _ <<<"$spec"
  declare -A med=()
  for server in gaio asio; do
    # shellcheck disable=SC2086
    read -r m lo hi mbm p99m < <(tr ' ' '\n' <<<"${figures["$wname $server"]}" | grep . |
      sort -t/ -k1 -g | awk -F/ '{v[NR]=$1; mb[NR]=$2; p[NR]=$3} END {
        m=int((NR+1)/2); print v[m], v[1], v[NR], mb[m], p[m]}')
    med[$server]=$m
    printf '%-20s %-5s %12s [%s-%s] %20s %20s\n' "$wname" "$server" "$m" "$lo" "$hi" "$mbm" "$p99m"
  done
  awk -v g="${med[gaio]}" -v a="${med[asio]}" -v w="$wname" \
    'BEGIN { if (a > 0) printf "%-20s gaio/asio = %.2f\n", w, g / a }'
done
