/**
 * The base of every remote media object: a mediasoup-shaped EventEmitter
 * backed by the object's ROPE mirror (id, closed, appData, observer, props),
 * its calls, and mediasoup's close semantics: close() is synchronous, closes
 * the object and its descendants locally with mediasoup's events, and tells
 * the server; closes that come from the server follow its events.
 *
 * @module @ropehq/rope-client/mediasoup/base
 */
import { EnhancedEventEmitter } from './emitter.js';
import { InvalidStateError, fromWire } from './errors.js';

/** A deep copy of a JSON value, mutable (mirror values are frozen at the top). */
export function copyJson(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/** Structural equality of JSON values. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
}

/** mediasoup's check of an appData option. */
export function checkAppData(appData) {
  if (appData && typeof appData !== 'object') throw new TypeError('if given, appData must be an object');
}

/** Drops undefined members, so that absent options stay absent on the wire. */
export function defined(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * A remote media object. Subclasses set the statics:
 * - closeEvents: events by which the server closes the object (e.g. "transportclose");
 * - childCloseEvent: the event the object's children get when it closes;
 * - childOrder: the ROPE types of its children, in mediasoup's closing order;
 * - eventRoutes: event name → "both" (object and observer), "object" or "observer".
 */
export class MediaObject extends EnhancedEventEmitter {
  static closeEvents = [];
  static childCloseEvent = undefined;
  static childOrder = [];
  static eventRoutes = {};

  #session;
  #ro;
  #closed = false;
  #appData;
  #observer = new EnhancedEventEmitter();

  /** @internal @param {import('./session.js').MediaSession} session @param {import('../index.js').RopeObject} ro */
  constructor(session, ro) {
    super();
    this.#session = session;
    this.#ro = ro;
    this.#appData = copyJson(ro.appData) ?? {};
  }

  /** The object's id (mediasoup's id). */
  get id() { return this.#ro.id; }
  /** Whether the object is closed. */
  get closed() { return this.#closed; }
  /** App custom data: the object given at creation, or the server's appData. */
  get appData() { return this.#appData; }
  /** Replaces appData here at once and on the server (rope.setAppData) in the background. */
  set appData(appData) {
    this.#appData = appData;
    if (!this.#closed) this.#session.setAppData(this.#ro.id, appData);
  }
  /** The observer: mediasoup's observer events of this object. */
  get observer() { return this.#observer; }

  /** @internal The ROPE id (differs from id for piped producers). */
  get _ropeId() { return this.#ro.id; }
  /** @internal */
  get _session() { return this.#session; }
  /** @internal A prop of the mirror; null (mediasoup's undefined) reads as undefined. */
  _prop(name) {
    const v = this.#ro.props[name];
    return v === null ? undefined : v;
  }

  /** @internal Keeps the caller's appData object (as mediasoup does) when it matches the mirror. */
  _useAppData(appData) {
    if (appData !== undefined && appData !== null) this.#appData = appData;
  }

  /** @internal The server replaced appData: take it unless it equals ours. */
  _remoteAppData(appData) {
    if (!jsonEqual(appData, this.#appData)) this.#appData = copyJson(appData) ?? {};
  }

  /**
   * @internal Calls a method of the object; rejects at once when closed.
   * @param {string} method @param {object} [params] @returns {Promise<any>}
   */
  async _call(method, params) {
    if (this.#closed) throw new InvalidStateError(`${this.constructor.name} closed`);
    try {
      return await this.#session.call(this.#ro.id, method, params);
    } catch (err) {
      throw fromWire(err, `${this.constructor.name}.${method}`);
    }
  }

  /**
   * @internal Calls a creating method and returns the new object's wrapper.
   * @param {string} method @param {object} params @param {object} [appData] the caller's appData
   */
  async _create(method, params, appData) {
    const { id } = await this._call(method, params);
    const obj = this.#session.objectById(id);
    if (!obj || obj.closed) throw new InvalidStateError(`${method}: the new object ${id} closed already`);
    obj._useAppData(appData);
    return obj;
  }

  /** Closes the object (and its descendants) at once; the server is told in the background. */
  close() {
    if (this.#closed) return;
    this._sendClose();
    this._closeLocal();
  }

  /** @internal Asks the server to close the object; its answer does not matter. */
  _sendClose() {
    this.#session.call(this.#ro.id, 'close').catch(() => {});
  }

  /**
   * @internal Closes locally: children first (each with this object's
   * childCloseEvent), then the reason event, then observer 'close'.
   * @returns {boolean} false if already closed
   */
  _closeLocal(reason, ...args) {
    if (this.#closed) return false;
    this.#closed = true;
    this._cascade();
    if (reason) this.safeEmit(reason, ...args);
    this.#observer.safeEmit('close');
    this._afterClose();
    return true;
  }

  /** @internal Closes the children in mediasoup's order. */
  _cascade() {
    const order = this.constructor.childOrder;
    const kids = this.#session.childrenOf(this.#ro.id)
      .filter((c) => !c.closed && order.includes(c._ropeType))
      .sort((a, b) => order.indexOf(a._ropeType) - order.indexOf(b._ropeType));
    for (const kid of kids) kid._closeLocal(this.constructor.childCloseEvent);
  }

  /** @internal Hook run after the object closed. */
  _afterClose() {}

  /** @internal */
  get _ropeType() { return this.#ro.type; }

  /** @internal A server event of the object. */
  _onEvent(name, data) {
    if (this.#closed) return;
    if (this.constructor.closeEvents.includes(name)) {
      this._closeLocal(name);
      return;
    }
    this._event(name, data);
  }

  /** @internal Emits a server event by its route. */
  _event(name, data) {
    const route = this.constructor.eventRoutes[name];
    if (!route) return;
    const args = this._eventArgs(name, data);
    if (route !== 'observer') this.safeEmit(name, ...args);
    if (route !== 'object') this.#observer.safeEmit(name, ...args);
  }

  /** @internal The listener arguments of a server event. */
  _eventArgs(name, data) {
    return data === null || data === undefined ? [] : [data];
  }

  /** @internal The object's mirror closed (rope.closed): close if no event did. */
  _onRemoteClosed() { this._closeLocal(); }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `${this.constructor.name} { id: ${this.id}${this.#closed ? ', closed' : ''} }`;
  }
}
