// Node `ws` echo server for `cargo bench -p wscore-benches --bench scale`.
//
//   NODE_PATH=tests/interop/node_modules node ws_echo.cjs on|off SECONDS
//
// CommonJS so that NODE_PATH finds the `ws` that tests/interop/install.sh
// put under tests/interop (ES module imports ignore NODE_PATH). Listens on
// 127.0.0.1 (a port the kernel picks), prints `listening on 127.0.0.1:PORT`,
// echoes every message with its type. `on`: perMessageDeflate with ws's
// defaults, `off`: no extension. Exits by itself after SECONDS.
'use strict';

const { WebSocketServer } = require('ws');

const [deflate, seconds] = process.argv.slice(2);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  // Thousands of clients connect at once; the kernel caps it at somaxconn.
  backlog: 4096,
  perMessageDeflate: deflate === 'on',
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  // A client that goes away is no error of ours; without a listener ws
  // would throw.
  ws.on('error', () => {});
});

wss.on('listening', () => {
  const { address, port } = wss.address();
  console.log(`listening on ${address}:${port}`);
});

setTimeout(() => process.exit(0), Number(seconds) * 1000).unref();
