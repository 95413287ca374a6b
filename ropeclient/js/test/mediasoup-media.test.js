// Remote mediasoup: the four transport kinds, Producer and Consumer, after
// mediasoup's test-WebRtcTransport.ts, test-PlainTransport.ts,
// test-PipeTransport.ts, test-DirectTransport.ts, test-Producer.ts and
// test-Consumer.ts, against cmd/ropeserver.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import * as mediasoup from '../src/mediasoup/index.js';
import {
  audioProducerOptions, consumerDeviceCapabilities, mediaCodecs, eventually, record, startMediaServer, videoProducerOptions,
} from './mediasoup-helpers.js';
import { waitFor } from './helpers.js';

const { UnsupportedError, InvalidStateError } = mediasoup.types;
const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };

let server;
let ms;
let worker;
let router;
before(async () => {
  server = await startMediaServer(['-allow-udp-reuse-port']); // the udpReusePort flag is tested
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

describe('transports', () => {
  it('router.createWebRtcTransport() succeeds: props, observer, dump, getStats, restartIce, connect', async () => {
    const newTransports = record(router.observer, ['newtransport']);
    const t = await router.createWebRtcTransport({
      listenInfos: [listenInfo], enableSctp: true, numSctpStreams: { OS: 2048, MIS: 2048 }, appData: { foo: 'bar' },
    });
    assert.deepEqual(newTransports.map((e) => e[1]), [t]);
    assert.ok(t instanceof mediasoup.types.WebRtcTransport);
    assert.deepEqual(t.appData, { foo: 'bar' });
    assert.equal(t.iceRole, 'controlled');
    assert.equal(t.iceParameters.iceLite, true);
    assert.equal(typeof t.iceParameters.usernameFragment, 'string');
    assert.equal(t.iceCandidates.length, 1);
    assert.equal(t.iceCandidates[0].ip ?? t.iceCandidates[0].address, '127.0.0.1');
    assert.equal(t.iceState, 'new');
    assert.equal(t.iceSelectedTuple, undefined);
    assert.equal(t.dtlsParameters.role, 'auto');
    assert.equal(t.dtlsState, 'new');
    assert.equal(t.dtlsRemoteCert, undefined);
    assert.deepEqual({ OS: t.sctpParameters.OS, MIS: t.sctpParameters.MIS }, { OS: 2048, MIS: 2048 });
    assert.equal(t.sctpState, 'new');
    const dump = await t.dump();
    assert.equal(dump.id, t.id);
    assert.deepEqual(dump.producerIds, []);
    const [stats] = await t.getStats();
    assert.equal(stats.type, 'webrtc-transport');
    assert.equal(stats.transportId, t.id);
    const ice = await t.restartIce();
    assert.notEqual(ice.usernameFragment, undefined);
    assert.deepEqual(t.iceParameters, ice, 'props follow the call');
    await t.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:'.repeat(31) + 'AA' }] } });
    await t.setMaxIncomingBitrate(100000);
    await t.setMaxOutgoingBitrate(100000);
    await t.setMinOutgoingBitrate(50000);
    await t.enableTraceEvent(['bwe']);
    assert.deepEqual((await router.dump()).transportIds, [t.id]);
    t.close();
    assert.deepEqual([t.iceState, t.iceSelectedTuple, t.dtlsState, t.sctpState], ['closed', undefined, 'closed', 'closed'],
      'a closed transport reports closed states, as mediasoup');
  });

  it('router.createWebRtcTransport() and the others with wrong arguments reject with TypeError', async () => {
    await assert.rejects(router.createWebRtcTransport({}), TypeError);
    await assert.rejects(router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }], appData: 'NOT-AN-OBJECT' }), TypeError);
    await assert.rejects(router.createWebRtcTransport({ listenInfos: [listenInfo], numSctpStreams: 'foo' }), TypeError);
    await assert.rejects(router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: 'chicken' }] }), TypeError);
    await assert.rejects(router.createPlainTransport({}), TypeError);
    await assert.rejects(router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '123' } }), TypeError);
    await assert.rejects(router.createPlainTransport({ listenInfo, listenIp: '127.0.0.1' }), TypeError);
    await assert.rejects(router.createPipeTransport({}), TypeError);
    // As mediasoup's worker: plain and pipe transports are UDP only.
    await assert.rejects(router.createPlainTransport({ listenInfo: { protocol: 'tcp', ip: '127.0.0.1' } }), TypeError);
    await assert.rejects(router.createPipeTransport({ listenInfo: { protocol: 'tcp', ip: '127.0.0.1' } }), TypeError);
    await assert.rejects(router.createDirectTransport({ maxMessageSize: 'foo' }), TypeError);
    await assert.rejects(router.createDirectTransport({ maxMessageSize: -2000 }), TypeError);
  });

  it('router.createPlainTransport() succeeds, also with the deprecated listenIp; connect() sets the remote tuple', async () => {
    const t = await router.createPlainTransport({ listenInfo, rtcpMux: false, appData: { foo: 'bar' } });
    assert.ok(t instanceof mediasoup.types.PlainTransport);
    assert.equal(t.tuple.localAddress ?? t.tuple.localIp, '127.0.0.1');
    assert.equal(typeof t.rtcpTuple.localPort, 'number');
    assert.equal(t.srtpParameters, undefined);
    assert.equal(t.sctpState, undefined);
    await t.connect({ ip: '127.0.0.2', port: 9998, rtcpPort: 9999 });
    assert.equal(t.tuple.remoteIp, '127.0.0.2');
    assert.equal(t.tuple.remotePort, 9998);
    const [stats] = await t.getStats();
    assert.equal(stats.type, 'plain-rtp-transport');
    const flagged = await router.createPlainTransport({
      listenInfo: { ...listenInfo, announcedIp: '198.51.100.7', flags: { udpReusePort: true }, sendBufferSize: 65536 },
    });
    assert.equal(flagged.tuple.localAddress, '198.51.100.7');
    const shared = await router.createPlainTransport({
      listenInfo: { ...listenInfo, port: flagged.tuple.localPort, flags: { udpReusePort: true } },
    });
    assert.equal(shared.tuple.localPort, flagged.tuple.localPort);
    const t2 = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true });
    const t3 = await router.createPlainTransport({ listenInfo });
    await assert.rejects(t3.connect({ ip: '::::1234', port: 1234 }), TypeError);
    assert.equal(t2.tuple.localAddress ?? t2.tuple.localIp, '127.0.0.1');
    assert.equal(t2.rtcpTuple, undefined, 'rtcpMux by default');
    const srtp = await router.createPlainTransport({ listenInfo, enableSrtp: true });
    assert.equal(typeof srtp.srtpParameters.keyBase64, 'string');
  });

  it('router.createPipeTransport() and createDirectTransport() succeed; DirectTransport has no bitrates', async () => {
    const pipe = await router.createPipeTransport({ listenInfo, enableRtx: true });
    assert.ok(pipe instanceof mediasoup.types.PipeTransport);
    assert.equal(typeof pipe.tuple.localPort, 'number');
    assert.equal((await pipe.getStats())[0].type, 'pipe-transport');
    const other = await router.createPipeTransport({ listenInfo });
    await pipe.connect({ ip: '127.0.0.1', port: other.tuple.localPort });
    await other.connect({ ip: '127.0.0.1', port: pipe.tuple.localPort });
    assert.equal(pipe.tuple.remotePort, other.tuple.localPort);
    const direct = await router.createDirectTransport({ maxMessageSize: 1024, appData: { foo: 'bar' } });
    assert.ok(direct instanceof mediasoup.types.DirectTransport);
    assert.deepEqual(direct.appData, { foo: 'bar' });
    assert.equal((await direct.getStats())[0].type, 'direct-transport');
    await direct.connect();
    await assert.rejects(direct.setMaxIncomingBitrate(100), UnsupportedError);
    await assert.rejects(direct.setMaxOutgoingBitrate(100), UnsupportedError);
    assert.throws(() => direct.sendRtcp('not a buffer'), TypeError);
  });

  it('transport.close() and router.close(): routerclose, observer close, calls reject', async () => {
    const t1 = await router.createWebRtcTransport({ listenInfos: [listenInfo] });
    const t2 = await router.createPlainTransport({ listenInfo });
    const closes = record(t1.observer, ['close']);
    t1.close();
    assert.equal(t1.closed, true);
    assert.equal(closes.length, 1);
    await assert.rejects(t1.dump(), InvalidStateError);
    await assert.rejects(t1.getStats(), Error);
    const log = [];
    t2.on('routerclose', () => log.push('routerclose'));
    t2.observer.on('close', () => log.push('close'));
    router.close();
    assert.deepEqual(log, ['routerclose', 'close']);
    assert.equal(t2.closed, true);
    await assert.rejects(t2.connect({ ip: '127.0.0.1', port: 1 }), Error);
  });
});

