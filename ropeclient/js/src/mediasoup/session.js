/**
 * One ROPE connection to a media server (spec/media-v1.md) and the
 * mediasoup-shaped wrappers of its media objects: it opens the connection
 * on first use, waits for it before each call, turns mirror changes into
 * wrapper events and observer 'new…' events, and keeps one wrapper per
 * object.
 *
 * @module @ropehq/rope-client/mediasoup/session
 */
import { RopeClient } from '../index.js';
import { InvalidStateError } from './errors.js';
import { packetNotifications } from './packets.js';

/** Packet event name by notification method. */
const packetEvents = Object.fromEntries(Object.entries(packetNotifications).map(([ev, m]) => [m, ev]));

/** Observer event of a parent for a new child, by the child's ROPE type. */
const newChildEvent = {
  Worker: 'newworker',
  Router: 'newrouter',
  WebRtcServer: 'newwebrtcserver',
  WebRtcTransport: 'newtransport',
  PlainTransport: 'newtransport',
  PipeTransport: 'newtransport',
  DirectTransport: 'newtransport',
  ActiveSpeakerObserver: 'newrtpobserver',
  AudioLevelObserver: 'newrtpobserver',
  Producer: 'newproducer',
  Consumer: 'newconsumer',
  DataProducer: 'newdataproducer',
  DataConsumer: 'newdataconsumer',
};

/**
 * @typedef {object} SessionOptions
 * @property {any} [WebSocket] WebSocket class (default: the global one, else the "ws" package)
 * @property {string} [token] the server's token
 * @property {string} [rootId] id of the MediaService object (default "media")
 * @property {number} [timeout] ms a call waits for the connection (default 10000)
 * @property {import('../index.js').RopeClientOptions} [rope] other RopeClient options
 */

export class MediaSession {
  /**
   * @param {string} url @param {SessionOptions} options
   * @param {import('./emitter.js').EnhancedEventEmitter} observer gets 'newworker'
   * @param {Record<string, any>} classes wrapper class by ROPE type
   * @param {Record<string, string>} [newEvents] more observer events for new children, by ROPE type
   */
  constructor(url, options, observer, classes, newEvents = {}) {
    this.url = url;
    this.options = options;
    this.observer = observer;
    this.classes = classes;
    this.newEvents = { ...newChildEvent, ...newEvents };
    this.rootId = options.rootId ?? 'media';
    /** @type {Map<string, import('./emitter.js').EnhancedEventEmitter>} observers of root objects by id */
    this.roots = new Map([[this.rootId, observer]]);
    /** @type {RopeClient|null} */
    this.client = null;
    /** @type {Promise<RopeClient>|null} */
    this.opening = null;
    /** @type {Map<string, import('./base.js').MediaObject>} by ROPE id */
    this.wrappers = new Map();
    /** Called when a worker made by createWorker closes (see index.js). */
    this.onWorkerClosed = null;
    /** Calls in flight. */
    this.inflight = 0;
    /** Set by closeWhenIdle(). */
    this.idleClosing = false;
  }

