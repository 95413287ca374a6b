// Remote mediasoup against a cluster endpoint (spec/cluster-v1.md §10.5):
// the module works unchanged on an endpoint whose workers live on two
// servers, 127.0.0.2 and 127.0.0.3, found over NATS.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import * as mediasoup from '../src/mediasoup/index.js';
import { startServer, waitFor } from './helpers.js';
import { audioProducerOptions, consumerDeviceCapabilities, mediaCodecs } from './mediasoup-helpers.js';

const common = ['-cluster', '-cluster-heartbeat', '500ms', '-workers', 'in-process'];

/** A UDP socket on 127.0.0.1 that counts what it receives. */
async function udpEndpoint() {
  const sock = dgram.createSocket('udp4');
  const got = [];
  sock.on('message', (msg) => got.push(msg));
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return { sock, got, port: sock.address().port };
}

/** An RTP packet of the audio producer's stream (opus, SSRC 11111111). */
function rtpPacket(seq) {
  const b = Buffer.alloc(12 + 40);
  b[0] = 0x80; // version 2
  b[1] = 0; // payload type 0, as audioProducerOptions
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 960, 4);
  b.writeUInt32BE(11111111, 8);
  return b;
}

describe('remote mediasoup on a cluster endpoint', () => {
  let a; let b; let e; let m;
  before(async () => {
    a = await startServer(['-listen', '127.0.0.2', '-nats-listen', '127.0.0.2:0', ...common]);
    const natsLine = /embedded NATS listening.*url=(\S+)/;
    await waitFor(() => natsLine.test(a.stderr()), 10000, 'the embedded NATS URL');
    const nats = natsLine.exec(a.stderr())[1];
    b = await startServer(['-listen', '127.0.0.3', '-nats', nats, ...common]);
    e = await startServer(['-listen', '127.0.0.4', '-nats', nats, '-cluster-endpoint', ...common]);
    await waitFor(() => (e.stderr().match(/registry: server joined/g) ?? []).length >= 2, 10000, 'the endpoint seeing both servers');
    m = await mediasoup.connect(e.url);
  });
  after(async () => {
    m?.close();
    for (const s of [e, b, a]) await s?.stop();
  });

  it("places workers on both servers, pipes RTP across them, and a killed server's worker dies", async () => {
    const w1 = await m.createWorker();
    const w2 = await m.createWorker();
    const servers = [a, b];
    const serverOf = (w) => servers.find((s) => s.proc.pid === w.pid);
    assert.ok(serverOf(w1) && serverOf(w2), 'each worker runs in one of the servers');
    assert.notEqual(w1.pid, w2.pid, 'placement spreads the workers over both servers');
    const ipOf = (w) => (serverOf(w) === a ? '127.0.0.2' : '127.0.0.3');
    const r1 = await w1.createRouter({ mediaCodecs });
    const r2 = await w2.createRouter({ mediaCodecs });
    const src = await udpEndpoint();
    const dst = await udpEndpoint();
    try {
      const t1 = await r1.createPlainTransport({ listenInfo: { protocol: 'udp', ip: ipOf(w1) } });
      await t1.connect({ ip: '127.0.0.1', port: src.port });
      const producer = await t1.produce(audioProducerOptions);
      const { pipeProducer, pipeConsumer } = await r1.pipeToRouter({ producerId: producer.id, router: r2 });
      assert.equal(pipeProducer.id, producer.id);
      assert.equal(pipeConsumer.producerId, producer.id);
      const t2 = await r2.createPlainTransport({ listenInfo: { protocol: 'udp', ip: ipOf(w2) } });
      await t2.connect({ ip: '127.0.0.1', port: dst.port });
      const consumer = await t2.consume({ producerId: producer.id, rtpCapabilities: consumerDeviceCapabilities });
      for (let seq = 1; seq <= 10; seq++) src.sock.send(rtpPacket(seq), t1.tuple.localPort, t1.tuple.localAddress);
      await waitFor(() => dst.got.length >= 10, 10000, 'RTP from one server at a consumer on the other');

      const died = new Promise((resolve) => w2.on('died', resolve));
      const transportClosed = new Promise((resolve) => consumer.on('transportclose', resolve));
      serverOf(w2).proc.kill('SIGKILL');
      const err = await died;
      assert.ok(err instanceof Error);
      await transportClosed;
      assert.equal(w2.died, true);
      assert.equal(producer.closed, false, 'the producer on the surviving server stays');
      const w3 = await m.createWorker();
      assert.equal(serverOf(w3), serverOf(w1), 'the next worker lands on the survivor');
    } finally {
      src.sock.close();
      dst.sock.close();
    }
  });
});
