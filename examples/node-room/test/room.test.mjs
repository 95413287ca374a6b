// The node-room app server against cmd/ropeserver: its JSON signalling
// driven by plain WebSocket clients (two peers see each other, produce,
// consume, leave; bad requests get errors; the room's router closes on the
// media server with its last peer), and the demo page behind it in
// headless Chromium (two tabs see, hear and chat with each other).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as mediasoup from '@ropehq/rope-client/mediasoup';
import WebSocket from 'ws';
import { startAppServer } from '../server.mjs';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Builds and starts cmd/ropeserver on a free port; resolves with {url, stop}. */
async function startRopeserver() {
  const dir = mkdtempSync(join(tmpdir(), 'node-room-'));
  const bin = join(dir, 'ropeserver');
  await promisify(execFile)('go', ['build', '-o', bin, './cmd/ropeserver'], { cwd: repoRoot, maxBuffer: 1 << 24 });
  const proc = spawn(bin, ['-port', '0', '-workers', 'in-process', '-rtc-ip', '127.0.0.1', '-demo=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`ropeserver exited ${code}: ${stderr}`)));
  });
  return {
    url,
    stop: () => new Promise((resolve) => {
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    }).finally(() => rmSync(dir, { recursive: true, force: true })),
  };
}

/** A signalling client, as page/signal-ws.js of the demo is. */
class Client {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.next = 1;
    this.pending = new Map();
    this.events = [];
    this.waiters = [];
    this.ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.event) {
        this.events.push(msg);
        this.waiters = this.waiters.filter((w) => !w(msg));
        return;
      }
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error));
      else p?.resolve(msg.result);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
  }

  async open() {
    if (this.ws.readyState !== WebSocket.OPEN) await new Promise((resolve, reject) => { this.ws.once('open', resolve); this.ws.once('error', reject); });
    return this;
  }

  request(method, params = {}) {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** Resolves with the first event (past or future) named so that matches pred. */
  event(name, pred = () => true, ms = 10000) {
    const match = (m) => m.event === name && pred(m.data);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen.data);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms);
      this.waiters.push((m) => {
        if (!match(m)) return false;
        clearTimeout(timer);
        resolve(m.data);
        return true;
      });
    });
  }

  close() { this.ws.close(); return this.closed; }
}

const opus = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };

let server;
let app;
let wsUrl;
before(async () => {
  server = await startRopeserver();
  app = await startAppServer({ port: 0, mediaUrl: server.url });
  wsUrl = `${app.url.replace(/^http/, 'ws')}ws`;
});
after(async () => {
  await app?.close();
  await server?.stop();
});

