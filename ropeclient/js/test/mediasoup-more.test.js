// Remote mediasoup: DataProducer, DataConsumer, WebRtcServer, the RTP
// observers and worker death, after mediasoup's test-DataProducer.ts,
// test-DataConsumer.ts, test-DirectTransport.ts, test-WebRtcServer.ts,
// test-ActiveSpeakerObserver.ts, test-AudioLevelObserver.ts and
// test-Worker.ts, against cmd/ropeserver.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import * as mediasoup from '../src/mediasoup/index.js';
import { audioProducerOptions, mediaCodecs, record, startMediaServer } from './mediasoup-helpers.js';
import { startServer, waitFor } from './helpers.js';

const { InvalidStateError } = mediasoup.types;
const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };

let server;
let ms;
let worker;
let router;
before(async () => {
  server = await startMediaServer();
  ms = await mediasoup.connect(server.url);
});
after(async () => {
  ms?.close();
  await server?.stop();
});
beforeEach(async () => {
  worker = await ms.createWorker();
  router = await worker.createRouter({ mediaCodecs });
});
afterEach(() => worker?.close());

/** A free TCP/UDP port number on loopback. */
async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

describe('DataProducer and DataConsumer', () => {
  it('produceData() and consumeData() on SCTP transports: observers, props, dump, getStats, pause, close cascade', async () => {
    const t1 = await router.createWebRtcTransport({ listenInfos: [listenInfo], enableSctp: true });
    const t2 = await router.createWebRtcTransport({ listenInfos: [listenInfo], enableSctp: true });
    const newDp = record(t1.observer, ['newdataproducer']);
    const dp = await t1.produceData({
      sctpStreamParameters: { streamId: 666 }, label: 'foo', protocol: 'bar', appData: { foo: 1, bar: '2' },
    });
    assert.deepEqual(newDp.map((e) => e[1]), [dp]);
    assert.ok(dp instanceof mediasoup.types.DataProducer);
    assert.equal(dp.type, 'sctp');
    assert.equal(dp.sctpStreamParameters.streamId, 666);
    assert.equal(dp.label, 'foo');
    assert.equal(dp.protocol, 'bar');
    assert.equal(dp.paused, false);
    assert.deepEqual(dp.appData, { foo: 1, bar: '2' });
    assert.equal((await dp.dump()).id, dp.id);
    assert.ok(Array.isArray(await dp.getStats()));
    await assert.rejects(t1.produceData({}), TypeError, 'SCTP needs sctpStreamParameters');
    await assert.rejects(t1.produceData({ sctpStreamParameters: { streamId: 666 } }), Error, 'stream id in use');
    await assert.rejects(t1.produceData({ sctpStreamParameters: { streamId: 1, ordered: true, maxPacketLifeTime: 4000 } }), TypeError);

    const newDc = record(t2.observer, ['newdataconsumer']);
    const dc = await t2.consumeData({ dataProducerId: dp.id, maxPacketLifeTime: 4000, appData: { baz: 'LOL' } });
    assert.deepEqual(newDc.map((e) => e[1]), [dc]);
    assert.ok(dc instanceof mediasoup.types.DataConsumer);
    assert.equal(dc.dataProducerId, dp.id);
    assert.equal(dc.type, 'sctp');
    assert.equal(dc.sctpStreamParameters.maxPacketLifeTime, 4000);
    assert.equal(dc.label, 'foo');
    assert.equal(dc.protocol, 'bar');
    assert.equal(dc.paused, false);
    assert.equal(dc.dataProducerPaused, false);
    assert.deepEqual(dc.subchannels, []);
    assert.equal((await dc.dump()).id, dc.id);
    assert.ok(Array.isArray(await dc.getStats()));
    assert.equal(await dc.getBufferedAmount(), 0);
    await dc.setBufferedAmountLowThreshold(10);
    await assert.rejects(t2.consumeData({}), TypeError);

    const events = record(dc, ['dataproducerpause', 'dataproducerresume']);
    const obs = record(dc.observer, ['pause', 'resume']);
    const dpObs = record(dp.observer, ['pause', 'resume']);
    await dp.pause();
    await waitFor(() => dc.dataProducerPaused, 5000, 'dataProducerPaused');
    await dc.pause(); // the data producer is paused: no observer event
    await dc.resume();
    await dp.resume();
    await waitFor(() => !dc.dataProducerPaused, 5000, 'resumed');
    assert.deepEqual(events.map((e) => e[0]), ['dataproducerpause', 'dataproducerresume']);
    assert.deepEqual(obs.map((e) => e[0]), ['pause', 'resume']);
    assert.deepEqual(dpObs.map((e) => e[0]), ['pause', 'resume']);

    const log = [];
    dc.on('dataproducerclose', () => log.push('dataproducerclose'));
    dc.observer.on('close', () => log.push('close'));
    dp.close();
    assert.equal(dp.closed, true);
    await waitFor(() => dc.closed, 5000, 'the data consumer closes');
    assert.deepEqual(log, ['dataproducerclose', 'close']);
    await assert.rejects(dc.dump(), Error);
    await assert.rejects(dp.getStats(), Error);
  });

  it('DirectTransport: messages from a DataProducer reach a DataConsumer, strings and binary, with ppid and subchannels', async () => {
    const t = await router.createDirectTransport();
    const dp = await t.produceData({ label: 'direct' });
    assert.equal(dp.type, 'direct');
    assert.equal(dp.sctpStreamParameters, undefined);
    const dc = await t.consumeData({ dataProducerId: dp.id, subchannels: [1, 2] });
    assert.equal(dc.type, 'direct');
    assert.deepEqual(dc.subchannels, [1, 2]);
    const got = [];
    dc.on('message', (message, ppid) => got.push([Buffer.isBuffer(message), message.toString(), ppid]));
    dp.send('hello');
    dp.send(Buffer.from('binary'));
    dp.send('');
    dp.send('to 2', undefined, [2]);
    dp.send('to 3', undefined, [3]);
    dp.send('needs 1', undefined, undefined, 1);
    await waitFor(() => got.length >= 5, 3000, 'messages');
    assert.deepEqual(got, [[true, 'hello', 51], [true, 'binary', 53], [true, ' ', 56], [true, 'to 2', 51], [true, 'needs 1', 51]]);
    assert.throws(() => dp.send(123), TypeError);
    await dc.setSubchannels([5]);
    assert.deepEqual(dc.subchannels, [5]);
    await dc.addSubchannel(6);
    await dc.removeSubchannel(5);
    assert.deepEqual(dc.subchannels, [6]);
    // DataConsumer.send() reaches the consumer past its subchannels.
    await dc.send('from the server');
    await waitFor(() => got.length >= 6, 3000, 'the server message');
    assert.deepEqual(got.at(-1), [true, 'from the server', 51]);
    const log = [];
    dc.on('transportclose', () => log.push('dc transportclose'));
    dp.on('transportclose', () => log.push('dp transportclose'));
    t.close();
    assert.deepEqual(log, ['dp transportclose', 'dc transportclose']);
  });
});

