// Drives the demo page in headless Chromium (Debian's /usr/bin/chromium,
// playwright-core): a room of two tabs, then a room of four, each tab
// sending its fake camera (simulcast) and microphone and a chat line. It
// prints one JSON line and exits 0 once, in each room, every tab decodes
// every other tab's video (a growing frame count), receives its audio and
// got every other tab's chat line; then it takes a screenshot of one tab
// of the four.
//
// usage: node run.mjs <page-url> <screenshot.png> [rooms...]
// rooms: "two", "four" (default both), each tab at <page-url>?room=…&name=…&autojoin=1&w=320&h=240
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [pageUrl, screenshot, ...roomArgs] = process.argv.slice(2);
const rooms = roomArgs.length > 0 ? roomArgs : ['two', 'four'];
const sizes = { two: 2, four: 4 };
const args = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const userDataDir = mkdtempSync(join(tmpdir(), 'rope-demo-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args,
  viewport: { width: 1280, height: 720 },
});
const result = { ok: false, rooms: {} };

/** Opens n tabs in a room and waits until they all see, hear and chat with each other. */
async function room(name, n, deadline) {
  const tabs = [];
  for (let i = 0; i < n; i++) {
    const p = await context.newPage();
    p.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`[${name}${i} ${m.type()}] ${m.text()}`); });
    p.on('pageerror', (e) => log(`[${name}${i} pageerror] ${e}`));
    const u = new URL(pageUrl);
    u.search = new URLSearchParams({ room: name, name: `${name}-${i}`, autojoin: '1', w: '320', h: '240' }).toString();
    u.hash = new URL(pageUrl).hash;
    await p.goto(u.href);
    tabs.push(p);
  }
  const stats = () => Promise.all(tabs.map((p) => p.evaluate(() => window.demo.stats())));
  // Everyone joined: then each tab says hello.
  let s = await stats();
  while (Date.now() < deadline && !s.every((x) => x.status === 'joined' && x.peers.length === n - 1)) {
    await sleep(300);
    s = await stats();
  }
  const joined = s.every((x) => x.status === 'joined' && x.peers.length === n - 1);
  let chatSent = false;
  let first;
  let last = s;
  while (joined && Date.now() < deadline) {
    if (!chatSent && last.every((x) => x.status === 'joined' && x.chatPeers === n - 1)) {
      try {
        for (let i = 0; i < n; i++) await tabs[i].evaluate((t) => window.demo.chat(t), `hello from ${name}-${i}`);
        chatSent = true;
      } catch (err) {
        log(`chat not yet: ${err.message}`);
      }
    }
    await sleep(500);
    const now = await stats();
    const media = now.every((x, i) => x.peers.length === n - 1 && x.peers.every((p) => {
      const before = (first ?? last)[i].peers.find((q) => q.peerId === p.peerId);
      return p.width > 0 && p.framesDecoded > 0 && before && p.framesDecoded > before.framesDecoded && p.audioPackets > 0;
    }));
    const chat = now.every((x, i) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i)
      .every((j) => x.chat.some((c) => !c.own && c.text === `hello from ${name}-${j}`)));
    if (!first && now.every((x) => x.peers.every((p) => p.framesDecoded > 0))) first = now;
    last = now;
    if (media && chat) {
      return { ok: true, tabs, stats: now };
    }
  }
  return { ok: false, tabs, stats: last, joined, chatSent };
}

try {
  const deadline = Date.now() + 120_000;
  for (const name of rooms) {
    const n = sizes[name] ?? Number(name.replace(/\D/g, ''));
    const r = await room(name, n, deadline);
    result.rooms[name] = {
      ok: r.ok, joined: r.joined, chatSent: r.chatSent,
      tabs: r.stats.map((x) => ({
        peers: x.peers.map((p) => ({ name: p.name, width: p.width, height: p.height, framesDecoded: p.framesDecoded, audioPackets: p.audioPackets })),
        chat: x.chat.map((c) => c.text), speakers: x.speakers.length, status: x.status,
      })),
    };
    if (!r.ok) break;
    if (name === rooms[rooms.length - 1] && screenshot) {
      // Who is speaking: the room's observer named someone in at least one tab.
      let s = r.stats;
      while (Date.now() < deadline && !s.some((x) => x.speakers.length > 0)) {
        await sleep(300);
        s = await Promise.all(r.tabs.map((p) => p.evaluate(() => window.demo.stats())));
      }
      result.rooms[name].speakers = s.map((x) => x.speakers.length);
      const shot = await r.tabs[0].evaluate(() => window.demo.stats());
      await r.tabs[0].bringToFront();
      await r.tabs[0].screenshot({ path: screenshot });
      result.screenshot = { path: screenshot, tiles: shot.peers.map((p) => p.rect), framesDecoded: shot.peers.map((p) => p.framesDecoded) };
    }
    for (const p of r.tabs) await p.close({ runBeforeUnload: true });
  }
  result.ok = rooms.every((name) => result.rooms[name]?.ok) && (!screenshot || result.rooms[rooms[rooms.length - 1]].speakers?.some((x) => x > 0));
} catch (err) {
  result.error = String(err?.stack || err);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
