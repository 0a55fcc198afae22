#!/usr/bin/env python3
"""permessage-deflate interop cases between wscore and two independent
implementations, Python `websockets` and Node `ws`, in both roles.

    interop.py --python VENV_PYTHON --node NODE --echo-server BIN --client BIN

Run by run.sh (which installs the libraries and builds the examples); only
the standard library is used here. Prints one line per case, PASS or FAIL
with the reason, the negotiated parameters and how many frames were
compressed, then a final `N passed, N failed` line. Exit status 1 if any
case failed.

Their client -> our echo server (examples/echo_server.rs): the client
(py_client.py, ws_client.mjs) sends a fixed message list and checks every
echo; here we check the server's Sec-WebSocket-Extensions response against
the offer (RFC 7692 section 7.1 and what wscore's default config implies).

Our client (examples/client.rs) -> their echo server (py_server.py,
ws_server.mjs): lines piped through the client must come back byte for byte;
the server's log must show permessage-deflate agreed and the client's frames
compressed (RSV1 counted on the wire).
"""

import argparse
import base64
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "permessage-deflate"
STARTUP_SECONDS = 20
CASE_SECONDS = 90

# ------------------------------------------------------------ negotiation


class HeaderError(Exception):
    pass


def parse_extensions(header):
    """Sec-WebSocket-Extensions value -> [(name, {param: value or None})].
    Quoted values are unquoted (RFC 6455 section 9.1 allows them)."""
    if header is None:
        return []
    out = []
    for element in header.split(","):
        parts = [p.strip() for p in element.split(";")]
        if not parts[0]:
            raise HeaderError("empty extension in %r" % header)
        params = {}
        for p in parts[1:]:
            name, eq, value = p.partition("=")
            name = name.strip()
            value = value.strip().strip('"') if eq else None
            if name in params:
                raise HeaderError("parameter %s twice in %r" % (name, header))
            params[name] = value
        out.append((parts[0], params))
    return out


def deflate_params(header, who):
    """The single permessage-deflate element of a header, as a dict."""
    elements = parse_extensions(header)
    pmd = [p for n, p in elements if n == NAME]
    if not pmd:
        raise HeaderError("%s: permessage-deflate not negotiated (header: %r)" % (who, header))
    if len(elements) != 1:
        raise HeaderError("%s: expected one extension, got %r" % (who, header))
    return pmd[0]


def window(value, who, name):
    if value is None or not value.isdigit() or value.startswith("0") or not 8 <= int(value) <= 15:
        raise HeaderError("%s: bad %s value %r" % (who, name, value))
    return int(value)


