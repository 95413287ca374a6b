// Walks the standard conformance fixture (spec §15) from the JS client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RopeError } from '../src/index.js';
import { connect, recordEvents, startServer, waitFor } from './helpers.js';

let server;
let client;
let root;
before(async () => {
  server = await startServer();
  client = await connect(server.url);
  root = client.object('fixture');
});
after(async () => {
  client?.close();
  await server?.stop();
});

/** Awaits a rejection and checks its code and name. */
async function rejects(promise, code, name) {
  const err = await promise.then((v) => assert.fail(`resolved with ${JSON.stringify(v)}`), (e) => e);
  assert.ok(err instanceof RopeError, String(err));
  assert.equal(err.code, code, `${err.name}: ${err.message}`);
  if (name) assert.equal(err.name, name);
  return err;
}

describe('fixture', () => {
  it('announces the three types and the root object', () => {
    const sorted = (t) => ({ ...t, methods: [...t.methods].sort(), events: [...t.events].sort(), properties: [...t.properties].sort() });
    assert.deepEqual(sorted(client.types.get('Fixture')), { name: 'Fixture', methods: ['createCounter', 'echo', 'fail', 'sleep', 'take'], events: [], properties: [] });
    assert.deepEqual(sorted(client.types.get('Counter')), { name: 'Counter', methods: ['close', 'createChild', 'increment'], events: ['incremented'], properties: ['value'] });
    assert.deepEqual(sorted(client.types.get('Child')), { name: 'Child', methods: ['close', 'ping'], events: [], properties: ['name'] });
    assert.deepEqual(root.toJSON(), { id: 'fixture', type: 'Fixture', parent: null, props: {}, appData: {} });
    assert.equal(client.serverInfo.protocol, 'rope.v1');
    assert.ok(client.serverInfo.maxMessageSize >= 65536);
    assert.equal(typeof client.epoch, 'string');
  });

  it('echo returns any params unchanged', async () => {
    for (const v of [{ a: [1, 'x', null, { b: true }] }, [1, 2, 3], 'text', 42, -1.5, true, null, { ünï: 'cödé ✓' }]) {
      assert.deepEqual(await root.echo(v), v);
    }
    assert.equal(await root.call('echo'), null, 'absent params → null');
  });

  it('fail answers each kind with its code, and never leaks the internal text', async () => {
    const internal = await rejects(root.fail({ kind: 'internal' }), -32603, 'InternalError');
    assert.deepEqual(Object.keys(internal.data).sort(), ['errorId', 'name']);
    assert.ok(!JSON.stringify([internal.message, internal.data]).includes('fixture-secret'));
    await rejects(root.fail({ kind: 'state' }), -32003, 'InvalidState');
    await rejects(root.fail({ kind: 'params' }), -32602, 'InvalidParams');
    await rejects(root.fail({ kind: 'app' }), -32010, 'FixtureError');
    await rejects(root.fail({}), -32602, 'InvalidParams');
    await rejects(root.fail({ kind: 'other' }), -32602, 'InvalidParams');
  });

  it('sleep waits without blocking other calls, and checks its range', async () => {
    const t0 = Date.now();
    const slow = root.sleep({ ms: 150 });
    let slowDone = false;
    slow.then(() => { slowDone = true; });
    assert.deepEqual(await root.echo('fast'), 'fast');
    assert.equal(slowDone, false, 'a later call overtakes the sleep');
    assert.equal(await slow, null);
    assert.ok(Date.now() - t0 >= 140);
    await rejects(root.sleep({ ms: -1 }), -32602);
    await rejects(root.sleep({ ms: 10001 }), -32602);
    await rejects(root.sleep({ ms: 'x' }), -32602);
  });

  it('createCounter makes Counters under the root; bad params are -32602', async () => {
    const { id } = await root.createCounter();
    const c = client.object(id);
    assert.deepEqual(c.toJSON(), { id, type: 'Counter', parent: 'fixture', props: { value: 0 }, appData: {} });
    const { id: id2 } = await root.createCounter({ value: -7, appData: { tag: 't' } });
    assert.deepEqual(client.object(id2).toJSON(), { id: id2, type: 'Counter', parent: 'fixture', props: { value: -7 }, appData: { tag: 't' } });
    await rejects(root.createCounter({ value: 'x' }), -32602);
    await rejects(root.createCounter({ value: 1.5 }), -32602);
    await rejects(root.createCounter('x'), -32602);
    assert.deepEqual(root.children.map((o) => o.id).slice(-2), [id, id2]);
  });

  it('increment sets value and emits incremented, times × (update, event), in seq order', async () => {
    const { id } = await root.createCounter({ value: 10 });
    const c = client.object(id);
    const seq0 = client.seq;
    const seen = [];
    c.addEventListener('update', (e) => seen.push(['update', e.detail.props.value, client.seq]));
    c.addEventListener('incremented', (e) => seen.push(['incremented', e.detail, client.seq]));
    assert.deepEqual(await c.increment(), { value: 11 });
    assert.deepEqual(await c.increment({ by: -5, times: 3 }), { value: -4 });
    assert.deepEqual(seen, [
      ['update', 11, seq0 + 1], ['incremented', { value: 11, by: 1 }, seq0 + 2],
      ['update', 6, seq0 + 3], ['incremented', { value: 6, by: -5 }, seq0 + 4],
      ['update', 1, seq0 + 5], ['incremented', { value: 1, by: -5 }, seq0 + 6],
      ['update', -4, seq0 + 7], ['incremented', { value: -4, by: -5 }, seq0 + 8],
    ]);
    await rejects(c.increment({ times: 0 }), -32602);
    await rejects(c.increment({ times: 100001 }), -32602);
    await rejects(c.increment({ by: 'x' }), -32602);
  });

  it('createChild, Child.ping and close; calls on closed objects are -32001', async () => {
    const { id } = await root.createCounter();
    const c = client.object(id);
    await rejects(c.createChild({}), -32602);
    const { id: kid } = await c.createChild({ name: 'kid' });
    const k = client.object(kid);
    assert.deepEqual(k.toJSON(), { id: kid, type: 'Child', parent: id, props: { name: 'kid' }, appData: {} });
    assert.equal(k.parentObject, c);
    assert.equal(await k.ping(), 'pong');
    assert.equal(await k.close(), null);
    assert.equal(k.closed, true);
    assert.equal(client.object(kid), undefined);
    const nf = await rejects(k.ping(), -32001, 'ObjectNotFound');
    assert.equal(nf.data.object, kid);
    assert.equal(c.closed, false);
  });

  it('closing a Counter closes its children first (post-order cascade)', async () => {
    const log = recordEvents(client);
    const { id } = await root.createCounter();
    const c = client.object(id);
    const k1 = (await c.createChild({ name: 'a' })).id;
    const k2 = (await c.createChild({ name: 'b' })).id;
    const seq0 = client.seq;
    await c.close();
    assert.equal(client.seq, seq0 + 3, 'one rope.closed each');
    const closes = log.filter((e) => e.startsWith('closed '));
    assert.equal(closes.at(-1), `closed ${id}`);
    assert.deepEqual(closes.slice(0, 2).sort(), [`closed ${k1}`, `closed ${k2}`].sort());
    for (const x of [id, k1, k2]) assert.equal(client.object(x), undefined);
    await rejects(client.call(id, 'increment'), -32001);
    await rejects(client.call(k1, 'ping'), -32001);
  });

  it('the root cannot be closed: Fixture has no close method', async () => {
    const err = await rejects(root.call('close'), -32002, 'UnknownMethod');
    assert.deepEqual([err.data.type, err.data.method], ['Fixture', 'close']);
    assert.ok(client.object('fixture'));
  });

  it('setAppData replaces appData and always broadcasts an update', async () => {
    const { id } = await root.createCounter({ appData: { a: 1 } });
    const c = client.object(id);
    const updates = [];
    c.addEventListener('update', (e) => updates.push(e.detail));
    assert.equal(await c.setAppData({ b: [2] }), null);
    assert.deepEqual(c.appData, { b: [2] });
    assert.equal(await c.setAppData({ b: [2] }), null);
    assert.deepEqual(updates, [{ props: undefined, appData: { b: [2] } }, { props: undefined, appData: { b: [2] } }]);
    await rejects(client.setAppData('nope', {}), -32001, 'ObjectNotFound');
    await rejects(client.setAppData(id, 'x'), -32602, 'InvalidParams');
    assert.equal(await root.setAppData({ root: true }), null, 'the root has appData too');
    assert.deepEqual(root.appData, { root: true });
  });

  it('ping returns the seq the mirror has reached; unknown methods are -32601', async () => {
    const { seq } = await client.ping();
    assert.equal(seq, client.seq);
    await rejects(client.request('rope.nope'), -32601, 'MethodNotFound');
    await rejects(client.request('noSuchExtraMethod', {}), -32601, 'MethodNotFound');
  });

  it('a notification is executed and never answered', async () => {
    const before = new Set(client.objects.map((o) => o.id));
    client.notify('rope.call', { object: 'fixture', method: 'createCounter', params: { value: 99 } });
    await waitFor(() => client.objects.some((o) => !before.has(o.id) && o.props.value === 99), 2000, 'the notified call ran');
  });
});
