"""aioquic + wsproto WebSocket-over-HTTP/3 echo server (RFC 9220), the
peer of wscore's h3_client.

Usage: py_server.py HOST PORT CERT KEY (PORT 0 picks a free one). Prints
`listening on HOST:PORT` when ready. aioquic's H3Connection sends
SETTINGS_ENABLE_CONNECT_PROTOCOL=1 by itself. Each extended CONNECT with
`:protocol websocket` gets a 200 (with permessage-deflate when offered)
and an echo of every message; Pings are answered, a Close is echoed and
the stream ended (FIN). Other requests get 400. Runs until killed.
"""

import argparse
import asyncio

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamReset
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from h3ws import ConnectionType, WsStream, header, server_accept


def log(line):
    print(f"py_server: {line}", flush=True)


class Server(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = None
        self.streams = {}

    def quic_event_received(self, event):
        if self.h3 is None:
            self.h3 = H3Connection(self._quic)
        if isinstance(event, StreamReset):
            self.streams.pop(event.stream_id, None)
            log(f"stream {event.stream_id} reset ({event.error_code:#x})")
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived):
                self.on_request(ev)
            elif isinstance(ev, DataReceived) and ev.stream_id in self.streams:
                self.on_data(ev)
        self.transmit()

    def on_request(self, ev):
        head = ev.headers
        if header(head, b":method") != b"CONNECT" or header(head, b":protocol") != b"websocket":
            self.h3.send_headers(ev.stream_id, [(b":status", b"400")], end_stream=True)
            log(f"refused {head}")
            return
        offer = header(head, b"sec-websocket-extensions")
        extensions, answer = server_accept(offer.decode() if offer else None)
        fields = [(b":status", b"200")]
        if answer:
            fields.append((b"sec-websocket-extensions", answer.encode()))
        self.h3.send_headers(ev.stream_id, fields)
        self.streams[ev.stream_id] = WsStream(
            self.h3, ev.stream_id, ConnectionType.SERVER, extensions
        )
        log(f"stream {ev.stream_id}: WebSocket open, extensions: {answer}")

    def on_data(self, ev):
        ws = self.streams[ev.stream_id]
        for item in ws.feed(ev.data, ev.stream_ended):
            if isinstance(item, tuple):
                kind, payload = item
                ws.send(TextMessage(data=payload) if kind == "text" else BytesMessage(data=payload))
            elif isinstance(item, Ping):
                ws.send(item.response())
            elif isinstance(item, CloseConnection):
                log(f"stream {ev.stream_id}: Close {item.code}")
                ws.send(item.response())
                ws.end()
        if ev.stream_ended:
            ws.end()
            self.streams.pop(ev.stream_id, None)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("cert")
    parser.add_argument("key")
    args = parser.parse_args()
    config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    config.load_cert_chain(args.cert, args.key)
    config.max_stream_data = 4 << 20
    config.max_data = 16 << 20
    server = await serve(args.host, args.port, configuration=config, create_protocol=Server)
    host, port = server._transport.get_extra_info("sockname")[:2]
    log(f"listening on {host}:{port}")
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