def check_server_response(offer_header, response_header):
    """Check a response of wscore's server against the client's (single)
    offer: first RFC 7692 section 7.1's rules for a response, then that the
    agreement is what wscore's default DeflateConfig (13-bit windows both
    ways, context takeover allowed) implies: everything the client asked
    for, windows no larger than 13 and no smaller than asked. Returns the effective
    parameters; raises HeaderError."""
    offer = deflate_params(offer_header, "offer")
    resp = deflate_params(response_header, "response")
    known = {"server_no_context_takeover", "client_no_context_takeover",
             "server_max_window_bits", "client_max_window_bits"}
    unknown = set(resp) - known
    if unknown:
        raise HeaderError("response has unknown parameters %s" % sorted(unknown))
    for flag in ("server_no_context_takeover", "client_no_context_takeover"):
        if flag in resp and resp[flag] is not None:
            raise HeaderError("response: %s has a value" % flag)
    # 7.1.1.1: accepting an offer with server_no_context_takeover means
    # including it.
    if "server_no_context_takeover" in offer and "server_no_context_takeover" not in resp:
        raise HeaderError("offer asked for server_no_context_takeover, response lacks it")
    # 7.1.2.1: a server_max_window_bits offer is accepted by answering with
    # the same or a smaller value; the server may include it unasked.
    s_off = offer.get("server_max_window_bits")
    s_resp = resp.get("server_max_window_bits")
    if s_resp is not None or "server_max_window_bits" in resp:
        s_resp = window(s_resp, "response", "server_max_window_bits")
    if s_off is not None:
        s_off = window(s_off, "offer", "server_max_window_bits")
        if s_resp is None:
            raise HeaderError("offer asked for server_max_window_bits=%d, response lacks it" % s_off)
        if s_resp > s_off:
            raise HeaderError("server_max_window_bits=%d answers an offer of %d" % (s_resp, s_off))
    # 7.1.2.2: client_max_window_bits only if offered, never above the
    # offered value.
    c_off = offer.get("client_max_window_bits", "absent")
    c_resp = resp.get("client_max_window_bits", "absent")
    if c_resp != "absent":
        c_resp = window(c_resp, "response", "client_max_window_bits")
        if c_off == "absent":
            raise HeaderError("client_max_window_bits in the response, but not offered")
        if c_off is not None and c_resp > window(c_off, "offer", "client_max_window_bits"):
            raise HeaderError("client_max_window_bits=%d above the offered %s" % (c_resp, c_off))
    effective = {
        "server_no_context_takeover": "server_no_context_takeover" in resp,
        "client_no_context_takeover": "client_no_context_takeover" in resp
        or "client_no_context_takeover" in offer,
        "server_max_window_bits": s_resp or 15,
        "client_max_window_bits": c_resp if c_resp != "absent"
        else int(c_off) if c_off not in ("absent", None) else 15,
    }
    # wscore's defaults keep context and lower both windows to 13 bits
    # (DeflateConfig::DEFAULT, for a 24 KiB idle budget): the server's
    # always, the client's when it offered client_max_window_bits. Anything
    # smaller asked for is given as asked, and no extra reset.
    default_bits = 13
    wanted = {
        "server_no_context_takeover": "server_no_context_takeover" in offer,
        "server_max_window_bits": min(int(s_off) if s_off else 15, default_bits),
        "client_max_window_bits": 15 if c_off == "absent"
        else min(int(c_off) if c_off is not None else 15, default_bits),
    }
    for k, v in wanted.items():
        if effective[k] != v:
            raise HeaderError("effective %s is %s, expected %s for this offer" % (k, effective[k], v))
    return effective


def fmt_params(p):
    return ", ".join("%s=%s" % (k.replace("_max_window_bits", "_window").replace(
        "_no_context_takeover", "_nct"), v) for k, v in p.items())


# ------------------------------------------------------------ processes


