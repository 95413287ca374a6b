// Drives the browser test: two headless Chromium tabs with fake devices,
// tab A producing, tab B consuming, through the server at BASE (http) with
// ROPE at WS. Prints one JSON line with what tab B decoded, and exits 0
// when media and data went through.
//
// usage: node run.mjs <http-base-serving-this-dir-at-/static/> <ws-url> <router-id> [<webrtc-server-id>] [simulcast] [l1t3] [hd] [nobwe] [nowait] [watch=<seconds>]
// With a WebRtcServer id, both tabs' transports use that server's sockets.
// With "simulcast", tab A sends its video in three RID encodings (with
// "l1t3" too, each with scalabilityMode L1T3: three temporal layers); with
// "hd" its camera is 1280x720 (Chromium then sends all three layers, and
// the driver waits for them), with "nobwe" tab B consumes without
// transport-cc and REMB, with "nowait" the driver does not wait for a
// second simulcast layer before the watch. With
// "watch=<seconds>", once tab B decodes, the driver samples tab B's
// decoding every 200 ms for that long (result.timeline: [epoch ms,
// framesDecoded, width, video packets received]) while the test switches layers. With
// "svc=<scalabilityMode>", tab A sends VP9 at 1280x720 in one encoding
// with that scalabilityMode and a third tab, C, consumes it too; the
// timeline then holds [epoch ms, framesDecoded B, frameWidth B,
// framesDecoded C, frameWidth C, framesEncoded A] and result.sender tab
// A's send stats. "single=<scalabilityMode>" is as svc=, but tab A sends
// the router's first video codec (VP8) at 640x480 in one encoding with
// that scalabilityMode (L1T3: one stream, three temporal layers).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, wsURL, routerId, ...rest] = process.argv.slice(2);
const flags = ['simulcast', 'l1t3', 'hd', 'nobwe', 'nowait'];
const webRtcServerId = rest.find((a) => !flags.includes(a) && !a.startsWith('watch=') && !a.startsWith('svc=') && !a.startsWith('single='));
const svc = (rest.find((a) => a.startsWith('svc=')) || '').slice(4);
const single = (rest.find((a) => a.startsWith('single=')) || '').slice(7);
const watch = Number((rest.find((a) => a.startsWith('watch=')) || 'watch=0').slice(6));
const transportOptions = webRtcServerId ? { webRtcServerId } : {};
const produceOptions = { ...transportOptions, simulcast: rest.includes('simulcast'), l1t3: rest.includes('l1t3'), hd: rest.includes('hd'), svc, single };
const args = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

const userDataDir = mkdtempSync(join(tmpdir(), 'rope-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args,
});
const deadline = Date.now() + 60_000;
let result = { ok: false };
try {
  const page = `${base}/static/page/index.html`;
  const tabs = [await context.newPage(), await context.newPage()];
  if (svc || single) tabs.push(await context.newPage());
  const [a, b, c] = tabs;
  for (const p of tabs) {
    p.on('console', (m) => process.stderr.write(`[tab] ${m.text()}\n`));
    p.on('pageerror', (e) => process.stderr.write(`[tab error] ${e}\n`));
    await p.goto(page);
    await p.waitForFunction(() => window.ropeTest !== undefined);
  }
  const o = transportOptions;
  const ids = await a.evaluate(([u, r, o]) => window.ropeTest.produce(u, r, o), [wsURL, routerId, produceOptions]);
  const consumeOptions = { ...o, noBwe: rest.includes('nobwe') };
  await b.evaluate(([u, r, i, o]) => window.ropeTest.consume(u, r, i, o), [wsURL, routerId, ids, consumeOptions]);
  if (c) await c.evaluate(([u, r, i, o]) => window.ropeTest.consume(u, r, i, o), [wsURL, routerId, ids, consumeOptions]);
  let last;
  let lastC;
  while (Date.now() < deadline) {
    await a.evaluate(() => window.ropeTest.send('hello from A'));
    const s = await b.evaluate(() => window.ropeTest.stats());
    const sc = c ? await c.evaluate(() => window.ropeTest.stats()) : undefined;
    const decodes = (now, before) => before && now.width > 0 && now.framesDecoded > before.framesDecoded;
    if (decodes(s, last) && s.audioPackets > 0 && s.received.length > 0 && (!c || decodes(sc, lastC))) {
      result = { ok: true, first: last, last: s, lastC: sc };
      break;
    }
    last = s;
    lastC = sc;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!result.ok) result = { ok: false, last };
  // With simulcast, wait (until the deadline) for tab A to send more than
  // one layer: Chromium turns layers on as its bandwidth estimate, fed by
  // the SFU's transport-cc feedback, rises. The test checks what the
  // producer received; this reports what tab A measured.
  if (result.ok && produceOptions.simulcast && !rest.includes('nowait')) {
    let prev = await a.evaluate(() => window.ropeTest.sendStats());
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const s = await a.evaluate(() => window.ropeTest.sendStats());
      const sending = s.layers.filter((l) => {
        const p = prev.layers.find((x) => x.rid === l.rid);
        return p && l.bytesSent > p.bytesSent && l.framesEncoded > p.framesEncoded;
      });
      result.sender = { ...s, sendingRids: sending.map((l) => l.rid) };
      if (sending.length >= (produceOptions.hd ? 3 : 2)) break;
      prev = s;
    }
  }
  if (result.ok && watch > 0) {
    result.timeline = [];
    const end = Date.now() + watch * 1000;
    while (Date.now() < end) {
      const s = await b.evaluate(() => window.ropeTest.stats());
      if (c) {
        const sc = await c.evaluate(() => window.ropeTest.stats());
        const sa = await a.evaluate(() => window.ropeTest.sendStats());
        const encoded = sa.layers.reduce((n, l) => n + l.framesEncoded, 0);
        result.timeline.push([Date.now(), s.framesDecoded, s.frameWidth, sc.framesDecoded, sc.frameWidth, encoded]);
      } else {
        result.timeline.push([Date.now(), s.framesDecoded, s.width, s.videoPackets]);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (svc || single) result.sender = await a.evaluate(() => window.ropeTest.sendStats());
} catch (err) {
  result = { ok: false, error: String(err && err.stack || err) };
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
