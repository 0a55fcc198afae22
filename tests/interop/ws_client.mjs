// Node `ws` client against wscore's echo server.
//
//   node ws_client.mjs URL PARAMSET
//
// Sends the messages of ws_common.mjs, checks each echo byte for byte (and
// its type), closes with 1000, and prints one JSON object: the offer, the
// server's Sec-WebSocket-Extensions response, `ws.extensions`, how many of
// the server's data frames had RSV1 set (read off the socket), and any
// errors. Exit status 0 when every echo matched; interop.py checks the
// negotiated parameters.

import WebSocket from 'ws';
import { messages, frameTap, describeMismatch, sendMessage, REPEAT } from './ws_common.mjs';

const PARAMS = {
  // ws's own client defaults.
  defaults: true,
  'small-windows-no-takeover': {
    clientMaxWindowBits: 9,
    serverMaxWindowBits: 10,
    clientNoContextTakeover: true,
    serverNoContextTakeover: true,
    // Compress every message, not only those of 1 KiB or more.
    threshold: 0,
  },
  // The smallest windows both ways, with context takeover: wscore's
  // compressor must keep to 256 bytes for Node's inflater, and wscore's
  // inflater must follow Node's deflate across messages.
  'windows-8': { clientMaxWindowBits: 8, serverMaxWindowBits: 8, threshold: 0 },
};

const [url, paramset] = process.argv.slice(2);
const result = { impl: 'node ws', paramset, errors: [] };
const started = Date.now();

function finish() {
  result.seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify(result));
  process.exit(result.errors.length ? 1 : 0);
}

// Bounded: a hang anywhere is a failure, reported like any other.
setTimeout(() => {
  result.errors.push('timed out after 60 s');
  finish();
}, 60_000).unref();

if (!(paramset in PARAMS)) {
  result.errors.push(`unknown parameter set ${paramset}`);
  finish();
}

const ws = new WebSocket(url, {
  perMessageDeflate: PARAMS[paramset],
  maxPayload: 64 << 20,
  handshakeTimeout: 10_000,
  // The documented hook before the request is sent: record ws's offer.
  finishRequest: (req) => {
    result.offer = req.getHeader('sec-websocket-extensions') ?? null;
    req.end();
  },
});
let tap = null;
ws.on('upgrade', (res) => {
  result.response = res.headers['sec-websocket-extensions'] ?? null;
  tap = frameTap(res.socket);
});
ws.on('error', (e) => result.errors.push(`error: ${e.message}`));
result.pongs = 0;
ws.on('pong', (data) => {
  if (data.toString() === 'mid-message') result.pongs++;
});

// Echoes arrive in order; each waiter takes the next one.
const inbox = [];
const waiters = [];
ws.on('message', (data, isBinary) => {
  const m = { data, isBinary };
  if (waiters.length) waiters.shift().resolve(m);
  else inbox.push(m);
});
function next() {
  if (inbox.length) return Promise.resolve(inbox.shift());
  return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
}

function check(name, payload, m) {
  const sentBinary = Buffer.isBuffer(payload);
  const sent = sentBinary ? payload : Buffer.from(payload, 'utf8');
  if (sentBinary !== m.isBinary || !sent.equals(m.data)) {
    result.errors.push(`${name}: ${describeMismatch(payload, m.data, m.isBinary)}`);
  }
}

ws.on('close', (code) => {
  result.close = code;
  for (const w of waiters.splice(0)) w.reject(new Error('closed while waiting for an echo'));
  // Let a rejected waiter record its error before the result is printed.
  setImmediate(finish);
});

ws.on('open', async () => {
  // The names of the extensions ws enabled ("permessage-deflate").
  result.extensions = ws.extensions;
  try {
    const msgs = messages();
    const single = msgs.filter(([n]) => !n.startsWith('burst'));
    const burst = msgs.filter(([n]) => n.startsWith('burst'));
    for (const [name, payload] of single) {
      check(name, sendMessage(ws, payload), await next());
    }
    for (const [, payload] of burst) ws.send(payload, { binary: Buffer.isBuffer(payload) });
    for (const [name, payload] of burst) check(name, payload, await next());
    result.messages = msgs.length;
    // One ping inside each fragmented message; the pongs came before their
    // echoes (they were answered before the message was complete).
    const expected = msgs.filter(([, p]) => p && p.fragments).length;
    if (result.pongs !== expected) {
      result.errors.push(`${result.pongs} pongs to the mid-message pings, expected ${expected}`);
    }
    result.payload_bytes = msgs.reduce((n, [, p]) => n + (p.fragments
      ? p.fragments.reduce((m, f) => m + f.length, 0)
      : Buffer.isBuffer(p) ? p.length : Buffer.byteLength(p)), 0);
    if (tap) {
      result.server_messages = tap.messages;
      result.server_compressed = tap.compressed;
      result.server_wire_bytes = tap.wireBytes;
      // Echoes come in the order sent: single messages, then the burst.
      const order = single.concat(burst).map(([n]) => n);
      result.repeat_wire = REPEAT.map((n) => tap.sizes[order.indexOf(n)]);
    }
  } catch (e) {
    result.errors.push(`${e.name}: ${e.message}`);
  }
  ws.close(1000);
});
