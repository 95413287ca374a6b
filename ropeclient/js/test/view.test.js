// Views (spec §18) against a Go server with the fixture's views: a client
// whose grant sees one counter's subtree keeps a mirror of it alone,
// accepts the global seq with gaps, and resumes losing nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { connect, mirror, startViewServer, waitFor } from './helpers.js';

/** A WebSocket class whose sockets can be dropped and kept from reconnecting. */
function gatedWebSocket() {
  const gate = { open: true, sockets: [] };
  class GatedWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(gate.open ? url : 'ws://127.0.0.1:9/', protocols);
      gate.sockets.push(this);
    }
  }
  return { gate, GatedWebSocket };
}

let server;
before(async () => { server = await startViewServer(); });
after(async () => { await server?.stop(); });

describe('views', () => {
  it('a view mirrors its subtree only and accepts seq gaps', async () => {
    const op = await connect(server.url, { shared: false });
    try {
      const { id: a } = await op.object('fixture').createCounter({ value: 1 });
      const { id: b } = await op.object('fixture').createCounter({ value: 2 });
      const { id: a1 } = await op.object(a).createChild({ name: 'a1' });
      const v = await connect(server.url, { shared: false, token: `fixture-view:${a}` });
      try {
        assert.equal(v.hasView, true);
        assert.equal(op.hasView, false);
        assert.deepEqual(v.objects.map((o) => o.id).sort(), [a, a1].sort());
        assert.equal(v.object(a).parent, 'fixture', 'the parent is named though not in the view');
        const disconnects = [];
        v.addEventListener('disconnected', () => disconnects.push(true));
        await op.object(b).increment({ by: 5 });
        await op.object(a).increment({ by: 2 });
        await op.object(b).increment({});
        await op.object(a1).close();
        await v.ping();
        assert.equal(v.object(a).props.value, 3);
        assert.equal(v.object(a1), undefined);
        assert.equal(v.object(b), undefined);
        assert.deepEqual(disconnects, [], 'gaps are no protocol violation in a view');
        await assert.rejects(v.call(b, 'increment', {}), (e) => e.code === -32001);
        await assert.rejects(v.call(a, 'createChild', { name: 'x' }), (e) => e.code === -32004);
      } finally {
        v.close();
      }
    } finally {
      op.close();
    }
  });

  it('a view resumes after a drop with exactly its subtree', async () => {
    const op = await connect(server.url, { shared: false });
    const { gate, GatedWebSocket } = gatedWebSocket();
    try {
      const { id: a } = await op.object('fixture').createCounter({});
      const { id: b } = await op.object('fixture').createCounter({});
      const token = `fixture-view:${a}`;
      const v = await connect(server.url, { shared: false, token, WebSocket: GatedWebSocket });
      const live = await connect(server.url, { shared: false, token });
      try {
        const resumed = [];
        v.addEventListener('connected', (e) => resumed.push(e.detail.resumed));
        gate.open = false;
        gate.sockets.at(-1).terminate();
        for (let i = 0; i < 5; i++) {
          await op.object(a).increment({});
          await op.object(b).increment({});
          const { id } = await op.object(a).createChild({ name: `k${i}` });
          await op.object(b).createChild({ name: `o${i}` });
          if (i % 2 === 0) await op.object(id).close();
        }
        gate.open = true;
        await waitFor(() => resumed.length > 0, 10000, 'the view reconnects');
        await live.ping();
        await v.ping();
        assert.deepEqual(resumed, [true], 'resumed, not a snapshot');
        assert.deepEqual(mirror(v), mirror(live));
        assert.equal(v.object(a).props.value, 5);
      } finally {
        v.close();
        live.close();
      }
    } finally {
      op.close();
    }
  });
});
