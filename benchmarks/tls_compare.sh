#!/usr/bin/env bash
# TLS echo servers side by side, in one run: gaio's (examples:tls_echo_server,
# coroutines, --pollers=1) and Asio's (peers/asio_ssl_echo_server, callbacks,
# one thread), each driven by the same tls_load_client (TLS 1.3,
# TLS_AES_128_GCM_SHA256, P-256 certificate made here with the openssl CLI).
# Runs are interleaved (gaio, asio, gaio, asio, ...), a fresh server process
# per run; prints every run, then the median and the min-max spread per
# server and workload (rate, and the server's CPU time per message, which a
# loaded machine disturbs less), and the ratios of the medians.
#
#   ./bazelw run --config=opt //benchmarks:tls_compare -- [RUNS] [SECONDS]
# With IDLE_ONLY=1: only the idle RSS figure (IDLE_CONNS connections, 5000
# by default; IDLE_BATCH=N: at most N handshakes at once), gaio then asio;
# otherwise it ends the run.
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
  local line cpu
  line=$("$client" --port="$port" --seconds="$seconds" --warmup=0.5 "$@") ||
    echo "$name: client failed: $line"
  # The server's CPU time (user + system, clock ticks) over the whole run.
  cpu=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  # Server CPU per message in µs, over the run's messages (warm-up included).
  awk -v l="$line" -v c="$cpu" -v s="$seconds" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    match(l, /(^| )per_s=[0-9.]+/); n = substr(l, RSTART, RLENGTH); sub(/.*=/, "", n)
    printf "%s cpu_us_per_msg=%.1f\n", l, (n > 0 ? c / hz * 1e6 / (n * (s + 0.5)) : 0) }'
}

# Idle: IDLE_CONNS connections handshaken (1 byte echoed) and held open, the
# server's RSS growth per connection (VmRSS before and once all are up).
idle_conns=${IDLE_CONNS:-5000}
rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
idle_one() {  # NAME SERVER_CMD...
  local name=$1
  shift
  "$@" --port=0 --cert="$dir/cert.pem" --key="$dir/key.pem" >"$dir/server.log" 2>&1 &
  server_pid=$!
  local port=
  for _ in $(seq 100); do
    port=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$dir/server.log" | cut -d: -f2)
    [[ -n $port ]] && break
    sleep 0.1
  done
  local before
  before=$(rss "$server_pid")
  "$client" --port="$port" --workload=idle --conns="$idle_conns" --seconds=120 --warmup=0 \
    --idle_batch="${IDLE_BATCH:-0}" \
    >"$dir/idle.log" 2>&1 &
  local client_pid=$!
  for _ in $(seq 900); do
    grep -q '^idle:' "$dir/idle.log" && break
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 1
  local after
  after=$(rss "$server_pid")
  grep -q '^idle:' "$dir/idle.log" || { echo "$name: idle connections not established"; cat "$dir/idle.log"; }
  kill "$client_pid" 2>/dev/null
  wait "$client_pid" 2>/dev/null
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  echo "idle_${idle_conns} (batch ${IDLE_BATCH:-0}) $name: server RSS $(( (after - before) / idle_conns )) B per connection"
}
if [[ ${IDLE_ONLY:-0} == 1 ]]; then
  idle_one gaio "$gaio" --pollers=1
  idle_one asio "$asio"
  exit 0
fi

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
      cpu=$(grep -oE 'cpu_us_per_msg=[0-9.]+' <<<"$line" | cut -d= -f2)
      figures["$wname $server"]+="${per_s:-0}/${mb:-0}/${p99:-0}/${cpu:-0} "
    done
  done
done

echo
printf '%-20s %-5s %24s %10s %12s %22s\n' workload server "per_s median [min-max]" "MB/s" "p99 us" "cpu us/msg [min-max]"
for spec in "${workloads[@]}"; do
  read -r wname _ <<<"$spec"
  declare -A med=() cpu_med=()
  for server in gaio asio; do
    read -r m lo hi mbm p99m cm clo chi < <(tr ' ' '\n' <<<"${figures["$wname $server"]}" |
      grep . | awk -F/ '{v[NR]=$1; mb[NR]=$2; p[NR]=$3; c[NR]=$4} END {
        n = NR; m = int((n + 1) / 2)
        # medians of each column on its own (simple sorts: n is small)
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
          if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
          if (mb[j] < mb[i]) { t = mb[i]; mb[i] = mb[j]; mb[j] = t }
          if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t }
          if (c[j] < c[i]) { t = c[i]; c[i] = c[j]; c[j] = t } }
        print v[m], v[1], v[n], mb[m], p[m], c[m], c[1], c[n] }')
    med[$server]=$m
    cpu_med[$server]=$cm
    printf '%-20s %-5s %10s [%s-%s] %10s %12s %10s [%s-%s]\n' "$wname" "$server" "$m" "$lo" "$hi" \
      "$mbm" "$p99m" "$cm" "$clo" "$chi"
  done
  awk -v g="${med[gaio]}" -v a="${med[asio]}" -v gc="${cpu_med[gaio]}" -v ac="${cpu_med[asio]}" \
    -v w="$wname" 'BEGIN { if (a > 0 && ac > 0)
      printf "%-20s gaio/asio: rate %.2f, server CPU per message %.2f\n", w, g / a, gc / ac }'
done

idle_one gaio "$gaio" --pollers=1
idle_one asio "$asio"
