/**
 * Worker and WebRtcServer: a remote mediasoup worker (spec/media-v1.md
 * §4.2) and a WebRtcServer of it (§4.15).
 *
 * @module @ropehq/rope-client/mediasoup/worker
 */
import { ErrorCode, RopeError } from '../index.js';
import { MediaObject, checkAppData, defined } from './base.js';

export class Worker extends MediaObject {
  static childCloseEvent = 'workerclose';
  static childOrder = ['Router', 'WebRtcServer'];

  #died = false;
  #subprocessClosed = false;

  /** The worker's process id on the server's machine. */
  get pid() { return this._prop('pid'); }
  /** Whether the worker died. */
  get died() { return this.#died || this._prop('died') === true; }
  /** Whether the worker's process has ended (after close or death). */
  get subprocessClosed() { return this.#subprocessClosed; }

  /**
   * Closes the worker, its routers and WebRtcServers. A server that does not
   * let clients close workers (-32004) gets the routers and WebRtcServers
   * closed instead.
   */
  close() { super.close(); }

  /** @internal */
  _sendClose() {
    const s = this._session;
    const id = this._ropeId;
    const kids = s.childrenOf(id).map((k) => k._ropeId);
    const release = s.hold(); // the closes of the children are in flight too
    s.call(id, 'close').catch((err) => {
      if (err instanceof RopeError && err.code === ErrorCode.UNAUTHORIZED) {
        return Promise.allSettled(kids.map((k) => s.call(k, 'close')));
      }
      return undefined;
    }).finally(() => {
      release();
      this.#subprocessEnded();
    });
  }

  #subprocessEnded() {
    if (this.#subprocessClosed) return;
    this.#subprocessClosed = true;
    this.safeEmit('subprocessclose');
  }

  /** @internal */
  _afterClose() { this._session.onWorkerClosed?.(this); }

  /** @internal 'died' closes the worker: children first, then 'died', then observer 'close'. */
  _onEvent(name, data) {
    if (name !== 'died') return super._onEvent(name, data);
    if (this.closed) return;
    this.#died = true;
    this._closeLocal('died', new Error(typeof data === 'string' ? data : 'worker died'));
    this.#subprocessEnded();
  }

  /** @returns {Promise<object>} WorkerDump */
  dump() { return this._call('dump'); }
  /** @returns {Promise<object>} WorkerResourceUsage */
  getResourceUsage() { return this._call('getResourceUsage'); }

  /** @param {{logLevel?: string, logTags?: string[]}} [settings] */
  async updateSettings({ logLevel, logTags } = {}) {
    await this._call('updateSettings', defined({ logLevel, logTags }));
  }

  /** @param {{listenInfos: object[], appData?: object}} options */
  async createWebRtcServer({ listenInfos, appData } = {}) {
    checkAppData(appData);
    if (!Array.isArray(listenInfos)) throw new TypeError('wrong listenInfos');
    return this._create('createWebRtcServer', defined({ listenInfos, appData }), appData);
  }

  /** @param {{mediaCodecs?: object[], appData?: object}} [options] */
  async createRouter({ mediaCodecs, appData } = {}) {
    checkAppData(appData);
    if (mediaCodecs !== undefined && !Array.isArray(mediaCodecs)) throw new TypeError('mediaCodecs must be an Array');
    return this._create('createRouter', defined({ mediaCodecs, appData }), appData);
  }
}

export class WebRtcServer extends MediaObject {
  static closeEvents = ['workerclose'];

  /** @type {Map<string, import('./transport.js').WebRtcTransport>} by ROPE id */
  #transports = new Map();

  /** @internal Transports on this server, for tests. */
  get webRtcTransportsForTesting() { return new Map([...this.#transports].map(([, t]) => [t.id, t])); }

  /** @returns {Promise<object>} WebRtcServerDump */
  dump() { return this._call('dump'); }

  /** @internal Closing the server closes its transports with 'listenserverclose'. */
  _cascade() {
    for (const t of [...this.#transports.values()]) t._closeLocal('listenserverclose');
  }

  /** @internal After a worker close the transports closed with their routers. */
  _closeLocal(reason, ...args) {
    if (reason === 'workerclose') {
      if (this.closed) return false;
      this.#transports.clear();
    }
    return super._closeLocal(reason, ...args);
  }

  /** @internal */
  _handled(t) {
    if (!t || this.#transports.has(t._ropeId)) return;
    this.#transports.set(t._ropeId, t);
    t._webRtcServer = this;
    this.observer.safeEmit('webrtctransporthandled', t);
  }

  /** @internal A transport of this server closed. */
  _unhandled(t) {
    if (!this.#transports.delete(t._ropeId)) return;
    this.observer.safeEmit('webrtctransportunhandled', t);
  }

  /** @internal */
  _event(name, data) {
    if (name === 'webrtctransporthandled') this._handled(this._session.objectById(data));
    else if (name === 'webrtctransportunhandled') {
      const t = this.#transports.get(data);
      if (t) this._unhandled(t);
    }
  }
}