describe('WebRtcServer', () => {
  it('createWebRtcServer(): transports on it, handled and unhandled, dump; close() closes them with listenserverclose', async () => {
    const port = await freePort();
    const newServers = record(worker.observer, ['newwebrtcserver']);
    const s = await worker.createWebRtcServer({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port }, { protocol: 'tcp', ip: '127.0.0.1', port }],
      appData: { foo: 123 },
    });
    assert.deepEqual(newServers.map((e) => e[1]), [s]);
    assert.ok(s instanceof mediasoup.types.WebRtcServer);
    assert.deepEqual(s.appData, { foo: 123 });
    assert.deepEqual((await worker.dump()).webRtcServerIds, [s.id]);
    const obs = record(s.observer, ['webrtctransporthandled', 'webrtctransportunhandled']);
    const t1 = await router.createWebRtcTransport({ webRtcServer: s, enableTcp: false });
    const t2 = await router.createWebRtcTransport({ webRtcServer: s });
    assert.deepEqual(obs.map((e) => [e[0], e[1]]), [['webrtctransporthandled', t1], ['webrtctransporthandled', t2]]);
    assert.equal(t1.iceCandidates.length, 1);
    assert.equal(t1.iceCandidates[0].port, port);
    assert.equal(t2.iceCandidates.length, 2);
    const dump = await s.dump();
    assert.equal(dump.id, s.id);
    assert.deepEqual(dump.udpSockets, [{ ip: '127.0.0.1', port }]);
    assert.deepEqual(dump.webRtcTransportIds.sort(), [t1.id, t2.id].sort());
    assert.equal(s.webRtcTransportsForTesting.size, 2);
    t1.close();
    assert.deepEqual(obs.at(-1), ['webrtctransportunhandled', t1]);
    const log = [];
    t2.on('listenserverclose', () => log.push('listenserverclose'));
    t2.observer.on('close', () => log.push('transport close'));
    s.observer.on('webrtctransportunhandled', () => log.push('unhandled'));
    s.observer.on('close', () => log.push('server close'));
    s.close();
    assert.deepEqual(log, ['listenserverclose', 'transport close', 'unhandled', 'server close']);
    assert.equal(t2.closed, true);
    await waitFor(() => !ms.ropeClient.object(t2.id), 5000, 'closed on the server');
    assert.deepEqual((await worker.dump()).webRtcServerIds, []);
  });

  it('createWebRtcServer() with wrong arguments rejects with TypeError, on a closed worker with InvalidStateError', async () => {
    await assert.rejects(worker.createWebRtcServer({}), TypeError);
    await assert.rejects(worker.createWebRtcServer({ listenInfos: 'NOT-AN-ARRAY' }), TypeError);
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [] }), TypeError);
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [listenInfo], appData: 'NOT-AN-OBJECT' }), TypeError);
    const other = await ms.createWorker();
    other.close();
    await assert.rejects(other.createWebRtcServer({ listenInfos: [listenInfo] }), InvalidStateError);
  });

  it('worker.close() closes its WebRtcServers with workerclose, after the routers', async () => {
    const s = await worker.createWebRtcServer({ listenInfos: [{ ...listenInfo, port: await freePort() }] });
    const t = await router.createWebRtcTransport({ webRtcServer: s });
    const log = [];
    t.on('routerclose', () => log.push('transport routerclose'));
    s.on('workerclose', () => log.push('server workerclose'));
    s.observer.on('close', () => log.push('server close'));
    worker.close();
    assert.deepEqual(log.filter((e) => e !== 'unhandled'), ['transport routerclose', 'server workerclose', 'server close']);
  });
});

