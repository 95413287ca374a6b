/**
 * ROPE v1 client: Remote Objects, Procedures and Events over WebSocket
 * (JSON-RPC 2.0). It keeps a live mirror of the server's objects, calls their
 * methods, delivers their events, reconnects with exponential backoff and
 * resumes from the last sequence number (spec/rope-v1.md, §12 "Client
 * behaviour").
 *
 * Dependency-free ES module for browsers and Node ≥ 20. Pass the WebSocket
 * class as an option where there is no global one (Node 20: the `ws`
 * package, or run Node with --experimental-websocket).
 *
 * @module @ropehq/rope-client
 */

/** The protocol this client speaks (subprotocol and `rope.init.protocol`). */
export const PROTOCOL = 'rope.v1';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const CONNECTED = 4;

/** WebSocket close codes ROPE uses (spec §16). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  SLOW_CONSUMER: 4000,
  PROTOCOL_VIOLATION: 4001,
  GRANT_EXPIRED: 4003,
});

/** JSON-RPC and ROPE error codes (spec §9.2). */
export const ErrorCode = Object.freeze({
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  OBJECT_NOT_FOUND: -32001,
  UNKNOWN_METHOD: -32002,
  INVALID_STATE: -32003,
  UNAUTHORIZED: -32004,
  OVERLOADED: -32005,
  APPLICATION_ERROR: -32010,
});

/**
 * An error response from the server. `name` is the error's `data.name`
 * (e.g. "ObjectNotFound", or an application error's own name).
 */
export class RopeError extends Error {
  /** @param {{code: number, message?: string, data?: any}} error the JSON-RPC error object */
  constructor(error) {
    super(typeof error?.message === 'string' ? error.message : 'error');
    /** @type {number} */
    this.code = error?.code;
    /** @type {any} */
    this.data = error?.data;
    this.name = typeof error?.data?.name === 'string' ? error.data.name : 'RopeError';
  }
}

/**
 * A call that failed on the client side because the instance was not
 * CONNECTED, or its connection was lost or closed while the call was pending.
 * Whether the server executed it is unknown (spec §12.4.3).
 */
