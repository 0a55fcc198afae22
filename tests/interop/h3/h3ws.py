"""What both Python peers share: the WebSocket framing of one HTTP/3 request
stream (wsproto over aioquic's H3Connection), permessage-deflate's header
strings, and the messages the interop sends."""

import os

from aioquic.h3.connection import H3Connection
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.extensions import PerMessageDeflate

PMD = "permessage-deflate"


def header(headers, name):
    """The value of `name` (bytes) in an aioquic header list, or None."""
    for n, v in headers:
        if n == name:
            return v
    return None


def messages():
    """(kind, payload) pairs: small, non-ASCII, empty and 1 MiB messages,
    compressible and not."""
    return [
        ("text", "hello from aioquic"),
        ("text", "héllo wörld, ünïcödé ✓ 🦀"),
        ("text", ""),
        ("text", "WebSocket over QUIC. " * 50000),
        ("binary", b"\x00\x01\x02\xfe\xff"),
        ("binary", b""),
        ("binary", os.urandom(1 << 20)),
        ("binary", bytes(i % 251 for i in range(1 << 20))),
    ]


class WsStream:
    """wsproto's framing on one HTTP/3 request stream: `feed` the stream's
    DATA (and its end), `send` wsproto events into the stream. Whole
    messages are assembled from wsproto's pieces."""

    def __init__(self, h3: H3Connection, stream_id: int, role, extensions):
        self.h3 = h3
        self.stream_id = stream_id
        self.ws = Connection(role, extensions=extensions)
        self.parts = []
        self.ended = False

    def send(self, event, end_stream=False):
        data = self.ws.send(event)
        self.h3.send_data(self.stream_id, data, end_stream=end_stream)

    def end(self):
        if not self.ended:
            self.ended = True
            self.h3.send_data(self.stream_id, b"", end_stream=True)

    def feed(self, data: bytes, stream_ended: bool):
        """Events for the application: ("text"|"binary", payload) for whole
        messages, and wsproto's Ping, Pong and CloseConnection events."""
        # After a Close, wsproto takes no more input; the end of the stream
        # is then the expected one, not an abrupt loss (1006).
        if data and self.ws.state is not ConnectionState.CLOSED:
            self.ws.receive_data(data)
        if stream_ended and self.ws.state is not ConnectionState.CLOSED:
            self.ws.receive_data(None)
        out = []
        for event in self.ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self.parts.append(event.data)
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        out.append(("text", "".join(self.parts)))
                    else:
                        out.append(("binary", b"".join(self.parts)))
                    self.parts = []
            else:
                out.append(event)
        return out


def client_offer():
    """The extension object and the header value a client offers."""
    pmd = PerMessageDeflate()
    return pmd, f"{PMD}; {pmd.offer()}"


def server_accept(offer_header):
    """The extension list and the response header value for a client's
    offer (None when no permessage-deflate offer is acceptable)."""
    if not offer_header:
        return [], None
    for offer in offer_header.split(","):
        offer = offer.strip()
        if offer.split(";", 1)[0].strip() != PMD:
            continue
        pmd = PerMessageDeflate()
        params = pmd.accept(offer)
        if params is True or params == "":
            return [pmd], PMD
        if params:
            return [pmd], f"{PMD}; {params}"
    return [], None


def client_finalize(answer_header):
    """The client's extension list for the server's answer."""
    if not answer_header:
        return []
    pmd = PerMessageDeflate()
    pmd.finalize(answer_header)
    return [pmd]


__all__ = [
    "CloseConnection",
    "ConnectionType",
    "Ping",
    "WsStream",
    "client_finalize",
    "client_offer",
    "header",
    "messages",
    "server_accept",
]