class Proc:
    """A child process whose stdout lines are collected by a thread."""

    def __init__(self, argv, stdin=None, cwd=HERE):
        self.argv = argv
        self.p = subprocess.Popen(argv, cwd=cwd, stdin=stdin or subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def _read_err(self):
        for line in self.p.stderr:
            self.stderr.append(line.decode("utf-8", "replace").rstrip("\n"))

    def next_line(self, seconds, pred=lambda line: True):
        """The next stdout line matching pred within `seconds`, else None."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                self.lines.put(None)  # EOF stays visible to later calls
                return None
            if pred(line):
                return line

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    def err_tail(self, n=5):
        return " | ".join(self.stderr[-n:])


def start_server(argv, what):
    proc = Proc(argv)
    line = proc.next_line(STARTUP_SECONDS, lambda l: l.startswith("listening on "))
    if line is None:
        proc.stop()
        raise RuntimeError("%s did not start: %s" % (what, proc.err_tail()))
    return proc, line.split()[-1]


def run_json(argv, seconds=CASE_SECONDS):
    """Run a client that prints one JSON object; (exit code, object, stderr)."""
    try:
        cp = subprocess.run(argv, cwd=HERE, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=seconds)
    except subprocess.TimeoutExpired:
        return None, {"errors": ["timed out after %d s" % seconds]}, ""
    lines = [l for l in cp.stdout.decode("utf-8", "replace").splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"errors": ["no result printed"]}
    return cp.returncode, result, cp.stderr.decode("utf-8", "replace")


# ------------------------------------------------------------ cases

RESULTS = []


def report(case, ok, detail, problems=()):
    RESULTS.append((case, ok))
    print("%s %s" % ("PASS" if ok else "FAIL", case), flush=True)
    for p in problems:
        print("     problem: %s" % p)
    if detail:
        print("     %s" % detail, flush=True)


def their_client_case(impl, argv, paramset):
    case = "%s client -> wscore echo_server [%s]" % (impl, paramset)
    rc, res, err = run_json(argv)
    problems = list(res.get("errors", []))
    detail = ""
    eff = None
    try:
        eff = check_server_response(res.get("offer"), res.get("response"))
        detail = "offer %r -> response %r (%s)" % (res.get("offer"), res.get("response"),
                                                    fmt_params(eff))
    except HeaderError as e:
        problems.append(str(e))
        detail = "offer %r -> response %r" % (res.get("offer"), res.get("response"))
    if res.get("messages") is not None:
        detail += "; %d messages echoed, %s/%s server frames compressed" % (
            res["messages"], res.get("server_compressed"), res.get("server_messages"))
        # wscore compresses every message by default (min_size 0), so the
        # server's first frames must all have RSV1.
        if res.get("server_compressed") != res.get("server_messages"):
            problems.append("only %s of %s server messages compressed" % (
                res.get("server_compressed"), res.get("server_messages")))
        # RSV1 alone is not compression: half of the list (JSON-like text)
        # deflates ~10x, so anything above 3/4 of the payload means stored
        # blocks or an encoder that does not find matches.
        wire, payload = res.get("server_wire_bytes"), res.get("payload_bytes")
        if wire is not None and payload:
            detail += ", %d wire bytes for %d payload (%.0f%%)" % (wire, payload,
                                                                   100.0 * wire / payload)
            if wire * 4 > payload * 3:
                problems.append("server frames not compressed: %d wire bytes for %d payload"
                                % (wire, payload))
    if eff is not None and res.get("repeat_wire") is not None:
        p = check_takeover(res["repeat_wire"], eff["server_no_context_takeover"],
                           eff["server_max_window_bits"], "wscore's server")
        detail += "; repeated 3 KiB message: %s wire bytes" % "->".join(map(str, res["repeat_wire"]))
        if p:
            problems.append(p)
    # ws names the extensions it enabled.
    if "extensions" in res and res["extensions"] != NAME:
        problems.append("ws.extensions is %r" % res["extensions"])
    if res.get("close") not in (1000, None) and not problems:
        problems.append("close code %s" % res.get("close"))
    if rc not in (0, None) and not problems:
        problems.append("client exited with %s: %s" % (rc, err.strip()[-300:]))
    report(case, not problems, detail, problems)


# A 3 KiB line sent twice, first thing: see check_takeover.
REPEAT_LINE = "".join('{"n":%d,"name":"item-%d","tags":["red","green","blue"]}, ' % (i, i * 7)
                      for i in range(60))[:3072]


def check_takeover(sizes, nct, window, who):
    """The same 3 KiB message twice, (first, second) wire sizes. With
    context takeover and a window of 4 KiB or more the second copy must be
    mostly back-references into the first; without context takeover it
    cannot be. Returns a problem or None."""
    if not sizes or None in sizes or len(sizes) != 2:
        return "%s: no sizes for the repeated message (%r)" % (who, sizes)
    first, second = sizes
    if not nct and window >= 12 and second * 4 > first:
        return ("%s: context takeover unused: the repeated 3 KiB message took %d bytes, "
                "then %d" % (who, first, second))
    if nct and second * 5 < first * 4:
        return ("%s: no_context_takeover agreed, but the repeated message shrank "
                "from %d to %d bytes" % (who, first, second))
    return None


def client_lines():
    """The lines piped through wscore's client (each one a text message)."""
    rng = random.Random(7692)
    records = []
    while sum(map(len, records)) < 100 * 1024:
        i = len(records)
        records.append('{"id":%d,"user":"user-%03d","score":%d,"tags":["alpha","beta"],'
                       '"note":"the quick brown fox jumps"}, ' % (i, rng.randrange(1000),
                                                                rng.randrange(10000)))
    big = "".join(records)
    lines = [
        REPEAT_LINE,
        REPEAT_LINE,  # see check_takeover
        "hello, websockets",
        "héllo wörld, ça va? Grüße — Ελληνικά, русский, 日本語, 한국어, emoji 🎉🦀",
        "",
        "a",
        big,
        big,  # again: context takeover on both sides
        base64.b64encode(rng.randbytes(48 * 1024)).decode(),  # 64 KiB, less compressible
    ]
    lines += ["line %d %s" % (i, "ünïcødé " * (i % 7)) for i in range(30)]
    lines.append("bye ✓")
    return ("\n".join(lines) + "\n").encode()


def pipe_through_client(client_bin, url, data):
    """Write `data` to the client's stdin and keep stdin open until as many
    bytes came back (or CASE_SECONDS pass): the client closes the connection
    at stdin EOF, and a server may drop the echoes of messages it has not
    answered by the time the Close arrives (websockets does), so EOF comes
    only when every echo is in, as it would for a person at a terminal.
    Returns (stdout bytes, exit code or None on timeout, stderr text)."""
    p = subprocess.Popen([client_bin, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = bytearray()
    got_all = threading.Event()
    err = []

    def read_out():
        while True:
            chunk = p.stdout.read1(65536)
            if not chunk:
                break
            out.extend(chunk)
            if len(out) >= len(data):
                got_all.set()
        got_all.set()  # EOF: nothing more will come

    def read_err():
        err.append(p.stderr.read())

    readers = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=read_err, daemon=True)]
    for t in readers:
        t.start()
    deadline = time.monotonic() + CASE_SECONDS
    try:
        p.stdin.write(data)
        p.stdin.flush()
    except BrokenPipeError:
        pass  # the client died; its exit code says why
    got_all.wait(max(0, deadline - time.monotonic()))
    try:
        p.stdin.close()  # EOF: the client sends Close 1000
    except BrokenPipeError:
        pass
    try:
        rc = p.wait(max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = None
    for t in readers:
        t.join(5)
    msg = b"".join(err).decode("utf-8", "replace")
    if rc is None:
        msg = "timed out after %d s; %s" % (CASE_SECONDS, msg)
    return bytes(out), rc, msg


def our_client_case(impl, server_argv, paramset, client_bin):
    case = "wscore client -> %s echo server [%s]" % (impl, paramset)
    try:
        server, addr = start_server(server_argv, "%s server" % impl)
    except RuntimeError as e:
        report(case, False, "", [str(e)])
        return
    problems = []
    data = client_lines()
    try:
        out, rc, err = pipe_through_client(client_bin, "ws://%s/interop" % addr, data)
        if rc != 0:
            problems.append("client exit %s: %s" % (rc, err.strip()[-300:]))
        if out != data:
            a, b = data.splitlines(), out.splitlines()
            diff = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            problems.append("output differs from input (%d of %d bytes back, %d of %d lines; "
                            "first differing line %d)" % (len(out), len(data), len(b), len(a), diff))
        line = server.next_line(10, lambda l: l.startswith("{"))
    finally:
        server.stop()
    if line is None:
        report(case, False, "", problems + ["server logged no connection: %s" % server.err_tail()])
        return
    info = json.loads(line)
    problems += info.get("errors", [])
    detail = "offer %r -> response %r" % (info.get("offer"), info.get("response"))
    try:
        resp = deflate_params(info.get("response"), "%s server" % impl)
        want = EXPECTED_THEIR_RESPONSE[(impl, paramset)]
        if resp != want:
            problems.append("response params %s, expected %s" % (resp, want))
        sizes = (info.get("client_sizes") or [])[:2]
        detail += "; repeated 3 KiB line: %s wire bytes" % "->".join(map(str, sizes))
        p = check_takeover(sizes, "client_no_context_takeover" in resp,
                           int(resp.get("client_max_window_bits") or 15), "wscore's client")
        if p:
            problems.append(p)
    except HeaderError as e:
        problems.append(str(e))
    if "extensions" in info and info["extensions"] != NAME:
        problems.append("ws.extensions is %r" % info["extensions"])
    n_lines = data.count(b"\n")
    detail += "; %s lines echoed, %s/%s client messages compressed, %s wire bytes for %d payload" % (
        info.get("messages"), info.get("client_compressed"), info.get("client_messages"),
        info.get("client_wire_bytes"), len(data) - n_lines)
    if "continuations_sent" in info:
        detail += ", %d continuation frames echoed" % info["continuations_sent"]
    if info.get("messages") != n_lines:
        problems.append("server saw %s messages, sent %d" % (info.get("messages"), n_lines))
    # wscore compresses every message by default (min_size 0).
    if info.get("client_compressed") != info.get("client_messages"):
        problems.append("only %s of %s client messages had RSV1" % (
            info.get("client_compressed"), info.get("client_messages")))
    # RSV1 alone is not compression: the two JSON-like lines deflate ~10x,
    # so more than half the payload means stored blocks or no matches found.
    if not info.get("client_wire_bytes") or info["client_wire_bytes"] * 2 > len(data) - n_lines:
        problems.append("client frames not compressed: %s wire bytes for %d payload"
                        % (info.get("client_wire_bytes"), len(data) - n_lines))
    if info.get("close") != 1000:
        problems.append("server saw close code %s" % info.get("close"))
    report(case, not problems, detail, problems)


# What each of their servers answers, as configured, to wscore's client's
# offer: checked so that a case cannot pass with other parameters than the
# ones it is meant to exercise.
EXPECTED_THEIR_RESPONSE = {
    # websockets' defaults: server_max_window_bits=12 (sent even unasked, which
    # section 7.1.2.1 allows) and client_max_window_bits=12 when offered.
    ("python websockets", "defaults"): {"server_max_window_bits": "12",
                                        "client_max_window_bits": "12"},
    ("python websockets", "small-windows-no-takeover"): {
        "server_no_context_takeover": None, "client_no_context_takeover": None,
        "server_max_window_bits": "10", "client_max_window_bits": "9"},
    # wscore's client asks server_max_window_bits=13 first (its default
    # DeflateConfig's 13-bit windows), which these servers honour; its own
    # window it offers without a value (its compressor keeps to 13 bits
    # anyway), so ws leaves the client's window unlimited.
    ("python websockets", "client-window-8"): {"server_max_window_bits": "13",
                                               "client_max_window_bits": "8"},
    ("node ws", "defaults"): {"server_max_window_bits": "13"},
    ("node ws", "small-windows-no-takeover"): {
        "server_no_context_takeover": None, "client_no_context_takeover": None,
        "server_max_window_bits": "10", "client_max_window_bits": "9"},
    ("node ws", "windows-8"): {"server_max_window_bits": "8", "client_max_window_bits": "8"},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="interpreter with websockets installed")
    ap.add_argument("--node", default="node")
    ap.add_argument("--echo-server", required=True)
    ap.add_argument("--client", required=True)
    args = ap.parse_args()
    started = time.monotonic()

    echo, addr = start_server([args.echo_server, "127.0.0.1:0"], "wscore echo_server")
    url = "ws://%s/" % addr
    try:
        for ps in ("defaults", "small-windows-no-takeover", "server-window-8"):
            their_client_case("python websockets", [args.python, "py_client.py", url, ps], ps)
        for ps in ("defaults", "small-windows-no-takeover", "windows-8"):
            their_client_case("node ws", [args.node, "ws_client.mjs", url, ps], ps)
    finally:
        echo.stop()
        if echo.stderr:
            print("   wscore echo_server stderr: %s" % echo.err_tail(10))

    for ps in ("defaults", "small-windows-no-takeover", "client-window-8"):
        our_client_case("python websockets", [args.python, "py_server.py", ps, "120"], ps,
                        args.client)
    for ps in ("defaults", "small-windows-no-takeover", "windows-8"):
        our_client_case("node ws", [args.node, "ws_server.mjs", ps, "120"], ps, args.client)

    passed = sum(ok for _, ok in RESULTS)
    failed = len(RESULTS) - passed
    print("interop: %d cases in %.1f s" % (len(RESULTS), time.monotonic() - started))
    print("interop: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
