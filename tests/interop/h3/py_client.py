"""aioquic + wsproto client against wscore's h3_echo (RFC 9220).

Usage: py_client.py HOST PORT [--no-deflate]. Checks that the server sends
SETTINGS_ENABLE_CONNECT_PROTOCOL, opens a WebSocket with an extended
CONNECT (offering permessage-deflate unless --no-deflate), sends text,
binary and 1 MiB messages and checks their echoes byte for byte, pings,
closes with 1000 and checks the server's code and that the server ends
the stream (FIN); then checks that a plain GET on another stream is
refused with 405. Prints a line per check; exits 1 on the first failure.
"""

import argparse
import asyncio
import ssl
import sys

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection, Setting
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamReset
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from h3ws import ConnectionType, WsStream, client_finalize, client_offer, header, messages

TIMEOUT = 20


def log(line):
    print(f"py_client: {line}", flush=True)


class Fail(Exception):
    pass


class Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.settings = asyncio.get_running_loop().create_future()
        self.heads = {}
        self.bodies = {}
        self.ws = None
        self.inbox = asyncio.Queue()

    def head(self, stream_id):
        return self.heads.setdefault(stream_id, asyncio.get_running_loop().create_future())

    def quic_event_received(self, event):
        if isinstance(event, StreamReset) and self.ws and event.stream_id == self.ws.stream_id:
            self.inbox.put_nowait(("reset", event.error_code))
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived):
                fut = self.head(ev.stream_id)
                if not fut.done():
                    fut.set_result(ev.headers)
            elif isinstance(ev, DataReceived):
                if self.ws and ev.stream_id == self.ws.stream_id:
                    for item in self.ws.feed(ev.data, ev.stream_ended):
                        self.inbox.put_nowait(item)
                    if ev.stream_ended:
                        self.inbox.put_nowait(("fin", None))
                else:
                    self.bodies.setdefault(ev.stream_id, bytearray()).extend(ev.data)
        if self.h3.received_settings is not None and not self.settings.done():
            self.settings.set_result(self.h3.received_settings)

    async def next(self):
        return await asyncio.wait_for(self.inbox.get(), TIMEOUT)


async def run(host, port, deflate):
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    # A throwaway certificate made by run.sh.
    config.verify_mode = ssl.CERT_NONE
    config.max_stream_data = 4 << 20
    config.max_data = 16 << 20
    async with connect(host, port, configuration=config, create_protocol=Client) as client:
        settings = await asyncio.wait_for(client.settings, TIMEOUT)
        if settings.get(Setting.ENABLE_CONNECT_PROTOCOL) != 1:
            raise Fail(f"no SETTINGS_ENABLE_CONNECT_PROTOCOL in {settings}")
        log("server sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1")

        stream_id = client._quic.get_next_available_stream_id()
        fields = [
            (b":method", b"CONNECT"),
            (b":protocol", b"websocket"),
            (b":scheme", b"https"),
            (b":authority", b"localhost"),
            (b":path", b"/echo"),
            (b"sec-websocket-version", b"13"),
        ]
        if deflate:
            _, offer = client_offer()
            fields.append((b"sec-websocket-extensions", offer.encode()))
        client.h3.send_headers(stream_id, fields)
        client.transmit()
        head = await asyncio.wait_for(client.head(stream_id), TIMEOUT)
        status = header(head, b":status")
        if status != b"200":
            raise Fail(f"handshake answered {status!r}: {head}")
        answer = header(head, b"sec-websocket-extensions")
        answer = answer.decode() if answer else None
        if deflate and not (answer or "").startswith("permessage-deflate"):
            raise Fail(f"permessage-deflate offered, not agreed: {answer!r}")
        if not deflate and answer:
            raise Fail(f"an extension agreed without an offer: {answer!r}")
        log(f"handshake 200, sec-websocket-extensions: {answer}")
        client.ws = WsStream(client.h3, stream_id, ConnectionType.CLIENT, client_finalize(answer))

        async def expect(what):
            while True:
                item = await client.next()
                if isinstance(item, Pong) and what != "pong":
                    continue
                return item

        for kind, payload in messages():
            if kind == "text":
                client.ws.send(TextMessage(data=payload))
            else:
                client.ws.send(BytesMessage(data=payload))
            client.transmit()
            got = await expect(kind)
            if got != (kind, payload):
                raise Fail(f"{kind} of {len(payload)} bytes: echo differs ({type(got)})")
            log(f"echo ok: {kind} {len(payload)} bytes")

        client.ws.send(Ping(payload=b"ping-42"))
        client.transmit()
        got = await expect("pong")
        if not (isinstance(got, Pong) and bytes(got.payload) == b"ping-42"):
            raise Fail(f"expected Pong b'ping-42', got {got}")
        log("pong ok")

        client.ws.send(CloseConnection(code=1000, reason="bye"))
        client.transmit()
        got = await expect("close")
        if not isinstance(got, CloseConnection) or got.code != 1000:
            raise Fail(f"expected the server's Close 1000, got {got}")
        log(f"server closed with {got.code}")
        got = await expect("fin")
        if got != ("fin", None):
            raise Fail(f"expected the server to end the stream, got {got}")
        log("server ended the stream (FIN)")
        client.ws.end()
        client.transmit()

        # Not a WebSocket: refused by the handshake layer.
        other = client._quic.get_next_available_stream_id()
        client.h3.send_headers(
            other,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", b"localhost"),
                (b":path", b"/"),
            ],
            end_stream=True,
        )
        client.transmit()
        head = await asyncio.wait_for(client.head(other), TIMEOUT)
        if header(head, b":status") != b"405":
            raise Fail(f"a GET got {head}")
        log("GET refused with 405")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--no-deflate", action="store_true")
    args = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(args.host, args.port, not args.no_deflate), 60))
    except (Fail, asyncio.TimeoutError, ConnectionError, OSError) as e:
        log(f"FAIL: {type(e).__name__}: {e}")
        sys.exit(1)
    log("PASS")


if __name__ == "__main__":
    main()
