// Reconnecting through failed handshakes, with the ws package and with the
// runtime's own WebSocket (undici on Node 20/22), whose failed handshakes fire
// 'error' without 'close' (connection refused) or neither (TCP closed during
// the handshake, or a peer that never answers).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor } from './helpers.js';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

/** A free loopback port (nothing listens on it afterwards: connections are refused). */
async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * A TCP front on port that, by mode, destroys each connection at once
 * ("destroy"), holds it without a word ("hang"), or forwards it to target
 * ("forward"). Counts connections per mode.
 */
async function startFront(port, target) {
  const front = { mode: 'destroy', seen: { destroy: 0, hang: 0, forward: 0 }, sockets: new Set() };
  const srv = net.createServer((s) => {
    front.sockets.add(s);
    s.on('close', () => front.sockets.delete(s));
    s.on('error', () => {});
    front.seen[front.mode]++;
    if (front.mode === 'destroy') return s.destroy();
    if (front.mode === 'hang') return;
    const up = net.connect(target, '127.0.0.1');
    up.on('error', () => s.destroy());
    s.on('error', () => up.destroy());
    s.pipe(up).pipe(s);
    front.sockets.add(up);
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  front.close = () => {
    for (const s of front.sockets) s.destroy();
    return new Promise((r) => srv.close(r));
  };
  return front;
}

/** Runs reconnect-child.js with the given WebSocket; collects its JSON lines. */
function startChild(url, impl) {
  const flags = impl === 'builtin' && typeof globalThis.WebSocket !== 'function' ? ['--experimental-websocket', '--no-warnings'] : [];
  const script = fileURLToPath(new URL('./reconnect-child.js', import.meta.url));
  const proc = spawn(process.execPath, [...flags, script, url, impl], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = { lines: [], stderr: '', proc };
  let buf = '';
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      child.lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr.on('data', (d) => { child.stderr += d; });
  child.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  child.count = (event) => child.lines.filter((l) => l.event === event).length;
  return child;
}

for (const impl of ['ws', 'builtin']) {
  describe(`reconnect with the ${impl === 'ws' ? 'ws package' : "runtime's own WebSocket"}`, () => {
    it('retries through refused, dropped and stalled handshakes, then connects', async () => {
      const port = await freePort();
      const child = startChild(`ws://127.0.0.1:${port}/`, impl);
      let front;
      try {
        // Refused: each attempt fails, and the client tries again.
        await waitFor(() => child.count('error') >= 3, 10000, `repeated refused attempts (${child.stderr})`);
        // Accepted, then closed before the WebSocket handshake completes.
        front = await startFront(port, server.port);
        await waitFor(() => front.seen.destroy >= 3, 10000, 'repeated attempts on dropped connections');
        // Accepted and never answered: the handshake times out.
        front.mode = 'hang';
        await waitFor(() => front.seen.hang >= 2, 10000, 'repeated attempts on stalled handshakes');
        // The server is reachable again.
        front.mode = 'forward';
        await waitFor(() => child.count('result') === 1, 10000, `a call after connecting (${child.stderr})`);
        assert.equal(await child.exited, 0, child.stderr);
        assert.equal(child.count('connected'), 1);
      } finally {
        child.proc.kill();
        await front?.close();
      }
    });
  });
}
