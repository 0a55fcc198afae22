#!/usr/bin/env python3
"""The client side of tests/hostile/limits.sh, standard library only.

    limits_client.py flood PORT N   open N idle TCP connections to
                                    127.0.0.1:PORT, print "ready", hold them
                                    until killed (the kernel closes them)
    limits_client.py echo PORT      WebSocket handshake on /, one masked text
                                    frame, expect it echoed
    limits_client.py chat PORT      GET / (the page), then a WebSocket join on
                                    /ws?name=probe, expect "ID * probe joined"

Exits 0 on success, else 1 with the reason on stderr. A server that is
still pausing after the flood gets until DEADLINE seconds to answer.
"""

import base64
import hashlib
import os
import re
import select
import signal
import socket
import struct
import sys
import time

DEADLINE = 20.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


def fail(message):
    sys.stderr.write(f"limits_client: {message}\n")
    sys.exit(1)


def flood(port, count):
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        # Non-blocking: a connect the full backlog does not take yet stays
        # in progress instead of stalling the others.
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    # Give the handshakes a moment to complete, without waiting on the
    # ones the server's backlog drops.
    pending, end = list(socks), time.monotonic() + 2.0
    while pending and time.monotonic() < end:
        _, writable, _ = select.select([], pending, [], 0.1)
        pending = [s for s in pending if s not in writable]
    print(f"ready {count - len(pending)} connected of {count}", flush=True)
    signal.pause()


def read_head(sock):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"EOF before the response head ended: {head!r}")
        head += chunk
    return head.split(b"\r\n\r\n", 1)


def recv_exact(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("EOF inside a frame")
        buf += chunk
    return buf


def read_frame(sock, buf):
    """One unmasked server frame: (opcode, payload, rest of buf)."""
    buf = recv_exact(sock, buf, 2)
    opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
    at = 2
    if length == 126:
        buf = recv_exact(sock, buf, 4)
        (length,) = struct.unpack("!H", buf[2:4])
        at = 4
    elif length == 127:
        buf = recv_exact(sock, buf, 10)
        (length,) = struct.unpack("!Q", buf[2:10])
        at = 10
    buf = recv_exact(sock, buf, at + length)
    return opcode, buf[at : at + length], buf[at + length :]


def websocket(port, target, origin=None):
    """Connect and handshake; the socket and bytes already read past the head."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
        + (f"Origin: {origin}\r\n" if origin else "")
        + "\r\n"
    )
    sock.sendall(request.encode())
    head, rest = read_head(sock)
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"no 101: {head!r}")
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    if b"sec-websocket-accept: " + accept.lower() not in head.lower():
        raise ConnectionError(f"wrong Sec-WebSocket-Accept: {head!r}")
    return sock, rest


def next_text(sock, buf):
    """Skip control frames (a ping, say) until a text frame."""
    while True:
        opcode, payload, buf = read_frame(sock, buf)
        if opcode == 1:
            return payload.decode(), buf
        if opcode == 8:
            raise ConnectionError(f"closed by the server: {payload!r}")


def echo(port):
    sock, buf = websocket(port, "/")
    text = b"hello past the limits"
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    sock.sendall(bytes([0x81, 0x80 | len(text)]) + mask + masked)
    got, _ = next_text(sock, buf)
    if got != text.decode():
        raise ConnectionError(f"echo: sent {text!r}, got {got!r}")
    return "echoed"


def chat(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        page = b""
        while chunk := sock.recv(65536):
            page += chunk
    if not page.startswith(b"HTTP/1.1 200") or b"new WebSocket(" not in page:
        raise ConnectionError(f"GET / did not return the page: {page[:200]!r}")
    sock, buf = websocket(port, "/ws?name=probe", origin=f"http://127.0.0.1:{port}")
    got, _ = next_text(sock, buf)
    # Every chat line starts with its id in the room, `MS-SEQ`.
    if not re.fullmatch(r"[0-9]+-[0-9]+ \* probe joined", got):
        raise ConnectionError(f"join: expected 'ID * probe joined', got {got!r}")
    return "page served, joined"


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "flood":
        flood(port, int(sys.argv[3]))
        return
    check = {"echo": echo, "chat": chat}[mode]
    # The server may still be pausing (up to a second) or draining what
    # the flood left queued: retry what fails until the deadline.
    end, last = time.monotonic() + DEADLINE, None
    while time.monotonic() < end:
        try:
            print(check(port))
            return
        except OSError as e:
            last = e
            time.sleep(0.2)
    fail(f"{mode} on port {port}: {last}")


if __name__ == "__main__":
    main()
