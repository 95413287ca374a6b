// Remote mediasoup: the packet-level APIs of DirectTransport (producer.send,
// the consumer's 'rtp', transport.sendRtcp and 'rtcp') and
// DataConsumer.send() over SCTP, against cmd/ropeserver (Go), its workers
// in child processes.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import * as mediasoup from '../src/mediasoup/index.js';
import { mediaCodecs, startMediaServer } from './mediasoup-helpers.js';
import { waitFor } from './helpers.js';

let server;
let ms;
let worker;
let router;
before(async () => {
  // Workers in processes: the calls cross the server and its worker.
  server = await startMediaServer(['-workers=process']);
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

const SSRC = 1111;
const vp8Producer = {
  kind: 'video',
  rtpParameters: {
    codecs: [{
      mimeType: 'video/VP8', payloadType: 101, clockRate: 90000,
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
    }],
    encodings: [{ ssrc: SSRC }],
    rtcp: { cname: 'node' },
  },
};

/** A VP8 RTP packet: 12-byte header, a key frame's descriptor, payload derived from seq. */
function rtpPacket(seq, size = 200) {
  const b = Buffer.alloc(12 + size);
  b[0] = 0x80;
  b[1] = 101;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(SSRC, 8);
  b[12] = 0x10;
  b[13] = 0x00;
  for (let i = 14; i < b.length; i++) b[i] = (seq * i) & 0xff;
  return b;
}

/** A PLI (RTCP PSFB, FMT 1) for a media SSRC. */
function pli(mediaSsrc) {
  const b = Buffer.alloc(12);
  b[0] = 0x81;
  b[1] = 206;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(1, 4);
  b.writeUInt32BE(mediaSsrc, 8);
  return b;
}

/** Calls send until cond holds (the first packets may precede the subscription). */
async function sendUntil(send, cond, what) {
  for (let i = 0; i < 250 && !cond(); i++) {
    send(i);
    await new Promise((r) => setTimeout(r, 20));
  }
  await waitFor(cond, 5000, what);
}

describe('DirectTransport packets over ROPE', () => {
  it('producer.send() reaches the consumer\'s "rtp" listeners, rewritten to its ssrc, payload intact and in order', async () => {
    const src = await router.createDirectTransport();
    const dst = await router.createDirectTransport();
    const producer = await src.produce(vp8Producer);
    const consumer = await dst.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const ssrc = consumer.rtpParameters.encodings[0].ssrc;
    const got = [];
    consumer.on('rtp', (packet) => got.push(packet));
    await sendUntil((i) => producer.send(rtpPacket(i)), () => got.length > 0, 'the first packet');
    got.length = 0;
    for (let seq = 1000; seq < 1020; seq++) producer.send(rtpPacket(seq));
    await waitFor(() => got.length >= 20, 5000, '20 packets');
    got.forEach((p, i) => {
      assert.ok(Buffer.isBuffer(p));
      assert.equal(p.readUInt32BE(8), ssrc);
      const sent = rtpPacket(1000 + i);
      assert.deepEqual(p.subarray(p.length - 150), sent.subarray(sent.length - 150), `payload of packet ${i}`);
    });
    assert.throws(() => producer.send('not a buffer'), TypeError);
    const errors = [];
    producer.observer.on('listenererror', (method, error) => errors.push([method, error]));
    producer.send(Buffer.from([1, 2, 3]));
    await waitFor(() => errors.length > 0, 5000, 'the failed send');
    assert.equal(errors[0][0], 'send');
    assert.ok(errors[0][1] instanceof TypeError);
  });

  it('transport.sendRtcp() hands a PLI to the consumer; the producer\'s transport emits "rtcp" with the keyframe request', async () => {
    const src = await router.createDirectTransport();
    const dst = await router.createDirectTransport();
    const producer = await src.produce(vp8Producer);
    const consumer = await dst.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const ssrc = consumer.rtpParameters.encodings[0].ssrc;
    const rtcp = [];
    src.on('rtcp', (packet) => rtcp.push(packet));
    const isPli = (p) => p[1] === 206 && (p[0] & 0x1f) === 1 && p.readUInt32BE(8) === SSRC;
    await sendUntil(() => dst.sendRtcp(pli(ssrc)), () => rtcp.some(isPli), 'a PLI on the producer\'s transport');
    const stats = await consumer.getStats();
    assert.ok(stats[0].pliCount >= 1, `pliCount ${stats[0].pliCount}`);
    src.removeAllListeners('rtcp');
    assert.throws(() => dst.sendRtcp(123), TypeError);
  });
});

describe('DataConsumer.send() over SCTP', () => {
  it('reaches the data producer at the other end of the association, binary-safe; bufferedamountlow fires', async () => {
    const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
    const a = await router.createPlainTransport({ listenInfo, enableSctp: true });
    const b = await router.createPlainTransport({ listenInfo, enableSctp: true });
    await a.connect({ ip: b.tuple.localAddress, port: b.tuple.localPort });
    await b.connect({ ip: a.tuple.localAddress, port: a.tuple.localPort });
    await waitFor(() => a.sctpState === 'connected' && b.sctpState === 'connected', 5000, 'SCTP connected');
    const direct = await router.createDirectTransport();
    const dp = await direct.produceData();
    const dc = await a.consumeData({ dataProducerId: dp.id });
    assert.equal(dc.type, 'sctp');
    const inbound = await b.produceData({ sctpStreamParameters: dc.sctpStreamParameters });
    const sink = await direct.consumeData({ dataProducerId: inbound.id });
    const got = [];
    sink.on('message', (message, ppid) => got.push([message, ppid]));

    await dc.send('hello from the server');
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await dc.send(all);
    await dc.send('');
    await waitFor(() => got.length >= 3, 5000, 'three messages');
    assert.deepEqual(got[0], [Buffer.from('hello from the server'), 51]);
    assert.deepEqual(got[1], [all, 53]);
    assert.deepEqual([got[2][0].length, got[2][1]], [0, 56]);

    assert.equal(typeof await dc.getBufferedAmount(), 'number');
    const low = [];
    dc.on('bufferedamountlow', (n) => low.push(n));
    await dc.setBufferedAmountLowThreshold(1 << 20);
    await waitFor(() => low.length >= 1, 5000, 'bufferedamountlow');
    assert.equal(typeof low[0], 'number');
    await assert.rejects(dc.send(Buffer.alloc(262145)), TypeError);
    await dp.pause();
    await assert.rejects(dc.send('paused'), mediasoup.types.InvalidStateError);
  });
});
