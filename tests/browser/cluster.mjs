// Headless Chromium against two chat instances behind nginx (cluster.sh
// starts them all): `node cluster.mjs https://127.0.0.1:PORT PID1 LOG1
// PID2 LOG2`, the instances' pids and stdout files. Which instance a page
// landed on is read from their `joined NAME` lines.
//
// Checks, one `ok`/`not ok` line each, then a total: a WebSocket from
// another origin is refused; alice and bob land on different instances
// and chat both ways; a slow page (carol) is cut off with 1013 while the
// others carry on; the instance alice is on is SIGKILLed while bob keeps
// talking, and alice's page comes back through nginx to the other
// instance with every line said meanwhile, none twice, sends what she
// typed while away, and talks again. Every wait has a timeout; cluster.sh
// bounds the whole run too.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import https from 'node:https';

const [base, pid1, log1, pid2, log2] = process.argv.slice(2);
if (!log2) throw new Error('usage: node cluster.mjs https://127.0.0.1:PORT PID1 LOG1 PID2 LOG2');
const instances = [
  { name: 'instance 1', pid: Number(pid1), log: log1 },
  { name: 'instance 2', pid: Number(pid2), log: log2 },
];
const WAIT = 10_000; // ms, for any one thing the test waits for
// The slow page's JavaScript is blocked this long: long enough for the
// flood to fill every buffer between it and its instance (nginx holds
// two sockets' worth on that path) and for `--slow-after 4` to pass.
const STALL_MS = 25_000;
const LINE = 32 << 10;
const BATCH = 8;
const MAX_BATCHES = 150;
const TOO_SLOW = '* carol was too slow and was disconnected';
// Bob's numbered lines for the failover: the instance alice is on dies
// after KILL_AT of them, and he says the rest, one every PACE ms, while
// her page is away and after it came back.
const COUNT = 60;
const KILL_AT = 15;
const PACE = 100;

let passed = 0;
let failed = 0;
function check(cond, what) {
  if (cond) passed += 1;
  else failed += 1;
  console.log(`${cond ? 'ok' : 'not ok'} ${passed + failed} - ${what}`);
  return cond;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Which instance printed `joined NAME` (or `joined NAME since ID`) more
// than `before[i]` times; waits for one of them to.
const joins = (inst, name) =>
  readFileSync(inst.log, 'utf8').split('\n')
    .filter((l) => l === `joined ${name}` || l.startsWith(`joined ${name} since `)).length;
async function landedOn(name, before) {
  const end = Date.now() + WAIT;
  while (Date.now() < end) {
    const i = instances.findIndex((inst, k) => joins(inst, name) > before[k]);
    if (i >= 0) return instances[i];
    await sleep(50);
  }
  throw new Error(`no instance printed "joined ${name}" within ${WAIT} ms`);
}
const joinCounts = (name) => instances.map((inst) => joins(inst, name));

// A cross-site page must not get in: nginx passes its Origin on and the
// instance answers 403.
function refusedOrigin() {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL('/ws?name=mallory', base), {
      timeout: WAIT,
      rejectUnauthorized: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        Origin: 'https://evil.example',
      },
    });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const handshakes = [];
async function join(context, name) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    handshakes.push({ name, status: e.response.status });
  });
  const before = joinCounts(name);
  await page.goto(base + '/');
  page.protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  await page.fill('#name', name);
  await page.click('#join button');
  await page.waitForFunction(() => window.chat.state === 'connected');
  page.instance = await landedOn(name, before);
  console.log(`# ${name}: page over ${page.protocol}, WebSocket on ${page.instance.name}`);
  return page;
}

const has = (page, line, timeout = WAIT) =>
  page.waitForFunction((l) => window.chat.lines.includes(l), line, { timeout });
const lines = (page) => page.evaluate(() => window.chat.lines);
async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// Runs `step`; a step that throws (a wait that timed out) counts as a
// failed check, and the steps after it that depend on it are skipped.
async function step(what, body) {
  try {
    return await body();
  } catch (e) {
    check(false, `${what}: ${e.message.split('\n')[0]}`);
    return undefined;
  }
}

