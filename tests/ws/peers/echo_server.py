"""A WebSocket echo server in Python websockets (python3-websockets), for
tests/ws:ws_python_peer_test: echo_server.py [CERT KEY]. Echoes every message
with its type; permessage-deflate accepted; the close code is echoed by the
library. Prints "listening on 127.0.0.1:N"."""
import asyncio, ssl, sys
import websockets

async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass

async def main():
    ctx = None
    if len(sys.argv) > 2:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on 127.0.0.1:{port}", flush=True)
        await asyncio.sleep(120)

asyncio.run(main())
