// Shared by ws_client.mjs and ws_server.mjs: the message list (the same
// kinds, sizes and order as messages.py) and a tap that reads the raw
// frames off a socket, so we can see whether the peer set RSV1.

import { randomBytes } from 'node:crypto';

// A small deterministic generator (xorshift32), so that the JSON-like
// documents are reproducible between runs.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

// Repetitive JSON-like text of exactly `size` bytes (ASCII), which deflate
// compresses well.
export function jsonLike(size, seed) {
  const r = rng(seed);
  const parts = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const rec =
      `{"id":${i},"user":"user-${String(r(1000)).padStart(3, '0')}",` +
      `"active":${r(2) ? 'true' : 'false'},"score":${r(10000)}.${String(r(100)).padStart(2, '0')},` +
      '"tags":["alpha","beta","gamma"],"note":"the quick brown fox"},\n';
    parts.push(rec);
    total += rec.length;
  }
  return parts.join('').slice(0, size);
}

// Alternating 4 KiB runs of random bytes and of a repeated pattern.
export function mixedBinary(size) {
  const out = Buffer.alloc(size);
  const pattern = Buffer.alloc(4096);
  for (let i = 0; i < 4096; i++) pattern[i] = i % 64;
  for (let off = 0; off < size; off += 8192) {
    randomBytes(4096).copy(out, off);
    if (off + 4096 < size) pattern.copy(out, off + 4096);
  }
  return out;
}

export const NON_ASCII =
  'héllo wörld, ça va? Grüße — Ελληνικά, русский, 日本語, 한국어, emoji 🎉🦀 \u2028 end';

function fragments(buf, n, binary) {
  const step = Math.ceil(buf.length / n);
  const pieces = [];
  for (let i = 0; i < buf.length; i += step) pieces.push(buf.subarray(i, i + step));
  return { fragments: pieces, binary };
}

// Send one message; a { fragments, binary } payload as one fragmented
// message. Returns what the echo must be (a string or a Buffer).
export function sendMessage(ws, payload) {
  if (payload && payload.fragments) {
    const { fragments: pieces, binary } = payload;
    pieces.forEach((p, i) => {
      // A ping between two fragments: the server must answer it in the
      // middle of a compressed message (control frames are never
      // compressed and may be interleaved, RFC 6455 section 5.4).
      if (i === 2) ws.ping(Buffer.from('mid-message'));
      ws.send(p, { binary, fin: i === pieces.length - 1 });
    });
    const joined = Buffer.concat(pieces);
    return binary ? joined : joined.toString('utf8');
  }
  ws.send(payload, { binary: Buffer.isBuffer(payload) });
  return payload;
}

// The names of the repeated message (interop.py compares their sizes).
export const REPEAT = ['text json 3KiB', 'text json 3KiB again'];

// [name, payload]: a string is a text message, a Buffer a binary one.
export function messages() {
  const doc = jsonLike(100 * 1024, 1);
  const small = jsonLike(3 * 1024, 4);
  const msgs = [
    ['text ascii', 'hello, wscore'],
    ['text non-ascii', NON_ASCII],
    ['text empty', ''],
    ['binary empty', Buffer.alloc(0)],
    ['text tiny', 'a'],
    ['binary tiny', Buffer.from([0])],
    ['binary 0..255', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    // A 3 KiB message twice: with context takeover and a window of 4 KiB or
    // more, the second copy is a few back-references into the first.
    [REPEAT[0], small],
    [REPEAT[1], small],
    ['text json 100KiB', doc],
    // Again: with context takeover, mostly back-references.
    ['text json 100KiB again', doc],
    ['binary random 64KiB', randomBytes(64 * 1024)],
    ['binary mixed 1MiB', mixedBinary(1024 * 1024)],
    ['text json 1MiB', jsonLike(1024 * 1024, 3)],
    ['text after large', NON_ASCII + ' again'],
    // Fragmented messages ({ fragments, binary }): the first frame has RSV1,
    // the continuations carry the rest of one deflate stream. The text is
    // cut by bytes, inside multi-byte characters.
    ['text fragmented', fragments(Buffer.from(doc.slice(0, 30000) + NON_ASCII.repeat(50)), 7, false)],
    ['binary fragmented', fragments(Buffer.concat([randomBytes(20000), Buffer.alloc(30000)]), 4, true)],
  ];
  for (let i = 0; i < 40; i++) {
    msgs.push([
      `burst ${i}`,
      i % 2 ? Buffer.alloc(i, i) : `burst message ${i}: ${'xyz'.repeat(i)}`,
    ]);
  }
  return msgs;
}

// Counts the data frames in the bytes a socket receives: first frames
// (text/binary), how many of them have RSV1, and payload bytes on the wire.
// It parses headers only and skips payloads, so it works for both masked
// (client to server) and unmasked frames.
export function frameTap(socket) {
  // sizes: wire payload bytes per message, in order.
  const stats = { messages: 0, compressed: 0, wireBytes: 0, sizes: [] };
  let buf = Buffer.alloc(0);
  let skip = 0; // payload bytes of the current frame still to skip
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
        if (skip > 0) return;
      }
      if (buf.length < 2) return;
      const b0 = buf[0], b1 = buf[1];
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (b1 & 0x80) off += 4; // masking key
      if (buf.length < off) return;
      const opcode = b0 & 0x0f;
      if (opcode === 1 || opcode === 2) {
        stats.messages++;
        if (b0 & 0x40) stats.compressed++;
        stats.sizes.push(0);
      }
      if (opcode <= 2) {
        stats.wireBytes += len;
        if (stats.sizes.length) stats.sizes[stats.sizes.length - 1] += len;
      }
      buf = buf.subarray(off);
      skip = len;
    }
  });
  return stats;
}

export function describeMismatch(sent, got, gotBinary) {
  const sentBinary = Buffer.isBuffer(sent);
  if (sentBinary !== gotBinary) {
    return `sent ${sentBinary ? 'binary' : 'text'}, echo is ${gotBinary ? 'binary' : 'text'}`;
  }
  const a = sentBinary ? sent : Buffer.from(sent, 'utf8');
  let i = 0;
  while (i < a.length && i < got.length && a[i] === got[i]) i++;
  return `${a.length} bytes sent, ${got.length} echoed, first difference at byte ${i}`;
}
