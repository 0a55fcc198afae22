"""Python `websockets` echo server with permessage-deflate, for wscore's client.

    py_server.py PARAMSET [SECONDS]

Listens on 127.0.0.1 (a port the kernel picks), prints `listening on
127.0.0.1:PORT`, echoes every message, and after each connection prints one
JSON object: the client's offer, our Sec-WebSocket-Extensions response, and
how many of the client's data frames had RSV1 set (counted on the wire,
before inflating). Stops by itself after SECONDS (default 120).

PARAMSET: "defaults" (websockets' own server defaults) or a name in PARAMS.
"""

import json
import sys
import threading

from websockets.frames import Opcode
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
    enable_server_permessage_deflate,
)
from websockets.sync.server import serve

PARAMS = {
    "small-windows-no-takeover": dict(
        server_max_window_bits=10,
        client_max_window_bits=9,
        server_no_context_takeover=True,
        client_no_context_takeover=True,
    ),
    # websockets cannot compress with an 8-bit window, but it can ask the
    # client to: wscore's compressor must keep to 256 bytes.
    "client-window-8": dict(client_max_window_bits=8),
}

DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY)


class CountingDeflate(PerMessageDeflate):
    """The library's extension, counting the client's data frames."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_frames = 0
        self.rsv1_frames = 0
        self.wire_bytes = 0
        self.payload_bytes = 0
        self.continuations_sent = 0
        self.sizes = []  # wire payload bytes per client message, in order

    def encode(self, frame):
        # Shows that the long echoes really went out fragmented.
        self.continuations_sent += frame.opcode is Opcode.CONT
        return super().encode(frame)

    def decode(self, frame, *, max_size=None):
        if frame.opcode in DATA_OPCODES:
            self.first_frames += 1
            self.rsv1_frames += bool(frame.rsv1)
            self.sizes.append(0)
        data = frame.opcode in DATA_OPCODES or frame.opcode is Opcode.CONT
        if data:
            self.wire_bytes += len(frame.data)
            self.sizes[-1] += len(frame.data)
        out = super().decode(frame, max_size=max_size)
        if data:
            self.payload_bytes += len(out.data)
        return out


class CountingFactory(ServerPerMessageDeflateFactory):
    def process_request_params(self, params, accepted_extensions):
        response, ext = super().process_request_params(params, accepted_extensions)
        return response, CountingDeflate(
            ext.remote_no_context_takeover,
            ext.local_no_context_takeover,
            ext.remote_max_window_bits,
            ext.local_max_window_bits,
            self.compress_settings,
        )


def make_factory(paramset):
    if paramset == "defaults":
        d = enable_server_permessage_deflate(None)[0]
        return CountingFactory(
            server_no_context_takeover=d.server_no_context_takeover,
            client_no_context_takeover=d.client_no_context_takeover,
            server_max_window_bits=d.server_max_window_bits,
            client_max_window_bits=d.client_max_window_bits,
            compress_settings=d.compress_settings,
            require_client_max_window_bits=d.require_client_max_window_bits,
        )
    return CountingFactory(**PARAMS[paramset])


def echo(ws, message):
    """Echo a message; one over 50,000 bytes goes back in three fragments
    (text cut by bytes, inside characters), so wscore's client inflates a
    message whose deflate stream spans continuation frames."""
    raw = message.encode() if isinstance(message, str) else message
    if len(raw) <= 50_000:
        ws.send(message)
        return
    step = -(-len(raw) // 3)
    ws.send([raw[i:i + step] for i in range(0, len(raw), step)], text=isinstance(message, str))


def handler(ws):
    info = {
        "impl": "python websockets",
        "offer": ws.request.headers.get("Sec-WebSocket-Extensions"),
        "response": ", ".join(ws.response.headers.get_all("Sec-WebSocket-Extensions")) or None,
        "errors": [],
    }
    messages = 0
    try:
        for message in ws:
            messages += 1
            echo(ws, message)
    except Exception as e:  # reported, not raised: the log is the result
        info["errors"].append("%s: %s" % (type(e).__name__, e))
    ext = next((e for e in ws.protocol.extensions if isinstance(e, CountingDeflate)), None)
    info["messages"] = messages
    if ext is not None:
        info["client_messages"] = ext.first_frames
        info["client_compressed"] = ext.rsv1_frames
        info["client_wire_bytes"] = ext.wire_bytes
        info["client_payload_bytes"] = ext.payload_bytes
        info["continuations_sent"] = ext.continuations_sent
        info["client_sizes"] = ext.sizes
    rcvd = ws.protocol.close_rcvd
    info["close"] = rcvd.code if rcvd else None
    print(json.dumps(info), flush=True)


def main():
    paramset = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 120
    with serve(handler, "127.0.0.1", 0, compression=None, extensions=[make_factory(paramset)],
               max_size=64 << 20) as server:
        host, port = server.socket.getsockname()[:2]
        print("listening on %s:%d" % (host, port), flush=True)
        # Bounded: whatever happens, the server goes away by itself.
        timer = threading.Timer(seconds, server.shutdown)
        timer.daemon = True
        timer.start()
        server.serve_forever()


if __name__ == "__main__":
    main()