// cluster.sh puts the profile in its work directory, which it removes
// after this process is gone, also when it is stopped midway.
const profile = process.env.CLUSTER_PROFILE || mkdtempSync(path.join(tmpdir(), 'wscore-cluster-'));
const started = Date.now();
let context;
try {
  await step('a WebSocket from another origin is refused', async () => {
    check((await refusedOrigin()) === 403, 'a WebSocket from another origin is refused with 403 through nginx');
  });

  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    viewport: { width: 720, height: 720 },
    ignoreHTTPSErrors: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--ignore-certificate-errors'],
  });
  console.log('# chromium ' + (context.browser()?.version() ?? '(version unknown)'));

  const pair = await step('alice and bob join', async () => {
    const alice = await join(context, 'alice');
    const bob = await join(context, 'bob');
    check(alice.protocol === 'h2' && bob.protocol === 'h2', 'the pages came over HTTP/2 from nginx');
    // nginx has no RFC 8441: the WebSockets are HTTP/1.1 upgrades.
    check(handshakes.length === 2 && handshakes.every((h) => h.status === 101),
      'the WebSockets are HTTP/1.1 upgrades answered 101 through nginx');
    check(alice.instance !== bob.instance,
      `alice and bob landed on different instances (${alice.instance.name}, ${bob.instance.name})`);
    return { alice, bob };
  });
  if (!pair) throw new Error('cannot go on without alice and bob');
  const { alice, bob } = pair;

  await step('chat both ways', async () => {
    await say(alice, 'hello from alice');
    await has(bob, 'alice: hello from alice');
    await say(bob, 'hello from bob');
    await has(alice, 'bob: hello from bob');
    check(true, 'alice and bob chat both ways across the instances');
  });

  await step('the slow page', async () => {
    const carol = await join(context, 'carol');
    await has(alice, '* carol joined');
    // Carol stops reading: her next message blocks her page's JavaScript
    // (as test.mjs does), so Chromium stops taking data off her socket.
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
    while (!kicked && batches < MAX_BATCHES && Date.now() - floodStart < STALL_MS - 2_000) {
      await alice.evaluate(({ n, size, b }) => {
        // Random printable text, which permessage-deflate cannot shrink
        // much, so the lines fill carol's buffers.
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
      if (!kicked) await sleep(50);
    }
    if (!kicked) kicked = await has(bob, TOO_SLOW, 5_000).then(() => true, () => false);
    const took = Date.now() - floodStart;
    console.log(`# flood: ${batches} batches of ${BATCH} lines of ${LINE} bytes, ${took} ms`);
    check(kicked && took < STALL_MS, 'carol is cut off as too slow while her page is blocked');
    await say(bob, 'still here after carol');
    await has(alice, 'bob: still here after carol');
    await say(alice, 'so am I');
    await has(bob, 'alice: so am I');
    check(true, 'alice and bob carry on meanwhile');
    await carol.waitForFunction(() => window.chat.closed !== null, null, { timeout: STALL_MS + WAIT });
    const closed = await carol.evaluate(() => window.chat.closed);
    console.log('# carol closed: ' + JSON.stringify(closed));
    check(closed.code === 1013, 'carol\'s page got 1013 through nginx');
    // Her page would come back (1013 is "try again later"); test.mjs
    // checks that. Here she leaves, so the failover below is alice's.
    await carol.close();
  });

  await step('failover', async () => {
    const victim = alice.instance;
    const survivor = instances.find((i) => i !== victim);
    const aliceJoins = joinCounts('alice');
    const said = [];
    let away = false;
    for (let n = 0; n < COUNT; n++) {
      if (n === KILL_AT) {
        process.kill(victim.pid, 'SIGKILL');
        console.log(`# SIGKILL ${victim.name} (pid ${victim.pid}) after bob's line ${n - 1}`);
      }
      const line = `n ${n}`;
      await say(bob, line);
      said.push('bob: ' + line);
      // What alice types while she is away waits in her outbox.
      if (!away && n >= KILL_AT && await alice.evaluate(() => window.chat.state !== 'connected')) {
        away = true;
        console.log('# alice\'s status: ' + await alice.textContent('#status'));
        await say(alice, 'typed while away');
        const waiting = await alice.evaluate(() => window.chat.outbox.length);
        check(waiting === 1, 'what alice types while disconnected waits in her outbox');
      }
      await sleep(PACE);
    }
    check(away, 'alice\'s page saw its connection drop');
    await has(alice, said[said.length - 1]);
    const state = await alice.evaluate(() => ({
      state: window.chat.state, reconnects: window.chat.reconnects, closed: window.chat.closed,
    }));
    console.log('# alice after the failover: ' + JSON.stringify(state));
    const where = await landedOn('alice', aliceJoins);
    check(state.state === 'connected' && state.reconnects >= 1 && where === survivor,
      `alice's page reconnected through nginx to ${survivor.name}`);
    const got = (await lines(alice)).filter((l) => /^bob: n \d+$/.test(l));
    const missed = said.filter((l) => !got.includes(l)).length;
    const duplicated = got.length - new Set(got).size;
    console.log(`# failover: bob said ${said.length} lines, alice shows ${got.length}: ` +
      `${missed} missed, ${duplicated} duplicated`);
    check(missed === 0 && duplicated === 0 && got.join('\n') === said.join('\n'),
      'alice shows every line bob said, in order: 0 missed, 0 duplicated');
    await has(bob, 'alice: typed while away');
    check(true, 'what alice typed while away reaches bob after she is back');
    await say(alice, 'back on the other instance');
    await has(bob, 'alice: back on the other instance');
    await say(bob, 'welcome back');
    await has(alice, 'bob: welcome back');
    check(true, 'alice and bob talk again, now on one instance');
  });

  await context.close();
  context = null;
} catch (e) {
  check(false, e.message.split('\n')[0]);
} finally {
  if (context) await context.close().catch(() => {});
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 3 }); } catch { /* cluster.sh's trap */ }
}
console.log(`# ${Date.now() - started} ms`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
