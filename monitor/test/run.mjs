// Drives the monitor page in headless Chromium (Debian's /usr/bin/chromium,
// playwright-core) for monitor/browser_test.go. It loads the page, prints
// {"ready":true} once it is live, then answers one command per stdin line
// with one JSON line on stdout:
//   state        the page's window.monitor.state()
//   expand       unfolds every node of the tree
//   shot <path>  a screenshot of the whole page
//   quit         closes the browser and exits
//
// usage: node test/run.mjs <page-url>
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const chromiumArgs = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const [pageUrl] = process.argv.slice(2);
const out = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
const userDataDir = mkdtempSync(join(tmpdir(), 'rope-monitor-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs,
  viewport: { width: 1400, height: 900 },
});
const errors = [];
let code = 0;
try {
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.monitor?.state().status === 'live', null, { timeout: 60_000 });
  out({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.trim().split(/\s+/, 2);
    if (cmd === 'quit') break;
    try {
      if (cmd === 'state') out({ ...(await page.evaluate(() => window.monitor.state())), errors });
      else if (cmd === 'expand') out({ ok: await page.evaluate(() => { window.monitor.expandAll(); return true; }) });
      else if (cmd === 'shot') { await page.screenshot({ path: arg, fullPage: false }); out({ ok: true }); }
      else out({ error: `unknown command ${cmd}` });
    } catch (err) {
      out({ error: String(err?.stack || err) });
    }
  }
} catch (err) {
  out({ error: String(err?.stack || err), errors });
  code = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
