// Drives headless Chromium against the chat example: `node test.mjs URL`
// (run.sh starts the server). Three pages join; one sends non-ASCII text
// and another shows it; a third stops reading (its page JavaScript is
// blocked) and must be cut off with 1013 while the other two go on; then
// her page reconnects (1013 is "try again later") and resumes.
// Every wait has a timeout; the whole run is bounded by run.sh too.
//
// With an https:// URL (the server run with `--tls`), the same test runs
// over HTTP/2 and checks that it did: every page arrived over h2, every
// WebSocket handshake Chromium recorded has status 200 (RFC 8441's
// extended CONNECT; an HTTP/1.1 upgrade is 101), and Chromium's net log
// shows the pages and the WebSockets on one HTTP/2 session.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import https from 'node:https';

const base = process.argv[2];
if (!base) throw new Error('usage: node test.mjs http://127.0.0.1:PORT | https://127.0.0.1:PORT');
const secure = base.startsWith('https:');
const here = path.dirname(fileURLToPath(import.meta.url));
const SCREENSHOT = secure ? 'screenshot-h2.png' : 'screenshot.png';
const WAIT = 10_000; // ms, for any one thing the test waits for
// How long the slow page's JavaScript is blocked: long enough for the
// flood below to fill its queue, short enough for the server's Close
// (which waits behind the unread lines) to still get through afterwards.
// Over HTTP/2 Chromium takes up to its stream window (megabytes) off the
// connection before the server's writes back up, so the flood needs longer.
const STALL_MS = secure ? 25_000 : 12_000;
// The flood: batches of big lines until the slow page is cut off. The
// server cuts off a member once 4 MiB (128 of these lines) waits for it,
// or its oldest line waited 10 s (`--max-behind`, `--slow-after`), so the
// bound is generous.
const LINE = 32 << 10;
const BATCH = 8;
const MAX_BATCHES = secure ? 120 : 60;
const TOO_SLOW = '* carol was too slow and was disconnected';
const GREETING = 'héllo 世界 🎉';

let passed = 0;
function check(cond, what) {
  if (!cond) throw new Error('not ok: ' + what);
  passed += 1;
  console.log('ok ' + passed + ' - ' + what);
}

// A cross-site page must not get in: the server answers 403. Over TLS this
// goes by HTTP/1.1 (Node's https offers no h2), so the server's ALPN
// fallback is tried too.
async function refusedOrigin() {
  const url = new URL('/ws?name=mallory', base);
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(url, {
      timeout: WAIT,
      rejectUnauthorized: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        Origin: 'http://evil.example',
      },
    });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

// What Chromium records of each page's WebSocket handshakes (DevTools
// protocol), to tell HTTP/2's 200 from HTTP/1.1's 101.
const handshakes = [];

async function join(context, name) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    handshakes.push({ name, status: e.response.status, headers: e.response.headers });
  });
  await page.goto(base + '/');
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  console.log(`# ${name}'s page came over ${protocol}`);
  if (secure) check(protocol === 'h2', `${name}'s page arrived over HTTP/2`);
  await page.fill('#name', name);
  await page.click('#join button');
  await page.waitForFunction(() => window.chat.ws && window.chat.ws.readyState === WebSocket.OPEN);
  return page;
}

const has = (page, line) =>
  page.waitForFunction((l) => window.chat.lines.includes(l), line, { timeout: WAIT });

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