export class ConnectionClosedError extends Error {
  /** @param {string} [message] */
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

/**
 * The server refused this client's access, so it stopped reconnecting (spec
 * §12.3.5): `code` is 4003 when its grant expired (the server closed the
 * connection; reconnecting with the same token would be refused), or the
 * HTTP status 401 (token refused) or 403 (handshake forbidden) where the
 * WebSocket exposes it (the `ws` package does; a browser's does not). A
 * client with a new token may connect again.
 */
export class AccessRefusedError extends Error {
  /** @param {number} code @param {string} [reason] */
  constructor(code, reason = '') {
    const what = code === CloseCode.GRANT_EXPIRED ? 'grant expired (close 4003)'
      : code === 401 ? 'token refused (HTTP 401)' : `handshake refused (HTTP ${code})`;
    super(`RopeClient: access refused: ${what}${reason ? `: ${reason}` : ''}`);
    this.name = 'AccessRefusedError';
    /** @type {number} */
    this.code = code;
  }
}

/**
 * The HTTP status of a refused handshake, from a WebSocket 'error' event,
 * where the implementation tells it (the `ws` package: "Unexpected server
 * response: 401"); 0 otherwise.
 */
function refusedStatus(ev) {
  const m = /Unexpected server response: (\d{3})/.exec(String(ev?.message ?? ev?.error?.message ?? ''));
  const status = m ? Number(m[1]) : 0;
  return status === 401 || status === 403 ? status : 0;
}

/** A call whose request exceeds the server's maxMessageSize; it was not sent. */
export class MessageTooBigError extends Error {
  /** @param {number} size @param {number} limit */
  constructor(size, limit) {
    super(`request of ${size} bytes exceeds the server's maxMessageSize ${limit}`);
    this.name = 'MessageTooBigError';
    this.size = size;
    this.limit = limit;
  }
}

/**
 * @typedef {object} ObjectState
 * @property {string} id
 * @property {string} type
 * @property {string|null} parent
 * @property {Record<string, any>} props
 * @property {Record<string, any>} appData
 */

/**
 * @typedef {object} RopeClientOptions
 * @property {any} [WebSocket] WebSocket class (default: globalThis.WebSocket)
 * @property {string} [token] sent as the access_token query parameter
 * @property {string[]} [protocols] subprotocols to offer (default none, as spec §2.2.1 describes
 *   the canonical JS client; ["rope.v1"] offers it, and then the server must select it)
 * @property {boolean} [shared] share one connection per URL+token (default true)
 * @property {boolean} [reconnect] reconnect after a connection loss (default true)
 * @property {number} [reconnectDelay] first backoff step in ms (default 250)
 * @property {number} [maxReconnectDelay] backoff cap in ms (default 30000)
 * @property {number} [maxReconnectAttempts] give up after this many failed attempts in a row (default Infinity)
 * @property {number} [connectTimeout] ms from opening a WebSocket to rope.init before the attempt
 *   counts as failed (default 10000)
 * @property {number|'persistent'} [lease] how long (ms) the server keeps the objects this client
 *   creates after losing it, or 'persistent'; the server bounds it (spec §17; default: the server's)
 */

/** Makes an event carrying `detail` (and, for convenience, its members). */
function makeEvent(type, detail, extra) {
  const ev = new CustomEvent(type, { detail });
  if (extra) Object.assign(ev, extra);
  return ev;
}

/** Structural equality of JSON values. */
function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** UTF-8 length of a string, computed only when it could matter. */
function byteLength(s, limit) {
  if (s.length * 3 <= limit) return s.length; // cannot exceed
  return new TextEncoder().encode(s).length;
}

/** A mirror entry shared by every instance on a connection. */
function makeRecord(state) {
  return {
    id: state.id,
    type: state.type,
    parent: state.parent ?? null,
    props: Object.freeze({ ...(isObject(state.props) ? state.props : {}) }),
    appData: Object.freeze({ ...(isObject(state.appData) ? state.appData : {}) }),
  };
}

function sameObject(rec, state) {
  return rec.type === state.type && rec.parent === (state.parent ?? null);
}

/**
 * Normalises a URL: resolves it against the page in browsers, maps http(s)
 * to ws(s) and drops resume parameters.
 * @param {string|URL} url
 */
function normalizeUrl(url) {
  const base = globalThis.location?.href;
  const u = new URL(String(url), base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`RopeClient: not a WebSocket URL: ${u.href}`);
  u.searchParams.delete('epoch');
  u.searchParams.delete('seq');
  u.hash = '';
  return u;
}

/** Shared connections: WebSocket class → key → Connection. */
const registry = new WeakMap();

/**
 * One WebSocket and one mirror, shared by the RopeClient instances attached
 * to it. Internal.
 */
class Connection {
  /**
   * @param {URL} url @param {RopeClientOptions} options @param {any} WS @param {string} key
   */
  constructor(url, options, WS, key) {
    this.url = url;
    this.options = options;
    this.WebSocket = WS;
    this.key = key;
    /** @type {Set<RopeClient>} */
    this.instances = new Set();
    /** idle | connecting | open | connected | closing | closed */
    this.state = 'idle';
    this.sock = null;
    /** @type {Map<string, ReturnType<typeof makeRecord>>} creation order */
    this.records = new Map();
    this.hasMirror = false;
    this.epoch = null;
    this.lastSeq = 0;
    /** The server session's id (spec §17), from rope.init; presented on every reconnection. */
    this.session = null;
    /** @type {Map<string, {name: string, methods: string[], events: string[], properties: string[]}>} */
    this.types = new Map();
    this.init = null;
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.timer = null;
    this.closingInstance = null;
  }

  /**
   * The connection for url and options: a shared one when allowed.
   * @param {string|URL} url @param {RopeClientOptions} options
   */
  static for(url, options) {
    const WS = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WS !== 'function') {
      throw new TypeError('RopeClient: no WebSocket class; pass one as options.WebSocket (e.g. the "ws" package on Node 20)');
    }
    const u = normalizeUrl(url);
    const protocols = options.protocols ?? [];
    const key = `${u.href}\n${options.token ?? ''}\n${protocols.join(',')}`;
    if (options.shared === false) return new Connection(u, options, WS, key);
    let byKey = registry.get(WS);
    if (!byKey) registry.set(WS, (byKey = new Map()));
    let conn = byKey.get(key);
    if (!conn) byKey.set(key, (conn = new Connection(u, options, WS, key)));
    return conn;
  }

