/**
 * Remote mediasoup: mediasoup v3's Node API over a ROPE connection to a
 * media server (spec/media-v1.md, served by cmd/ropeserver). Swap
 * `import * as mediasoup from 'mediasoup'` for
 * `import * as mediasoup from '@ropehq/rope-client/mediasoup'` and the
 * application runs against the remote SFU: createWorker() and the rest
 * connect on first use to ROPE_MEDIASOUP_URL (default
 * ws://127.0.0.1:8444/), or to the URL of the first connect(url).
 * Differences from mediasoup: README.md, "Remote mediasoup".
 *
 * @module @ropehq/rope-client/mediasoup
 */
import { ActiveSpeakerObserver, AudioLevelObserver, RtpObserver } from './rtpobserver.js';
import { DataConsumer, DataProducer } from './data.js';
import { EnhancedEventEmitter, enhancedOnce } from './emitter.js';
import { InvalidStateError, UnsupportedError, fromWire } from './errors.js';
import { canConsume as ortcCanConsume, parseScalabilityMode } from './ortc.js';
import { Consumer, Producer } from './producer.js';
import { Router } from './router.js';
import { MediaSession } from './session.js';
import { DirectTransport, PipeTransport, PlainTransport, Transport, WebRtcTransport } from './transport.js';
import { WebRtcServer, Worker } from './worker.js';
import { checkAppData, copyJson, defined } from './base.js';

/**
 * mediasoup's `version` here: the mediasoup version whose Node API this
 * module follows, with this package's version as semver build metadata
 * (as the Go module's media.Version), so a check of mediasoup's version
 * compares the version followed. The server's is `serverVersion`.
 */
export const version = '3.14.16+rope.0.1.0';

/** There is no worker binary here: workers run on the server. */
export const workerBin = undefined;

/** The classes and errors, as mediasoup's `types` export has them. */
export const types = Object.freeze({
  Worker, WebRtcServer, Router, Transport, WebRtcTransport, PlainTransport, PipeTransport, DirectTransport,
  Producer, Consumer, DataProducer, DataConsumer, RtpObserver, ActiveSpeakerObserver, AudioLevelObserver,
  UnsupportedError, InvalidStateError,
});

/** Wrapper class by ROPE type. */
const classes = {
  Worker, WebRtcServer, Router, WebRtcTransport, PlainTransport, PipeTransport, DirectTransport,
  Producer, Consumer, DataProducer, DataConsumer, ActiveSpeakerObserver, AudioLevelObserver,
};

/** The default server URL: ROPE_MEDIASOUP_URL, else cmd/ropeserver's default address. */
function envUrl() {
  return globalThis.process?.env?.ROPE_MEDIASOUP_URL || 'ws://127.0.0.1:8444/';
}

/**
 * @typedef {object} ConnectOptions
 * @property {any} [WebSocket] WebSocket class (default: the global one, else the "ws" package)
 * @property {string} [token] the server's token (default ROPE_MEDIASOUP_TOKEN)
 * @property {string} [rootId] the MediaService object's id (default "media")
 * @property {number} [timeout] ms a call waits for the connection (default 10000)
 * @property {import('../index.js').RopeClientOptions} [rope] further RopeClient options
 */

/**
 * The mediasoup API on one connection: what connect() returns, and what
 * the module's own functions use.
 */
export class RemoteMediasoup {
  #session;
  #idleClose;
  /** @type {Set<Worker>} workers made by createWorker, while open */
  #workers = new Set();
  #pending = 0;

