"""An ASGI echo app for Hypercorn: every WebSocket message comes back as
it came (text as text, bytes as bytes). Each accepted WebSocket prints the
HTTP version it came over, so run.sh can tell HTTP/2 from HTTP/1.1."""

import sys


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found\n"})
        return
    if scope["type"] != "websocket":
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    print(f"websocket over HTTP/{scope['http_version']} "
          f"extensions={scope.get('extensions')}", file=sys.stderr, flush=True)
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            print(f"websocket closed with {message.get('code')}", file=sys.stderr, flush=True)
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
