// The same client in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), on a page served by cmd/ropeserver -static; a Go client
// changes state the page shows.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { goBuild, jsDir, startServer } from './helpers.js';

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const inCI = process.env.CI === 'true';
// Missing Chromium: skipped locally, a failure in CI (which installs it with apt).
const missing = existsSync(chromiumPath) ? false : `${chromiumPath} not found: install it with "apt-get install -y chromium" (never download a browser)`;

// Flags from shared/FACTS.md that work with Debian's Chromium here.
const chromiumArgs = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

describe('browser', { skip: !inCI && missing, timeout: 90000 }, () => {
  let server;
  let context;
  let userDataDir;
  let goclient;

  before(async () => {
    if (missing) throw new Error(`CI=true but ${missing}`);
    const { chromium } = await import('playwright-core');
    [server, goclient] = await Promise.all([
      startServer(['-static', jsDir]),
      goBuild('./ropeclient/js/test/goclient', 'goclient'),
    ]);
    userDataDir = mkdtempSync(join(tmpdir(), 'ropeclient-js-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
  });

  after(async () => {
    await context?.close();
    await server?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('connects, calls, and shows a state change made by a Go client', async () => {
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    const base = server.url.replace(/^ws:/, 'http:');
    const resp = await page.goto(`${base}static/test/browser/index.html`);
    assert.equal(resp.status(), 200);

    await page.evaluate(() => window.rope.ready);
    assert.equal(await page.textContent('#state'), 'CONNECTED');
    assert.deepEqual(await page.evaluate(() => window.rope.client.object('fixture').echo({ from: 'browser', n: [1, 2] })),
      { from: 'browser', n: [1, 2] });
    assert.deepEqual(await page.evaluate(async () => {
      try {
        await window.rope.client.object('fixture').fail({ kind: 'app' });
        return null;
      } catch (e) {
        return { name: e.name, code: e.code };
      }
    }), { name: 'FixtureError', code: -32010 });

    const id = await page.evaluate(() => window.rope.createCounter(5));
    assert.equal(await page.textContent('#value'), '5');

    // A Go client increments the counter; the page shows the new value.
    const { stdout } = await promisify(execFile)(goclient, [server.url, id, '3'], { timeout: 15000 });
    assert.deepEqual(JSON.parse(stdout), { value: 8 });
    await page.waitForFunction(() => document.getElementById('value').textContent === '8', null, { timeout: 5000 });
    const log = await page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(log, ['websocketOpen', 'open', 'connected', 'incremented by 3 to 8']);
    if (process.env.ROPE_SCREENSHOT) await page.screenshot({ path: process.env.ROPE_SCREENSHOT });
    assert.deepEqual(problems, []);

    // The server restarts (new epoch): the page reconnects by itself and its
    // mirror is reconciled with the new snapshot, so the counter closes.
    await server.stop();
    await page.waitForFunction(() => document.getElementById('state').textContent === 'CONNECTING', null, { timeout: 5000 });
    server = await startServer(['-static', jsDir, '-port', String(server.port)]);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'CONNECTED', null, { timeout: 15000 });
    const log2 = await page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
    const tail = log2.slice(4).filter((e) => e !== 'error'); // failed attempts while it was down
    assert.deepEqual(tail.slice(0, 2), ['websocketClose', 'disconnected']);
    assert.deepEqual(tail.slice(-4), ['websocketOpen', 'open', 'counter closed', 'connected']);
    assert.equal(await page.evaluate((cid) => window.rope.client.object(cid), id), undefined);
    assert.ok(await page.evaluate(() => window.rope.client.object('fixture') !== undefined));
    problems.length = 0; // the browser logs the refused attempts

    // Closing in the browser closes the WebSocket cleanly.
    assert.deepEqual(await page.evaluate(() => new Promise((resolve) => {
      const c = window.rope.client;
      c.addEventListener('websocketClose', (e) => resolve({ wasClean: e.wasClean, code: e.code, state: c.readyState }));
      c.close();
    })), { wasClean: true, code: 1000, state: 3 });
    assert.deepEqual(problems, []);
  });
});
