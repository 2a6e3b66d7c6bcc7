#!/usr/bin/env bash
# Usage: tls_echo_server_test.sh SERVER [SERVER_ARGS...]  (tls_echo_server or tls_echo_raw)
# Makes a certificate with the openssl CLI (no private key is committed),
# starts SERVER --port=0 --cert --key, echoes through `openssl s_client`
# with -tls1_2 and -tls1_3, then hammers it for 2 s with hostile connections
# (a byte then a reset, garbage, half a ClientHello, stalled handshakes)
# while s_client sessions keep echoing, checks it still serves, and sends
# SIGTERM with a stalled connection open: exit code 0. Every wait is
# bounded; the server and the peers are killed if the script ends early.
set -uo pipefail
server=$1
shift
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/server_harness.sh"
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tls_echo.XXXXXX")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/req.log" 2>&1 ||
  { cat "$dir/req.log"; echo "FAIL: openssl req"; exit 1; }

start_server "$dir/server.log" "$server" --cert="$dir/cert.pem" --key="$dir/key.pem" "$@"
wait_for_port

# echo_via VERSION MESSAGE: an s_client session that sends MESSAGE, waits (up
# to 20 s) until it is echoed, then ends its input: s_client sends
# close_notify and exits 0.
echo_via() {
  local version=$1 message=$2 id=$RANDOM$RANDOM
  local in="$dir/in.$id" out="$dir/out.$id"
  mkfifo "$in"
  timeout 30 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$dir/cert.pem" -verify_return_error "$version" -quiet -no_ign_eof \
    <"$in" >"$out" 2>"$out.err" &
  local client=$!
  exec {fd}>"$in"
  printf '%s\n' "$message" >&"$fd"
  local ok=1
  for _ in $(seq 200); do
    grep -qF "$message" "$out" && { ok=0; break; }
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  exec {fd}>&-
  wait "$client"
  local rc=$?
  if [[ $ok -ne 0 || $rc -ne 0 ]]; then
    echo "s_client $version (exit $rc) got: $(cat "$out")"; cat "$out.err"
    return 1
  fi
}

echo_via -tls1_2 "hello over TLS 1.2" || fail "echo over TLS 1.2"
echo_via -tls1_3 "hello over TLS 1.3" || fail "echo over TLS 1.3"

# Hostile connections for 2 s, alongside good sessions.
/usr/bin/python3 - "$port" >"$dir/hostile.log" 2>&1 <<'PY' &
import socket, struct, sys, time
port = int(sys.argv[1])
hello_start = bytes.fromhex("16030100c4010000c00303") + bytes(20)
held = []
end = time.time() + 2
n = 0
while time.time() < end:
    for payload, reset in ((b"x", True), (b"\x00garbage\xff" * 50, False),
                           (hello_start, True), (b"", False)):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if payload:
                s.sendall(payload)
            if reset:  # RST instead of FIN
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if payload or len(held) >= 50:
                s.close()
            else:
                held.append(s)  # a stalled handshake
            n += 1
        except OSError as e:
            print("hostile:", e)
print("hostile connections:", n, flush=True)
time.sleep(0.5)
PY
hostile=$!
for i in 1 2 3; do
  echo_via -tls1_3 "served while hammered $i" || fail "echo while hammered ($i)"
  echo_via -tls1_2 "served while hammered 1.2 $i" || fail "echo while hammered (1.2, $i)"
done
wait "$hostile" || { cat "$dir/hostile.log"; fail "hostile client failed"; }
cat "$dir/hostile.log"
kill -0 "$server_pid" 2>/dev/null || fail "server died under the hammering"
echo_via -tls1_3 "still serving" || fail "echo after the hammering"

# A stalled handshake and an established idle session open at SIGTERM.
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect before SIGTERM"
mkfifo "$dir/idle.in"
timeout 30 openssl s_client -connect "127.0.0.1:$port" -quiet <"$dir/idle.in" \
  >"$dir/idle.out" 2>&1 &
idle=$!
exec 4>"$dir/idle.in"
sleep 0.3
stop_server
exec 3<&- 4>&-
wait "$idle"
[[ $server_rc -eq 0 ]] || fail "server exit code $server_rc after SIGTERM"
cat "$server_log"
rm -rf "$dir"
echo "tls echo ok: $(basename "$server") $*"