  /** Opens the connection if needed and resolves once it is CONNECTED. */
  async ready() {
    const client = await (this.opening ??= this.#open());
    if (client.readyState === RopeClient.CONNECTED) return client;
    const timeout = this.options.timeout ?? 10000;
    let timer;
    try {
      await Promise.race([
        client.ready(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new InvalidStateError(`not connected to ${this.url} within ${timeout} ms`)), timeout); }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  async #open() {
    let WS = this.options.WebSocket ?? globalThis.WebSocket;
    if (typeof WS !== 'function') {
      try {
        const wsPackage = 'ws'; // a variable: bundlers for browsers leave it alone
        WS = (await import(wsPackage)).default;
      } catch {
        this.opening = null;
        throw new InvalidStateError('no WebSocket: on Node 20 install the "ws" package, run node with --experimental-websocket, or pass options.WebSocket');
      }
    }
    const client = new RopeClient(this.url, { ...this.options.rope, WebSocket: WS, token: this.options.token, shared: false });
    client.addEventListener('objectCreated', (e) => this.#created(e.detail.object));
    client.addEventListener('objectEvent', (e) => this.wrappers.get(e.detail.object.id)?._onEvent(e.detail.event, e.detail.data));
    client.addEventListener('objectUpdated', (e) => {
      if (e.detail.appData) this.wrappers.get(e.detail.object.id)?._remoteAppData(e.detail.appData);
    });
    client.addEventListener('objectClosed', (e) => {
      const w = this.wrappers.get(e.detail.object.id);
      this.wrappers.delete(e.detail.object.id);
      w?._onRemoteClosed();
    });
    client.addEventListener('notification', (e) => {
      const event = packetEvents[e.detail.method];
      if (event) this.wrappers.get(e.detail.params?.object)?._onPacket?.(event, e.detail.params?.packet);
    });
    client.addEventListener('connected', () => {
      // A new connection has no packet subscriptions: make them again.
      for (const w of this.wrappers.values()) w._resubscribe?.();
    });
    client.addEventListener('error', () => {}); // reported through calls; reconnects on its own
    this.client = client;
    return client;
  }

  /** Closes the connection; the next call opens a new one. */
  close() {
    this.idleClosing = false;
    const client = this.client;
    this.client = null;
    this.opening = null;
    this.wrappers.clear();
    client?.close();
  }

  /** A new object in the mirror: wrap it and tell its parent's observer, if the parent is wrapped or a root. */
  #created(ro) {
    const ev = this.newEvents[ro.type];
    if (!ev) return;
    const root = this.roots.get(ro.parent);
    if (root) {
      root.safeEmit(ev, this.wrap(ro));
      return;
    }
    const parent = this.wrappers.get(ro.parent);
    if (parent && !parent.closed) parent.observer.safeEmit(ev, this.wrap(ro));
  }

  /** The wrapper of a mirror object (made on first use). */
  wrap(ro) {
    let w = this.wrappers.get(ro.id);
    if (!w) {
      const Cls = this.classes[ro.type];
      if (!Cls) return undefined;
      w = new Cls(this, ro);
      if (!ro.closed) this.wrappers.set(ro.id, w);
    }
    return w;
  }

  /** The wrapper of the mirror object with this ROPE id, if any. */
  objectById(id) {
    const ro = this.client?.object(id);
    return ro ? this.wrap(ro) : undefined;
  }

  /** Wrappers of the live children of an object, in creation order. */
  childrenOf(id) {
    return (this.client?.objects ?? []).filter((o) => o.parent === id).map((o) => this.wrap(o)).filter(Boolean);
  }

  /** The MediaService's props (undefined before the first connection). */
  rootProps() {
    return this.client?.object(this.rootId)?.props;
  }

  /** Calls a method of an object once connected. */
  async call(id, method, params) {
    const release = this.hold();
    try {
      const client = await this.ready();
      return await client.call(id, method, params ?? {});
    } finally {
      release();
    }
  }

  /**
   * Counts an operation as in flight until the returned function is
   * called, so that closeWhenIdle() waits for it too (e.g. calls that a
   * failed call leads to).
   * @returns {() => void}
   */
  hold() {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inflight--;
      if (this.idleClosing && this.inflight === 0) this.close();
    };
  }

  /**
   * Closes the connection once no call is in flight (the closes just sent
   * must reach the server); a call made meanwhile cancels it.
   */
  closeWhenIdle() {
    this.idleClosing = true;
    queueMicrotask(() => {
      if (this.idleClosing && this.inflight === 0) this.close();
    });
  }

  /** Cancels closeWhenIdle(). */
  keepOpen() { this.idleClosing = false; }

  /** rope.setAppData in the background; a failure is ignored (as a local assignment cannot fail). */
  setAppData(id, appData) {
    let json;
    try {
      json = JSON.parse(JSON.stringify(appData ?? {}));
    } catch {
      return; // not JSON: kept locally only
    }
    this.ready().then((c) => c.setAppData(id, json)).catch(() => {});
  }
}
