// Client protocol rules against a scripted fake server (no network): sequence
// checks, init checks, snapshot reconciliation, backoff, limits, the Proxy.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConnectionClosedError, MessageTooBigError, RopeClient, RopeError, RopeObject } from '../src/index.js';
import { nextEvent, recordEvents, waitFor } from './helpers.js';

/** A WebSocket whose server side the test scripts. */
class FakeWebSocket extends EventTarget {
  static sockets = [];
  constructor(url, protocols) {
    super();
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.readyState = 0;
    this.createdAt = performance.now();
    FakeWebSocket.sockets.push(this);
  }
  send(text) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(text));
  }
  close(code = 1005, reason = '') {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.closedWith = code;
    setTimeout(() => this.serverClose(code, true, reason), 1);
  }
  // --- the server's side ---
  serverOpen(protocol = this.protocols?.includes('rope.v1') ? 'rope.v1' : '') {
    this.protocol = protocol;
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
  }
  serverSend(msg) {
    this.dispatchEvent(Object.assign(new Event('message'), { data: JSON.stringify(msg) }));
  }
  notify(method, params) { this.serverSend({ jsonrpc: '2.0', method, params }); }
  serverClose(code = 1006, wasClean = false, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, wasClean, reason }));
  }
  failHandshake() {
    this.dispatchEvent(new Event('error'));
    this.serverClose(1006, false);
  }
  /** The last request sent, answered with result or error. */
  answer(result, error) {
    const req = this.sent.at(-1);
    this.serverSend(error ? { jsonrpc: '2.0', id: req.id, error } : { jsonrpc: '2.0', id: req.id, result });
    return req;
  }
}

const types = [
  { name: 'Root', methods: ['make'], events: [], properties: [] },
  { name: 'T', methods: ['poke', 'close'], events: ['poked'], properties: ['x', 'y', 'z'] },
];
const obj = (id, type, parent, props = {}, appData = {}) => ({ id, type, parent, props, appData });
const init = (extra) => ({
  protocol: 'rope.v1', server: 'fake', epoch: 'e1', seq: 10, resumed: false,
  maxMessageSize: 65536, replayWindow: 100, types,
  objects: [obj('root', 'Root', null)], ...extra,
});

let n = 0;
/** A client on a fresh fake URL, with its first socket opened and initialised. */
async function connected(initParams = init(), options = {}) {
  const c = new RopeClient(`ws://fake-${++n}.test/`, { WebSocket: FakeWebSocket, reconnectDelay: 5, maxReconnectDelay: 20, ...options });
  const ws = FakeWebSocket.sockets.at(-1);
  ws.serverOpen();
  ws.notify('rope.init', initParams);
  assert.equal(c.readyState, RopeClient.CONNECTED);
  return { c, ws };
}

/** Waits for the client's next socket and returns it. */
async function nextSocket(after) {
  await waitFor(() => FakeWebSocket.sockets.at(-1) !== after, 2000, 'a reconnect');
  return FakeWebSocket.sockets.at(-1);
}

beforeEach(() => { FakeWebSocket.sockets.length = 0; });