  /**
   * @param {string} url @param {ConnectOptions} [options]
   * @param {EnhancedEventEmitter} [observer] @param {boolean} [idleClose] close the connection when the last worker closes
   * @param {{classes?: Record<string, any>, newEvents?: Record<string, string>}} [extend] @internal more ROPE types (the Mafalda module's)
   */
  constructor(url, options = {}, observer = new EnhancedEventEmitter(), idleClose = false, extend = {}) {
    const opts = { ...options, token: options.token ?? (globalThis.process?.env?.ROPE_MEDIASOUP_TOKEN || undefined) };
    this.#session = new MediaSession(url, opts, observer, { ...classes, ...extend.classes }, extend.newEvents);
    this.#idleClose = idleClose;
    this.#session.onWorkerClosed = (w) => {
      this.#workers.delete(w);
      this.#maybeIdle();
    };
    this.version = version;
    this.workerBin = workerBin;
    this.types = types;
    this.parseScalabilityMode = parseScalabilityMode;
    this.createWorker = this.createWorker.bind(this);
    this.getSupportedRtpCapabilities = this.getSupportedRtpCapabilities.bind(this);
  }

  /**
   * The server's version (its MediaService's `version`: mediasoup's
   * followed, with the server's), undefined before the connection is made
   * or from a server that does not say.
   */
  get serverVersion() { return this.#session.rootProps()?.version; }

  /** Emits 'newworker' (Worker) for each worker that appears on the server. */
  get observer() { return this.#session.observer; }
  /** The server URL. */
  get url() { return this.#session.url; }
  /** The ROPE client underneath (null until the first use). */
  get ropeClient() { return this.#session.client; }
  /** @internal The session (the Mafalda module shares it). */
  get _session() { return this.#session; }

  /** Resolves once connected. */
  async ready() { await this.#session.ready(); }

  /**
   * Creates a worker on the server.
   * @param {object} [settings] WorkerSettings (logLevel, logTags, rtcMinPort, rtcMaxPort, dtlsCertificateFile, dtlsPrivateKeyFile, libwebrtcFieldTrials, disableLiburing, appData)
   * @returns {Promise<Worker>}
   */
  async createWorker(settings = {}) {
    const {
      logLevel, logTags, rtcMinPort, rtcMaxPort, dtlsCertificateFile, dtlsPrivateKeyFile, libwebrtcFieldTrials,
      disableLiburing, appData,
    } = settings ?? {};
    checkAppData(appData);
    this.#pending++;
    this.#session.keepOpen();
    try {
      const client = await this.#session.ready();
      const params = defined({
        logLevel, logTags, rtcMinPort, rtcMaxPort, dtlsCertificateFile, dtlsPrivateKeyFile, libwebrtcFieldTrials,
        disableLiburing: disableLiburing || undefined, appData,
      });
      let res;
      try {
        res = await client.call(this.#session.rootId, 'createWorker', params);
      } catch (err) {
        throw fromWire(err, 'createWorker');
      }
      const worker = this.#session.objectById(res.id);
      if (!worker || worker.closed) throw new InvalidStateError(`createWorker: worker ${res.id} closed already`);
      worker._useAppData(appData);
      this.#workers.add(worker);
      return worker;
    } finally {
      this.#pending--;
      this.#maybeIdle();
    }
  }

  /**
   * The server's supported RTP capabilities (a copy). Synchronous as in
   * mediasoup, so it needs the connection made: after connect() or an
   * awaited createWorker(); before, it throws InvalidStateError.
   */
  getSupportedRtpCapabilities() {
    const props = this.#session.rootProps();
    if (!props) throw new InvalidStateError('not connected yet: await connect() or createWorker() first');
    return copyJson(props.supportedRtpCapabilities);
  }

  /** Accepted for compatibility: the workers' logs stay on the server. */
  setLogEventListeners() {}

  /**
   * Closes the connection once the calls in flight (closes just made
   * included) are answered; the server's objects stay. Later calls connect again.
   */
  close() { this.#session.closeWhenIdle(); }

  #maybeIdle() {
    if (!this.#idleClose || this.#pending > 0 || this.#workers.size > 0) return;
    this.#session.closeWhenIdle();
  }
}

/** The module-level observer ('newworker'). */
export const observer = new EnhancedEventEmitter();

/** @type {RemoteMediasoup|null} */
let defaultApi = null;

/** The API the module's functions use: the first connect()'s, else one for ROPE_MEDIASOUP_URL. */
function api() {
  defaultApi ??= new RemoteMediasoup(envUrl(), {}, observer, true);
  return defaultApi;
}

/**
 * Connects to a media server and returns its mediasoup API. The first
 * connect() also sets the server that the module's own createWorker() and
 * getSupportedRtpCapabilities() use.
 * @param {string} [url] default ROPE_MEDIASOUP_URL, else ws://127.0.0.1:8444/
 * @param {ConnectOptions} [options]
 * @returns {Promise<RemoteMediasoup>}
 */
export async function connect(url = envUrl(), options = {}) {
  const useModule = defaultApi === null;
  const m = new RemoteMediasoup(url, options, useModule ? observer : new EnhancedEventEmitter());
  if (useModule) defaultApi = m;
  try {
    await m.ready();
  } catch (err) {
    if (defaultApi === m) defaultApi = null;
    m.close();
    throw err;
  }
  return m;
}

/**
 * Creates a worker on the module's server (connecting on first use).
 * @param {object} [settings] WorkerSettings
 * @returns {Promise<Worker>}
 */
export function createWorker(settings) { return api().createWorker(settings); }

/** The supported RTP capabilities of the module's server (needs the connection made). */
export function getSupportedRtpCapabilities() { return api().getSupportedRtpCapabilities(); }

/** Accepted for compatibility: the workers' logs stay on the server. */
export function setLogEventListeners() {}

/** Closes the module's connection, if any (its objects on the server stay; later calls connect again). */
export function close() {
  defaultApi?.close();
}

export {
  Worker, WebRtcServer, Router, Transport, WebRtcTransport, PlainTransport, PipeTransport, DirectTransport,
  Producer, Consumer, DataProducer, DataConsumer, RtpObserver, ActiveSpeakerObserver, AudioLevelObserver,
  UnsupportedError, InvalidStateError, EnhancedEventEmitter, enhancedOnce, parseScalabilityMode,
};

/** @internal mediasoup's ORTC canConsume, exposed for tests. */
export const _ortcCanConsume = ortcCanConsume;

export default {
  version, workerBin, types, observer, connect, createWorker, getSupportedRtpCapabilities,
  setLogEventListeners, parseScalabilityMode, close,
};
