// Node `ws` echo server with permessage-deflate, for wscore's client.
//
//   node ws_server.mjs PARAMSET [SECONDS]
//
// Listens on 127.0.0.1 (a port the kernel picks), prints `listening on
// 127.0.0.1:PORT`, echoes every message with its type, and after each
// connection prints one JSON object: the client's offer, our response
// header, `ws.extensions`, and how many of the client's data frames had RSV1
// set (read off the socket). Stops by itself after SECONDS (default 120).

import { WebSocketServer } from 'ws';
import { frameTap } from './ws_common.mjs';

const PARAMS = {
  // ws's server defaults once permessage-deflate is switched on.
  defaults: true,
  'small-windows-no-takeover': {
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 9,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    // Compress every message, not only those of 1 KiB or more.
    threshold: 0,
  },
  // The smallest windows both ways, with context takeover.
  'windows-8': { serverMaxWindowBits: 8, clientMaxWindowBits: 8, threshold: 0 },
};

const [paramset, secondsArg] = process.argv.slice(2);
if (!(paramset in PARAMS)) {
  console.error(`unknown parameter set ${paramset}`);
  process.exit(2);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: PARAMS[paramset],
  maxPayload: 64 << 20,
});

// The response headers, per request, to log what we answered.
const responses = new WeakMap();
wss.on('headers', (headers, req) => {
  const ext = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
  responses.set(req, ext ? ext.replace(/^[^:]*:\s*/, '') : null);
});

wss.on('connection', (ws, req) => {
  const info = {
    impl: 'node ws',
    offer: req.headers['sec-websocket-extensions'] ?? null,
    response: responses.get(req) ?? null,
    extensions: ws.extensions,
    errors: [],
  };
  const tap = frameTap(req.socket);
  let messages = 0;
  ws.on('message', (data, isBinary) => {
    messages++;
    // A message over 50,000 bytes goes back in three fragments (text cut
    // by bytes, inside characters), so wscore's client inflates a message
    // whose deflate stream spans continuation frames.
    if (data.length <= 50_000) {
      ws.send(data, { binary: isBinary });
      return;
    }
    const step = Math.ceil(data.length / 3);
    for (let i = 0; i < data.length; i += step) {
      ws.send(data.subarray(i, i + step), { binary: isBinary, fin: i + step >= data.length });
    }
  });
  ws.on('error', (e) => info.errors.push(`error: ${e.message}`));
  ws.on('close', (code) => {
    info.messages = messages;
    info.client_messages = tap.messages;
    info.client_compressed = tap.compressed;
    info.client_wire_bytes = tap.wireBytes;
    info.client_sizes = tap.sizes;
    info.close = code;
    console.log(JSON.stringify(info));
  });
});

wss.on('listening', () => {
  const { address, port } = wss.address();
  console.log(`listening on ${address}:${port}`);
});

// Bounded: whatever happens, the server goes away by itself.
setTimeout(() => process.exit(0), (Number(secondsArg) || 120) * 1000).unref();