describe('RTP observers', () => {
  it('createActiveSpeakerObserver() and createAudioLevelObserver(): observers, pause, resume, add and remove producers, close', async () => {
    const newObservers = record(router.observer, ['newrtpobserver']);
    const aso = await router.createActiveSpeakerObserver({ appData: { foo: 'bar' } });
    const alo = await router.createAudioLevelObserver({ maxEntries: 2, threshold: -70, interval: 500 });
    assert.deepEqual(newObservers.map((e) => e[1]), [aso, alo]);
    assert.ok(aso instanceof mediasoup.types.ActiveSpeakerObserver);
    assert.ok(alo instanceof mediasoup.types.AudioLevelObserver);
    assert.equal(aso.paused, false);
    assert.deepEqual(aso.appData, { foo: 'bar' });
    assert.deepEqual((await router.dump()).rtpObserverIds.sort(), [aso.id, alo.id].sort());
    const t = await router.createPlainTransport({ listenInfo });
    const producer = await t.produce(audioProducerOptions);
    const obs = record(alo.observer, ['pause', 'resume', 'addproducer', 'removeproducer']);
    await alo.pause();
    assert.equal(alo.paused, true);
    await alo.resume();
    await alo.addProducer({ producerId: producer.id });
    await alo.removeProducer({ producerId: producer.id });
    assert.deepEqual(obs.map((e) => e[0]), ['pause', 'resume', 'addproducer', 'removeproducer']);
    assert.equal(obs[2][1], producer);
    await assert.rejects(alo.addProducer({ producerId: 'foo' }), Error);
    await aso.addProducer({ producerId: producer.id });
    const log = [];
    aso.on('routerclose', () => log.push('routerclose'));
    aso.observer.on('close', () => log.push('close'));
    alo.close();
    assert.equal(alo.closed, true);
    await assert.rejects(alo.pause(), InvalidStateError);
    router.close();
    assert.deepEqual(log, ['routerclose', 'close']);
  });

  it("activeSpeakerObserver elects sustained speech with mediasoup's identification: dominantspeaker on it and its observer", async () => {
    const t = await router.createPlainTransport({ listenInfo, comedia: true });
    const options = (ssrc) => ({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
        headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 }],
        encodings: [{ ssrc }],
      },
    });
    const quiet = await t.produce(options(5001));
    const loud = await t.produce(options(5002));
    const aso = await router.createActiveSpeakerObserver({ interval: 100 });
    const elected = [];
    const observed = [];
    aso.on('dominantspeaker', ({ producer }) => elected.push(producer));
    aso.observer.on('dominantspeaker', ({ producer }) => observed.push(producer));
    await aso.addProducer({ producerId: quiet.id });
    await aso.addProducer({ producerId: loud.id });
    const sock = dgram.createSocket('udp4');
    await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const seqs = new Map();
    // An opus packet whose ssrc-audio-level extension (id 1) says level (-dBov).
    const send = (ssrc, level) => {
      const seq = (seqs.get(ssrc) ?? 0) + 1;
      seqs.set(ssrc, seq);
      const b = Buffer.alloc(12 + 8 + 3);
      b[0] = 0x90; // version 2, extension
      b[1] = 100;
      b.writeUInt16BE(seq, 2);
      b.writeUInt32BE(seq * 960, 4);
      b.writeUInt32BE(ssrc, 8);
      b.writeUInt16BE(0xbede, 12);
      b.writeUInt16BE(1, 14);
      b[16] = 0x10; // id 1, one byte
      b[17] = 0x80 | level;
      sock.send(b, t.tuple.localPort, '127.0.0.1');
    };
    try {
      // Background noise (level 100) sets the noise floors; then loud
      // speaks (level 10, a pause every tenth packet), a packet each per
      // 20 ms, until it is elected.
      for (let i = 0; i < 5; i++) {
        send(5001, 100);
        send(5002, 100);
      }
      const deadline = Date.now() + 20000;
      for (let i = 0; !elected.includes(loud); i++) {
        assert.ok(Date.now() < deadline, 'the sustained speaker was not elected');
        send(5001, 100);
        send(5002, i % 10 === 9 ? 100 : 10);
        await new Promise((r) => setTimeout(r, 20)); // packet pacing
      }
      assert.ok(observed.includes(loud));
      assert.ok(!elected.includes(quiet) || elected.indexOf(quiet) < elected.indexOf(loud));
    } finally {
      sock.close();
    }
  });

  it('with wrong arguments they reject with TypeError', async () => {
    await assert.rejects(router.createActiveSpeakerObserver({ interval: false }), TypeError);
    await assert.rejects(router.createActiveSpeakerObserver({ appData: 'NOT-AN-OBJECT' }), TypeError);
    await assert.rejects(router.createAudioLevelObserver({ maxEntries: 0 }), TypeError);
    await assert.rejects(router.createAudioLevelObserver({ threshold: 'foo' }), TypeError);
    await assert.rejects(router.createAudioLevelObserver({ threshold: 10 }), TypeError);
    await assert.rejects(router.createAudioLevelObserver({ interval: false }), TypeError);
  });
});

