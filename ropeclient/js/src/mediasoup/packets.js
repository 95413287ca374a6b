/**
 * The packet-level APIs of DirectTransports over ROPE (spec/media-v1.md
 * §6.2): packets travel base64, one call each way in, and as the server's
 * "media.rtp" / "media.rtcp" notifications out, only to connections that
 * subscribed (while an 'rtp' or 'rtcp' listener is registered).
 *
 * @module @ropehq/rope-client/mediasoup/packets
 */

const NodeBuffer = globalThis.Buffer;

/** Base64 of bytes. */
export function toBase64(bytes) {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Bytes of base64: a Buffer on Node (as mediasoup gives), a Uint8Array elsewhere. */
export function fromBase64(b64) {
  if (NodeBuffer) return NodeBuffer.from(b64 ?? '', 'base64');
  const s = atob(b64 ?? '');
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Notification methods of the packet streams, by event name. */
export const packetNotifications = { rtp: 'media.rtp', rtcp: 'media.rtcp' };

/** Most packets a sender queues; more are dropped (as a full socket would). */
export const maxQueuedPackets = 1024;

/**
 * Sends packets one call after the other (the server may run concurrent
 * calls in any order), at most maxQueuedPackets waiting; a failure is
 * emitted as 'listenererror' (method, error) on the object's observer.
 */
export class PacketSender {
  #obj;
  #method;
  #chain = Promise.resolve();
  #queued = 0;

  /** @param {import('./base.js').MediaObject} obj @param {string} method */
  constructor(obj, method) {
    this.#obj = obj;
    this.#method = method;
  }

  /** @param {Uint8Array} packet @returns {boolean} false if dropped */
  send(packet) {
    if (!(packet instanceof Uint8Array)) throw new TypeError('packet must be a Buffer');
    if (this.#queued >= maxQueuedPackets) return false;
    this.#queued++;
    const params = { packet: toBase64(packet) };
    this.#chain = this.#chain
      .then(() => this.#obj._call(this.#method, params))
      .catch((error) => {
        try { this.#obj.observer.emit('listenererror', this.#method, error); } catch { /* no listener */ }
      })
      .finally(() => { this.#queued--; });
    return true;
  }
}

/**
 * Keeps the connection subscribed to an object's packets while it has a
 * listener for the event, and again after a reconnection.
 */
export class PacketSubscription {
  #obj;
  #event;
  #subscribe;
  #unsubscribe;
  #subscribed = false;
  #chain = Promise.resolve();

  /** @param {import('./base.js').MediaObject} obj @param {string} event @param {string} subscribe @param {string} unsubscribe */
  constructor(obj, event, subscribe, unsubscribe) {
    this.#obj = obj;
    this.#event = event;
    this.#subscribe = subscribe;
    this.#unsubscribe = unsubscribe;
  }

  /** Subscribes or unsubscribes to match the listeners. */
  sync() {
    const want = !this.#obj.closed && this.#obj.listenerCount(this.#event) > 0;
    if (want === this.#subscribed) return;
    this.#subscribed = want;
    this.#queue(want ? this.#subscribe : this.#unsubscribe);
  }

  /** Subscribes again on a new connection. */
  resubscribe() {
    if (this.#subscribed && !this.#obj.closed) this.#queue(this.#subscribe);
  }

  #queue(method) {
    this.#chain = this.#chain.then(() => this.#obj._call(method)).catch((error) => {
      if (this.#obj.closed) return;
      try { this.#obj.observer.emit('listenererror', method, error); } catch { /* no listener */ }
    });
  }
}
