#!/usr/bin/env python3
"""Hostile peers against a wscore example server, one check per run.

Each subcommand attacks the server on 127.0.0.1:PORT (process PID, for
/proc) while a legitimate client in a process of its own (`probe`) echoes a
small text message every 50 ms and times the round trip. It prints one
line, `PASS name: numbers` or `FAIL name: numbers (why)`, and exits 1 on
FAIL. Python 3 standard library only. See tests/hostile/run.sh.
"""

import argparse
import base64
import json
import os
import random
import re
import selectors
import socket
import struct
import subprocess
import sys
import time

# The probe's round trip that counts as a failure however the rest went.
PROBE_TIMEOUT = 5.0


# ---------------------------------------------------------------- wire


def upgrade_request(args, name):
    """The opening handshake. The chat takes `/ws?name=` and wants the
    Origin of the pages it serves; the echo servers ignore both."""
    key = base64.b64encode(os.urandom(16)).decode()
    host = f"127.0.0.1:{args.port}"
    target = f"/ws?name={name}" if args.kind == "chat" else "/"
    return (
        f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n\r\n"
    ).encode()


def frame(opcode, payload, length=None, key=b"\x00\x00\x00\x00"):
    """A masked client frame; `length` may announce more than `payload`."""
    n = len(payload) if length is None else length
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def connect(args, name, timeout=10.0):
    """Connect and complete the handshake; returns the socket and any bytes
    read past the 101 response."""
    s = socket.create_connection(("127.0.0.1", args.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(upgrade_request(args, name))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    return s, rest


class Reader:
    """Server frames (unmasked) out of a blocking socket."""

    def __init__(self, sock, buf=b""):
        self.sock, self.buf = sock, buf

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def next(self):
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(at + n)
        payload = self.buf[at : at + n]
        self.buf = self.buf[at + n :]
        return b0 & 0x0F, payload


# ---------------------------------------------------------------- /proc


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# ---------------------------------------------------------------- probe


def without_id(line):
    """A chat line without its leading `MS-SEQ ` id, or None when it has
    none: the probe must not take a malformed line for its echo."""
    m = re.fullmatch(rb"[0-9]+-[0-9]+ (.*)", line, re.S)
    return m.group(1) if m else None


def probe_main(args):
    """The legitimate client: echo a text every 50 ms for `seconds`, print
    the round trips as JSON. In the chat the echo is the broadcast line
    `ID probe: TEXT` among everyone else's (every chat line starts with
    its id in the room, `MS-SEQ`)."""
    t0 = time.monotonic()
    result = {"rtts": [], "errors": 0, "handshake": None, "error": None}
    try:
        sock, rest = connect(args, "probe", timeout=PROBE_TIMEOUT * 2)
        result["handshake"] = time.monotonic() - t0
        sock.settimeout(PROBE_TIMEOUT)
        reader = Reader(sock, rest)
        end = time.monotonic() + args.seconds
        seq = 0
        while time.monotonic() < end:
            seq += 1
            text = f"p{seq}".encode()
            want = b"probe: " + text if args.kind == "chat" else text
            sent = time.monotonic()
            sock.sendall(frame(0x1, text, key=os.urandom(4)))
            while True:
                opcode, payload = reader.next()
                if opcode == 0x8:
                    raise ConnectionError(f"closed by the server: {payload!r}")
                if args.kind == "chat":
                    payload = without_id(payload)
                if opcode == 0x1 and payload == want:
                    break
            result["rtts"].append(time.monotonic() - sent)
            time.sleep(0.05)
        sock.sendall(frame(0x8, struct.pack("!H", 1000)))
        sock.close()
    except (OSError, ConnectionError) as e:
        result["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result))


class Probe:
    """`probe_main` in a process of its own, so the attack's Python work
    does not add to the round trips it measures."""

    def __init__(self, args, seconds):
        cmd = [sys.executable, __file__, "probe", "--port", str(args.port)]
        cmd += ["--kind", args.kind, "--seconds", str(seconds)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)

    def result(self):
        out, _ = self.proc.communicate(timeout=120)
        r = json.loads(out)
        rtts = sorted(r["rtts"])
        if rtts:
            r["p50"] = rtts[len(rtts) // 2]
            r["p99"] = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
        return r


def probe_summary(r):
    if not r["rtts"]:
        return f"probe: no round trip ({r['error']})"
    hs = r["handshake"]
    s = f"probe {len(r['rtts'])} echoes p50 {r['p50'] * 1000:.1f} ms p99 {r['p99'] * 1000:.1f} ms"
    s += f" max {max(r['rtts']) * 1000:.1f} ms, handshake {hs * 1000:.0f} ms"
    if r["error"]:
        s += f", ended by {r['error']}"
    return s


def probe_ok(r, p99_limit):
    """The legitimate client was served: no error, and its p99 under the
    limit."""
    return r["error"] is None and r["rtts"] and r["p99"] < p99_limit


def report(name, ok, numbers, why=""):
    if ok:
        print(f"PASS {name}: {numbers}", flush=True)
    else:
        print(f"FAIL {name}: {numbers} ({why})", flush=True)
    return 0 if ok else 1


# ---------------------------------------------------------------- attacks


def open_attackers(args, count, head_only=False):
    """`count` connections: bare TCP (`head_only`, for attacks on the
    handshake) or past the handshake. Returns the sockets, non-blocking."""
    socks = []
    for i in range(count):
        if head_only:
            s = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        else:
            s, _ = connect(args, f"a{i}")
        s.setblocking(False)
        socks.append(s)
    return socks


def trickle_bytes(attack, args):
    """What an attacker that trickles one byte per second sends."""
    if attack == "slowloris":
        # A request head that never ends: header lines forever.
        return upgrade_request(args, "slow")[:-2] + b"X-a: b\r\n" * 100_000
    # `trickle`: one 125-byte frame, a byte at a time.
    return frame(0x2, b"x" * 125)


def watch_drops(socks, seconds, trickle=None):
    """Until every socket is dropped by the server or `seconds` passed:
    read and discard, and send one byte of `trickle` per second on each.
    Each dropped socket is closed: a server that drains its peer before it
    lets go sees the end at once. Returns each socket's time to drop (None
    if still open)."""
    t0 = time.monotonic()
    dropped = [None] * len(socks)
    sent = [0] * len(socks)
    next_tick = t0
    while time.monotonic() - t0 < seconds and None in dropped:
        now = time.monotonic()
        if trickle is not None and now >= next_tick:
            next_tick += 1.0
            for i, s in enumerate(socks):
                if dropped[i] is None and sent[i] < len(trickle):
                    try:
                        s.send(trickle[sent[i] : sent[i] + 1])
                        sent[i] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        dropped[i] = now - t0
        sel = selectors.DefaultSelector()
        for i, s in enumerate(socks):
            if dropped[i] is None:
                sel.register(s, selectors.EVENT_READ, i)
        for key, _ in sel.select(timeout=0.2):
            try:
                if not key.fileobj.recv(65536):
                    dropped[key.data] = time.monotonic() - t0
            except BlockingIOError:
                pass
            except OSError:
                dropped[key.data] = time.monotonic() - t0
        sel.close()
        for i, s in enumerate(socks):
            if dropped[i] is not None:
                s.close()
    return dropped


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def check_dropped(args):
    """Attackers that stall (a head trickled forever, a frame trickled, a
    frame announced and never sent) are dropped within `--within` s."""
    probe = Probe(args, args.within + 3)
    head_only = args.attack == "slowloris"
    socks = open_attackers(args, args.count, head_only=head_only)
    if args.attack == "half-frame":
        for s in socks:
            s.send(frame(0x2, b"abcd", length=16 << 20))
        trickle = None
    else:
        trickle = trickle_bytes(args.attack, args)
    grace = 3.0
    dropped = watch_drops(socks, args.within + grace, trickle)
    close_all(socks)
    p = probe.result()
    times = sorted(t for t in dropped if t is not None)
    left = len(dropped) - len(times)
    numbers = f"{len(times)}/{len(dropped)} attackers dropped"
    if times:
        numbers += f" after {times[0]:.1f}-{times[-1]:.1f} s"
    numbers += f" (deadline {args.within} s); {probe_summary(p)}"
    name = f"{args.server} {args.attack} dropped by the deadline"
    if left:
        return report(name, False, numbers, f"{left} still open")
    if not probe_ok(p, 1.0):
        return report(name, False, numbers, "the legitimate client was not served")
    return report(name, True, numbers)


def start_non_readers(args, socks):
    """Each sends big messages and never reads: binary ones to the echo
    servers (echoed back into a peer that does not read), text to the chat
    (broadcast to everyone, the sender included)."""
    blob = {}
    for i, s in enumerate(socks):
        if args.kind == "chat":
            # 60 KiB of text: under the chat's 64 KiB limit.
            blob[s] = frame(0x1, os.urandom(30 << 10).hex().encode(), key=os.urandom(4))
        else:
            blob[s] = frame(0x2, os.urandom(args.message), key=os.urandom(4))
    return blob


def pump(socks, blob, seconds, drain=False):
    """Write `blob[s]` over and over on every socket for `seconds`, as fast
    as each takes it; with `drain`, read and drop what comes back. Returns
    the bytes written and the number of sockets the server closed."""
    sel = selectors.DefaultSelector()
    offset = {}
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE | (selectors.EVENT_READ if drain else 0))
        offset[s] = 0
    written, closed = 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and sel.get_map():
        for key, events in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                if events & selectors.EVENT_READ and not s.recv(1 << 20):
                    raise ConnectionError
                if events & selectors.EVENT_WRITE:
                    b = blob[s]
                    n = s.send(memoryview(b)[offset[s] :])
                    written += n
                    offset[s] = (offset[s] + n) % len(b)
            except BlockingIOError:
                pass
            except (OSError, ConnectionError):
                sel.unregister(s)
                closed += 1
    sel.close()
    return written, closed


def check_memory(args):
    """RSS growth per attacker while `count` attackers hold the server:
    non-readers, or frames half sent (16 MiB announced, a few bytes sent;
    or one byte per second). The probe joins after the attackers and
    leaves before them: in the chat, 200 joins or leaves at once are 200
    notices queued for every member, more than its queue of 64 lines, and
    the room kicks a member whose task did not drain them in time."""
    base = rss_bytes(args.pid)
    socks = open_attackers(args, args.count)
    early = 0
    if args.attack == "half-frame":
        for s in socks:
            s.send(frame(0x2, b"abcd", length=16 << 20))
        # A server that refuses the frame at once (the chat: over its
        # 64 KiB limit) drops them now; they close their side so the
        # server finishes them (and the room announces their leaves)
        # before the probe joins.
        dropped = watch_drops(socks, 1.0)
        early = sum(t is not None for t in dropped)
        socks = [s for s, t in zip(socks, dropped) if t is None]
    time.sleep(0.5)
    probe = Probe(args, args.seconds)
    # The attack outlasts the probe, whose start takes a moment.
    seconds = args.seconds + 1
    closed = 0
    detail = ""
    if args.attack == "non-reader":
        written, closed = pump(socks, start_non_readers(args, socks), seconds)
        detail = f", {written >> 20} MiB written"
    else:
        trickle = trickle_bytes("trickle", args) if args.attack == "trickle" else None
        dropped = watch_drops(socks, seconds, trickle)
        closed = early + sum(t is not None for t in dropped)
    peak = rss_bytes(args.pid)
    p = probe.result()
    close_all(socks)
    per = (peak - base) / args.count
    numbers = (
        f"RSS {base >> 20} -> {peak >> 20} MiB, {per / 1024:.1f} KiB per attacker"
        f" (bound {args.bound >> 10} KiB), {args.count} attackers, {closed} closed by the"
        f" server{detail}; {probe_summary(p)}"
    )
    name = f"{args.server} {args.attack} memory"
    if per > args.bound:
        return report(name, False, numbers, "over the bound")
    if not probe_ok(p, 1.0):
        return report(name, False, numbers, "the legitimate client was not served")
    return report(name, True, numbers)


def check_flood(args):
    """`count` connections send empty Pings or 1-byte messages as fast as
    the server takes them (reading what comes back) for `seconds`; the
    legitimate client's p99 stays under `--p99` s."""
    socks = open_attackers(args, args.count)
    if args.attack == "ping":
        unit = frame(0x9, b"")
    else:
        # Binary: the chat broadcasts only text, so this is the flood the
        # room itself must absorb; the echo servers echo it.
        unit = frame(0x2, b"x")
    blob = unit * ((64 << 10) // len(unit))
    probe = Probe(args, args.seconds)
    # The flood outlasts the probe, whose start takes a moment.
    written, closed = pump(socks, {s: blob for s in socks}, args.seconds + 1.5, drain=True)
    p = probe.result()
    close_all(socks)
    numbers = (
        f"{probe_summary(p)}; {args.count} flooders got {written >> 20} MiB into their sockets,"
        f" {closed} closed by the server"
    )
    name = f"{args.server} {args.attack} flood latency"
    if not probe_ok(p, args.p99):
        return report(name, False, numbers, f"p99 not under {args.p99} s")
    return report(name, True, numbers)


def check_rst(args):
    """Connections that send part of a handshake or frame and reset: the
    server's descriptors return to their count before the attack."""
    base = fd_count(args.pid)
    probe = Probe(args, 3)
    rng = random.Random(16)
    cuts = {}
    peak = base
    for i in range(args.count):
        request = upgrade_request(args, f"r{i}")
        data = request + frame(0x2, b"y" * 300)
        # Anywhere: in the request head, right after it, in the frame's
        # header, in its payload.
        cut = rng.choice(
            [
                0,
                rng.randrange(1, len(request)),
                len(request),
                len(request) + rng.randrange(1, 6),
                rng.randrange(len(request) + 6, len(data)),
            ]
        )
        kind = "nothing" if cut == 0 else "head" if cut < len(request) else "frame"
        cuts[kind] = cuts.get(kind, 0) + 1
        s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
        if cut:
            s.sendall(data[:cut])
        if rng.random() < 0.5:
            time.sleep(0.01)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        if i % 20 == 0:
            peak = max(peak, fd_count(args.pid))
    p = probe.result()
    t0 = time.monotonic()
    after = fd_count(args.pid)
    while after > base and time.monotonic() - t0 < args.within:
        time.sleep(0.1)
        after = fd_count(args.pid)
    took = time.monotonic() - t0
    mix = ", ".join(f"{n} cut in {k}" for k, n in sorted(cuts.items()))
    numbers = (
        f"fds before {base}, peak {peak}, after {after} ({took:.1f} s after the last reset);"
        f" {args.count} resets ({mix}); {probe_summary(p)}"
    )
    name = f"{args.server} resets"
    if after > base:
        return report(name, False, numbers, f"not back to {base} within {args.within} s")
    if not probe_ok(p, 1.0):
        return report(name, False, numbers, "the legitimate client was not served")
    return report(name, True, numbers)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("check", choices=["probe", "dropped", "memory", "flood", "rst"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--server", default="server", help="the server's name, for the report")
    ap.add_argument("--kind", choices=["echo", "chat"], default="echo")
    ap.add_argument("--attack", default="")
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--within", type=float, default=10, help="deadline, s")
    ap.add_argument("--bound", type=int, default=16 << 10, help="RSS bytes per attacker")
    ap.add_argument("--message", type=int, default=1 << 20, help="non-readers' message size")
    ap.add_argument("--p99", type=float, default=1.0, help="the probe's p99 limit, s")
    args = ap.parse_args()
    checks = {
        "probe": probe_main,
        "dropped": check_dropped,
        "memory": check_memory,
        "flood": check_flood,
        "rst": check_rst,
    }
    sys.exit(checks[args.check](args) or 0)


if __name__ == "__main__":
    main()