  #unregister() {
    if (this.options.shared === false) return;
    const byKey = registry.get(this.WebSocket);
    if (byKey?.get(this.key) === this) byKey.delete(this.key);
  }

  /** Attaches an instance; it catches up with the connection's state asynchronously. */
  attach(inst) {
    this.instances.add(inst);
    if (this.state === 'idle') {
      this.#connect();
      return;
    }
    queueMicrotask(() => {
      if (!this.instances.has(inst)) return;
      if (this.state === 'open') inst._toOpen();
      else if (this.state === 'connected') inst._toConnected(false);
    });
  }

  /**
   * Detaches an instance, failing its pending calls. Returns true if the
   * instance must wait for the WebSocket to close (it was the last one).
   */
  detach(inst) {
    if (!this.instances.delete(inst)) return false;
    this.#failPending(inst, 'client closed');
    if (this.instances.size > 0) return false;
    this.#unregister();
    clearTimeout(this.timer);
    this.timer = null;
    const sock = this.sock;
    if (sock && sock.opened && !sock.done) {
      this.state = 'closing';
      this.closingInstance = inst;
      sock.ignore = true;
      this.#closeSocket(sock, CloseCode.NORMAL, 'client closed');
      return true;
    }
    if (sock && !sock.done) {
      sock.done = true;
      clearTimeout(sock.connectTimer);
      try { sock.ws.close(); } catch { /* still connecting */ }
    }
    this.sock = null;
    this.state = 'closed';
    return false;
  }

  #emitAll(fn) {
    for (const inst of [...this.instances]) if (this.instances.has(inst)) fn(inst);
  }

  #connect() {
    this.timer = null;
    this.state = 'connecting';
    const url = new URL(this.url);
    if (this.options.token != null) url.searchParams.set('access_token', this.options.token);
    const resumeFrom = this.hasMirror ? { epoch: this.epoch, seq: this.lastSeq } : null;
    if (resumeFrom) {
      url.searchParams.set('epoch', resumeFrom.epoch);
      url.searchParams.set('seq', String(resumeFrom.seq));
    }
    // Sessions (spec §17): resume ours, or the one the URL names, or start one.
    if (this.session) url.searchParams.set('session', this.session);
    else if (!url.searchParams.get('session')) url.searchParams.set('session', 'new');
    if (this.options.lease != null) url.searchParams.set('lease', String(this.options.lease));
    const sock = { ws: null, opened: false, done: false, ignore: false, initDone: false, resumeFrom, closeTimer: null, connectTimer: null };
    this.sock = sock;
    try {
      const protocols = this.options.protocols ?? [];
      sock.ws = protocols.length ? new this.WebSocket(url.href, protocols) : new this.WebSocket(url.href);
    } catch (err) {
      sock.done = true;
      this.sock = null;
      queueMicrotask(() => this.#emitAll((inst) => inst._error(err)));
      this.#scheduleReconnect();
      return;
    }
    const ws = sock.ws;
    ws.addEventListener('open', () => this.#onOpen(sock));
    ws.addEventListener('message', (ev) => this.#onMessage(sock, ev));
    // An error before open is a failed handshake: some WebSockets (undici's,
    // Node's global one) fire no 'close' after it, so it counts as the close.
    ws.addEventListener('error', (ev) => {
      if (sock.opened || sock.done) return;
      const status = refusedStatus(ev);
      if (status) sock.refused = new AccessRefusedError(status);
      this.#emitAll((inst) => inst._error(sock.refused ?? new Error('WebSocket handshake failed')));
      this.#abandon(sock, 'WebSocket handshake failed');
    });
    ws.addEventListener('close', (ev) => this.#onClose(sock, { wasClean: !!ev.wasClean, code: ev.code, reason: ev.reason ?? '' }));
    // A handshake can also fail with no event at all (undici, when TCP closes
    // during it) or stall: give up on it after connectTimeout.
    const timeout = this.options.connectTimeout ?? 10000;
    sock.connectTimer = setTimeout(() => this.#handshakeTimedOut(sock), timeout);
  }

  #handshakeTimedOut(sock) {
    if (sock.done || sock.ignore || sock.initDone) return;
    const why = `no rope.init within ${this.options.connectTimeout ?? 10000} ms`;
    if (sock.opened) {
      this.#violation(sock, why);
      return;
    }
    this.#emitAll((inst) => inst._error(new Error(`WebSocket handshake timed out (${why})`)));
    this.#abandon(sock, 'WebSocket handshake timed out');
  }

  /** Drops a socket that never opened, as if it had closed, and reconnects. */
  #abandon(sock, reason) {
    this.#onClose(sock, { wasClean: false, code: 1006, reason }); // first: close() may fire 'error' at once
    try { sock.ws.close(); } catch { /* some refuse close() while connecting */ }
  }

  #scheduleReconnect() {
    const o = this.options;
    if (o.reconnect === false || this.attempt >= (o.maxReconnectAttempts ?? Infinity)) {
      this.#giveUp();
      return;
    }
    const d = Math.min(o.maxReconnectDelay ?? 30000, (o.reconnectDelay ?? 250) * 2 ** this.attempt);
    this.attempt++;
    this.state = 'connecting';
    this.timer = setTimeout(() => this.#connect(), d * (0.5 + Math.random() / 2));
  }

  /** Stops reconnecting: every instance enters CLOSED, its close event carrying why (error). */
  #giveUp(error) {
    this.state = 'closed';
    this.#unregister();
    const insts = [...this.instances];
    this.instances.clear();
    for (const inst of insts) inst._closed(null, error);
  }

  #onOpen(sock) {
    if (sock.done || sock.ignore) return;
    sock.opened = true;
    this.state = 'open';
    this.#emitAll((inst) => inst._socketOpened());
    // Spec §2.2.3: having offered rope.v1, the server must have selected it.
    if (this.options.protocols?.includes(PROTOCOL) && sock.ws.protocol !== PROTOCOL) {
      this.#violation(sock, `server selected subprotocol "${sock.ws.protocol ?? ''}"`);
    }
  }

  #onClose(sock, info) {
    clearTimeout(sock.closeTimer);
    clearTimeout(sock.connectTimer);
    if (sock.done) return;
    sock.done = true;
    if (this.sock === sock) this.sock = null;
    this.#failPending(null, 'connection closed');
    if (this.state === 'closing') {
      this.state = 'closed';
      const inst = this.closingInstance;
      this.closingInstance = null;
      inst?._closed(info);
      return;
    }
    if (this.state === 'closed') return;
    this.state = 'connecting';
    this.#emitAll((inst) => inst._connectionLost(info, sock.opened));
    // Refused access ends reconnection (spec §12.3.5).
    if (sock.opened && info.code === CloseCode.GRANT_EXPIRED) {
      sock.refused = new AccessRefusedError(info.code, info.reason);
      this.#emitAll((inst) => inst._error(sock.refused));
    }
    if (sock.refused) this.#giveUp(sock.refused);
    else if (this.instances.size > 0) this.#scheduleReconnect();
  }

  /** Closes a socket, and treats it as closed if the close handshake stalls. */
  #closeSocket(sock, code, reason) {
    try { sock.ws.close(code, reason); } catch { /* already closing */ }
    sock.closeTimer = setTimeout(() => this.#onClose(sock, { wasClean: false, code: 1006, reason }), 3000);
  }

  /** The server broke the protocol: report it, drop the socket, reconnect. */
  #violation(sock, reason) {
    if (sock.ignore) return;
    sock.ignore = true;
    this.#emitAll((inst) => inst._error(new Error(`ROPE protocol violation: ${reason}`)));
    this.#closeSocket(sock, CloseCode.PROTOCOL_VIOLATION, 'protocol violation');
  }

  #failPending(inst, why) {
    for (const [id, p] of this.pending) {
      if (inst && p.inst !== inst) continue;
      this.pending.delete(id);
      p.reject(new ConnectionClosedError(why));
    }
  }

  /**
   * Sends a request (or, with notify, a notification) for inst.
   * @returns {Promise<any>|undefined}
   */
  send(inst, method, params, notify = false) {
    const sock = this.sock;
    const msg = { jsonrpc: '2.0' };
    const id = notify ? undefined : this.nextId++;
    if (!notify) msg.id = id;
    msg.method = method;
    if (params != null) msg.params = params; // never "params": null (spec §3.3.3)
    const text = JSON.stringify(msg); // throws on BigInt, cycles
    const limit = this.init?.maxMessageSize ?? Infinity;
    const size = byteLength(text, limit);
    if (size > limit) throw new MessageTooBigError(size, limit);
    if (notify) {
      sock.ws.send(text);
      return undefined;
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { inst, resolve, reject });
      try {
        sock.ws.send(text);
      } catch (err) {
        this.pending.delete(id);
        reject(err);
      }
    });
  }

  #onMessage(sock, ev) {
    if (sock.done || sock.ignore) return;
    if (typeof ev.data !== 'string') {
      this.#violation(sock, 'binary message');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      this.#violation(sock, 'invalid JSON');
      return;
    }
    if (!isObject(msg) || msg.jsonrpc !== '2.0') {
      this.#violation(sock, 'not a JSON-RPC 2.0 message');
      return;
    }
    if (typeof msg.method === 'string') {
      this.#onNotification(sock, msg.method, msg.params);
    } else if ('id' in msg) {
      this.#onResponse(msg);
    }
  }

  #onResponse(msg) {
    const p = this.pending.get(msg.id);
    if (!p) {
      // Errors for requests we never made (id null): report them.
      if (msg.error) this.#emitAll((inst) => inst._error(new RopeError(msg.error)));
      return;
    }
    this.pending.delete(msg.id);
    if (msg.error) p.reject(new RopeError(msg.error));
    else p.resolve(msg.result === undefined ? null : msg.result);
  }

  #onNotification(sock, method, params) {
    switch (method) {
      case 'rope.init':
        this.#onInit(sock, params);
        return;
      case 'rope.created':
      case 'rope.updated':
      case 'rope.closed':
      case 'rope.event':
        this.#onSequenced(sock, method, params);
        return;
      default:
        this.#emitAll((inst) => inst._notification(method, params));
    }
  }

  #onInit(sock, p) {
    if (sock.initDone) return this.#violation(sock, 'second rope.init');
    if (!isObject(p) || p.protocol !== PROTOCOL) return this.#violation(sock, 'rope.init: protocol is not rope.v1');
    if (typeof p.epoch !== 'string' || !Number.isSafeInteger(p.seq)) return this.#violation(sock, 'rope.init: bad epoch or seq');
    if (p.resumed === true) {
      const r = sock.resumeFrom;
      if (!r || r.epoch !== p.epoch || r.seq !== p.seq) return this.#violation(sock, 'rope.init: resumed without a matching request');
    } else if (!Array.isArray(p.objects)) {
      return this.#violation(sock, 'rope.init: objects missing');
    }
    sock.initDone = true;
    clearTimeout(sock.connectTimer);
    if (isObject(p.session) && typeof p.session.id === 'string') this.session = p.session.id;
    const { objects, ...info } = p;
    this.init = info;
    this.types = new Map((Array.isArray(p.types) ? p.types : []).map((t) => [t.name, t]));
    if (!p.resumed) {
      this.#reconcile(objects);
      this.epoch = p.epoch;
      this.lastSeq = p.seq;
      this.hasMirror = true;
    }
    this.state = 'connected';
    this.attempt = 0;
    this.#emitAll((inst) => inst._toConnected(!!p.resumed));
  }

  /** Transforms the mirror into the snapshot (spec §7.6), reporting each change. */
  #reconcile(objects) {
    const snap = new Map();
    for (const o of objects) if (isObject(o) && typeof o.id === 'string') snap.set(o.id, o);
    // 1. Close, children before parents: records are in creation order.
    for (const rec of [...this.records.values()].reverse()) {
      const n = snap.get(rec.id);
      if (n && sameObject(rec, n)) continue;
      this.records.delete(rec.id);
      this.#emitViews((inst) => inst._objectClosed(rec.id));
    }
    // 2. Update.
    for (const rec of this.records.values()) {
      const n = snap.get(rec.id);
      const nProps = isObject(n.props) ? n.props : {};
      const nApp = isObject(n.appData) ? n.appData : {};
      let changed;
      for (const k of new Set([...Object.keys(rec.props), ...Object.keys(nProps)])) {
        if (!jsonEqual(rec.props[k], nProps[k])) (changed ??= {})[k] = nProps[k];
      }
      const appChanged = !jsonEqual(rec.appData, nApp);
      if (!changed && !appChanged) continue;
      if (changed) rec.props = Object.freeze({ ...nProps });
      if (appChanged) rec.appData = Object.freeze({ ...nApp });
      this.#emitViews((inst) => inst._objectUpdated(rec, changed, appChanged ? rec.appData : undefined));
    }
    // 3. Create, in snapshot order.
    for (const n of snap.values()) {
      if (this.records.has(n.id)) continue;
      const rec = makeRecord(n);
      this.records.set(rec.id, rec);
      this.#emitViews((inst) => inst._objectCreated(rec));
    }
  }

  #emitViews(fn) {
    this.#emitAll((inst) => inst._hasView() && fn(inst));
  }

  #onSequenced(sock, method, p) {
    if (!sock.initDone) return this.#violation(sock, `${method} before rope.init`);
    // A connection with a view (spec §18) sees the global seq with gaps.
    const view = this.init?.view === true;
    if (!isObject(p) || !Number.isSafeInteger(p.seq) || (view ? p.seq <= this.lastSeq : p.seq !== this.lastSeq + 1)) {
      return this.#violation(sock, `sequence gap: got ${p?.seq} after ${this.lastSeq}`);
    }
    if (method === 'rope.created') {
      if (!isObject(p.object) || typeof p.object.id !== 'string') return this.#violation(sock, 'rope.created without object');
      if (this.records.has(p.object.id)) return this.#violation(sock, `rope.created for live object ${p.object.id}`);
    } else if (!this.records.has(p.id)) {
      return this.#violation(sock, `${method} for unknown object ${p.id}`);
    }
    this.lastSeq = p.seq;
    switch (method) {
      case 'rope.created': {
        const rec = makeRecord(p.object);
        this.records.set(rec.id, rec);
        this.#emitViews((inst) => inst._objectCreated(rec));
        break;
      }
      case 'rope.updated': {
        const rec = this.records.get(p.id);
        const props = isObject(p.props) ? p.props : undefined;
        const appData = isObject(p.appData) ? p.appData : undefined;
        // An empty update changes nothing (an owner change, spec §18.7): no event.
        if (!appData && (!props || Object.keys(props).length === 0)) break;
        if (props) rec.props = Object.freeze({ ...rec.props, ...props });
        if (appData) rec.appData = Object.freeze({ ...appData });
        this.#emitViews((inst) => inst._objectUpdated(rec, props, appData && rec.appData));
        break;
      }
      case 'rope.closed':
        this.records.delete(p.id);
        this.#emitViews((inst) => inst._objectClosed(p.id));
        break;
      case 'rope.event':
        this.#emitViews((inst) => inst._objectEvent(p.id, p.event, p.data === undefined ? null : p.data));
        break;
    }
  }
}

