// Signalling over a plain WebSocket with JSON messages to an app server
// (examples/node-room), which alone talks ROPE to the media server: the
// deployment the trust model asks for (docs/lifetime-and-trust.md).
//
// Requests:      {"id": 1, "method": "join", "params": {...}}
// Responses:     {"id": 1, "result": ...} or {"id": 1, "error": "message"}
// Notifications: {"event": "producer", "data": {...}}, with the events of
//                the Signal interface (room.js), sent once the tab called
//                "start" (the server first sends the current state).

export class WsSignal extends EventTarget {
  /** @param {string} url the app server's WebSocket URL */
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function}>} */
    this.pending = new Map();
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async #open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot reach ${this.url}`)), { once: true });
    });
    ws.addEventListener('message', (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg.event) {
        this.#emit(msg.event, msg.data ?? {});
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(String(msg.error)));
      else p.resolve(msg.result);
    });
    ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('signalling connection closed'));
      this.pending.clear();
      this.#emit('closed', {});
    });
  }

  request(method, params = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async join(room, me) {
    await this.#open();
    return this.request('join', { room, ...me });
  }

  start() { this.request('start').catch(() => {}); }
  createTransport(direction) { return this.request('createTransport', { direction }); }
  async connect(transportId, dtlsParameters) { await this.request('connect', { transportId, dtlsParameters }); }
  async produce(transportId, { kind, rtpParameters, appData }) {
    return (await this.request('produce', { transportId, kind, rtpParameters, appData })).id;
  }
  async produceData(transportId, { sctpStreamParameters, label, protocol, appData }) {
    return (await this.request('produceData', { transportId, sctpStreamParameters, label, protocol, appData })).id;
  }
  consume(transportId, producerId, rtpCapabilities) { return this.request('consume', { transportId, producerId, rtpCapabilities }); }
  async resume(consumerId) { await this.request('resume', { consumerId }); }
  async setPreferredLayers(consumerId, layers) { await this.request('setPreferredLayers', { consumerId, ...layers }); }
  consumeData(transportId, dataProducerId) { return this.request('consumeData', { transportId, dataProducerId }); }

  /** Closing the socket is leaving: the app server closes this peer's transports. */
  async leave() { this.ws?.close(1000); }
}
