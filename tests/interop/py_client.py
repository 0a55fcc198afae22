"""Python `websockets` client against wscore's echo server.

    py_client.py URL PARAMSET

Sends the messages of messages.py, checks every echo byte for byte (type
too), closes with 1000, and prints one JSON object on stdout: the offer, the
server's Sec-WebSocket-Extensions response, how many data frames from the
server had RSV1 set, and any errors. Exit status 0 when every echo matched;
interop.py checks the negotiated parameters.

PARAMSET: "defaults" (websockets' own client offer) or one of the names in
PARAMS below.
"""

import json
import sys
import time

from websockets.frames import Opcode
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    enable_client_permessage_deflate,
)
from websockets.sync.client import connect

from messages import REPEAT, TextPiece, messages

PARAMS = {
    "small-windows-no-takeover": dict(
        client_max_window_bits=9,
        server_max_window_bits=10,
        client_no_context_takeover=True,
        server_no_context_takeover=True,
    ),
    # Our compressor must keep to a 256-byte window (zlib cannot compress
    # with one, but it can inflate with one).
    "server-window-8": dict(server_max_window_bits=8),
}

DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY)


class CountingDeflate(PerMessageDeflate):
    """The library's extension, counting the server's data frames (on the
    wire, before inflating) so we can tell whether wscore compressed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_frames = 0
        self.rsv1_frames = 0
        self.wire_bytes = 0
        self.sizes = []  # wire payload bytes per message, in order

    def decode(self, frame, *, max_size=None):
        if frame.opcode in DATA_OPCODES:
            self.first_frames += 1
            self.rsv1_frames += bool(frame.rsv1)
            self.sizes.append(0)
        if frame.opcode in DATA_OPCODES or frame.opcode is Opcode.CONT:
            self.wire_bytes += len(frame.data)
            self.sizes[-1] += len(frame.data)
        return super().decode(frame, max_size=max_size)


class CountingFactory(ClientPerMessageDeflateFactory):
    def process_response_params(self, params, accepted_extensions):
        ext = super().process_response_params(params, accepted_extensions)
        return CountingDeflate(
            ext.remote_no_context_takeover,
            ext.local_no_context_takeover,
            ext.remote_max_window_bits,
            ext.local_max_window_bits,
            self.compress_settings,
        )


def make_factory(paramset):
    if paramset == "defaults":
        # Whatever websockets offers by default, with counting added.
        default = enable_client_permessage_deflate(None)[0]
        return CountingFactory(
            server_no_context_takeover=default.server_no_context_takeover,
            client_no_context_takeover=default.client_no_context_takeover,
            server_max_window_bits=default.server_max_window_bits,
            client_max_window_bits=default.client_max_window_bits,
            compress_settings=default.compress_settings,
        )
    return CountingFactory(**PARAMS[paramset])


def describe_mismatch(sent, got):
    if type(sent) is not type(got):
        return "sent %s, echo is %s" % (kind(sent), kind(got))
    a = sent.encode() if isinstance(sent, str) else sent
    b = got.encode() if isinstance(got, str) else got
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return "%d bytes sent, %d echoed, first difference at byte %d" % (len(a), len(b), i)


PONGS = []  # one per fragmented message, set when its ping is answered


def with_ping(ws, pieces):
    """The fragments, with a ping sent between the second and the third:
    the server must answer it in the middle of a compressed message
    (control frames may be interleaved, RFC 6455 section 5.4)."""
    for i, piece in enumerate(pieces):
        if i == 2:
            PONGS.append(ws.ping(b"mid-message"))
        yield piece


def send(ws, payload):
    """Send one message; a list is one fragmented message. Returns what
    the echo must be."""
    if isinstance(payload, list):
        text = isinstance(payload[0], TextPiece)
        ws.send(with_ping(ws, payload), text=text)
        joined = b"".join(payload)
        return joined.decode() if text else joined
    ws.send(payload)
    return payload


def size(payload):
    if isinstance(payload, list):
        return sum(map(len, payload))
    return len(payload.encode() if isinstance(payload, str) else payload)


def kind(m):
    return "text" if isinstance(m, str) else "binary"


def main():
    url, paramset = sys.argv[1], sys.argv[2]
    factory = make_factory(paramset)
    result = {"impl": "python websockets", "paramset": paramset, "errors": []}
    errors = result["errors"]
    started = time.monotonic()
    try:
        with connect(url, compression=None, extensions=[factory], max_size=64 << 20,
                     open_timeout=10, close_timeout=10) as ws:
            result["offer"] = ws.request.headers.get("Sec-WebSocket-Extensions")
            result["response"] = ", ".join(
                ws.response.headers.get_all("Sec-WebSocket-Extensions")) or None
            ext = next((e for e in ws.protocol.extensions if isinstance(e, CountingDeflate)), None)
            msgs = messages()
            single = [m for m in msgs if not m[0].startswith("burst")]
            burst = [m for m in msgs if m[0].startswith("burst")]
            for name, payload in single:
                payload = send(ws, payload)
                got = ws.recv(timeout=30)
                if got != payload or type(got) is not type(payload):
                    errors.append("%s: %s" % (name, describe_mismatch(payload, got)))
            for name, payload in burst:
                ws.send(payload)
            for name, payload in burst:
                got = ws.recv(timeout=30)
                if got != payload or type(got) is not type(payload):
                    errors.append("%s: %s" % (name, describe_mismatch(payload, got)))
            result["messages"] = len(msgs)
            answered = sum(p.wait(10) for p in PONGS)
            result["pongs"] = answered
            if answered != len(PONGS):
                errors.append("%d of %d mid-message pings answered" % (answered, len(PONGS)))
            result["payload_bytes"] = sum(size(p) for _, p in msgs)
            if ext is not None:
                result["server_messages"] = ext.first_frames
                result["server_compressed"] = ext.rsv1_frames
                result["server_wire_bytes"] = ext.wire_bytes
                # Echoes come in the order sent: single messages, then the burst.
                order = [n for n, _ in single + burst]
                result["repeat_wire"] = [ext.sizes[order.index(n)] for n in REPEAT]
            ws.close(1000)
            result["close"] = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
    except Exception as e:  # any failure is a test failure, reported by name
        errors.append("%s: %s" % (type(e).__name__, e))
    result["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(result), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
