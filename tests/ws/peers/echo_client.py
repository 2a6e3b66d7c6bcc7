"""A WebSocket client in Python websockets, for tests/ws:ws_python_peer_test:
echo_client.py URL CAFILE|-. With compression off and then on: text and
binary echoes at 0/125/126/65535/65536/1 MiB, a fragmented message, a ping
answered, close 4001 echoed. Exits 0 and prints "client ok" when all held."""
import asyncio, os, ssl, sys
import websockets

url, cafile = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile) if cafile != "-" else None

def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)

async def run(compression):
    async with websockets.connect(url, ssl=ctx, compression=compression, max_size=None,
                                  open_timeout=10, close_timeout=10) as ws:
        check((ws.extensions != []) == (compression is not None), "deflate negotiated")
        for n in [0, 125, 126, 65535, 65536, 1 << 20]:
            text = ("0123456789" * (n // 10 + 1))[:n]
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 20)
            check(got == text, f"text {n}")
            data = os.urandom(n)
            await ws.send(data)
            got = await asyncio.wait_for(ws.recv(), 20)
            check(got == data, f"binary {n}")
        await ws.send([b"frag", b"mented"])
        check(await asyncio.wait_for(ws.recv(), 20) == b"fragmented", "fragmented")
        await asyncio.wait_for(await ws.ping(b"p"), 10)
        await ws.close(code=4001, reason="bye")
        check(ws.close_code == 4001, f"close code {ws.close_code}")

async def main():
    await run(None)
    await run("deflate")
    print("client ok", flush=True)

asyncio.run(main())
