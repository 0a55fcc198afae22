"""The messages the interop clients send to wscore's echo server.

ws_client.mjs builds the same list (same order, kinds and sizes; the random
bytes differ, which does not matter for an echo). Each entry is
(name, payload), payload being str (a text message), bytes (binary), or a
list of fragments of one message (TextPiece for text, bytes for binary).
"""

import random


def json_like(size, seed):
    """Deterministic JSON-like text of exactly `size` bytes: repetitive
    records, so deflate gains a lot (a stand-in for API traffic)."""
    rng = random.Random(seed)
    parts, total, i = [], 0, 0
    while total < size:
        rec = ('{"id":%d,"user":"user-%03d","active":%s,"score":%d.%02d,'
               '"tags":["alpha","beta","gamma"],"note":"the quick brown fox"},\n'
               % (i, rng.randrange(1000), "true" if rng.random() < 0.5 else "false",
                  rng.randrange(10000), rng.randrange(100)))
        parts.append(rec)
        total += len(rec)
        i += 1
    return "".join(parts)[:size]


def mixed_binary(size, seed):
    """Alternating 4 KiB runs of random bytes (stored blocks) and of a
    repeated pattern (long matches), `size` bytes in all."""
    rng = random.Random(seed)
    out = bytearray()
    pattern = bytes(range(64)) * 64
    while len(out) < size:
        out += rng.randbytes(4096)
        out += pattern
    return bytes(out[:size])


NON_ASCII = "héllo wörld, ça va? Grüße — Ελληνικά, русский, 日本語, 한국어, emoji 🎉🦀 \u2028 end"


def split(data, n):
    """`data` in `n` pieces; text is cut by bytes, so a piece may end inside
    a character, which the receiver must accept across fragments."""
    raw = data.encode() if isinstance(data, str) else data
    step = -(-len(raw) // n)
    pieces = [raw[i:i + step] for i in range(0, len(raw), step)]
    return pieces if isinstance(data, bytes) else [TextPiece(p) for p in pieces]


class TextPiece(bytes):
    """A fragment of a text message, as bytes (it may split a character)."""


# The names of the repeated message (interop.py compares their sizes).
REPEAT = ("text json 3KiB", "text json 3KiB again")


def messages():
    rng = random.Random(7692)
    doc = json_like(100 * 1024, 1)
    small = json_like(3 * 1024, 4)
    msgs = [
        ("text ascii", "hello, wscore"),
        ("text non-ascii", NON_ASCII),
        ("text empty", ""),
        ("binary empty", b""),
        ("text tiny", "a"),
        ("binary tiny", b"\x00"),
        ("binary 0..255", bytes(range(256))),
        # A 3 KiB message twice: with context takeover and a window of 4 KiB
        # or more, the second copy is a few back-references into the first.
        (REPEAT[0], small),
        (REPEAT[1], small),
        ("text json 100KiB", doc),
        # The same document again: with context takeover the second copy is
        # mostly back-references into the previous message.
        ("text json 100KiB again", doc),
        ("binary random 64KiB", rng.randbytes(64 * 1024)),
        ("binary mixed 1MiB", mixed_binary(1024 * 1024, 2)),
        ("text json 1MiB", json_like(1024 * 1024, 3)),
        ("text after large", NON_ASCII + " again"),
        # Fragmented messages (a list is sent as one fragment per item): the
        # first frame has RSV1, the continuations carry the rest of one
        # deflate stream. The text is split inside multi-byte characters.
        ("text fragmented", split(doc[:30000] + NON_ASCII * 50, 7)),
        ("binary fragmented", split(rng.randbytes(20000) + bytes(30000), 4)),
    ]
    # A burst of small messages sent before any echo is read (pipelining).
    for i in range(40):
        if i % 2:
            msgs.append(("burst %d" % i, bytes([i]) * i))
        else:
            msgs.append(("burst %d" % i, "burst message %d: %s" % (i, "xyz" * i)))
    return msgs