describe('protocol rules', () => {
  it('offers no subprotocol by default, sends the token as access_token, maps http to ws', () => {
    const c = new RopeClient('http://fake.test/rope?x=1', { WebSocket: FakeWebSocket, token: 's3cr3t' });
    const ws = FakeWebSocket.sockets[0];
    assert.equal(ws.protocols, undefined, 'spec §2.2.1: the canonical JS client offers none');
    const u = new URL(ws.url);
    assert.equal(u.protocol, 'ws:');
    assert.equal(u.searchParams.get('access_token'), 's3cr3t');
    assert.equal(u.searchParams.get('x'), '1');
    assert.equal(u.searchParams.has('epoch'), false, 'no resume without a mirror');
    assert.equal(c.url, 'ws://fake.test/rope?x=1', 'the token is not part of url');
    c.close();
    assert.equal(c.readyState, RopeClient.CLOSED);
    assert.equal(ws.readyState, 2, 'the connecting socket is dropped');
  });

  it('shares a socket only for the same URL, token and WebSocket class', () => {
    const a = new RopeClient('ws://share.test/', { WebSocket: FakeWebSocket, token: 't1' });
    const b = new RopeClient('ws://share.test/#x', { WebSocket: FakeWebSocket, token: 't1' });
    const c = new RopeClient('ws://share.test/', { WebSocket: FakeWebSocket, token: 't2' });
    const d = new RopeClient('ws://share.test/', { WebSocket: FakeWebSocket, token: 't1', shared: false });
    assert.equal(FakeWebSocket.sockets.length, 3, 'a and b share, c and d do not');
    assert.throws(() => new RopeClient('ftp://share.test/', { WebSocket: FakeWebSocket }), TypeError);
    for (const x of [a, b, c, d]) x.close();
  });

  it('having offered rope.v1, fails a connection where the server selected nothing else (§2.2.3)', async () => {
    const c = new RopeClient(`ws://fake-${++n}.test/`, { WebSocket: FakeWebSocket, protocols: ['rope.v1'], reconnectDelay: 5 });
    const ws = FakeWebSocket.sockets.at(-1);
    assert.deepEqual(ws.protocols, ['rope.v1']);
    const err = nextEvent(c, 'error');
    ws.serverOpen('');
    assert.match((await err).detail.error.message, /subprotocol/);
    await waitFor(() => ws.closedWith === 4001, 1000, 'close 4001');
    const ws2 = await nextSocket(ws);
    ws2.serverOpen();
    ws2.notify('rope.init', init());
    assert.equal(c.readyState, RopeClient.CONNECTED);
    c.close();
  });

  it('a handshake with no rope.init within connectTimeout fails: dropped, or closed 4001 once open; then retried', async () => {
    const c = new RopeClient(`ws://fake-${++n}.test/`, { WebSocket: FakeWebSocket, reconnectDelay: 5, connectTimeout: 30 });
    const errors = [];
    c.addEventListener('error', (e) => errors.push(e.detail.error.message));
    const ws = FakeWebSocket.sockets.at(-1); // never opens, never fails
    const ws2 = await nextSocket(ws);
    assert.ok(ws.readyState >= 2, 'the stalled socket was dropped');
    assert.match(errors[0], /timed out/);
    ws2.serverOpen(); // opens, but sends no rope.init
    await waitFor(() => ws2.closedWith === 4001, 1000, 'close 4001');
    assert.match(errors[1], /no rope\.init/);
    const ws3 = await nextSocket(ws2);
    ws3.serverOpen();
    ws3.notify('rope.init', init());
    assert.equal(c.readyState, RopeClient.CONNECTED);
    c.close();
  });

  it('a sequence gap is not applied: close 4001, reconnect and resume from lastSeq', async () => {
    const { c, ws } = await connected();
    const errors = [];
    c.addEventListener('error', (e) => errors.push(e.detail.error.message));
    ws.notify('rope.created', { seq: 11, object: obj('a', 'T', 'root', { x: 1 }) });
    assert.equal(c.seq, 11);
    ws.notify('rope.updated', { seq: 13, id: 'a', props: { x: 2 } }); // 12 is missing
    assert.equal(c.object('a').props.x, 1, 'not applied');
    assert.equal(c.seq, 11);
    assert.match(errors[0], /sequence gap/);
    ws.notify('rope.updated', { seq: 12, id: 'a', props: { x: 9 } });
    assert.equal(c.object('a').props.x, 1, 'nothing more from a failed socket');
    await nextEvent(c, 'disconnected');
    assert.equal(ws.closedWith, 4001);
    const ws2 = await nextSocket(ws);
    const u = new URL(ws2.url);
    assert.equal(u.searchParams.get('epoch'), 'e1');
    assert.equal(u.searchParams.get('seq'), '11');
    ws2.serverOpen();
    ws2.notify('rope.init', { ...init(), resumed: true, seq: 11, objects: undefined });
    ws2.notify('rope.updated', { seq: 12, id: 'a', props: { x: 2 } });
    assert.equal(c.object('a').props.x, 2);
    assert.equal(c.readyState, RopeClient.CONNECTED);
    c.close();
  });

  it('rejects a rope.init that resumes what was not asked, or lacks objects', async () => {
    for (const bad of [init({ resumed: true, objects: undefined }), init({ objects: undefined }), init({ protocol: 'rope.v2' })]) {
      const c = new RopeClient(`ws://fake-${++n}.test/`, { WebSocket: FakeWebSocket, reconnectDelay: 5 });
      const ws = FakeWebSocket.sockets.at(-1);
      const err = nextEvent(c, 'error');
      ws.serverOpen();
      ws.notify('rope.init', bad);
      assert.match((await err).detail.error.message, /protocol violation/);
      assert.equal(c.readyState, RopeClient.OPEN);
      await waitFor(() => ws.closedWith === 4001, 1000, 'close 4001');
      c.close();
    }
  });

  it('a notification for an unknown object or a duplicate creation triggers a resume', async () => {
    const { c, ws } = await connected();
    ws.notify('rope.updated', { seq: 11, id: 'ghost', props: {} });
    assert.equal(c.seq, 10);
    await nextEvent(c, 'disconnected');
    const ws2 = await nextSocket(ws);
    assert.equal(new URL(ws2.url).searchParams.get('seq'), '10');
    c.close();
  });

  it('reconciles the mirror with a full snapshot: close, update, create (spec §7.6)', async () => {
    const { c, ws } = await connected(init({
      objects: [
        obj('root', 'Root', null),
        obj('a', 'T', 'root', { x: 1, y: 2 }, { k: 1 }),
        obj('b', 'T', 'root'),
        obj('c', 'T', 'b'),
        obj('d', 'T', 'root', { x: 5 }),
        obj('same', 'T', 'root', { x: { deep: [1, 2] } }, { q: [1] }),
      ],
    }));
    const handles = Object.fromEntries(c.objects.map((o) => [o.id, o]));
    const log = recordEvents(c);
    const closeOrder = [];
    for (const id of ['b', 'c', 'd']) handles[id].addEventListener('close', () => closeOrder.push(id));
    const updates = [];
    handles.a.addEventListener('update', (e) => updates.push(e.detail));
    handles.same.addEventListener('update', (e) => updates.push(e.detail));
    ws.serverClose(1001, true);
    const ws2 = await nextSocket(ws);
    ws2.serverOpen();
    ws2.notify('rope.init', init({
      epoch: 'e2', seq: 3,
      objects: [
        obj('root', 'Root', null),
        obj('a', 'T', 'root', { x: 1, z: 3 }, { k: 2 }),
        obj('d', 'Other', 'root', { x: 5 }), // same id, other type: a new object
        obj('same', 'T', 'root', { x: { deep: [1, 2] } }, { q: [1] }),
        obj('e', 'T', 'd'),
      ],
    }));
    assert.deepEqual(log, [
      'websocketClose', 'disconnected', 'websocketOpen', 'open',
      'closed d', 'closed c', 'closed b',
      'updated a {"z":3} {"k":2}',
      'created d', 'created e',
      'connected',
    ]);
    assert.deepEqual(updates, [{ props: { y: undefined, z: 3 }, appData: { k: 2 } }], 'removed keys are listed');
    assert.deepEqual(closeOrder, ['d', 'c', 'b']);
    assert.equal(c.object('a'), handles.a, 'same handle');
    assert.deepEqual(handles.a.props, { x: 1, z: 3 });
    assert.deepEqual(handles.a.appData, { k: 2 });
    assert.equal(c.object('same'), handles.same);
    assert.notEqual(c.object('d'), handles.d);
    assert.equal(c.object('d').type, 'Other');
    assert.deepEqual(c.objects.map((o) => o.id), ['root', 'a', 'same', 'd', 'e']);
    assert.equal(c.epoch, 'e2');
    assert.equal(c.seq, 3);
    c.close();
  });

  it('fails pending calls on connection loss and never re-sends them', async () => {
    const { c, ws } = await connected();
    const p = c.call('root', 'make', { n: 1 });
    assert.deepEqual(ws.sent[0], { jsonrpc: '2.0', id: 1, method: 'rope.call', params: { object: 'root', method: 'make', params: { n: 1 } } });
    ws.serverClose(1006, false);
    await assert.rejects(p, ConnectionClosedError);
    assert.equal(c.readyState, RopeClient.CONNECTING);
    await assert.rejects(c.ping(), ConnectionClosedError);
    const ws2 = await nextSocket(ws);
    ws2.serverOpen();
    ws2.notify('rope.init', { ...init(), resumed: true, objects: undefined });
    assert.deepEqual(ws2.sent, []);
    c.close();
  });

  it('settles calls with results and RopeErrors; ids are unique across shared instances', async () => {
    const { c, ws } = await connected();
    const c2 = new RopeClient(c.url, { WebSocket: FakeWebSocket });
    await c2.ready();
    assert.equal(FakeWebSocket.sockets.at(-1), ws, 'shared');
    const p1 = c.call('root', 'make');
    const p2 = c2.call('root', 'make');
    assert.notEqual(ws.sent[0].id, ws.sent[1].id);
    ws.serverSend({ jsonrpc: '2.0', id: ws.sent[1].id, error: { code: -32010, message: 'nope', data: { name: 'TypeError', extra: 1 } } });
    ws.serverSend({ jsonrpc: '2.0', id: ws.sent[0].id, result: { id: 'x' } });
    assert.deepEqual(await p1, { id: 'x' });
    const err = await p2.catch((e) => e);
    assert.ok(err instanceof RopeError);
    assert.deepEqual([err.code, err.name, err.message, err.data], [-32010, 'TypeError', 'nope', { name: 'TypeError', extra: 1 }]);
    // An unknown code is still a RopeError with its code.
    const p3 = c.request('x.custom');
    ws.answer(undefined, { code: -1, message: 'odd' });
    const e3 = await p3.catch((e) => e);
    assert.deepEqual([e3.code, e3.name], [-1, 'RopeError']);
    // No "params": null on the wire (spec §3.3.3); null inside rope.call is fine.
    c.request('x.custom', null).catch(() => {});
    assert.equal('params' in ws.sent.at(-1), false);
    c.call('root', 'make', null).catch(() => {});
    assert.deepEqual(ws.sent.at(-1).params, { object: 'root', method: 'make', params: null });
    c2.close();
    c.close();
  });

  it('fails a request over maxMessageSize locally', async () => {
    const { c, ws } = await connected();
    await assert.rejects(c.call('root', 'make', 'x'.repeat(70000)), MessageTooBigError);
    await assert.rejects(c.call('root', 'make', 'é'.repeat(33000)), MessageTooBigError, 'counted in UTF-8 bytes');
    assert.deepEqual(ws.sent, []);
    c.close();
  });

  it('reports unknown notifications and null-id errors as events', async () => {
    const { c, ws } = await connected();
    const note = nextEvent(c, 'notification');
    ws.notify('app.hello', { a: 1 });
    assert.deepEqual((await note).detail, { method: 'app.hello', params: { a: 1 } });
    const err = nextEvent(c, 'error');
    ws.serverSend({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'bad', data: { name: 'InvalidRequest' } } });
    assert.equal((await err).detail.error.code, -32600);
    assert.equal(c.readyState, RopeClient.CONNECTED);
    c.close();
  });

  it('backs off exponentially with jitter and gives up after maxReconnectAttempts', async () => {
    const c = new RopeClient(`ws://fake-${++n}.test/`, { WebSocket: FakeWebSocket, reconnectDelay: 10, maxReconnectDelay: 1000, maxReconnectAttempts: 4 });
    const failedAt = [];
    let errors = 0;
    c.addEventListener('error', () => errors++);
    const closed = nextEvent(c, 'close', 5000);
    let seen = 0;
    while (c.readyState !== RopeClient.CLOSED) {
      await waitFor(() => FakeWebSocket.sockets.length > seen || c.readyState === RopeClient.CLOSED, 3000, 'an attempt');
      if (FakeWebSocket.sockets.length > seen) {
        failedAt.push(performance.now());
        FakeWebSocket.sockets[seen++].failHandshake();
      }
    }
    await closed;
    assert.equal(failedAt.length, 5, 'the first try and 4 retries');
    assert.equal(errors, 5, 'one error per failed handshake');
    // Retry n waits at least half of 10 ms · 2^n (timers never fire early; 1 ms of rounding).
    const delays = FakeWebSocket.sockets.slice(1).map((ws, i) => ws.createdAt - failedAt[i]);
    delays.forEach((d, i) => assert.ok(d >= 0.5 * 10 * 2 ** i - 1, `delay ${i} = ${d}`));
  });

  it('with reconnect: false a lost connection closes the client', async () => {
    const { c, ws } = await connected(init(), { reconnect: false });
    const log = recordEvents(c);
    ws.serverClose(1001, true);
    assert.equal(c.readyState, RopeClient.CLOSED);
    assert.deepEqual(log, ['websocketClose', 'disconnected', 'close']);
    await assert.rejects(c.ready(), ConnectionClosedError);
  });

  it('object handles: catalogue methods by name, not thenable, events by name', async () => {
    const { c, ws } = await connected();
    ws.notify('rope.created', { seq: 11, object: obj('t', 'T', 'root', { x: 1 }) });
    const t = c.object('t');
    assert.ok(t instanceof RopeObject);
    assert.equal(t.then, undefined);
    assert.equal(await Promise.resolve(t), t, 'awaiting a handle gives the handle');
    assert.equal(typeof t.poke, 'function');
    assert.equal(t.nope, undefined, 'only catalogue methods appear as functions');
    assert.deepEqual(JSON.parse(JSON.stringify(t)), obj('t', 'T', 'root', { x: 1 }));
    assert.throws(() => { t.props.x = 2; }, TypeError, 'props are frozen');
    const p = t.poke({ hard: true });
    assert.deepEqual(ws.sent.at(-1).params, { object: 't', method: 'poke', params: { hard: true } });
    const poked = nextEvent(t, 'poked');
    ws.notify('rope.event', { seq: 12, id: 't', event: 'poked', data: { n: 1 } });
    const ev = await poked;
    assert.deepEqual(ev.detail, { n: 1 });
    assert.equal(ev.target, t, 'the event target is the handle itself');
    ws.answer(null);
    assert.equal(await p, null);
    const closed = nextEvent(c, 'close');
    c.close();
    assert.equal(c.readyState, RopeClient.CLOSING);
    await closed;
    assert.equal(t.closed, true, 'handles of a closed client are closed');
    assert.deepEqual(c.objects, []);
  });
});