const profile = mkdtempSync(path.join(tmpdir(), 'wscore-chromium-'));
const netLog = path.join(profile, 'netlog.json');
const started = Date.now();
let context;
try {
  check((await refusedOrigin()) === 403, 'a WebSocket from another origin is refused with 403');

  // The certificate is the test's own, made for this run; the net log
  // (written when the browser closes) tells which connection carried what.
  const tlsArgs = secure ? ['--ignore-certificate-errors', `--log-net-log=${netLog}`] : [];
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    viewport: { width: 720, height: 720 },
    ignoreHTTPSErrors: secure,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', ...tlsArgs],
  });
  console.log('# chromium ' + (context.browser()?.version() ?? '(version unknown)'));

  const alice = await join(context, 'alice');
  const bob = await join(context, 'bob');
  const carol = await join(context, 'carol');
  for (const page of [alice, bob, carol]) {
    const got = await page.evaluate(() => ({ ext: window.chat.ws.extensions, proto: window.chat.ws.protocol }));
    console.log('# negotiated: extensions ' + JSON.stringify(got.ext) + ', protocol ' + JSON.stringify(got.proto));
    // The browser offers `permessage-deflate; client_max_window_bits`; the
    // chat server accepts it with the crate's defaults (both windows 13
    // bits, context kept, for a small idle connection), which the answer
    // states.
    check(got.ext === 'permessage-deflate; server_max_window_bits=13; client_max_window_bits=13'
      && got.proto === '',
      'permessage-deflate negotiated with 13-bit windows, no subprotocol');
  }
  await has(alice, '* carol joined');
  check(true, 'alice sees carol join');
  console.log('# handshakes recorded: ' + JSON.stringify(handshakes.map((h) => [h.name, h.status])));
  const want = secure ? 200 : 101;
  check(handshakes.length === 3 && handshakes.every((h) => h.status === want),
    `every WebSocket handshake Chromium recorded has status ${want}` + (secure ? ' (HTTP/2 extended CONNECT)' : ''));

  await say(alice, GREETING);
  await has(bob, 'alice: ' + GREETING);
  await has(carol, 'alice: ' + GREETING);
  check(true, 'bob and carol show alice\'s non-ASCII line');

  // Carol stops reading: her next message blocks her page's JavaScript, so
  // Chromium stops taking data off her socket and the server's queue for
  // her fills up.
  await carol.evaluate((ms) => {
    const ws = window.chat.ws;
    const show = ws.onmessage;
    let armed = true;
    ws.onmessage = (e) => {
      if (armed) {
        armed = false;
        const end = Date.now() + ms;
        while (Date.now() < end) { /* blocked on purpose */ }
      }
      show(e);
    };
  }, STALL_MS);
  const floodStart = Date.now();
  let batches = 0;
  let kicked = false;
  while (!kicked && batches < MAX_BATCHES) {
    await alice.evaluate(({ n, size, b }) => {
      // Random printable text: permessage-deflate is on, and a repeated
      // character would shrink a 32 KiB line to a few dozen bytes, so
      // nothing would ever fill carol's queue.
      const noise = (k) => {
        const c = new Array(k);
        for (let j = 0; j < k; j++) c[j] = String.fromCharCode(33 + Math.floor(Math.random() * 94));
        return c.join('');
      };
      for (let i = 0; i < n; i++) window.chat.ws.send(`flood ${b}.${i} ` + noise(size));
    }, { n: BATCH, size: LINE, b: batches });
    batches += 1;
    await alice.waitForFunction(() => window.chat.ws.bufferedAmount === 0);
    kicked = await bob.evaluate((l) => window.chat.lines.includes(l), TOO_SLOW);
    if (!kicked) await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`# flood: ${batches} batches of ${BATCH} lines of ${LINE} bytes, ${Date.now() - floodStart} ms`);
  check(kicked, 'the room announces that carol was too slow');
  check(Date.now() - floodStart < STALL_MS, 'carol was cut off while her page was still blocked');
  await has(alice, TOO_SLOW);

  // The room goes on without her.
  await say(bob, 'still here after carol left');
  await has(alice, 'bob: still here after carol left');
  await say(alice, GREETING + ' again');
  await has(bob, 'alice: ' + GREETING + ' again');
  check(true, 'alice and bob go on exchanging lines');

  // Once her page runs again it reads what was queued, then our Close.
  await carol.waitForFunction(() => window.chat.closed !== null, null, { timeout: STALL_MS + WAIT });
  const closed = await carol.evaluate(() => window.chat.closed);
  console.log('# carol closed: ' + JSON.stringify(closed));
  check(closed.code === 1013 || closed.code === 1008, 'carol was closed with 1013 (or 1008)');
  if (closed.code === 1013) {
    // 1013 is "try again later": the page comes back after its backoff,
    // resuming from the last line it showed, and hears the room again.
    await carol.waitForFunction(() => window.chat.state === 'connected' && window.chat.reconnects >= 1,
      null, { timeout: WAIT });
    await say(bob, 'welcome back carol');
    await has(carol, 'bob: welcome back carol');
    check(true, 'carol reconnects after the 1013 and hears the room again');
  }
  const lastId = await alice.evaluate(() => window.chat.lastId);
  check(/^\d+-\d+$/.test(lastId), `alice's page keeps the id of the last line, ${lastId}`);
  const aliceOpen = await alice.evaluate(() => window.chat.ws.readyState === WebSocket.OPEN);
  check(aliceOpen, 'alice is still connected');

  await bob.screenshot({ path: path.join(here, SCREENSHOT) });
  check(true, `screenshot saved to tests/browser/${SCREENSHOT}`);

  // Leaving is final: the page closes with 1000 and does not come back.
  await bob.click('#join button');
  await alice.waitForFunction(() => window.chat.lines.includes('* bob left'), null, { timeout: WAIT });
  await new Promise((r) => setTimeout(r, 1_500));
  const left = await bob.evaluate(() => ({ state: window.chat.state, ws: window.chat.ws, reconnects: window.chat.reconnects }));
  check(left.state === 'closed' && left.ws === null && left.reconnects === 0,
    'bob leaves: his page closes and does not reconnect');
  await context.close();
  context = null;
  if (secure) checkNetLog();
  console.log(`# ${Date.now() - started} ms`);
  console.log(`${passed} passed, 0 failed`);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}

// Chromium's net log lists the headers each HTTP/2 session sent, under
// the session's source id: the pages' GETs and the WebSockets' CONNECTs
// must all be on one session, i.e. one TCP+TLS connection.
function checkNetLog() {
  const log = JSON.parse(readFileSync(netLog, 'utf8'));
  const sendHeaders = log.constants.logEventTypes.HTTP2_SESSION_SEND_HEADERS;
  const sessions = new Map();
  for (const e of log.events) {
    if (e.type !== sendHeaders || !e.params || !Array.isArray(e.params.headers)) continue;
    const h = e.params.headers;
    const method = (h.find((l) => l.startsWith(':method: ')) || '').slice(9);
    const proto = (h.find((l) => l.startsWith(':protocol: ')) || '').slice(11);
    const list = sessions.get(e.source.id) || [];
    list.push(method + (proto ? ' ' + proto : ''));
    sessions.set(e.source.id, list);
  }
  console.log('# HTTP/2 sessions in the net log: ' + JSON.stringify([...sessions.values()]));
  const connects = [...sessions.values()].flat().filter((r) => r === 'CONNECT websocket').length;
  const withBoth = [...sessions.values()].filter((l) => l.includes('GET') && l.includes('CONNECT websocket'));
  // One per handshake Chromium recorded: the three joins and carol's
  // reconnect.
  check(connects === handshakes.length,
    `the net log shows ${handshakes.length} extended CONNECTs with :protocol websocket, one per handshake`);
  check(sessions.size === 1 && withBoth.length === 1,
    'the pages and their WebSockets went over one HTTP/2 connection');
}
