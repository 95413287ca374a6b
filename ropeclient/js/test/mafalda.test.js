// Remote Mafalda (./mafalda) against cmd/ropeserver -media-mode=mafalda with
// worker processes: MafaldaRouters as mediasoup Routers (transports,
// producers, consumers, observers, pipeToRouter, close cascades), the
// Mafalda's own calls (dump, getResourceUsages, closeAllMafaldaRouters),
// the events newrouter and workerdied, the no_worker reason, other
// clients' MafaldaRouters, and the mediasoup API of the same connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import * as mafalda from '../src/mafalda/index.js';
import * as mediasoup from '../src/mediasoup/index.js';
import { startServer } from './helpers.js';
import { audioProducerOptions, consumerDeviceCapabilities, eventually, mediaCodecs, record } from './mediasoup-helpers.js';

const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
const routerOptions = { mediaCodecs };

let server;
let m;
before(async () => {
  server = await startServer(['-media-mode=mafalda', '-rtc-ip=127.0.0.1']);
  m = await mafalda.connect(server.url, { WebSocket });
});
after(async () => {
  m?.close();
  await server?.stop();
});

/** A second connection to the server, closed after the test. */
async function other(t) {
  const o = await mafalda.connect(server.url, { WebSocket });
  t.after(() => o.close());
  return o;
}

