// Two clients against the Go ropeserver: mirrors, events, shared connections, errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ConnectionClosedError, RopeClient, RopeError, RopeObject } from '../src/index.js';
import { connect, mirror, nextEvent, recordEvents, startServer, waitFor } from './helpers.js';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

describe('two clients', () => {
  it("see each other's created, updated and closed objects", async () => {
    const a = await connect(server.url, { shared: false });
    const b = await connect(server.url, { shared: false });
    try {
      const logB = recordEvents(b);
      const { id } = await a.object('fixture').createCounter({ value: 1, appData: { owner: 'a' } });
      // The ordering rule: the caller's mirror has the object when the call resolves.
      const ca = a.object(id);
      assert.ok(ca instanceof RopeObject);
      assert.deepEqual(ca.props, { value: 1 });
      assert.equal(ca.parent, 'fixture');
      assert.equal(ca.parentObject, a.object('fixture'));

      await waitFor(() => b.object(id), 2000, 'B sees the counter');
      const cb = b.object(id);
      assert.deepEqual(cb.appData, { owner: 'a' });
      const incB = [];
      cb.addEventListener('incremented', (e) => incB.push(e.detail));
      const updB = [];
      cb.addEventListener('update', (e) => updB.push(e.detail));

      // B changes, A sees it.
      assert.deepEqual(await cb.increment({ by: 2 }), { value: 3 });
      assert.deepEqual(cb.props, { value: 3 });
      await waitFor(() => ca.props.value === 3, 2000, 'A sees value 3');
      assert.deepEqual(incB, [{ value: 3, by: 2 }]);
      assert.deepEqual(updB, [{ props: { value: 3 }, appData: undefined }]);

      // appData, set by A, replaces B's copy.
      assert.equal(await ca.setAppData({ owner: 'a', label: 'x' }), null);
      assert.deepEqual(ca.appData, { owner: 'a', label: 'x' });
      await waitFor(() => cb.appData.label === 'x', 2000, 'B sees appData');

      // A child created by B, then A closes the counter: both close on B, child first.
      const { id: kid } = await b.call(id, 'createChild', { name: 'k' });
      assert.equal(b.object(kid).props.name, 'k');
      assert.deepEqual(cb.children.map((o) => o.id), [kid]);
      await waitFor(() => a.object(kid), 2000, 'A sees the child');
      const closedOnB = [];
      cb.addEventListener('close', () => closedOnB.push(id));
      b.object(kid).addEventListener('close', () => closedOnB.push(kid));
      assert.equal(await ca.close(), null);
      assert.equal(a.object(id), undefined);
      assert.equal(ca.closed, true);
      await waitFor(() => closedOnB.length === 2, 2000, 'B sees both close');
      assert.deepEqual(closedOnB, [kid, id]);
      assert.equal(b.object(id), undefined);
      assert.equal(cb.closed, true);
      assert.deepEqual(logB, [
        `created ${id}`,
        `updated ${id} {"value":3} null`,
        `event ${id} incremented {"by":2,"value":3}`,
        `updated ${id} null {"owner":"a","label":"x"}`,
        `created ${kid}`,
        `closed ${kid}`,
        `closed ${id}`,
      ]);
      await b.ping();
      await a.ping();
      assert.deepEqual(mirror(a), mirror(b));
      assert.equal(a.seq, b.seq);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('shared connection', () => {
  it('serves several instances with one WebSocket that closes with the last', async () => {
    const a = await connect(server.url);
    const log = recordEvents(a);
    const b = new RopeClient(server.url, { WebSocket });
    const logB = recordEvents(b);
    assert.equal(b.readyState, RopeClient.CONNECTING);
    await b.ready();
    assert.equal(b.readyState, RopeClient.CONNECTED);
    assert.deepEqual(logB, ['open', 'connected'], 'joining a connected socket: no websocketOpen');
    const ws = a.websocket;
    assert.ok(ws);
    assert.equal(b.websocket, ws, 'one WebSocket');
    assert.throws(() => b.open(server.url), /already/);

    // Both see the same mirror; handles are per instance.
    const { id } = await b.object('fixture').createCounter({});
    assert.ok(a.object(id), 'A mirrored it before B’s call resolved');
    assert.notEqual(a.object(id), b.object(id));
    assert.deepEqual(a.object(id).toJSON(), b.object(id).toJSON());

    // Closing B fails B's pending calls only; the socket stays open for A.
    const slowB = b.object('fixture').sleep({ ms: 300 });
    const slowA = a.object('fixture').sleep({ ms: 300 });
    b.close();
    assert.equal(b.readyState, RopeClient.CLOSED);
    await assert.rejects(slowB, ConnectionClosedError);
    assert.equal(await slowA, null);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.deepEqual(logB.filter((e) => !e.startsWith('created')).slice(2), ['disconnected', 'close']);
    await assert.rejects(b.ping(), ConnectionClosedError);
    assert.equal(b.object(id), undefined);

    // A is the last: its close closes the WebSocket with 1000.
    const wsClose = new Promise((r) => ws.addEventListener('close', (e) => r(e.code)));
    const closed = nextEvent(a, 'close');
    a.close();
    assert.equal(a.readyState, RopeClient.CLOSING);
    const ev = await closed;
    assert.equal(a.readyState, RopeClient.CLOSED);
    assert.equal(await wsClose, 1000);
    assert.ok(ev);
    assert.deepEqual(log.filter((e) => !e.startsWith('created')), ['disconnected', 'websocketClose', 'close']);

    // A new instance for the URL opens a new WebSocket.
    const c = await connect(server.url);
    const ws2 = c.websocket;
    assert.notEqual(ws2, ws);
    assert.ok(c.object(id), 'the snapshot has the counter');
    c.close();
    a.open(server.url); // reopen a closed instance
    await a.ready();
    assert.notEqual(a.websocket, ws2);
    a.close();
  });

  it('emits the lifecycle events in order for a fresh connection', async () => {
    const c = new RopeClient(server.url, { WebSocket });
    const log = recordEvents(c);
    const states = [];
    c.addEventListener('open', () => states.push(c.readyState));
    c.addEventListener('connected', (e) => states.push(c.readyState, e.detail.resumed));
    await c.ready();
    assert.deepEqual(log, ['websocketOpen', 'open', 'connected']);
    assert.deepEqual(states, [RopeClient.OPEN, RopeClient.CONNECTED, false]);
    assert.equal(c.serverInfo.protocol, 'rope.v1');
    assert.ok(c.types.get('Counter').methods.includes('increment'));
    c.close();
    await nextEvent(c, 'close');
    assert.deepEqual(log, ['websocketOpen', 'open', 'connected', 'disconnected', 'websocketClose', 'close']);
  });

  it('offers no subprotocol by default; offering rope.v1 gets it selected; a foreign one is refused', async () => {
    const plain = await connect(server.url, { shared: false });
    assert.equal(plain.websocket.protocol, '');
    plain.close();
    const v1 = await connect(server.url, { protocols: ['rope.v1'] });
    assert.equal(v1.websocket.protocol, 'rope.v1');
    v1.close();
    const v2 = new RopeClient(server.url, { WebSocket, protocols: ['rope.v2'], maxReconnectAttempts: 0 });
    const err = nextEvent(v2, 'error');
    await nextEvent(v2, 'close');
    assert.ok((await err).detail.error, 'the refused handshake (HTTP 400) is an error event');
    assert.equal(v2.readyState, RopeClient.CLOSED);
  });

  it('fails calls made before CONNECTED without sending them', async () => {
    const c = new RopeClient(server.url, { WebSocket });
    await assert.rejects(c.ping(), ConnectionClosedError);
    c.close();
    assert.equal(c.readyState, RopeClient.CLOSED);
  });
});

describe('errors', () => {
  it('arrive as rejected promises with code, name and data', async () => {
    const c = await connect(server.url);
    try {
      const root = c.object('fixture');
      const expectError = async (promise, code, name) => {
        const err = await promise.then(() => assert.fail('resolved'), (e) => e);
        assert.ok(err instanceof RopeError, `${name}: ${err}`);
        assert.ok(err instanceof Error);
        assert.equal(err.code, code);
        assert.equal(err.name, name);
        assert.equal(err.data.name, name);
        return err;
      };
      const nf = await expectError(c.call('nope', 'increment'), -32001, 'ObjectNotFound');
      assert.equal(nf.data.object, 'nope');
      const um = await expectError(root.call('nope'), -32002, 'UnknownMethod');
      assert.deepEqual([um.data.type, um.data.method], ['Fixture', 'nope']);
      await expectError(root.sleep({ ms: 'x' }), -32602, 'InvalidParams');
      await expectError(c.request("rope.call", { object: 5 }), -32602, "InvalidParams");
      const ie = await expectError(root.fail({ kind: 'internal' }), -32603, 'InternalError');
      assert.equal(typeof ie.data.errorId, 'string');
      assert.ok(!JSON.stringify({ m: ie.message, d: ie.data, s: String(ie) }).includes('fixture-secret'));
      await expectError(c.request('rope.frobnicate'), -32601, 'MethodNotFound');
      await expectError(root.fail({ kind: 'app' }), -32010, 'FixtureError');
      assert.equal(c.readyState, RopeClient.CONNECTED, 'errors do not affect the connection');
    } finally {
      c.close();
    }
  });
});

describe('global WebSocket', () => {
  it("works with the runtime's own WebSocket (Node 22; Node 20 with --experimental-websocket)", async () => {
    const flags = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket', '--no-warnings'];
    const script = fileURLToPath(new URL('./global-websocket.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [...flags, script, server.url], { timeout: 20000 });
    const out = JSON.parse(stdout);
    assert.deepEqual(out.result, { value: 5 });
    assert.equal(out.wasClean, true);
    const c = await connect(server.url);
    assert.equal(c.object(out.id).props.value, 5, 'seen by a ws-based client');
    c.close();
  });
});
