// Test helpers: build and run the Go ropeserver, wait for conditions.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { RopeClient } from '../src/index.js';

export const jsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(jsDir, '../..');

const run = promisify(execFile);
// A stable place, so `go build` finds its previous output up to date and
// skips relinking; test files run one at a time (--test-concurrency=1).
const binDir = join(jsDir, 'node_modules', '.cache', 'rope-test-bin');

/**
 * Builds a Go command of this repo (e.g. "./cmd/ropeserver"); returns the
 * binary's path.
 */
export async function goBuild(pkg, name) {
  mkdirSync(binDir, { recursive: true });
  const out = join(binDir, name);
  await run('go', ['build', '-o', out, pkg], { cwd: repoRoot, maxBuffer: 1 << 24 });
  return out;
}

/**
 * Starts the Go ropeserver (built once) with extra args; resolves with its
 * URL once it prints "listening on".
 * @returns {Promise<{url: string, port: number, stop: () => Promise<void>, proc: import('node:child_process').ChildProcess}>}
 */
export async function startServer(args = []) {
  const bin = await goBuild('./cmd/ropeserver', 'ropeserver');
  const proc = spawn(bin, ['-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`ropeserver did not start: ${stderr}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`ropeserver exited ${code}: ${stderr}`)));
  });
  const stop = () => new Promise((done) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return done();
    proc.once('exit', () => done());
    proc.kill('SIGTERM');
  });
  return { url, port: Number(new URL(url).port), stop, proc, stderr: () => stderr };
}

/** A RopeClient using the ws package, waiting until CONNECTED. */
export async function connect(url, options = {}) {
  const c = new RopeClient(url, { WebSocket, reconnectDelay: 20, maxReconnectDelay: 200, ...options });
  await withTimeout(c.ready(), 5000, 'connect');
  return c;
}

export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]);
}

/** Polls cond until it returns true. */
export async function waitFor(cond, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with the next event of type on target. */
export function nextEvent(target, type, ms = 5000) {
  return withTimeout(new Promise((r) => target.addEventListener(type, r, { once: true })), ms, `event ${type}`);
}

/** Records the events of a client (and its objects) as strings, in order. */
export function recordEvents(client) {
  const log = [];
  const types = ['open', 'connected', 'disconnected', 'close', 'websocketOpen', 'websocketClose'];
  for (const t of types) client.addEventListener(t, () => log.push(t));
  client.addEventListener('objectCreated', (e) => log.push(`created ${e.detail.object.id}`));
  client.addEventListener('objectUpdated', (e) => log.push(`updated ${e.detail.object.id} ${JSON.stringify(e.detail.props ?? null)} ${JSON.stringify(e.detail.appData ?? null)}`));
  client.addEventListener('objectClosed', (e) => log.push(`closed ${e.detail.object.id}`));
  client.addEventListener('objectEvent', (e) => log.push(`event ${e.detail.object.id} ${e.detail.event} ${JSON.stringify(e.detail.data)}`));
  return log;
}

/** The mirror of a client as plain data, for comparisons. */
export function mirror(client) {
  return client.objects.map((o) => o.toJSON());
}

/** Starts test/viewserver (views, owners and expiring tokens); resolves with its URL and a stop function. */
export async function startViewServer() {
  const bin = await goBuild('./ropeclient/js/test/viewserver', 'viewserver');
  const proc = spawn(bin, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`viewserver did not start: ${stderr}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`viewserver exited ${code}: ${stderr}`)));
  });
  const stop = () => new Promise((done) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return done();
    proc.once('exit', () => done());
    proc.kill('SIGTERM');
  });
  return { url, stop };
}