describe('worker death', () => {
  it("a worker process killed on the server emits 'died' after its objects closed, children first", async () => {
    // Worker processes (the default): each worker is a child process of the server.
    const procServer = await startServer(['-allow-worker-close', '-rtc-ip=127.0.0.1']);
    const m = await mediasoup.connect(procServer.url);
    try {
      const w = await m.createWorker();
      const r = await w.createRouter({ mediaCodecs });
      const t = await r.createPlainTransport({ listenInfo });
      const p = await t.produce(audioProducerOptions);
      const log = [];
      p.on('transportclose', () => log.push('producer transportclose'));
      p.observer.on('close', () => log.push('producer close'));
      t.on('routerclose', () => log.push('transport routerclose'));
      r.on('workerclose', () => log.push('router workerclose'));
      r.observer.on('close', () => log.push('router close'));
      const died = new Promise((resolve) => w.on('died', (err) => { log.push('worker died'); resolve(err); }));
      w.observer.on('close', () => log.push('worker close'));
      assert.notEqual(w.pid, procServer.proc.pid, 'the worker is a process of its own');
      process.kill(w.pid, 'SIGKILL');
      const err = await died;
      assert.ok(err instanceof Error);
      assert.equal(w.died, true);
      assert.equal(w.closed, true);
      assert.equal(r.closed && t.closed && p.closed, true);
      assert.deepEqual(log, ['producer transportclose', 'producer close', 'transport routerclose', 'router workerclose',
        'router close', 'worker died', 'worker close']);
      await waitFor(() => w.subprocessClosed, 5000, 'subprocessclose');
      await assert.rejects(w.dump(), InvalidStateError);
    } finally {
      m.close();
      await procServer.stop();
    }
  });
});