/**
 * The mirror of one server object, as one RopeClient sees it. Read `props`
 * and `appData`; call methods with `call(name, params)`, or directly by name
 * (`counter.increment({by: 2})`) for the methods the type catalogue lists
 * (unless the name is taken by a member of this class).
 *
 * Events: `update` (detail `{props, appData}`: the changed props, the new
 * appData when it changed), `close`, and every server event of the object
 * by its name (detail = the event's data).
 */
export class RopeObject extends EventTarget {
  #client;
  #record;
  #closed = false;

  /** @param {RopeClient} client @param {ReturnType<typeof makeRecord>} record */
  constructor(client, record) {
    super();
    this.#client = client;
    this.#record = record;
    for (const m of client.types.get(record.type)?.methods ?? []) {
      if (m in this || m === 'then') continue;
      Object.defineProperty(this, m, { value: (params) => this.call(m, params), configurable: true, writable: true });
    }
  }

  /** @returns {string} */
  get id() { return this.#record.id; }
  /** @returns {string} */
  get type() { return this.#record.type; }
  /** @returns {string|null} */
  get parent() { return this.#record.parent; }
  /** Current props (frozen; replaced on every update). */
  get props() { return this.#record.props; }
  /** Current appData (frozen; replaced on every update). */
  get appData() { return this.#record.appData; }
  /** True once the object has closed (or the client closed). */
  get closed() { return this.#closed; }
  /** The client this handle belongs to. */
  get client() { return this.#client; }
  /** The parent's handle, if any. */
  get parentObject() { return this.parent == null ? undefined : this.#client.object(this.parent); }
  /** Live children, in creation order. */
  get children() { return this.#client.objects.filter((o) => o.parent === this.id); }
  /** Method names of this object's type in the server's catalogue. */
  get methods() { return this.#client.types.get(this.type)?.methods ?? []; }

  /**
   * Calls a method of the object.
   * @param {string} method @param {any} [params] @returns {Promise<any>}
   */
  call(method, params) { return this.#client.call(this.id, method, params); }

  /**
   * Replaces the object's appData (rope.setAppData).
   * @param {Record<string, any>} appData @returns {Promise<null>}
   */
  setAppData(appData) { return this.#client.setAppData(this.id, appData); }

  /** @returns {ObjectState} */
  toJSON() {
    const { id, type, parent, props, appData } = this.#record;
    return { id, type, parent, props, appData };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `RopeObject ${JSON.stringify(this.toJSON())}${this.#closed ? ' (closed)' : ''}`;
  }

  /** @internal */
  _markClosed() { this.#closed = true; }
}

/**
 * A ROPE client. Instances for the same URL, token and WebSocket class share
 * one WebSocket and one mirror (unless `shared: false`); the WebSocket closes
 * with the last instance.
 *
 * Events: `open`, `connected` (detail `{resumed}`), `disconnected`, `close`,
 * `error` (detail `{error}`), `websocketOpen`, `websocketClose` (detail and
 * members `wasClean`, `code`, `reason`), and for the mirror `objectCreated`
 * (`{object}`), `objectUpdated` (`{object, props, appData}`), `objectClosed`
 * (`{object}`), `objectEvent` (`{object, event, data}`), and `notification`
 * (`{method, params}`) for server notifications ROPE does not define.
 */
export class RopeClient extends EventTarget {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;
  static CONNECTED = CONNECTED;
  CONNECTING = CONNECTING;
  OPEN = OPEN;
  CLOSING = CLOSING;
  CLOSED = CLOSED;
  CONNECTED = CONNECTED;

  #options;
  #state = CLOSED;
  /** @type {Connection|null} */
  #conn = null;
  /** @type {Map<string, RopeObject>|null} this instance's handles */
  #view = null;
  /** @type {Error|null} why the connection gave up (AccessRefusedError) */
  #closeError = null;

  /**
   * @param {string|URL} [url] the server's ws:// or wss:// URL; omit it to call open() later
   * @param {RopeClientOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    this.#options = { ...options };
    if (url != null) this.open(url);
  }

  /** CONNECTING, OPEN, CLOSING, CLOSED or CONNECTED (numbers as the static constants). */
  get readyState() { return this.#state; }
  /** The normalised server URL (without token or resume parameters). */
  get url() { return this.#conn?.url.href; }
  /** The underlying WebSocket while one exists (shared with other instances). */
  get websocket() { return this.#conn?.sock?.ws; }
  /** The epoch of the mirror. */
  get epoch() { return this.#conn?.epoch ?? null; }
  /** The last sequence number applied to the mirror. */
  get seq() { return this.#conn?.lastSeq ?? 0; }
  /** The id of the server session the connection belongs to (spec §17), or null. */
  get session() { return this.#conn?.session ?? null; }
  /** The type catalogue of the last rope.init, by name. */
  get types() { return this.#conn?.types ?? new Map(); }
  /** The last rope.init's params without `objects` (server, maxMessageSize, payload, …). */
  get serverInfo() { return this.#conn?.init ?? null; }
  /** The server's extra connection payload (rope.init payload; null if none). */
  get payload() { return this.#conn?.init?.payload ?? null; }
  /** Whether the connection has a view (spec §18): it sees only some objects, its seqs have gaps. */
  get hasView() { return this.#conn?.init?.view === true; }
  /**
   * Why this instance entered CLOSED without close(): an AccessRefusedError when the
   * server refused its access (grant expired, close 4003; HTTP 401 or 403), so it stopped
   * reconnecting (spec §12.3.5); null otherwise. The close event carries it as `error`.
   */
  get closeError() { return this.#closeError; }
  /** Every mirrored object, in creation order (parents before children). */
  get objects() { return this.#view ? [...this.#view.values()] : []; }

  /**
   * The mirrored object with this id, or undefined.
   * @param {string} id @returns {RopeObject|undefined}
   */
  object(id) { return this.#view?.get(id); }

  /**
   * Connects. Throws if this instance is not CLOSED.
   * @param {string|URL} url
   */
  open(url) {
    if (this.#state !== CLOSED) throw new Error('RopeClient: already opening or open');
    const conn = Connection.for(url, this.#options);
    this.#conn = conn;
    this.#view = null;
    this.#closeError = null;
    this.#state = CONNECTING;
    conn.attach(this);
  }

  /**
   * Closes this instance: pending calls fail with ConnectionClosedError; the
   * WebSocket closes (1000) when no other instance shares it. Idempotent.
   */
  close() {
    const prev = this.#state;
    if (prev === CLOSED || prev === CLOSING) return;
    this.#state = prev === OPEN || prev === CONNECTED ? CLOSING : CLOSED;
    const wait = this.#conn.detach(this);
    if (prev === CONNECTED) this.dispatchEvent(new Event('disconnected'));
    if (!wait) this._closed(null);
  }

  /**
   * Resolves when the instance is CONNECTED; rejects if it closes first.
   * @returns {Promise<void>}
   */
  ready() {
    if (this.#state === CONNECTED) return Promise.resolve();
    if (this.#state === CLOSED) return Promise.reject(this.#closeError ?? new ConnectionClosedError('client closed'));
    return new Promise((resolve, reject) => {
      const done = (ev) => {
        this.removeEventListener('connected', done);
        this.removeEventListener('close', done);
        if (ev.type === 'connected') resolve();
        else reject(ev.error ?? new ConnectionClosedError('client closed'));
      };
      this.addEventListener('connected', done);
      this.addEventListener('close', done);
    });
  }

  /**
   * Calls a method of a server object (rope.call). The promise settles after
   * the mirror has applied every notification the call caused.
   * @param {string|RopeObject} object @param {string} method @param {any} [params]
   * @returns {Promise<any>}
   */
  call(object, method, params) {
    const id = typeof object === 'string' ? object : object?.id;
    const p = { object: id, method };
    if (params !== undefined) p.params = params;
    return this.request('rope.call', p);
  }

  /**
   * Replaces an object's appData (rope.setAppData).
   * @param {string|RopeObject} object @param {Record<string, any>} appData
   * @returns {Promise<null>}
   */
  setAppData(object, appData) {
    const id = typeof object === 'string' ? object : object?.id;
    return this.request('rope.setAppData', { object: id, appData });
  }

  /**
   * rope.ping: the server's current seq. When it resolves, the mirror is up
   * to date as of that seq.
   * @returns {Promise<{seq: number}>}
   */
  ping() { return this.request('rope.ping'); }

  /**
   * Sends any request (e.g. a server-defined extra method) and returns its result.
   * @param {string} method @param {any} [params] @returns {Promise<any>}
   */
  request(method, params) {
    if (this.#state !== CONNECTED) return Promise.reject(new ConnectionClosedError('not connected'));
    try {
      return this.#conn.send(this, method, params);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Sends a notification (no response). Throws if not CONNECTED.
   * @param {string} method @param {any} [params]
   */
  notify(method, params) {
    if (this.#state !== CONNECTED) throw new ConnectionClosedError('not connected');
    this.#conn.send(this, method, params, true);
  }

  // ---- driven by Connection (internal) ----

  /** @internal */
  _hasView() { return this.#view !== null; }

  /** @internal */
  _socketOpened() {
    if (this.#state !== CONNECTING) return;
    this.#state = OPEN;
    this.dispatchEvent(new Event('websocketOpen'));
    this.dispatchEvent(new Event('open'));
  }

  /** @internal */
  _toOpen() {
    if (this.#state !== CONNECTING) return;
    this.#state = OPEN;
    this.dispatchEvent(new Event('open'));
  }

  /** @internal */
  _toConnected(resumed) {
    if (this.#state === CONNECTING) this._toOpen();
    if (this.#state !== OPEN) return;
    if (!this.#view) {
      this.#view = new Map();
      for (const rec of this.#conn.records.values()) this.#view.set(rec.id, new RopeObject(this, rec));
    }
    this.#state = CONNECTED;
    this.dispatchEvent(makeEvent('connected', { resumed }));
  }

  /** @internal */
  _connectionLost(info, opened) {
    const prev = this.#state;
    if (prev === CLOSED || prev === CLOSING) return;
    this.#state = CONNECTING;
    if (opened) this.dispatchEvent(makeEvent('websocketClose', info, info));
    if (prev === CONNECTED) this.dispatchEvent(new Event('disconnected'));
  }

  /** @internal error: why the connection gave up, if it did (AccessRefusedError) */
  _closed(info, error) {
    const prev = this.#state;
    this.#state = CLOSED;
    this.#closeError = error ?? null;
    if (this.#view) for (const o of this.#view.values()) o._markClosed();
    this.#view = null;
    if (prev === CONNECTED) this.dispatchEvent(new Event('disconnected'));
    if (info) this.dispatchEvent(makeEvent('websocketClose', info, info));
    this.dispatchEvent(error ? makeEvent('close', { error }, { error }) : new Event('close'));
  }

  /** @internal */
  _error(error) {
    this.dispatchEvent(makeEvent('error', { error }, { error, message: error?.message }));
  }

  /** @internal */
  _notification(method, params) {
    this.dispatchEvent(makeEvent('notification', { method, params }));
  }

  /** @internal */
  _objectCreated(rec) {
    const object = new RopeObject(this, rec);
    this.#view.set(rec.id, object);
    this.dispatchEvent(makeEvent('objectCreated', { object }));
  }

  /** @internal */
  _objectUpdated(rec, props, appData) {
    const object = this.#view.get(rec.id);
    if (!object) return;
    const detail = { object, props, appData };
    object.dispatchEvent(makeEvent('update', { props, appData }));
    this.dispatchEvent(makeEvent('objectUpdated', detail));
  }

  /** @internal */
  _objectClosed(id) {
    const object = this.#view.get(id);
    if (!object) return;
    this.#view.delete(id);
    object._markClosed();
    object.dispatchEvent(new Event('close'));
    this.dispatchEvent(makeEvent('objectClosed', { object }));
  }

  /** @internal */
  _objectEvent(id, event, data) {
    const object = this.#view.get(id);
    if (!object) return;
    if (typeof event === 'string') object.dispatchEvent(makeEvent(event, data));
    this.dispatchEvent(makeEvent('objectEvent', { object, event, data }));
  }
}

export default RopeClient;
