#!/usr/bin/env python3
"""The pinned behaviour of a chat server (chat_server, chat_server_raw).

  chat_server_test.py SERVER [SERVER_ARGS...]

Runs SERVER --port=0 (it must print a line containing 127.0.0.1:N) and
checks: every line a client sends reaches every other client, all and in the
order sent, never the sender; a client silent for --idle_s is dropped while
one that talks is not; a client whose unsent output passes --max_pending is
dropped while a reading client gets every line; SIGTERM and SIGINT end the
server with exit code 0. Every wait is bounded; the server is killed at the
end whatever happens.
"""
import re
import select
import signal
import socket
import subprocess
import sys
import time

SERVER = sys.argv[1]
EXTRA = sys.argv[2:]
PATIENCE = 30.0  # seconds; sanitizer builds are slow


class Server:
    def __init__(self, *args):
        self.proc = subprocess.Popen([SERVER, "--port=0", *EXTRA, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = b""
        deadline = time.monotonic() + PATIENCE
        while True:
            m = re.search(rb"127\.0\.0\.1:(\d+)", self.output)
            if m:
                self.port = int(m.group(1))
                break
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.fail("no 127.0.0.1:N line")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                self.output += self.proc.stdout.read1(4096)

    def fail(self, why):
        self.proc.kill()
        out, _ = self.proc.communicate()
        sys.exit(f"FAIL: {why}\n--- server output:\n{(self.output + out).decode(errors='replace')}")

    def stop(self, signo):
        self.proc.send_signal(signo)
        try:
            out, _ = self.proc.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            self.fail(f"no exit within {PATIENCE} s of signal {signo}")
        self.output += out
        if self.proc.returncode != 0:
            self.fail(f"exit code {self.proc.returncode} after signal {signo}")


class Client:
    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def line(self, timeout):
        """The next line (bytes, without b"\\n"), or None at EOF or after timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            if select.select([self.sock], [], [], left)[0]:
                try:
                    data = self.sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    self.eof = True
                self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def wait_eof(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.line(deadline - time.monotonic())
        return self.eof


def sync(server, sender, receivers, tag):
    """Repeats a sync line from `sender` until every receiver heard it."""
    deadline = time.monotonic() + PATIENCE
    pending = set(receivers)
    while pending:
        if time.monotonic() > deadline:
            server.fail(f"sync {tag} never arrived")
        sender.send(b"sync %s\n" % tag)
        for r in list(pending):
            while (line := r.line(0.05)) is not None:
                if line == b"sync %s" % tag:
                    pending.discard(r)
                    break


def expect_lines(server, client, lines, who):
    for want in lines:
        while True:
            got = client.line(PATIENCE)
            if got is None:
                server.fail(f"{who}: EOF or timeout waiting for {want!r}")
            if got.startswith(b"sync"):
                continue
            if got != want:
                server.fail(f"{who}: got {got!r} where {want!r} was due")
            break


def test_broadcast():
    s = Server()
    a, b, c = (Client(s.port) for _ in range(3))
    sync(s, a, [b, c], b"a")
    sync(s, b, [a, c], b"b")
    from_a = [b"a %d" % i for i in range(200)]
    a.send(b"".join(x + b"\n" for x in from_a))
    b.send(b"b hello\n")
    # c gets a's lines in order, and b's line somewhere among them.
    got = []
    while len(got) < len(from_a) + 1:
        line = c.line(PATIENCE)
        if line is None:
            s.fail(f"c: EOF or timeout after {len(got)} lines")
        if not line.startswith(b"sync"):
            got.append(line)
    if [x for x in got if x.startswith(b"a ")] != from_a or b"b hello" not in got:
        s.fail(f"c: wrong lines: {got[:5]}...")
    expect_lines(s, b, from_a, "b")
    expect_lines(s, a, [b"b hello"], "a")
    # Nothing came back to its sender.
    for name, cl, own in ((b"a", a, b"a "), (b"b", b, b"b ")):
        while (line := cl.line(0.2)) is not None:
            if line.startswith(own) or line == b"sync " + name:
                s.fail(f"{name!r} got its own line {line!r}")
    s.stop(signal.SIGTERM)


def test_idle():
    s = Server("--idle_s=1")
    silent, talker, listener = Client(s.port), Client(s.port), Client(s.port)
    sync(s, talker, [listener], b"t")
    start = time.monotonic()
    while time.monotonic() - start < 2.5:  # both talk every 0.2 s; the third is silent
        talker.send(b"still here\n")
        listener.send(b"me too\n")
        listener.line(0.1)
        talker.line(0.1)
    if not silent.wait_eof(PATIENCE):
        s.fail("a silent client was not dropped")
    talker.send(b"after\n")
    while (line := listener.line(PATIENCE)) is not None and line != b"after":
        pass
    if line != b"after":
        s.fail("a talking client was dropped")
    s.stop(signal.SIGINT)


def test_max_pending():
    s = Server("--max_pending=100000")
    sender, reader = Client(s.port), Client(s.port)
    stuck = Client(s.port, rcvbuf=4096)
    sync(s, sender, [reader, stuck], b"s")
    # More than the kernel's socket buffers can hold for the stuck client, so
    # that the server's own queue for it must pass --max_pending.
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        wmem_max = int(f.read().split()[2])
    blob = b"".join(b"%08d %s\n" % (i, b"x" * 90) for i in range((2 * wmem_max + (2 << 20)) // 100))
    got = bytearray(reader.buf)

    skip = [None]  # bytes of sync repeats before the lines, once known

    def payload():
        if skip[0] is None:
            at = 0
            while got.startswith(b"sync ", at) and got.find(b"\n", at) >= 0:
                at = got.find(b"\n", at) + 1
            if len(got) - at < 5:
                return b""
            skip[0] = at
        return memoryview(got)[skip[0]:]

    # In steps the reader keeps up with (its queue stays far below the limit);
    # the server relays whole lines only: wait for those of each step.
    step = 32 * 1024
    for at in range(0, len(blob), step):
        sender.send(blob[at:at + step])
        due = blob.rfind(b"\n", 0, at + step) + 1
        deadline = time.monotonic() + PATIENCE
        while len(payload()) < due and time.monotonic() < deadline:
            if select.select([reader.sock], [], [], 0.5)[0]:
                chunk = reader.sock.recv(1 << 20)
                if not chunk:
                    break
                got.extend(chunk)
        if len(payload()) < due:
            break
    data = bytes(payload())
    if data != blob:
        s.fail(f"the reading client got {len(data)} of {len(blob)} bytes, or wrong ones")
    if not stuck.wait_eof(PATIENCE):
        s.fail("a client that never reads was not dropped")
    s.stop(signal.SIGTERM)


for test in (test_broadcast, test_idle, test_max_pending):
    test()
    print(f"ok: {test.__name__}")
print(f"chat server ok: {SERVER} {' '.join(EXTRA)}")
