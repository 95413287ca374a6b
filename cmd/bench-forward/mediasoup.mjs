// Builds a bench-forward topology (one JSON line on stdin, the Spec of
// topology.go) on a mediasoup worker and answers {pid, ports} as one JSON
// line; the worker forwards until stdin ends. Usage:
//   node mediasoup.mjs <dir where `npm install mediasoup` ran>
// MEDIASOUP_WORKER_BIN, read by mediasoup itself, may name another
// mediasoup-worker binary. Written to mirror build() in topology.go; not
// run on the machine this was written on (no mediasoup worker there).
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(path.join(path.resolve(process.argv[2] ?? '.'), 'package.json'));
const mediasoup = require('mediasoup');

const lines = readline.createInterface({ input: process.stdin });
const it = lines[Symbol.asyncIterator]();
const first = await it.next();
if (first.done) process.exit(1);
const spec = JSON.parse(first.value);

const worker = await mediasoup.createWorker({ logLevel: 'error' });
const router = await worker.createRouter({
  mediaCodecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  ],
});
const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
const videoFeedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

const producerIds = [];
const ports = [];
for (const pt of spec.producers) {
  const t = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
  await t.connect({ ip: '127.0.0.1', port: spec.senderPort });
  ports.push(t.tuple.localPort);
  for (const s of pt.streams) {
    const codec = s.kind === 'audio'
      ? { mimeType: 'audio/opus', payloadType: s.payloadType, clockRate: 48000, channels: 2 }
      : { mimeType: 'video/VP8', payloadType: s.payloadType, clockRate: 90000, rtcpFeedback: videoFeedback };
    const p = await t.produce({
      kind: s.kind,
      rtpParameters: { codecs: [codec], encodings: [{ ssrc: s.ssrc }], rtcp: { cname: `bench-${s.ssrc}` } },
    });
    producerIds.push(p.id);
  }
}
const rtpCapabilities = {
  codecs: router.rtpCapabilities.codecs.filter((c) => !c.mimeType.toLowerCase().endsWith('/rtx')),
  headerExtensions: [],
};
for (const ct of spec.consumers) {
  const t = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
  await t.connect({ ip: '127.0.0.1', port: ct.port });
  for (const i of ct.consume) {
    await t.consume({ producerId: producerIds[i], rtpCapabilities });
  }
}
process.stdout.write(JSON.stringify({ pid: worker.pid, ports }) + '\n');
for await (const _ of it); // until stdin ends
worker.close();
process.exit(0);