describe('Producer', () => {
  let t1;
  let t2;
  beforeEach(async () => {
    t1 = await router.createWebRtcTransport({ listenInfos: [listenInfo] });
    t2 = await router.createPlainTransport({ listenInfo });
  });

  it('transport.produce() succeeds: observer, props, appData, dump, getStats', async () => {
    const newProducers = record(t1.observer, ['newproducer']);
    const audio = await t1.produce(audioProducerOptions);
    assert.deepEqual(newProducers.map((e) => e[1]), [audio]);
    assert.ok(audio instanceof mediasoup.types.Producer);
    assert.equal(typeof audio.id, 'string');
    assert.equal(audio.closed, false);
    assert.equal(audio.kind, 'audio');
    assert.equal(audio.type, 'simple');
    assert.equal(audio.paused, false);
    assert.ok(Array.isArray(audio.score));
    assert.equal(audio.rtpParameters.mid, 'AUDIO');
    assert.equal(typeof audio.consumableRtpParameters, 'object');
    assert.deepEqual(audio.appData, { foo: 1, bar: '2' });
    const video = await t2.produce(videoProducerOptions);
    assert.equal(video.type, 'simulcast');
    const dump = await router.dump();
    assert.deepEqual(dump.mapProducerIdConsumerIds.map((e) => e.key).sort(), [audio.id, video.id].sort());
    const pdump = await audio.dump();
    assert.equal(pdump.id, audio.id);
    assert.equal(pdump.kind, 'audio');
    assert.ok(Array.isArray(await audio.getStats()));
  });

  it('transport.produce() with wrong arguments rejects with TypeError, with unsupported codecs with UnsupportedError', async () => {
    await assert.rejects(t1.produce({ kind: 'chicken', rtpParameters: {} }), TypeError);
    await assert.rejects(t1.produce({ kind: 'audio', rtpParameters: { codecs: [], encodings: [{ ssrc: 1 }] }, appData: 'NOT-AN-OBJECT' }), TypeError);
    await assert.rejects(t1.produce({ kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 'x', clockRate: 48000 }] } }), TypeError);
    await assert.rejects(t1.produce({
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/ISAC', payloadType: 108, clockRate: 32000 }], encodings: [{ ssrc: 1111 }] },
    }), UnsupportedError);
    const audio = await t1.produce(audioProducerOptions);
    await assert.rejects(t1.produce({ ...audioProducerOptions, id: audio.id }), TypeError, 'duplicate id');
    await assert.rejects(t1.produce({ ...audioProducerOptions, rtpParameters: { ...audioProducerOptions.rtpParameters, mid: 'other' } }), Error, 'same SSRC');
    await assert.rejects(audio.enableTraceEvent(123), TypeError);
    await assert.rejects(audio.enableTraceEvent('rtp'), TypeError);
    await assert.rejects(audio.enableTraceEvent(['fir', 123.123]), TypeError);
    await audio.enableTraceEvent(['rtp', 'pli']);
  });

  it('producer.pause() and resume() emit observer pause and resume; appData is settable', async () => {
    const audio = await t1.produce(audioProducerOptions);
    const log = record(audio.observer, ['pause', 'resume']);
    await audio.pause();
    assert.equal(audio.paused, true);
    assert.equal((await audio.dump()).paused, true);
    await audio.resume();
    assert.equal(audio.paused, false);
    assert.deepEqual(log.map((e) => e[0]), ['pause', 'resume']);
    audio.appData = { baz: 'LOL' };
    assert.equal(audio.appData.baz, 'LOL');
    assert.throws(() => audio.send('not a buffer'), TypeError);
  });

  it('producer.close() and transport.close(): transportclose, observer close, calls reject', async () => {
    const audio = await t1.produce(audioProducerOptions);
    const video = await t1.produce(videoProducerOptions);
    let closes = 0;
    audio.observer.on('close', () => closes++);
    audio.close();
    assert.equal(closes, 1);
    assert.equal(audio.closed, true);
    await assert.rejects(audio.dump(), Error);
    await assert.rejects(audio.pause(), Error);
    await waitFor(() => !ms.ropeClient.object(audio.id), 5000, 'closed on the server');
    const log = [];
    video.on('transportclose', () => log.push('transportclose'));
    video.observer.on('close', () => log.push('close'));
    t1.close();
    assert.deepEqual(log, ['transportclose', 'close']);
    assert.equal(video.closed, true);
  });
});

