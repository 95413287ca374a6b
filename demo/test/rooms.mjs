// The demo room's check, shared by test/run.mjs (cmd/ropeserver's demo)
// and examples/node-room's test (the same page behind a Node app server):
// n tabs join a room and must all see, hear and chat with each other. It
// drives a Playwright browser context it is given, so it imports nothing.

/** Chromium flags: shared/FACTS.md's, and no throttling of background tabs. */
export const chromiumArgs = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What a tab reports (window.demo.stats()). */
export function tabStats(page) {
  return page.evaluate(() => window.demo.stats());
}

/**
 * Opens n tabs of pageUrl in room name (camera 320x240) and waits, until
 * deadline (ms since the epoch), until every tab decodes every other tab's
 * video (a growing frame count), receives its audio and got its chat line
 * ("hello from <name>-<i>"). Resolves with {ok, tabs (the pages), stats,
 * joined, chatSent}; the caller closes the tabs.
 */
export async function room(context, pageUrl, name, n, deadline) {
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
  const stats = () => Promise.all(tabs.map(tabStats));
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

