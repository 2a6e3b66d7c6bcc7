#!/usr/bin/env bash
# Usage: ws_echo_server_test.sh SERVER [SERVER_ARGS...]  (ws_echo_server)
# Starts SERVER --port=0 --max_message_size=2000000, and with Python's
# websockets as the client (python3-websockets) checks: echoes of text and
# binary at 0/125/126/65535/65536/1 MiB, compression on and off, a
# fragmented message, ping/pong, the close code echoed; raw frames for the
# 1002/1007/1009 closes; hostile connections (a byte then a reset, garbage,
# half an upgrade) while a client keeps echoing; then the same echo over wss
# (a certificate made with the openssl CLI) and SIGTERM -> exit 0 each time.
# Every wait is bounded; the server is killed if the script ends early.
set -uo pipefail
server=$1
shift
# shellcheck source=examples/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/server_harness.sh"
/usr/bin/python3 -c 'import websockets' 2>/dev/null ||
  { echo "FAIL: python3-websockets is missing (apt-get install python3-websockets)"; exit 1; }
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/ws_echo.XXXXXX")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/req.log" 2>&1 ||
  { cat "$dir/req.log"; echo "FAIL: openssl req"; exit 1; }

cat >"$dir/client.py" <<'PY'
import asyncio, os, socket, ssl, struct, sys
import websockets

port, scheme, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = None
if scheme == "wss":
    ctx = ssl.create_default_context(cafile=sys.argv[4])
url = f"{scheme}://localhost:{port}/any/path"
SIZES = [0, 125, 126, 65535, 65536, 1 << 20]

def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)

async def echo(compression):
    async with websockets.connect(url, ssl=ctx, compression=compression, max_size=None,
                                  open_timeout=10, close_timeout=10) as ws:
        for n in SIZES:
            text = ("abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 20)
            check(isinstance(got, str) and got == text, f"text {n} ({compression})")
            data = os.urandom(n)
            await ws.send(data)
            got = await asyncio.wait_for(ws.recv(), 20)
            check(isinstance(got, bytes) and got == data, f"binary {n} ({compression})")
        await ws.send(["frag", "mented ", "message"])  # three frames
        got = await asyncio.wait_for(ws.recv(), 20)
        check(got == "fragmented message", "fragmented message")
        pong = await ws.ping(b"ping!")
        await asyncio.wait_for(pong, 10)
        await ws.close(code=4001, reason="bye")
        check(ws.close_code == 4001, f"close code echoed: {ws.close_code}")
    print("echo ok", compression, flush=True)

def raw_close_code(frame):
    """Upgrade by hand, send `frame`, return the code of the server's close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        check(chunk, "upgrade answer")
        buf += chunk
    buf = buf.split(b"\r\n\r\n", 1)[1]
    s.sendall(frame)
    while True:
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            if len(buf) < 2 + n:
                break
            opcode, payload = buf[0] & 0x0F, buf[2:2 + n]
            buf = buf[2 + n:]
            if opcode == 8:
                s.close()
                return struct.unpack("!H", payload[:2])[0]
        chunk = s.recv(65536)
        check(chunk, "close frame before the end")
        buf += chunk

def masked(opcode, payload, fin=True):
    key = b"\x01\x02\x03\x04"
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

async def main():
    if mode == "echo":
        await echo(None)
        await echo("deflate")
    if mode == "errors":
        check(raw_close_code(masked(0x3, b"")) == 1002, "reserved opcode -> 1002")
        check(raw_close_code(bytes([0x81, 0x01]) + b"x") == 1002, "unmasked -> 1002")
        check(raw_close_code(masked(0x1, b"ok\xff")) == 1007, "invalid UTF-8 -> 1007")
        # The header announces 2000001 bytes: refused before the payload (the
        # rest is not sent, so that the server's close is not met by a reset).
        check(raw_close_code(masked(0x2, bytes(2000001))[:2000]) == 1009, "too big -> 1009")
        print("errors ok", flush=True)

asyncio.run(main())
PY

run_client() {
  timeout 60 /usr/bin/python3 "$dir/client.py" "$port" "$@" || fail "client $*"
}

start_server "$dir/server.log" "$server" --max_message_size=2000000 "$@"
wait_for_port
run_client ws echo
run_client ws errors

# Hostile connections for 2 s while a client keeps echoing.
/usr/bin/python3 - "$port" >"$dir/hostile.log" 2>&1 <<'PY' &
import socket, struct, sys, time
port = int(sys.argv[1])
half = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
held = []
end = time.time() + 2
n = 0
while time.time() < end:
    for payload, reset in ((b"x", True), (b"\x00garbage\xff" * 50, False),
                           (half, True), (half, False), (b"", False)):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if payload:
                s.sendall(payload)
            if reset:  # RST instead of FIN
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if (payload and payload != half) or reset or len(held) >= 50:
                s.close()
            else:
                held.append(s)  # a stalled upgrade
            n += 1
        except OSError as e:
            print("hostile:", e)
print("hostile connections:", n, flush=True)
time.sleep(0.5)
PY
hostile=$!
run_client ws echo
wait "$hostile" || { cat "$dir/hostile.log"; fail "hostile client failed"; }
cat "$dir/hostile.log"
kill -0 "$server_pid" 2>/dev/null || fail "server died under the hammering"
run_client ws echo
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect before SIGTERM"
stop_server
exec 3<&-
[[ $server_rc -eq 0 ]] || fail "server exit code $server_rc after SIGTERM"

start_server "$dir/server_tls.log" "$server" --max_message_size=2000000 \
  --cert="$dir/cert.pem" --key="$dir/key.pem" "$@"
wait_for_port
run_client wss echo "$dir/cert.pem"
stop_server
[[ $server_rc -eq 0 ]] || fail "wss server exit code $server_rc after SIGTERM"
rm -rf "$dir"
echo "ws echo ok: $(basename "$server") $*"
