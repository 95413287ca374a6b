// Drives TestChromiumLimitedViewer: one producer and two viewers of its
// simulcast, the limited viewer in another Chromium that runs inside a
// network namespace (through the script CHROMIUM_INSIDE) and reaches the
// server over a veth pair whose rate the test limits.
//
// usage: node limited.mjs <http-base> <ws-url> <router-id> <inside-http-base> <inside-ws-url> <inside-listen-ip> <chromium-inside>
//
// Browser 1 (this machine's network): tab P produces the fake camera at
// 1280x720 in three simulcast encodings (320x180, 640x360, 1280x720);
// tab V1 consumes it (the unlimited viewer, transport on 127.0.0.1).
// Browser 2 (inside the namespace): tab V2 loads the page from
// <inside-http-base> and consumes with its transport listening on
// <inside-listen-ip>, the host's end of the veth pair, so its media comes
// through the limit. The driver prints {"ready":…} once both viewers
// decode, then a line {"t":ms,"v1":{…},"v2":{…}} every 250 ms with each
// viewer's frames decoded and inbound frame width, until its stdin closes.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [base, wsURL, routerId, insideBase, insideWs, insideIP, chromiumInside] = process.argv.slice(2);
const args = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

const dirs = [];
const browsers = [];
let stopped = false;
createInterface({ input: process.stdin }).on('close', () => { stopped = true; });

// launch starts a Chromium with its own user-data-dir.
// extra adds to the common flags.
async function launch(executablePath, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'rope-chromium-'));
  dirs.push(dir);
  const context = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args: [...args, ...extra] });
  browsers.push(context);
  return context;
}

// open loads the test page in a new tab of context.
async function open(context, name, pageBase) {
  const p = await context.newPage();
  p.on('console', (m) => process.stderr.write(`[${name}] ${m.text()}\n`));
  p.on('pageerror', (e) => process.stderr.write(`[${name} error] ${e}\n`));
  await p.goto(`${pageBase}/static/page/index.html`);
  await p.waitForFunction(() => window.ropeTest !== undefined);
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sample = async (tab) => {
  const s = await tab.evaluate(() => window.ropeTest.stats());
  return { framesDecoded: s.framesDecoded, frameWidth: s.frameWidth };
};

let code = 0;
try {
  const outside = await launch(process.env.CHROMIUM || '/usr/bin/chromium');
  // The page inside comes from the veth address, not a loopback one: a
  // secure context only by this flag (mediasoup-client needs one).
  const inside = await launch(chromiumInside, [`--unsafely-treat-insecure-origin-as-secure=${insideBase}`]);
  const producer = await open(outside, 'P', base);
  const v1 = await open(outside, 'V1', base);
  const v2 = await open(inside, 'V2', insideBase);
  const ids = await producer.evaluate(([u, r]) => window.ropeTest.produce(u, r, { simulcast: true, hd: true }), [wsURL, routerId]);
  delete ids.data; // the viewers take video and audio only
  await v1.evaluate(([u, r, i]) => window.ropeTest.consume(u, r, i), [wsURL, routerId, ids]);
  await v2.evaluate(([u, r, i, ip]) => window.ropeTest.consume(u, r, i, { listenInfos: [{ protocol: 'udp', ip }] }),
    [insideWs, routerId, ids, insideIP]);
  const deadline = Date.now() + 60_000;
  let first;
  for (;;) {
    const s = [await sample(v1), await sample(v2)];
    if (first && s.every((x, i) => x.frameWidth > 0 && x.framesDecoded > first[i].framesDecoded)) break;
    first = first || s;
    if (Date.now() > deadline) throw new Error(`viewers do not decode: ${JSON.stringify(s)}`);
    await sleep(500);
  }
  console.log(JSON.stringify({ ready: true, ids }));
  while (!stopped) {
    console.log(JSON.stringify({ t: Date.now(), v1: await sample(v1), v2: await sample(v2) }));
    await sleep(250);
  }
} catch (err) {
  console.log(JSON.stringify({ error: String(err && err.stack || err) }));
  code = 1;
} finally {
  for (const b of browsers) await b.close().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.exit(code);
