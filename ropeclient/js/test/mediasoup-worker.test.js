// Remote mediasoup: the module (lazy connection, connect()), Worker and
// Router, after mediasoup's test-mediasoup.ts, test-Worker.ts and
// test-Router.ts, against cmd/ropeserver.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as mediasoup from '../src/mediasoup/index.js';
import { mediaCodecs, record, startMediaServer } from './mediasoup-helpers.js';
import { waitFor } from './helpers.js';

const { InvalidStateError } = mediasoup.types;

let server;
let ms;
before(async () => {
  server = await startMediaServer();
  ms = await mediasoup.connect(server.url);
});
after(async () => {
  ms?.close();
  await server?.stop();
});

describe('mediasoup module', () => {
  it('runs an application written for mediasoup, importing it at the top and connecting lazily; it exits once its worker closes', async () => {
    const script = fileURLToPath(new URL('./mediasoup-app.js', import.meta.url));
    const flags = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket', '--no-warnings'];
    for (const env of [{}, { NODE_OPTIONS: flags.join(' ') }]) {
      const { stdout } = await promisify(execFile)(process.execPath, [script], {
        timeout: 20000, env: { ...process.env, ...env, ROPE_MEDIASOUP_URL: server.url },
      });
      const out = JSON.parse(stdout);
      assert.deepEqual(out.events, ['newworker', 'consumer transportclose', 'router workerclose', 'worker close']);
      assert.deepEqual(out.closed, [true, true, true, true, true]);
      assert.deepEqual(out.appData, { app: 'test' });
      assert.equal(out.kind, 'audio');
      assert.equal(out.supportedCodecs, true);
      assert.equal(out.isWorker, true);
      await waitFor(() => !ms.ropeClient.objects.some((o) => o.type === 'Worker'), 5000, "the app's worker closed on the server");
    }
  });

  it('exposes version, types with mediasoup\'s class names, observer and the supported capabilities', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(mediasoup.version, `3.14.16+rope.${pkg.version}`);
    for (const name of ['Worker', 'WebRtcServer', 'Router', 'WebRtcTransport', 'PlainTransport', 'PipeTransport',
      'DirectTransport', 'Producer', 'Consumer', 'DataProducer', 'DataConsumer', 'ActiveSpeakerObserver',
      'AudioLevelObserver', 'UnsupportedError', 'InvalidStateError']) {
      assert.equal(mediasoup.types[name].name, name);
    }
    const caps = mediasoup.getSupportedRtpCapabilities();
    assert.ok(Array.isArray(caps.codecs) && caps.codecs.length > 0);
    caps.codecs.length = 0; // a copy
    assert.ok(mediasoup.getSupportedRtpCapabilities().codecs.length > 0);
    assert.deepEqual(mediasoup.parseScalabilityMode('L2T3'), { spatialLayers: 2, temporalLayers: 3, ksvc: false });
    assert.deepEqual(mediasoup.parseScalabilityMode('S3T3_KEY'), { spatialLayers: 3, temporalLayers: 3, ksvc: true });
    assert.deepEqual(mediasoup.parseScalabilityMode('foo'), { spatialLayers: 1, temporalLayers: 1, ksvc: false });
  });

  it('connect() to a server that is not there rejects', async () => {
    await assert.rejects(mediasoup.connect('ws://127.0.0.1:9/', { timeout: 300 }), InvalidStateError);
  });
});