describe('node-room signalling', () => {
  it('two peers see each other, produce, consume and leave; the router closes on the media server with the last', async () => {
    const a = await new Client(wsUrl).open();
    const b = await new Client(wsUrl).open();
    const { rtpCapabilities } = await a.request('join', { room: 'r1', peerId: 'pa', name: 'Ann' });
    assert.ok(rtpCapabilities.codecs.some((c) => c.mimeType === 'video/VP8'));
    await a.request('start');
    const sendT = await a.request('createTransport', { direction: 'send' });
    assert.equal(typeof sendT.iceParameters.usernameFragment, 'string');
    assert.equal(sendT.iceCandidates[0].ip ?? sendT.iceCandidates[0].address, '127.0.0.1');
    assert.equal(typeof sendT.sctpParameters.port, 'number');
    const { id: producerId } = await a.request('produce', {
      transportId: sendT.id, kind: 'audio', rtpParameters: { codecs: [opus], encodings: [{ ssrc: 1111 }] }, appData: { source: 'mic' },
    });
    const { id: dataProducerId } = await a.request('produceData', {
      transportId: sendT.id, sctpStreamParameters: { streamId: 1, ordered: true }, label: 'chat', protocol: '',
    });

    await b.request('join', { room: 'r1', peerId: 'pb', name: 'Bob' });
    assert.deepEqual(await a.event('peer'), { peerId: 'pb', name: 'Bob' });
    await b.request('start'); // the current state first
    assert.deepEqual(await b.event('peer'), { peerId: 'pa', name: 'Ann' });
    assert.deepEqual(await b.event('producer'), { producerId, peerId: 'pa', name: 'Ann', kind: 'audio', source: 'mic' });
    assert.deepEqual(await b.event('dataproducer'), { dataProducerId, peerId: 'pa', name: 'Ann', label: 'chat' });
    const recvT = await b.request('createTransport', { direction: 'recv' });
    const c = await b.request('consume', { transportId: recvT.id, producerId, rtpCapabilities });
    assert.equal(c.kind, 'audio');
    assert.equal(c.producerId, producerId);
    assert.equal(c.rtpParameters.codecs[0].mimeType, 'audio/opus');
    await b.request('resume', { consumerId: c.id });
    const dc = await b.request('consumeData', { transportId: recvT.id, dataProducerId });
    assert.equal(dc.label, 'chat');
    assert.equal(typeof dc.sctpStreamParameters.streamId, 'number');

    // The media server holds the room: another client of it sees the router.
    const observer = await mediasoup.connect(server.url, { WebSocket });
    const routerId = app.rooms.get('r1').router.id;
    assert.equal(observer.ropeClient.object(routerId)?.type, 'Router');

    // Ann leaves: Bob hears of her producer's and her own departure.
    await a.close();
    assert.deepEqual(await b.event('producerclose'), { producerId });
    assert.deepEqual(await b.event('peerleft'), { peerId: 'pa' });
    await b.close();
    const deadline = Date.now() + 10000;
    while (observer.ropeClient.object(routerId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(observer.ropeClient.object(routerId), undefined, 'the router closed on the media server');
    assert.equal(app.rooms.has('r1'), false);
    observer.close();
  });

  it('bad requests get errors and the socket stays; a message that is not JSON closes it', async () => {
    const a = await new Client(wsUrl).open();
    await assert.rejects(a.request('createTransport', { direction: 'send' }), /join first/);
    await assert.rejects(a.request('nope'), /unknown method/);
    await assert.rejects(a.request('join', { room: '', peerId: 'p', name: 'n' }), /bad room/);
    await assert.rejects(a.request('join', { room: 'x'.repeat(65), peerId: 'p', name: 'n' }), /bad room/);
    await a.request('join', { room: 'r2', peerId: 'p', name: 'n' });
    await assert.rejects(a.request('join', { room: 'r2', peerId: 'p', name: 'n' }), /already joined/);
    await assert.rejects(a.request('produce', { transportId: 'nope', kind: 'audio', rtpParameters: {} }), /unknown transport/);
    await assert.rejects(a.request('createTransport', { direction: 'sideways' }), /bad direction/);
    const t = await a.request('createTransport', { direction: 'send' });
    await assert.rejects(a.request('produce', { transportId: t.id, kind: 'chicken', rtpParameters: {} }), /invalid kind/);
    await a.request('createTransport', { direction: 'recv' });
    await assert.rejects(a.request('createTransport', { direction: 'recv' }), /too many transports/);
    const b = await new Client(wsUrl).open();
    await assert.rejects(b.request('join', { room: 'r2', peerId: 'p', name: 'other' }), /peerId in use/);
    await b.close();
    a.ws.send('not json');
    assert.equal(await a.closed, 1003);
  });
});

const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const mustRun = process.env.CI === 'true' || process.env.ROPE_REQUIRE_BROWSER === '1';
const noBrowser = existsSync(chromiumPath) ? false : `${chromiumPath} not found (apt-get install chromium)`;

describe('node-room in Chromium', { skip: !mustRun && noBrowser, timeout: 150000 }, () => {
  it('two tabs see, hear and chat with each other through the app server', async () => {
    if (noBrowser) throw new Error(`ROPE_REQUIRE_BROWSER=1 or CI=true but ${noBrowser}`);
    const { chromium } = await import('playwright-core');
    const { chromiumArgs, room } = await import('../../../demo/test/rooms.mjs');
    const userDataDir = mkdtempSync(join(tmpdir(), 'node-room-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: chromiumPath, headless: true, args: chromiumArgs });
    try {
      const r = await room(context, app.url, 'two', 2, Date.now() + 90000);
      assert.ok(r.ok, JSON.stringify(r.stats.map((s) => ({ status: s.status, peers: s.peers, chat: s.chat.map((c) => c.text) }))));
      for (const s of r.stats) {
        assert.equal(s.peers.length, 1);
        assert.ok(s.peers[0].framesDecoded > 0 && s.peers[0].audioPackets > 0);
      }
      for (const p of r.tabs) await p.close({ runBeforeUnload: true });
      const deadline = Date.now() + 10000;
      while (app.rooms.has('two') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      assert.equal(app.rooms.has('two'), false, 'the room closed with its last tab');
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