describe('Consumer', () => {
  let t1;
  let t2;
  let audioProducer;
  let videoProducer;
  beforeEach(async () => {
    t1 = await router.createWebRtcTransport({ listenInfos: [listenInfo] });
    t2 = await router.createWebRtcTransport({ listenInfos: [listenInfo] });
    audioProducer = await t1.produce(audioProducerOptions);
    videoProducer = await t1.produce(videoProducerOptions);
  });

  it('transport.consume() succeeds: observer, props, canConsume, dump, getStats', async () => {
    const newConsumers = record(t2.observer, ['newconsumer']);
    assert.equal(router.canConsume({ producerId: audioProducer.id, rtpCapabilities: consumerDeviceCapabilities }), true);
    assert.equal(router.canConsume({ producerId: 'nope', rtpCapabilities: consumerDeviceCapabilities }), false);
    assert.equal(router.canConsume({ producerId: audioProducer.id, rtpCapabilities: { codecs: [] } }), false);
    const audio = await t2.consume({ producerId: audioProducer.id, rtpCapabilities: consumerDeviceCapabilities, appData: { baz: 'LOL' } });
    assert.deepEqual(newConsumers.map((e) => e[1]), [audio]);
    assert.ok(audio instanceof mediasoup.types.Consumer);
    assert.equal(audio.producerId, audioProducer.id);
    assert.equal(audio.kind, 'audio');
    assert.equal(audio.type, 'simple');
    assert.equal(audio.paused, false);
    assert.equal(audio.producerPaused, false);
    assert.equal(audio.priority, 1);
    assert.equal(typeof audio.score.score, 'number');
    assert.equal(audio.preferredLayers, undefined);
    assert.equal(audio.currentLayers, undefined);
    assert.deepEqual(audio.appData, { baz: 'LOL' });
    assert.equal(audio.rtpParameters.codecs[0].mimeType, 'audio/opus');
    const video = await t2.consume({ producerId: videoProducer.id, rtpCapabilities: consumerDeviceCapabilities, paused: true });
    assert.equal(video.type, 'simulcast');
    assert.equal(video.paused, true);
    assert.equal(typeof video.preferredLayers.spatialLayer, 'number');
    const dump = await router.dump();
    assert.deepEqual(dump.mapProducerIdConsumerIds.find((e) => e.key === audioProducer.id).values, [audio.id]);
    assert.equal((await audio.dump()).id, audio.id);
    const stats = await audio.getStats();
    assert.equal(stats[0].type, 'outbound-rtp');
  });

  it('transport.consume() with incompatible rtpCapabilities rejects with UnsupportedError, with wrong arguments with TypeError', async () => {
    await assert.rejects(t2.consume({
      producerId: audioProducer.id,
      rtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/ISAC', clockRate: 32000, preferredPayloadType: 100, channels: 1 }], headerExtensions: [] },
    }), UnsupportedError);
    await assert.rejects(t2.consume({ rtpCapabilities: consumerDeviceCapabilities }), TypeError);
    await assert.rejects(t2.consume({ producerId: audioProducer.id }), TypeError);
    await assert.rejects(t2.consume({ producerId: audioProducer.id, rtpCapabilities: consumerDeviceCapabilities, mid: 123 }), TypeError);
    const video = await t2.consume({ producerId: videoProducer.id, rtpCapabilities: consumerDeviceCapabilities });
    await assert.rejects(video.setPreferredLayers({}), TypeError);
    await assert.rejects(video.setPreferredLayers({ spatialLayer: 1, temporalLayer: 'foo' }), TypeError);
    await assert.rejects(video.setPriority(), TypeError);
    await assert.rejects(video.setPriority('foo'), TypeError);
    await assert.rejects(video.setPriority(0), TypeError);
    await assert.rejects(video.enableTraceEvent('rtp'), TypeError);
  });

  it('pause, resume, producer pause and resume: events, observer events as mediasoup, props', async () => {
    const audio = await t2.consume({ producerId: audioProducer.id, rtpCapabilities: consumerDeviceCapabilities });
    const events = record(audio, ['producerpause', 'producerresume']);
    const obs = record(audio.observer, ['pause', 'resume']);
    await audio.pause();
    assert.equal(audio.paused, true);
    await audioProducer.pause(); // already paused: no observer event
    await waitFor(() => audio.producerPaused, 5000, 'producerPaused');
    await audio.resume(); // the producer is paused: no observer event
    await audioProducer.resume();
    await waitFor(() => !audio.producerPaused, 5000, 'producer resumed');
    assert.deepEqual(events.map((e) => e[0]), ['producerpause', 'producerresume']);
    assert.deepEqual(obs.map((e) => e[0]), ['pause', 'resume']);
    const video = await t2.consume({ producerId: videoProducer.id, rtpCapabilities: consumerDeviceCapabilities });
    await video.setPreferredLayers({ spatialLayer: 2, temporalLayer: 3 });
    assert.equal(video.preferredLayers.spatialLayer, 2);
    await video.setPriority(2);
    assert.equal(video.priority, 2);
    await video.unsetPriority();
    assert.equal(video.priority, 1);
    await video.requestKeyFrame();
    await video.enableTraceEvent(['rtp', 'pli']);
  });

  it('producer.close() closes its consumers with producerclose; transport.close() with transportclose; calls reject', async () => {
    const audio = await t2.consume({ producerId: audioProducer.id, rtpCapabilities: consumerDeviceCapabilities });
    const video = await t2.consume({ producerId: videoProducer.id, rtpCapabilities: consumerDeviceCapabilities });
    const log = [];
    audio.on('producerclose', () => log.push('producerclose'));
    audio.observer.on('close', () => log.push('close'));
    audioProducer.close();
    await waitFor(() => audio.closed, 5000, 'the consumer closes');
    assert.deepEqual(log, ['producerclose', 'close']);
    await assert.rejects(audio.dump(), Error);
    await assert.rejects(audio.getStats(), Error);
    await assert.rejects(audio.setPriority(2), Error);
    const vlog = [];
    video.on('transportclose', () => vlog.push('transportclose'));
    video.observer.on('close', () => vlog.push('close'));
    t2.close();
    assert.deepEqual(vlog, ['transportclose', 'close']);
    await eventually(async () => (await router.dump()).mapProducerIdConsumerIds.find((e) => e.key === videoProducer.id)?.values.length === 0, 5000, 'the server forgot it');
  });
});
