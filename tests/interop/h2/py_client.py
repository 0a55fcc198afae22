"""An independent WebSocket-over-HTTP/2 client (RFC 8441): the `h2`
library for HTTP/2 and `wsproto` for the WebSocket frames and
permessage-deflate, driven by hand over a blocking socket.

`python py_client.py HOST PORT PATH`: HTTP/2 with prior knowledge (h2c).
Waits for the server's SETTINGS to enable extended CONNECT, opens two
WebSockets on the one connection with permessage-deflate offered, sends a
text line, a 1 MiB binary message and a Ping through each, checks the
echoes, closes both with 1000 and checks the server's Close and its
END_STREAM. Prints one line per check; exits 1 on the first failure."""

import os
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate

DEADLINE = time.monotonic() + 60


def fail(what):
    print("FAIL: " + what, flush=True)
    sys.exit(1)


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=10)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config)
        self.h2.initiate_connection()
        self.flush()
        self.streams = {}  # stream id -> Socket
        self.connect_enabled = False

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self):
        """Read once and dispatch what came."""
        if time.monotonic() > DEADLINE:
            fail("timed out")
        data = self.sock.recv(1 << 16)
        if not data:
            fail("the server closed the connection")
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                setting = event.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                if setting is not None:
                    self.connect_enabled = setting.new_value == 1
            elif isinstance(event, h2.events.ResponseReceived):
                self.streams[event.stream_id].response = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                self.streams[event.stream_id].ws.receive_data(event.data)
            elif isinstance(event, h2.events.StreamEnded):
                self.streams[event.stream_id].ended = True
            elif isinstance(event, h2.events.StreamReset):
                fail(f"stream {event.stream_id} reset: {event.error_code}")
        self.flush()

    def send(self, stream_id, data):
        """Send within flow control, reading while the window is shut."""
        while data:
            room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
            if room <= 0:
                self.pump()
                continue
            self.h2.send_data(stream_id, data[:room])
            data = data[room:]
            self.flush()


class Socket:
    def __init__(self, client, path):
        self.client = client
        self.response = None
        self.ended = False
        self.deflate = PerMessageDeflate()
        self.id = client.h2.get_next_available_stream_id()
        client.streams[self.id] = self
        offer = self.deflate.offer()
        offer = "permessage-deflate" + ("" if offer is True else "; " + offer)
        client.h2.send_headers(self.id, [
            (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
            (":path", path), (":authority", f"{client.host}:{client.port}"),
            ("sec-websocket-version", "13"), ("sec-websocket-extensions", offer),
        ])
        client.flush()
        while self.response is None:
            client.pump()
        status = self.response.get(":status")
        if status != "200":
            fail(f"stream {self.id}: status {status}, wanted 200")
        agreed = self.response.get("sec-websocket-extensions", "")
        extensions = []
        if agreed.startswith("permessage-deflate"):
            self.deflate.finalize(agreed.partition(";")[2].strip())
            extensions = [self.deflate]
        self.ws = Connection(ConnectionType.CLIENT, extensions=extensions)
        print(f"ok: stream {self.id} answered 200, extensions {agreed!r}", flush=True)

    def send(self, event):
        self.client.send(self.id, self.ws.send(event))

    def next_event(self):
        while True:
            for event in self.ws.events():
                return event
            self.client.pump()

    def message(self):
        """The next whole message, as (is_text, data)."""
        parts = []
        while True:
            event = self.next_event()
            if isinstance(event, (TextMessage, BytesMessage)):
                parts.append(event.data)
                if event.message_finished:
                    text = isinstance(event, TextMessage)
                    return text, ("" if text else b"").join(parts)
            elif isinstance(event, Ping):
                self.send(event.response())
            else:
                fail(f"stream {self.id}: wanted a message, got {event!r}")


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = Client(host, port)
    while not client.connect_enabled:
        client.pump()
    print("ok: the server's SETTINGS enable extended CONNECT", flush=True)
    sockets = [Socket(client, path), Socket(client, path)]
    for n, s in enumerate(sockets, 1):
        line = f"héllo from the Python client, socket {n}"
        s.send(TextMessage(data=line))
        if s.message() != (True, line):
            fail(f"socket {n}: the text came back different")
        noise = os.urandom(1 << 20)
        s.send(BytesMessage(data=noise))
        if s.message() != (False, noise):
            fail(f"socket {n}: the 1 MiB binary came back different")
        s.send(Ping(payload=b"py"))
        event = s.next_event()
        if not (isinstance(event, Pong) and event.payload == b"py"):
            fail(f"socket {n}: wanted the Pong, got {event!r}")
        print(f"ok: socket {n} echoed text, 1 MiB binary and the Ping", flush=True)
    for n, s in enumerate(sockets, 1):
        s.send(CloseConnection(code=1000, reason="done"))
        event = s.next_event()
        if not (isinstance(event, CloseConnection) and event.code == 1000):
            fail(f"socket {n}: wanted the server's Close 1000, got {event!r}")
        # The server ends its side of the stream after its Close.
        while not s.ended:
            client.pump()
        client.h2.end_stream(s.id)
        client.flush()
        print(f"ok: socket {n} closed with 1000 and the server ended its stream", flush=True)
    print("PASS: Python h2 + wsproto client, two WebSockets over one HTTP/2 connection", flush=True)


if __name__ == "__main__":
    main()