describe('Worker', () => {
  it('createWorker() takes libwebrtcFieldTrials and disableLiburing; the server tells its version', async () => {
    const worker = await mediasoup.createWorker({
      logLevel: 'debug', logTags: ['info', 'rtp'],
      libwebrtcFieldTrials: 'WebRTC-Bwe-AlrLimitedBackoff/Enabled/', disableLiburing: true,
    });
    try {
      assert.match(ms.serverVersion, /^3\.14\.16\+rope\.[0-9A-Za-z.-]+$/);
      await worker.updateSettings({ logLevel: 'warn', logTags: [] });
      await assert.rejects(worker.updateSettings({ logLevel: 'verbose' }), TypeError);
    } finally {
      worker.close();
    }
  });

  it('createWorker() succeeds: observer, pid, appData, dump, getResourceUsage, updateSettings', async () => {
    const newWorkers = record(mediasoup.observer, ['newworker']);
    const worker = await mediasoup.createWorker({ logLevel: 'warn', logTags: ['info'], appData: { bar: 456 } });
    try {
      assert.equal(newWorkers.length, 1);
      assert.equal(newWorkers[0][1], worker);
      assert.ok(worker instanceof mediasoup.types.Worker);
      assert.equal(typeof worker.pid, 'number');
      assert.equal(worker.closed, false);
      assert.equal(worker.died, false);
      assert.deepEqual(worker.appData, { bar: 456 });
      worker.appData = { baz: 'x' };
      assert.deepEqual(worker.appData, { baz: 'x' });
      const dump = await worker.dump();
      assert.equal(dump.pid, worker.pid);
      assert.deepEqual(dump.routerIds, []);
      assert.deepEqual(dump.webRtcServerIds, []);
      const usage = await worker.getResourceUsage();
      assert.equal(typeof usage.ru_utime, 'number');
      await worker.updateSettings({ logLevel: 'debug', logTags: ['ice'] });
      await waitFor(() => ms.ropeClient.object(worker.id)?.appData.baz === 'x', 5000, 'appData set on the server');
    } finally {
      worker.close();
    }
  });

  it('createWorker() with wrong settings rejects with TypeError', async () => {
    await assert.rejects(mediasoup.createWorker({ logLevel: 'chicken' }), TypeError);
    await assert.rejects(mediasoup.createWorker({ rtcMinPort: 1000, rtcMaxPort: 999 }), TypeError);
    await assert.rejects(mediasoup.createWorker({ appData: 'NOT-AN-OBJECT' }), TypeError);
  });

  it('worker.close() succeeds: its routers close with workerclose, then the worker; calls reject', async () => {
    const worker = await mediasoup.createWorker();
    const router = await worker.createRouter({ mediaCodecs });
    const log = [];
    router.on('workerclose', () => log.push('router workerclose'));
    router.observer.on('close', () => log.push('router close'));
    worker.observer.on('close', () => log.push('worker close'));
    const subprocessClosed = new Promise((r) => worker.on('subprocessclose', r));
    worker.close();
    worker.close(); // idempotent
    assert.deepEqual(log, ['router workerclose', 'router close', 'worker close']);
    assert.equal(worker.closed, true);
    assert.equal(router.closed, true);
    await subprocessClosed;
    assert.equal(worker.subprocessClosed, true);
    await assert.rejects(worker.dump(), InvalidStateError);
    await assert.rejects(worker.createRouter({ mediaCodecs }), InvalidStateError);
    await waitFor(() => !ms.ropeClient.object(worker.id), 5000, 'the worker closed on the server');
  });
});

describe('Router', () => {
  it('worker.createRouter() succeeds: observer, rtpCapabilities, appData, dump', async () => {
    const worker = await ms.createWorker();
    try {
      const newRouters = record(worker.observer, ['newrouter']);
      const router = await worker.createRouter({ mediaCodecs, appData: { foo: 123 } });
      assert.equal(newRouters.length, 1);
      assert.equal(newRouters[0][1], router);
      assert.equal(router.closed, false);
      assert.equal(typeof router.rtpCapabilities, 'object');
      assert.ok(router.rtpCapabilities.codecs.some((c) => c.mimeType === 'video/H264'));
      assert.ok(router.rtpCapabilities.codecs.some((c) => c.mimeType === 'video/rtx'), 'RTX added');
      assert.deepEqual(router.appData, { foo: 123 });
      assert.doesNotThrow(() => { router.appData = { foo: 222, bar: 'BBB' }; });
      assert.deepEqual((await worker.dump()).routerIds, [router.id]);
      const dump = await router.dump();
      assert.equal(dump.id, router.id);
      assert.deepEqual(dump.transportIds, []);
      assert.deepEqual(dump.rtpObserverIds, []);
      assert.ok(router.transportsForTesting instanceof Map);
    } finally {
      worker.close();
    }
  });

  it('worker.createRouter() with wrong arguments rejects with TypeError', async () => {
    const worker = await ms.createWorker();
    try {
      await assert.rejects(worker.createRouter({ mediaCodecs: {} }), TypeError);
      await assert.rejects(worker.createRouter({ appData: 'NOT-AN-OBJECT' }), TypeError);
      await assert.rejects(worker.createRouter({ mediaCodecs: [{ kind: 'chicken', mimeType: 'chicken/egg', clockRate: 1 }] }), Error);
    } finally {
      worker.close();
    }
  });

  it('router.close() succeeds: observer close, the worker forgets it; dump rejects', async () => {
    const worker = await ms.createWorker();
    try {
      const router = await worker.createRouter({ mediaCodecs });
      let closes = 0;
      router.observer.on('close', () => closes++);
      router.close();
      router.close();
      assert.equal(closes, 1);
      assert.equal(router.closed, true);
      await assert.rejects(router.dump(), Error);
      await waitFor(() => !ms.ropeClient.object(router.id), 5000, 'closed on the server');
      assert.deepEqual((await worker.dump()).routerIds, []);
    } finally {
      worker.close();
    }
  });

  it('a router closed by another client closes here too', async () => {
    const worker = await ms.createWorker();
    const other = await mediasoup.connect(server.url);
    try {
      const router = await worker.createRouter({ mediaCodecs });
      await waitFor(() => other.ropeClient.object(router.id), 5000, 'the other client sees it');
      const closed = new Promise((r) => router.observer.once('close', r));
      await other.ropeClient.call(router.id, 'close');
      await closed;
      assert.equal(router.closed, true);
    } finally {
      other.close();
      worker.close();
    }
  });
});
