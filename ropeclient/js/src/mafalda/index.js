/**
 * Remote Mafalda: a Mafalda served over ROPE (spec/mafalda-v1.md, served by
 * `cmd/ropeserver -media-mode=mafalda`), for browsers and Node. A
 * MafaldaRouter is one room's router spanning as many workers as the room
 * needs; here it is a mediasoup `Router` of the `./mediasoup` module
 * (createWebRtcTransport, the other transports, RTP observers,
 * pipeToRouter, canConsume, with their events and close semantics), with
 * Mafalda's members added: `options`, the events `newrouter`, `workerdied`
 * and `error`. The Mafalda itself (RemoteMafalda) creates MafaldaRouters
 * and reports on the workers; `mediasoup` is the mediasoup API of the same
 * server on the same connection (its workers are views of the Mafalda).
 *
 * @module @ropehq/rope-client/mafalda
 */
import { EnhancedEventEmitter } from '../mediasoup/emitter.js';
import { InvalidStateError, UnsupportedError, fromWire } from '../mediasoup/errors.js';
import { RemoteMediasoup } from '../mediasoup/index.js';
import { Router } from '../mediasoup/router.js';
import { checkAppData, copyJson, defined } from '../mediasoup/base.js';

/** The id of the Mafalda root object (spec/mafalda-v1.md §2.1.1). */
export const ROOT_ID = 'mafalda';

/** The ROPE types a MafaldaRouter holds directly for pipeToRouter. */
const pipeTypes = ['Consumer', 'Producer', 'DataConsumer', 'DataProducer'];

/** data.detail.reason of an error whose MafaldaRouter found no worker (§5.1.2); errors carry it as `reason`. */
export const REASON_NO_WORKER = 'no_worker';

/**
 * A MafaldaRouter: a mediasoup Router whose objects a Mafalda places on
 * several workers. Events (and observer events) besides Router's:
 * - `newrouter` ({routerId, worker: {workerId, pid}}): it started using an
 *   inner router, new or shared, on that inner worker;
 * - `workerdied` ({workerId, pid}, Error): an inner worker it used died;
 *   its objects there closed as mediasoup closes them;
 * - `error` (Error, with `code` when the server gave a media code): a
 *   failure no call returns.
 */
export class MafaldaRouter extends Router {
  static eventRoutes = { ...Router.eventRoutes, newrouter: 'both', workerdied: 'both', error: 'both' };

  /** The options it was created with, defaults applied (id, maxWorkers, watermarkWorker filled in). */
  get options() { return copyJson(this._prop('options')); }

  /**
   * @internal Closes the children here: transports and RTP observers with
   * 'routerclose' (Router's cascade), then the pipe consumers and pipe
   * producers of pipeToRouter, which a MafaldaRouter holds directly (their
   * pipe transports are inner objects, spec/mafalda-v1.md §2.1.4), with
   * 'transportclose', as mediasoup's close of their pipe transport would.
   */
  _cascade() {
    super._cascade();
    for (const kid of this._session.childrenOf(this._ropeId)) {
      if (!kid.closed && pipeTypes.includes(kid._ropeType)) kid._closeLocal('transportclose');
    }
  }

  /** @internal */
  _eventArgs(name, data) {
    if (name === 'workerdied') {
      return [data?.worker ?? {}, new Error(typeof data?.error === 'string' ? data.error : 'worker died')];
    }
    if (name === 'error') {
      const err = new Error(typeof data?.message === 'string' ? data.message : 'MafaldaRouter error');
      if (data?.code) err.code = data.code;
      return [err];
    }
    return super._eventArgs(name, data);
  }
}

/** The default server URL: ROPE_MAFALDA_URL, else ROPE_MEDIASOUP_URL, else cmd/ropeserver's default address. */
function envUrl() {
  const env = globalThis.process?.env;
  return env?.ROPE_MAFALDA_URL || env?.ROPE_MEDIASOUP_URL || 'ws://127.0.0.1:8444/';
}

/**
 * A Mafalda on one connection: what connect() returns.
 */
export class RemoteMafalda {
  #media;
  #session;
  #observer = new EnhancedEventEmitter();

