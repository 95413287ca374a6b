// The room's media logic, the same whatever the signalling: mediasoup-client
// (Device, one send and one receive transport) driven through a Signal
// (signal-rope.js talks ROPE to the media server; signal-ws.js talks JSON
// to an app server). It sends the camera (simulcast) and the microphone,
// opens a "chat" data channel, and consumes everyone else's.
//
// Signal interface (an EventTarget):
//   join(room, {peerId, name}) → {rtpCapabilities}
//   start()                       then emits the current state, then changes:
//     'peer' {peerId, name}, 'peerleft' {peerId},
//     'producer' {producerId, peerId, name, kind, source},
//     'producerclose' {producerId},
//     'dataproducer' {dataProducerId, peerId, name, label},
//     'dataproducerclose' {dataProducerId},
//     'speaker' {peerId}, 'layers' {consumerId, spatialLayer},
//     'closed' (the room or the connection ended)
//   createTransport(direction) → {id, iceParameters, iceCandidates, dtlsParameters, sctpParameters}
//   connect(transportId, dtlsParameters)
//   produce(transportId, {kind, rtpParameters, appData}) → producerId
//   produceData(transportId, {sctpStreamParameters, label, protocol, appData}) → dataProducerId
//   consume(transportId, producerId, rtpCapabilities) → {id, producerId, kind, rtpParameters}
//   resume(consumerId)
//   setPreferredLayers(consumerId, {spatialLayer})
//   consumeData(transportId, dataProducerId) → {id, dataProducerId, sctpStreamParameters, label, protocol}
//   leave()
import { Device } from 'mediasoup-client';

/** Simulcast encodings (mediasoup-client gives them rids r0, r1, r2). */
const SIMULCAST = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

