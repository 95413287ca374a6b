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
import { chromiumArgs, room, tabStats } from './rooms.mjs';

const [pageUrl, screenshot, ...roomArgs] = process.argv.slice(2);
const rooms = roomArgs.length > 0 ? roomArgs : ['two', 'four'];
const sizes = { two: 2, four: 4 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const userDataDir = mkdtempSync(join(tmpdir(), 'rope-demo-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs,
  viewport: { width: 1280, height: 720 },
});
const result = { ok: false, rooms: {} };

try {
  const deadline = Date.now() + 120_000;
  for (const name of rooms) {
    const n = sizes[name] ?? Number(name.replace(/\D/g, ''));
    const r = await room(context, pageUrl, name, n, deadline);
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
        s = await Promise.all(r.tabs.map(tabStats));
      }
      result.rooms[name].speakers = s.map((x) => x.speakers.length);
      const shot = await tabStats(r.tabs[0]);
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
