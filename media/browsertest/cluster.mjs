// Drives the cluster browser test (cmd/ropeserver TestClusterBrowsers):
// two headless Chromium tabs on one room of a cluster endpoint. Tab A
// produces the fake camera and microphone; the driver prints one JSON
// line {"produced": ids, "sendTransportId": …} and waits for a line on
// stdin (the test meanwhile fills tab A's worker so that tab B's
// transport lands on another server). Tab B then consumes the video and
// audio (no data channel: pipes between servers carry no SCTP yet). Both
// tabs' transports listen where their server chooses (listenInfos []).
// Prints a second JSON line with what tab B decoded and its transport id,
// and exits 0 once tab B decodes frames and hears audio.
//
// usage: node cluster.mjs <http-base-serving-this-dir-at-/static/> <ws-url> <router-id>
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [base, wsURL, routerId] = process.argv.slice(2);
const options = { listenInfos: [] };
const args = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const userDataDir = mkdtempSync(join(tmpdir(), 'rope-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args,
});
const deadline = Date.now() + 90_000;
let result = { ok: false };
try {
  const [a, b] = [await context.newPage(), await context.newPage()];
  for (const p of [a, b]) {
    p.on('console', (m) => process.stderr.write(`[tab] ${m.text()}\n`));
    p.on('pageerror', (e) => process.stderr.write(`[tab error] ${e}\n`));
    await p.goto(`${base}/static/page/index.html`);
    await p.waitForFunction(() => window.ropeTest !== undefined);
  }
  const { video, audio } = await a.evaluate(([u, r, o]) => window.ropeTest.produce(u, r, o), [wsURL, routerId, options]);
  const sendTransportId = await a.evaluate(() => window.ropeTest.sendTransport.id);
  console.log(JSON.stringify({ produced: { video, audio }, sendTransportId }));
  if ((await lines.next()).done) throw new Error('stdin closed before the go-ahead');
  await b.evaluate(([u, r, i, o]) => window.ropeTest.consume(u, r, i, o), [wsURL, routerId, { video, audio }, options]);
  result.recvTransportId = await b.evaluate(() => window.ropeTest.recvTransport.id);
  let last;
  while (Date.now() < deadline) {
    const s = await b.evaluate(() => window.ropeTest.stats());
    if (last && s.width > 0 && s.framesDecoded > last.framesDecoded && s.audioPackets > 0) {
      result = { ...result, ok: true, first: last, last: s };
      break;
    }
    last = s;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!result.ok) result.last = last;
} catch (err) {
  result = { ...result, ok: false, error: String(err && err.stack || err) };
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