/** A random id for this tab. */
export function newPeerId() {
  return globalThis.crypto?.randomUUID?.() ?? `p${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}

/**
 * One tab's presence in a room. UI events (CustomEvent detail):
 * 'peer' {peerId, name}, 'peerleft' {peerId}, 'track' {peerId, kind, track, consumer},
 * 'trackended' {peerId, kind}, 'chat' {peerId, name, text, own}, 'speaker' {peerId},
 * 'layers' {peerId, spatialLayer}, 'closed'.
 */
export class Room extends EventTarget {
  /**
   * @param {EventTarget & Record<string, Function>} signal
   * @param {{peerId?: string, name: string, width?: number, height?: number, simulcast?: boolean}} me
   */
  constructor(signal, me) {
    super();
    this.signal = signal;
    this.peerId = me.peerId ?? newPeerId();
    this.name = me.name;
    this.width = me.width ?? 640;
    this.height = me.height ?? 360;
    this.simulcast = me.simulcast ?? true;
    this.device = null;
    this.sendTransport = null;
    this.recvTransport = null;
    this.localStream = null;
    this.chatProducer = null;
    /** @type {Map<string, {peerId: string, name: string}>} */
    this.peers = new Map();
    /** @type {Map<string, {consumer: any, peerId: string, kind: string}>} by producer id */
    this.consumers = new Map();
    /** @type {Map<string, any>} data consumers by data producer id */
    this.dataConsumers = new Map();
    /** producer id → peer id, for 'speaker' */
    this.producerPeers = new Map();
    this.closed = false;
    // Consumes run one at a time, in the order the producers appear.
    this.queue = Promise.resolve();
  }

  /** Joins: loads the device, sends camera, microphone and chat, consumes everyone. */
  async join(roomName) {
    const s = this.signal;
    const { rtpCapabilities } = await s.join(roomName, { peerId: this.peerId, name: this.name });
    this.device = new Device();
    await this.device.load({ routerRtpCapabilities: rtpCapabilities });
    this.sendTransport = await this.#transport('send');
    this.recvTransport = await this.#transport('recv');
    this.#listen();
    this.localStream = await navigator.mediaDevices.getUserMedia({
      audio: true, video: { width: this.width, height: this.height },
    });
    const [video] = this.localStream.getVideoTracks();
    const [audio] = this.localStream.getAudioTracks();
    await this.sendTransport.produce({
      track: video, appData: { source: 'cam' },
      ...(this.simulcast ? { encodings: SIMULCAST } : {}),
    });
    await this.sendTransport.produce({ track: audio, appData: { source: 'mic' } });
    this.chatProducer = await this.sendTransport.produceData({ label: 'chat', ordered: true, appData: { source: 'chat' } });
    s.start();
  }

  /** Sends a chat line to everyone (and shows it here). */
  chat(text) {
    if (!this.chatProducer || this.chatProducer.readyState !== 'open') throw new Error('chat channel not open');
    this.chatProducer.send(JSON.stringify({ peerId: this.peerId, name: this.name, text }));
    this.#emit('chat', { peerId: this.peerId, name: this.name, text, own: true });
  }

  /** Asks for a peer's lower (0) or higher simulcast layer. */
  async preferLayer(peerId, spatialLayer) {
    for (const c of this.consumers.values()) {
      if (c.peerId === peerId && c.kind === 'video') await this.signal.setPreferredLayers(c.consumer.id, { spatialLayer });
    }
  }

  /** Leaves: closes the transports here and on the server. */
  async leave() {
    if (this.closed) return;
    this.closed = true;
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.sendTransport?.close();
    this.recvTransport?.close();
    await this.signal.leave();
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Creates a transport here and on the server and wires its events to the signal. */
  async #transport(direction) {
    const s = this.signal;
    const opts = await s.createTransport(direction);
    const t = direction === 'send' ? this.device.createSendTransport(opts) : this.device.createRecvTransport(opts);
    t.on('connect', ({ dtlsParameters }, ok, fail) => s.connect(t.id, dtlsParameters).then(ok, fail));
    t.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      s.produce(t.id, { kind, rtpParameters, appData }).then((id) => ok({ id }), fail);
    });
    t.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, ok, fail) => {
      s.produceData(t.id, { sctpStreamParameters, label, protocol, appData }).then((id) => ok({ id }), fail);
    });
    return t;
  }

  #listen() {
    const s = this.signal;
    s.addEventListener('peer', (e) => {
      const { peerId, name } = e.detail;
      if (peerId === this.peerId || this.peers.has(peerId)) return;
      this.peers.set(peerId, { peerId, name });
      this.#emit('peer', { peerId, name });
    });
    s.addEventListener('peerleft', (e) => {
      if (this.peers.delete(e.detail.peerId)) this.#emit('peerleft', { peerId: e.detail.peerId });
    });
    s.addEventListener('producer', (e) => {
      const p = e.detail;
      this.producerPeers.set(p.producerId, p.peerId);
      if (p.peerId === this.peerId) return;
      this.#enqueue(() => this.#consume(p));
    });
    s.addEventListener('producerclose', (e) => {
      const c = this.consumers.get(e.detail.producerId);
      if (!c) return;
      this.consumers.delete(e.detail.producerId);
      c.consumer.close();
      this.#emit('trackended', { peerId: c.peerId, kind: c.kind });
    });
    s.addEventListener('dataproducer', (e) => {
      const d = e.detail;
      if (d.peerId === this.peerId || d.label !== 'chat') return;
      this.#enqueue(() => this.#consumeData(d));
    });
    s.addEventListener('dataproducerclose', (e) => {
      this.dataConsumers.get(e.detail.dataProducerId)?.close();
      this.dataConsumers.delete(e.detail.dataProducerId);
    });
    s.addEventListener('speaker', (e) => {
      const peerId = e.detail.peerId ?? this.producerPeers.get(e.detail.producerId);
      if (peerId) this.#emit('speaker', { peerId });
    });
    s.addEventListener('layers', (e) => {
      for (const c of this.consumers.values()) {
        if (c.consumer.id === e.detail.consumerId) this.#emit('layers', { peerId: c.peerId, spatialLayer: e.detail.spatialLayer });
      }
    });
    s.addEventListener('closed', () => {
      if (this.closed) return;
      this.closed = true;
      this.#emit('closed', {});
    });
  }

  #enqueue(fn) {
    this.queue = this.queue.then(fn).catch((err) => console.error('room:', err));
  }

  async #consume(p) {
    if (this.closed || this.consumers.has(p.producerId)) return;
    const info = await this.signal.consume(this.recvTransport.id, p.producerId, this.device.rtpCapabilities);
    const consumer = await this.recvTransport.consume({
      id: info.id, producerId: info.producerId, kind: info.kind, rtpParameters: info.rtpParameters,
    });
    this.consumers.set(p.producerId, { consumer, peerId: p.peerId, kind: info.kind });
    if (!this.peers.has(p.peerId)) {
      this.peers.set(p.peerId, { peerId: p.peerId, name: p.name });
      this.#emit('peer', { peerId: p.peerId, name: p.name });
    }
    this.#emit('track', { peerId: p.peerId, kind: info.kind, track: consumer.track, consumer });
    await this.signal.resume(info.id);
  }

  async #consumeData(d) {
    if (this.closed || this.dataConsumers.has(d.dataProducerId)) return;
    const info = await this.signal.consumeData(this.recvTransport.id, d.dataProducerId);
    const dc = await this.recvTransport.consumeData({
      id: info.id, dataProducerId: info.dataProducerId, sctpStreamParameters: info.sctpStreamParameters,
      label: info.label, protocol: info.protocol,
    });
    this.dataConsumers.set(d.dataProducerId, dc);
    dc.on('message', (m) => {
      let msg;
      try {
        msg = JSON.parse(typeof m === 'string' ? m : new TextDecoder().decode(m));
      } catch {
        return;
      }
      if (typeof msg?.text !== 'string') return;
      this.#emit('chat', { peerId: d.peerId, name: String(msg.name ?? d.name), text: msg.text, own: false });
    });
  }
}