describe('Mafalda', () => {
  it('connect() refuses a server without a Mafalda', async () => {
    const plain = await startServer(['-workers=in-process']);
    try {
      await assert.rejects(mafalda.connect(plain.url, { WebSocket }), { name: 'UnsupportedError' });
    } finally {
      await plain.stop();
    }
  });

  it('createMafaldaRouter(): a MafaldaRouter that is a mediasoup Router, with options, appData and rtpCapabilities', async () => {
    const created = record(m.observer, ['newmafaldarouter']);
    const caps = m.getSupportedRtpCapabilities();
    assert.ok(caps.codecs.length > 0);
    const appData = { room: 'a' };
    const r = await m.createMafaldaRouter({ routerOptions, appData });
    try {
      assert.ok(r instanceof mafalda.MafaldaRouter);
      assert.ok(r instanceof mediasoup.types.Router);
      assert.deepEqual(created.map((e) => e[1]), [r]);
      assert.equal(r.appData, appData, 'kept by reference');
      assert.equal(r.options.id, r.id);
      assert.equal(r.options.watermarkWorker, 60);
      assert.ok(r.options.maxWorkers >= 1, 'one per CPU by default');
      assert.deepEqual(r.rtpCapabilities.codecs.map((c) => c.mimeType), ['audio/opus', 'video/VP8', 'video/rtx', 'video/H264', 'video/rtx']);
      assert.equal(m.getMafaldaRouter(r.id), r);
      assert.ok(m.mafaldaRouters.includes(r));
      await eventually(() => m.ropeClient.object(r.id).appData.room === 'a', 5000, 'appData stored on the server');
    } finally {
      r.close();
    }
    assert.equal(m.getMafaldaRouter(r.id), undefined);
  });

  it('createMafaldaRouter() with wrong options rejects with TypeError; an unknown codec with UnsupportedError, as mediasoup', async () => {
    await assert.rejects(m.createMafaldaRouter({ maxWorkers: -1 }), TypeError);
    await assert.rejects(m.createMafaldaRouter({ routerOptions: { mediaCodecs: 'x' } }), TypeError);
    await assert.rejects(m.createMafaldaRouter({ appData: 'x' }), TypeError);
    await assert.rejects(m.createMafaldaRouter({ webRtcServerOptions: {} }), TypeError);
    await assert.rejects(m.createMafaldaRouter({ routerOptions: { mediaCodecs: [{ kind: 'audio', mimeType: 'audio/chicken', clockRate: 1 }] } }),
      { name: 'UnsupportedError' });
  });

  it('places transports on inner routers (newrouter), produces and consumes, and reports in dump() and getResourceUsages()', async () => {
    const r = await m.createMafaldaRouter({ routerOptions });
    try {
      const newRouters = record(r, ['newrouter']);
      const observed = record(r.observer, ['newtransport', 'newrouter']);
      const send = await r.createWebRtcTransport({ listenInfos: [listenInfo], enableSctp: true });
      const recv = await r.createPlainTransport({ listenInfo, comedia: true });
      assert.ok(send instanceof mediasoup.types.WebRtcTransport);
      assert.deepEqual(observed.filter((e) => e[0] === 'newtransport').map((e) => e[1]), [send, recv]);
      await eventually(() => newRouters.length >= 1, 5000, 'newrouter');
      const info = newRouters[0][1];
      assert.equal(typeof info.routerId, 'string');
      assert.equal(typeof info.worker.workerId, 'string');
      assert.ok(info.worker.pid > 0);
      const producer = await send.produce(audioProducerOptions);
      assert.equal(r.canConsume({ producerId: producer.id, rtpCapabilities: consumerDeviceCapabilities }), true);
      const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: consumerDeviceCapabilities });
      assert.equal(consumer.producerId, producer.id);
      assert.equal(consumer.kind, 'audio');
      const dataProducer = await send.produceData({ sctpStreamParameters: { streamId: 1, ordered: true }, label: 'chat' });
      const direct = await r.createDirectTransport();
      const dataConsumer = await direct.consumeData({ dataProducerId: dataProducer.id });
      assert.equal(dataConsumer.label, 'chat');
      const speaker = await r.createActiveSpeakerObserver();
      await speaker.addProducer({ producerId: producer.id });

      const dump = await m.dump();
      const mine = dump.mafaldaRouters.find((d) => d.id === r.id);
      assert.ok(mine, 'the MafaldaRouter is in the dump');
      assert.ok(mine.routerIds.includes(info.routerId));
      assert.deepEqual(mine.transports.map((t) => t.id).sort(), [send.id, recv.id, direct.id].sort());
      assert.deepEqual(mine.rtpObservers.map((o) => o.id), [speaker.id]);
      assert.ok(dump.workers.some((w) => w.id === info.worker.workerId && w.pid === info.worker.pid));
      const routerDump = await r.dump();
      assert.equal(routerDump.id, r.id);
      const usages = await m.getResourceUsages();
      const u = usages.find((x) => x.workerId === info.worker.workerId);
      assert.ok(u && u.pid === info.worker.pid && typeof u.usage.ru_maxrss === 'number');
    } finally {
      r.close();
    }
  });

  it('close() closes its transports with routerclose and their producers with transportclose, here at once and on the server', async () => {
    const r = await m.createMafaldaRouter({ routerOptions });
    const t = await r.createWebRtcTransport({ listenInfos: [listenInfo] });
    const p = await t.produce(audioProducerOptions);
    const log = [];
    t.on('routerclose', () => log.push('transport routerclose'));
    p.on('transportclose', () => log.push('producer transportclose'));
    r.observer.on('close', () => log.push('router close'));
    r.close();
    assert.deepEqual(log, ['producer transportclose', 'transport routerclose', 'router close']);
    assert.deepEqual([r.closed, t.closed, p.closed], [true, true, true]);
    await eventually(() => !m.ropeClient.object(r.id) && !m.ropeClient.object(t.id), 5000, 'closed on the server');
    await assert.rejects(r.createPlainTransport({ listenInfo }), { name: 'InvalidStateError' });
  });

  it('pipeToRouter() between MafaldaRouters: the pipe producer is consumable in the destination; its close reaches the pipe', async () => {
    const a = await m.createMafaldaRouter({ routerOptions });
    const b = await m.createMafaldaRouter({ routerOptions });
    try {
      const ta = await a.createPlainTransport({ listenInfo, comedia: true });
      const p = await ta.produce(audioProducerOptions);
      const { pipeConsumer, pipeProducer } = await a.pipeToRouter({ producerId: p.id, router: b });
      assert.ok(pipeConsumer instanceof mediasoup.types.Consumer);
      assert.ok(pipeProducer instanceof mediasoup.types.Producer);
      assert.equal(pipeProducer.id, p.id, 'the pipe producer keeps the media id');
      const tb = await b.createPlainTransport({ listenInfo, comedia: true });
      const c = await tb.consume({ producerId: p.id, rtpCapabilities: consumerDeviceCapabilities });
      const closed = new Promise((resolve) => c.on('producerclose', resolve));
      const pipeClosed = new Promise((resolve) => pipeConsumer.observer.on('close', resolve));
      p.close();
      await Promise.all([closed, pipeClosed]);
      await eventually(() => pipeProducer.closed, 5000, "the pipe producer closed");
    } finally {
      a.close();
      b.close();
    }
  });

  it('another client\'s MafaldaRouter appears in observer and getMafaldaRouter(); its close closes it here; closeAllMafaldaRouters() closes every one', async (t) => {
    const o = await other(t);
    const seen = record(m.observer, ['newmafaldarouter']);
    const theirs = await o.createMafaldaRouter({ routerOptions, appData: { by: 'other' } });
    await eventually(() => seen.length === 1, 5000, 'newmafaldarouter');
    const mirror = seen[0][1];
    assert.equal(mirror.id, theirs.id);
    assert.equal(m.getMafaldaRouter(theirs.id), mirror);
    await eventually(() => mirror.appData.by === 'other', 5000, 'their appData');
    const closed = new Promise((resolve) => mirror.observer.on('close', resolve));
    theirs.close();
    await closed;

    const mine = await m.createMafaldaRouter({ routerOptions });
    const t1 = await mine.createPlainTransport({ listenInfo });
    const theirs2 = await o.createMafaldaRouter({ routerOptions });
    const log = [];
    t1.on('routerclose', () => log.push('transport routerclose'));
    mine.observer.on('close', () => log.push('mine close'));
    theirs2.observer.on('close', () => log.push('theirs close'));
    await o.closeAllMafaldaRouters();
    await eventually(() => log.length === 3, 5000, 'every MafaldaRouter closed');
    assert.deepEqual(log.filter((e) => e !== 'theirs close'), ['transport routerclose', 'mine close']);
    assert.deepEqual(m.mafaldaRouters, []);
  });

  it('a MafaldaRouter that may create no worker and finds none rejects with InvalidStateError, reason no_worker', async () => {
    // Worker settings no other MafaldaRouter uses: no worker to share.
    const r = await m.createMafaldaRouter({ routerOptions, maxWorkers: 0, workerSettings: { logTags: ['rtp'] } });
    try {
      await assert.rejects(r.createPlainTransport({ listenInfo }), (err) => {
        assert.equal(err.name, 'InvalidStateError');
        assert.equal(err.reason, mafalda.REASON_NO_WORKER);
        return true;
      });
    } finally {
      r.close();
    }
  });

  it("an inner worker killed on the server: 'workerdied' with its pid, its transports close with routerclose, the next one goes to a new worker", async () => {
    const r = await m.createMafaldaRouter({ routerOptions, workerSettings: { logTags: ['ice'] } });
    try {
      const routers = record(r, ['newrouter']);
      const t = await r.createPlainTransport({ listenInfo });
      await eventually(() => routers.length === 1, 5000, 'newrouter');
      const { worker } = routers[0][1];
      const transportClosed = new Promise((resolve) => t.on('routerclose', resolve));
      const died = new Promise((resolve) => r.on('workerdied', (w, err) => resolve([w, err])));
      process.kill(worker.pid, 'SIGKILL');
      const [w, err] = await died;
      await transportClosed;
      assert.deepEqual(w, worker);
      assert.ok(err instanceof Error);
      assert.equal(r.closed, false, 'the MafaldaRouter lives on');
      const t2 = await r.createPlainTransport({ listenInfo });
      await eventually(() => routers.length === 2, 5000, 'a new inner router');
      assert.notEqual(routers[1][1].worker.pid, worker.pid);
      assert.equal(t2.closed, false);
    } finally {
      r.close();
    }
  });

  it('mediasoup: the same connection\'s mediasoup API, whose worker views create routers spanning workers', async () => {
    const seen = record(m.mediasoup.observer, ['newworker']);
    const w = await m.mediasoup.createWorker();
    try {
      assert.deepEqual(seen.map((e) => e[1]), [w]);
      const r = await w.createRouter({ mediaCodecs });
      assert.ok(r instanceof mediasoup.types.Router);
      const t = await r.createWebRtcTransport({ listenInfos: [listenInfo] });
      assert.equal(t.iceCandidates[0].ip ?? t.iceCandidates[0].address, '127.0.0.1');
      assert.deepEqual(m.mediasoup.getSupportedRtpCapabilities(), m.getSupportedRtpCapabilities());
    } finally {
      w.close();
    }
  });

  it('worker.close() on a server that forbids it, then close() at once: the routers close on the server, then the connection ends', async (t) => {
    const o = await other(t);
    const w = await o.mediasoup.createWorker();
    const r = await w.createRouter({ mediaCodecs });
    await eventually(() => m.ropeClient.object(r.id) !== undefined, 5000, 'the router seen by another client');
    w.close(); // -32004 here: the worker's routers are closed instead
    o.close();
    await eventually(() => m.ropeClient.object(r.id) === undefined, 5000, 'the router closed on the server');
    await eventually(() => o.ropeClient === null, 5000, 'the connection closed, not reopened by the routers\' closes');
  });
});
