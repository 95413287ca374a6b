// Child process of mediasoup-module.test.js: an application written for
// mediasoup's Node API, unchanged but for its import, which imports the
// module at the top and uses it later. The server comes from
// ROPE_MEDIASOUP_URL. It must exit by itself once its worker is closed.
import * as mediasoup from '@ropehq/rope-client/mediasoup';

const events = [];
mediasoup.observer.on('newworker', (worker) => {
  events.push('newworker');
  worker.observer.on('close', () => events.push('worker close'));
});

setTimeout(async () => {
  const worker = await mediasoup.createWorker({ logLevel: 'warn', appData: { app: 'test' } });
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
  });
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true });
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1234 }] },
  });
  const caps = mediasoup.getSupportedRtpCapabilities();
  const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  consumer.on('transportclose', () => events.push('consumer transportclose'));
  router.on('workerclose', () => events.push('router workerclose'));
  worker.close();
  process.stdout.write(`${JSON.stringify({
    events,
    closed: [worker.closed, router.closed, transport.closed, producer.closed, consumer.closed],
    appData: worker.appData,
    kind: consumer.kind,
    supportedCodecs: caps.codecs.length > 0,
    isWorker: worker instanceof mediasoup.types.Worker,
  })}\n`);
}, 10);