  /**
   * @param {string} url
   * @param {import('../mediasoup/index.js').ConnectOptions} [options] as the mediasoup module's connect()
   */
  constructor(url, options = {}) {
    const token = options.token ?? (globalThis.process?.env?.ROPE_MAFALDA_TOKEN || undefined);
    this.#media = new RemoteMediasoup(url, { ...options, token }, new EnhancedEventEmitter(), false, {
      classes: { MafaldaRouter },
      newEvents: { MafaldaRouter: 'newmafaldarouter' },
    });
    this.#session = this.#media._session;
    this.#session.roots.set(ROOT_ID, this.#observer);
  }

  /** Emits 'newmafaldarouter' (MafaldaRouter) for each MafaldaRouter that appears on the server, whoever created it. */
  get observer() { return this.#observer; }
  /** The server URL. */
  get url() { return this.#media.url; }
  /** The ROPE client underneath (null until the first use). */
  get ropeClient() { return this.#media.ropeClient; }
  /**
   * The mediasoup API of the same server, on this connection: its workers
   * are views of the Mafalda, whose routers span several workers
   * (spec/mafalda-v1.md §2.1.1).
   */
  get mediasoup() { return this.#media; }

  /** Resolves once connected and the Mafalda root is in the mirror. */
  async ready() {
    const client = await this.#session.ready();
    if (!client.object(ROOT_ID)) throw new UnsupportedError(`${this.url} serves no Mafalda (run cmd/ropeserver -media-mode=mafalda)`);
    return client;
  }

  /**
   * The RTP capabilities of the media API under the Mafalda (a copy);
   * synchronous, so it needs the connection made (after connect()).
   */
  getSupportedRtpCapabilities() {
    const props = this.#session.client?.object(ROOT_ID)?.props;
    if (!props) throw new InvalidStateError('not connected yet: await connect() first');
    return copyJson(props.supportedRtpCapabilities);
  }

  /**
   * Creates a MafaldaRouter (one room's router).
   * @param {object} [options] MafaldaRouterOptions: {id?, maxWorkers?, routerOptions?: {mediaCodecs}, workerSettings?, watermarkWorker?, webRtcServerOptions?: {listenInfos}}, and appData (kept here and stored on the server)
   * @returns {Promise<MafaldaRouter>}
   */
  async createMafaldaRouter(options = {}) {
    const { id, maxWorkers, routerOptions = {}, workerSettings = {}, watermarkWorker, webRtcServerOptions, appData } = options ?? {};
    checkAppData(appData);
    if (routerOptions.mediaCodecs !== undefined && !Array.isArray(routerOptions.mediaCodecs)) {
      throw new TypeError('routerOptions.mediaCodecs must be an Array');
    }
    if (maxWorkers !== undefined && (!Number.isInteger(maxWorkers) || maxWorkers < 0)) {
      throw new TypeError('if given, maxWorkers must be a non-negative integer');
    }
    if (webRtcServerOptions !== undefined && !Array.isArray(webRtcServerOptions?.listenInfos)) {
      throw new TypeError('if given, webRtcServerOptions must have listenInfos');
    }
    const params = defined({ id, maxWorkers, routerOptions, workerSettings, watermarkWorker, webRtcServerOptions });
    const res = await this.#rootCall('createMafaldaRouter', params);
    const router = this.#session.objectById(res.id);
    if (!router || router.closed) throw new InvalidStateError(`createMafaldaRouter: ${res.id} closed already`);
    if (appData !== undefined) router.appData = appData; // kept by reference, stored on the server in the background
    return router;
  }

  /** The same as createMafaldaRouter (the name of mafalda.Service in Go). */
  createRouter(options) { return this.createMafaldaRouter(options); }

  /** The open MafaldaRouter with that id, if any. @returns {MafaldaRouter|undefined} */
  getMafaldaRouter(id) {
    const r = this.#session.objectById(id);
    return r instanceof MafaldaRouter && !r.closed ? r : undefined;
  }

  /** The open MafaldaRouters of the server, in creation order. @returns {MafaldaRouter[]} */
  get mafaldaRouters() {
    return this.#session.childrenOf(ROOT_ID).filter((r) => r instanceof MafaldaRouter && !r.closed);
  }

  /** @returns {Promise<{workerId: string, pid: number, usage: object}[]>} one entry per inner worker */
  getResourceUsages() { return this.#rootCall('getResourceUsages'); }

  /** @returns {Promise<{workers: object[], mafaldaRouters: object[]}>} spec/mafalda-v1.md §4.3 */
  dump() { return this.#rootCall('dump'); }

  /** Closes every MafaldaRouter of the server (also those of the mediasoup views), whoever created it. */
  async closeAllMafaldaRouters() { await this.#rootCall('closeAllMafaldaRouters'); }

  /** Closes the connection once the calls in flight are answered; the server's objects stay. */
  close() { this.#media.close(); }

  async #rootCall(method, params) {
    try {
      return await this.#session.call(ROOT_ID, method, params);
    } catch (err) {
      throw fromWire(err, `Mafalda.${method}`);
    }
  }
}

/**
 * Connects to a Mafalda server and resolves once it is ready.
 * @param {string} [url] default ROPE_MAFALDA_URL, else ROPE_MEDIASOUP_URL, else ws://127.0.0.1:8444/
 * @param {import('../mediasoup/index.js').ConnectOptions} [options] WebSocket, token (default ROPE_MAFALDA_TOKEN), timeout, rope
 * @returns {Promise<RemoteMafalda>}
 */
export async function connect(url = envUrl(), options = {}) {
  const m = new RemoteMafalda(url, options);
  try {
    await m.ready();
  } catch (err) {
    m.close();
    throw err;
  }
  return m;
}

export { InvalidStateError, UnsupportedError };

export default { connect, MafaldaRouter, RemoteMafalda, ROOT_ID, REASON_NO_WORKER };
