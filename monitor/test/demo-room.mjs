// A room of the demo page in headless Chromium, watched on the monitor
// page, for monitor/browser_test.go's TestChromiumMonitorDemoRoom: the
// monitor tab goes live, two demo tabs join a room (fake camera in
// simulcast, microphone, chat), then the monitor must show their
// producers and consumers with figures; it takes a screenshot of the
// monitor, closes one demo tab and waits for its producers to leave the
// monitor's tree. Prints one JSON line: {ok, states: {joined, left}, error}.
//
// usage: node test/demo-room.mjs <demo-url> <monitor-url> <screenshot.png> <figures-before-shot>
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumArgs, room } from '../../demo/test/rooms.mjs';

const [demoUrl, monitorUrl, screenshot, before] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const userDataDir = mkdtempSync(join(tmpdir(), 'rope-monitor-demo-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs,
  viewport: { width: 1400, height: 900 },
});
const result = { ok: false, states: {} };
const count = (s, type) => s.rows.filter((r) => r.type === type).length;
try {
  const deadline = Date.now() + 180_000;
  const mon = await context.newPage();
  const errors = [];
  mon.on('pageerror', (e) => errors.push(String(e)));
  await mon.goto(monitorUrl);
  await mon.waitForFunction(() => window.monitor?.state().status === 'live', null, { timeout: 60_000 });
  const state = () => mon.evaluate(() => window.monitor.state());

  const r = await room(context, demoUrl, 'lobby', 2, deadline);
  if (!r.ok) throw new Error(`the demo room did not work: ${JSON.stringify(r.stats)}`);
  // Both peers' audio and video producers, each consumed by the other,
  // with bitrates, scores and simulcast layers, and charts filling.
  let s = await state();
  const start = s.figuresCount;
  while (Date.now() < deadline) {
    s = await state();
    const producers = s.rows.filter((x) => x.type === 'Producer');
    const consumers = s.rows.filter((x) => x.type === 'Consumer');
    if (producers.length === 4 && consumers.length === 4 && producers.every((x) => /kb\/s|Mb\/s/.test(x.figs)) &&
        consumers.some((x) => x.figs.includes('layer')) && s.figuresCount >= start + Number(before)) break;
    await sleep(500);
  }
  result.states.joined = s;
  await mon.bringToFront();
  await mon.screenshot({ path: screenshot });
  await r.tabs[1].close({ runBeforeUnload: true });
  while (Date.now() < deadline) {
    s = await state();
    if (count(s, 'Producer') === 2 && count(s, 'Consumer') === 0) break;
    await sleep(500);
  }
  result.states.left = s;
  result.errors = errors;
  result.ok = count(result.states.joined, 'Producer') === 4 && count(s, 'Producer') === 2 && errors.length === 0;
} catch (err) {
  result.error = String(err?.stack || err);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
