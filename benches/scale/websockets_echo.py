"""Python `websockets` echo server for `cargo bench -p wscore-benches --bench scale`.

    python websockets_echo.py on|off SECONDS

The asyncio implementation (the library's recommended one). Listens on
127.0.0.1 (a port the kernel picks), prints `listening on 127.0.0.1:PORT`,
echoes every message. `on`: the library's defaults (permessage-deflate
with its own window and memLevel settings), `off`: compression=None.
Everything else is left at its default. Exits by itself after SECONDS.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    deflate, seconds = sys.argv[1], float(sys.argv[2])
    compression = "deflate" if deflate == "on" else None
    # Thousands of clients connect at once; the kernel caps it at somaxconn.
    async with serve(echo, "127.0.0.1", 0, compression=compression, backlog=4096) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print("listening on %s:%d" % (host, port), flush=True)
        await asyncio.sleep(seconds)


if __name__ == "__main__":
    asyncio.run(main())
