// Connection loss, resume (replay) and snapshot reconciliation against the Go ropeserver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ConnectionClosedError, RopeClient } from '../src/index.js';
import { connect, mirror, nextEvent, recordEvents, startServer, waitFor, withTimeout } from './helpers.js';

/**
 * A WebSocket class with a switch: while `gate.open` is false every new
 * connection goes to a closed port and fails, like a network partition.
 */
function gatedWebSocket() {
  const gate = { open: true, attempts: 0 };
  class GatedWebSocket extends WebSocket {
    constructor(url, protocols) {
      gate.attempts++;
      gate.lastUrl = url;
      super(gate.open ? url : 'ws://127.0.0.1:9/', protocols);
    }
  }
  return { gate, GatedWebSocket };
}

/** Counter values seen by a client's 'update' and 'incremented' events of one object. */
function watchCounter(client, id) {
  const seen = { updates: [], events: [] };
  client.addEventListener('objectUpdated', (e) => {
    if (e.detail.object.id === id && e.detail.props) seen.updates.push(e.detail.props.value);
  });
  client.addEventListener('objectEvent', (e) => {
    if (e.detail.object.id === id) seen.events.push(e.detail.data.value);
  });
  return seen;
}

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

describe('resume', () => {
  it('after a dropped connection replays every missed update exactly once', async () => {
    const { gate, GatedWebSocket } = gatedWebSocket();
    const a = await connect(server.url, { WebSocket: GatedWebSocket });
    const b = await connect(server.url, { shared: false });
    try {
      const { id } = await b.object('fixture').createCounter({});
      const cb = b.object(id);
      await waitFor(() => a.object(id), 2000, 'A sees the counter');
      const ca = a.object(id);
      await cb.increment();
      await b.ping();
      await waitFor(() => a.seq === b.seq, 2000, 'A as far as B');
      // From here on B (never disconnected) records the truth, A what it sees.
      const seen = watchCounter(a, id);
      const truth = watchCounter(b, id);
      const log = recordEvents(a);
      const connected = [];
      a.addEventListener('connected', (e) => connected.push(e.detail.resumed));

      // Partition A and drop its socket abruptly, with a call pending.
      gate.open = false;
      const pending = ca.call('increment', { by: 100 }).catch((e) => e);
      const pendingSleep = a.object('fixture').sleep({ ms: 1000 });
      const seqAtDrop = a.seq;
      a.websocket.terminate();
      await assert.rejects(pendingSleep, ConnectionClosedError);
      assert.equal(a.readyState, RopeClient.CONNECTING);
      await assert.rejects(a.ping(), ConnectionClosedError, 'calls fail while reconnecting');

      // While A is away B changes things: increments, a child, the child's close.
      let expected = (await cb.increment()).value;
      const r = await pending; // either executed (value + 100) before the drop, or not: unknown to A
      if (!(r instanceof Error)) assert.equal(typeof r.value, 'number');
      for (let i = 0; i < 30; i++) expected = (await cb.increment()).value;
      const { id: kid } = await cb.createChild({ name: 'k' });
      await b.call(kid, 'close');
      await waitFor(() => gate.attempts >= 3, 5000, 'A retries while partitioned');
      assert.equal(ca.props.value < expected, true, 'A missed updates');
      assert.equal(a.seq, seqAtDrop);

      // Heal the partition; B keeps incrementing while A resumes.
      gate.open = true;
      const busy = (async () => {
        for (let i = 0; i < 40; i++) expected = (await cb.increment()).value;
      })();
      await withTimeout(nextEvent(a, 'connected', 5000), 5000, 'A reconnects');
      assert.match(gate.lastUrl, /[?&]epoch=[0-9a-f]+&seq=\d+/);
      await busy;
      await a.ping();
      await b.ping();

      assert.deepEqual(connected, [true], 'resumed, not a new snapshot');
      assert.equal(a.object(id), ca, 'same handle after resume');
      assert.equal(ca.props.value, expected);
      // Every change once, in order: nothing lost, nothing applied twice.
      assert.ok(truth.updates.length >= 71, `${truth.updates.length} updates`); // B's 71, and A's pending one if it ran
      assert.deepEqual(seen.updates, truth.updates);
      assert.deepEqual(seen.events, truth.events, 'events are replayed too');
      assert.deepEqual(seen.events, seen.updates);
      assert.equal(new Set(seen.updates).size, seen.updates.length);
      assert.ok(log.includes(`created ${kid}`) && log.includes(`closed ${kid}`), 'the child came and went');
      assert.equal(log.filter((e) => e === `created ${kid}`).length, 1);
      assert.deepEqual(log.filter((e) => !/^(updated|event|created|closed) /.test(e)),
        ['websocketClose', 'disconnected', 'websocketOpen', 'open', 'connected']);
      assert.deepEqual(mirror(a), mirror(b));
      assert.equal(a.seq, b.seq);
      assert.equal(a.epoch, b.epoch);
    } finally {
      a.close();
      b.close();
    }
  });

  it('outside the replay window reconciles the mirror with the snapshot', async () => {
    const { gate, GatedWebSocket } = gatedWebSocket();
    const a = await connect(server.url, { WebSocket: GatedWebSocket });
    const b = await connect(server.url, { shared: false });
    try {
      const root = b.object('fixture');
      const keep = (await root.createCounter({ value: 1, appData: { v: 1 } })).id;
      const gone = (await root.createCounter({})).id;
      const goneKid = (await b.call(gone, 'createChild', { name: 'x' })).id;
      await a.ping();
      assert.ok(a.object(goneKid));
      const hKeep = a.object(keep);
      const hGone = a.object(gone);
      const closes = [];
      hGone.addEventListener('close', () => closes.push(gone));
      a.object(goneKid).addEventListener('close', () => closes.push(goneKid));
      const updates = [];
      hKeep.addEventListener('update', (e) => updates.push(e.detail));
      const epoch = a.epoch;
      const connected = [];
      a.addEventListener('connected', (e) => connected.push(e.detail.resumed));

      gate.open = false;
      a.websocket.terminate();
      await nextEvent(a, 'disconnected');
      // More than the replay window (16384) of notifications while A is away.
      const window = b.serverInfo.replayWindow;
      const times = Math.ceil(window / 2) + 10;
      for (let done = 0; done < times; done += 1000) { // the fixture takes times ≤ 1000
        const n = Math.min(1000, times - done);
        assert.deepEqual(await b.call(keep, 'increment', { by: 1, times: n }), { value: 1 + done + n });
      }
      await b.setAppData(keep, { v: 2 });
      await b.call(gone, 'close');
      const fresh = (await root.createCounter({ value: 42 })).id;

      gate.open = true;
      await nextEvent(a, 'connected', 10000);
      assert.deepEqual(connected, [false], 'a full snapshot');
      assert.equal(a.epoch, epoch, 'same epoch');
      await a.ping();
      await b.ping();
      assert.deepEqual(closes, [goneKid, gone], 'closed children first');
      assert.equal(hGone.closed, true);
      assert.equal(a.object(keep), hKeep, 'kept objects keep their handle');
      assert.deepEqual(hKeep.props, { value: 1 + times });
      assert.deepEqual(hKeep.appData, { v: 2 });
      // One reconciled update (props and appData), not the 2 × times deltas.
      assert.deepEqual(updates, [{ props: { value: 1 + times }, appData: { v: 2 } }]);
      assert.deepEqual(a.object(fresh)?.props, { value: 42 });
      assert.deepEqual(mirror(a), mirror(b));
      assert.equal(a.seq, b.seq);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('server restart', () => {
  it('a new epoch: the mirror is rebuilt from the new snapshot, old objects close', async () => {
    const s2 = await startServer();
    const { gate, GatedWebSocket } = gatedWebSocket();
    const a = await connect(s2.url, { WebSocket: GatedWebSocket });
    let s3;
    let b;
    try {
      const log = recordEvents(a);
      const c1 = (await a.object('fixture').createCounter({ value: 3 })).id;
      const k1 = (await a.call(c1, 'createChild', { name: 'k' })).id;
      const oldEpoch = a.epoch;
      const rootHandle = a.object('fixture');

      gate.open = false;
      const lost = nextEvent(a, 'disconnected');
      await s2.stop(); // closes with 1001 going away
      await lost;
      s3 = await startServer(['-port', String(s2.port)]);
      b = await connect(s3.url, { shared: false });
      const c7 = (await b.object('fixture').createCounter({ value: 7 })).id;
      gate.open = true;
      const ev = await nextEvent(a, 'connected', 10000);
      assert.equal(ev.detail.resumed, false);
      assert.notEqual(a.epoch, oldEpoch);
      assert.equal(a.epoch, b.epoch);
      assert.equal(a.object('fixture'), rootHandle, 'the root is the same object');
      assert.deepEqual(log.slice(-6), [
        'websocketOpen', 'open',
        `closed ${k1}`, `closed ${c1}`, `created ${c7}`,
        'connected',
      ]);
      assert.deepEqual(mirror(a), mirror(b));
      assert.equal(a.seq, b.seq);
    } finally {
      a.close();
      b?.close();
      await s3?.stop();
      await s2.stop();
    }
  });
});
