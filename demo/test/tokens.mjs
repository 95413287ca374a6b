// Drives the demo page of a server that verifies signed tokens in headless
// Chromium: two rooms of two tabs each, open at once. Each tab gets a
// participant token for its room from the demo's join endpoint and talks
// to the media server directly with it. It waits until every tab decodes
// and hears the other tab of its room (rooms.mjs), then prints one JSON
// line with, per tab, its room, peer id, router and every object its ROPE
// mirror holds, for the Go test to check that no tab holds anything of
// the other room or another tab's transports.
//
// usage: node tokens.mjs <page-url> <room> <room>
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumArgs, room, tabStats } from './rooms.mjs';

const [pageUrl, ...rooms] = process.argv.slice(2);
const userDataDir = mkdtempSync(join(tmpdir(), 'rope-demo-tokens-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs,
  viewport: { width: 1280, height: 720 },
});
const result = { ok: false, rooms: {}, tabs: [] };

try {
  const deadline = Date.now() + 150_000;
  const open = [];
  for (const name of rooms) {
    const r = await room(context, pageUrl, name, 2, deadline);
    result.rooms[name] = { ok: r.ok, joined: r.joined, chatSent: r.chatSent };
    open.push({ name, r });
    if (!r.ok) throw new Error(`room ${name} did not come up: ${JSON.stringify(r.stats)}`);
  }
  // Both rooms are up: each tab's view, and that its media still flows.
  for (const { name, r } of open) {
    for (const tab of r.tabs) {
      const s = await tabStats(tab);
      const m = await tab.evaluate(() => window.demo.mirror());
      result.tabs.push({
        room: name, peerId: s.peerId, status: s.status,
        peers: s.peers.map((p) => ({ name: p.name, framesDecoded: p.framesDecoded, audioPackets: p.audioPackets })),
        routerId: m?.routerId, objects: m?.objects ?? null,
      });
    }
  }
  for (const { r } of open) for (const p of r.tabs) await p.close({ runBeforeUnload: true });
  result.ok = Object.values(result.rooms).every((x) => x.ok);
} catch (err) {
  result.error = String(err?.stack || err);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
