// Signalling straight over ROPE to the media server (cmd/ropeserver's
// in-server demo). The page asks the demo's app part (POST join, next to
// the page) for the room: its router, its ActiveSpeakerObserver and, from
// a server that verifies tokens, a participant token, with which this
// connection sees that room only and may drive only its own transports,
// producers and consumers (ropeauth.Participant; docs/lifetime-and-trust.md).
// The other peers are found in the mirror from their producers and data
// producers, which carry {peerId, name} in appData; their transports stay
// hidden. See docs/browser-walkthrough.md.
import { RopeClient } from '../../ropeclient/js/src/index.js';

const transportTypes = new Set(['WebRtcTransport', 'PlainTransport', 'PipeTransport', 'DirectTransport']);
const onTransports = new Set(['Producer', 'Consumer', 'DataProducer', 'DataConsumer']);

export class RopeSignal extends EventTarget {
  /**
   * @param {string} url the server's ROPE URL
   * @param {{token?: string, joinUrl?: string}} [options] token: the server's -token, if any;
   *   joinUrl: the demo's join endpoint (default: "join" next to the page)
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.token = options.token;
    this.joinUrl = options.joinUrl ?? new URL('join', location.href).href;
    this.client = null;
    this.router = null;
    this.speaker = null;
    this.me = null;
    /** @type {Map<string, Set<string>>} live object ids (transports, producers, data producers) by peer id */
    this.peerObjects = new Map();
    /** ids of the transports this tab created */
    this.mine = [];
  }

  async join(room, me) {
    this.me = me;
    const res = await fetch(this.joinUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ room }),
    });
    if (!res.ok) throw new Error(`join: ${res.status} ${(await res.text()).trim()}`);
    const { routerId, activeSpeakerObserverId, token } = await res.json();
    this.client = new RopeClient(this.url, { token: token ?? this.token, shared: false });
    await this.client.ready();
    this.router = this.client.object(routerId);
    this.speaker = this.client.object(activeSpeakerObserverId);
    if (!this.router) throw new Error(`join: router ${routerId} not in view`);
    return { rtpCapabilities: this.router.props.rtpCapabilities };
  }

  start() {
    const c = this.client;
    c.addEventListener('objectCreated', (e) => this.#created(e.detail.object));
    c.addEventListener('objectClosed', (e) => this.#closed(e.detail.object));
    c.addEventListener('close', () => this.#emit('closed', {}));
    this.speaker?.addEventListener('dominantspeaker', (e) => this.#emit('speaker', { producerId: e.detail.producerId }));
    for (const o of c.objects) this.#created(o);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Whether o is in this room: a transport on the router, or an object on
   * one. Others' transports are not in a participant's view; its view
   * holds this room only, so an object whose transport is hidden is in it.
   */
  #inRoom(o) {
    if (transportTypes.has(o.type)) return o.parent === this.router.id;
    const t = o.parentObject;
    if (!t) return o.parent != null && onTransports.has(o.type);
    return transportTypes.has(t.type) && t.parent === this.router.id;
  }

  #created(o) {
    if (o === this.router || !this.#inRoom(o)) return;
    const { peerId, name } = o.appData ?? {};
    if (typeof peerId !== 'string') return;
    if (transportTypes.has(o.type) || o.type === 'Producer' || o.type === 'DataProducer') this.#peerObject(peerId, name, o.id);
    if (o.type === 'Producer') {
      this.#emit('producer', { producerId: o.id, peerId, name, kind: o.props.kind, source: o.appData.source });
    } else if (o.type === 'DataProducer') {
      this.#emit('dataproducer', { dataProducerId: o.id, peerId, name, label: o.props.label });
    } else if (o.type === 'Consumer' && peerId === this.me.peerId) {
      o.addEventListener('layerschange', (e) => this.#emit('layers', { consumerId: o.id, spatialLayer: e.detail?.spatialLayer }));
    }
  }

  /** Counts one of a peer's objects; its first announces the peer. */
  #peerObject(peerId, name, id) {
    let set = this.peerObjects.get(peerId);
    if (!set) this.peerObjects.set(peerId, (set = new Set()));
    const first = set.size === 0;
    set.add(id);
    if (first && peerId !== this.me.peerId) this.#emit('peer', { peerId, name });
  }

  #closed(o) {
    if (o === this.router) {
      this.#emit('closed', {});
      return;
    }
    if (o.type === 'Producer') this.#emit('producerclose', { producerId: o.id });
    else if (o.type === 'DataProducer') this.#emit('dataproducerclose', { dataProducerId: o.id });
    for (const [peerId, set] of this.peerObjects) {
      if (!set.delete(o.id) || set.size > 0) continue;
      this.peerObjects.delete(peerId);
      this.#emit('peerleft', { peerId });
    }
  }

  async createTransport(direction) {
    const { id } = await this.router.call('createWebRtcTransport', {
      enableSctp: true,
      numSctpStreams: { OS: 1024, MIS: 1024 },
      appData: { ...this.me, direction },
    });
    this.mine.push(id);
    const t = this.client.object(id);
    const { iceParameters, iceCandidates, dtlsParameters, sctpParameters } = t.props;
    return { id, iceParameters, iceCandidates, dtlsParameters, sctpParameters };
  }

  async connect(transportId, dtlsParameters) {
    await this.client.call(transportId, 'connect', { dtlsParameters });
  }

  async produce(transportId, { kind, rtpParameters, appData }) {
    // The room adds audio producers to its ActiveSpeakerObserver itself.
    const { id } = await this.client.call(transportId, 'produce', { kind, rtpParameters, appData: { ...appData, ...this.me } });
    return id;
  }

  async produceData(transportId, { sctpStreamParameters, label, protocol, appData }) {
    const { id } = await this.client.call(transportId, 'produceData', {
      sctpStreamParameters, label, protocol, appData: { ...appData, ...this.me },
    });
    return id;
  }

  async consume(transportId, producerId, rtpCapabilities) {
    const { id } = await this.client.call(transportId, 'consume', {
      producerId, rtpCapabilities, paused: true, appData: { ...this.me },
    });
    const c = this.client.object(id);
    return { id, producerId, kind: c.props.kind, rtpParameters: c.props.rtpParameters };
  }

  async resume(consumerId) {
    await this.client.call(consumerId, 'resume');
  }

  async setPreferredLayers(consumerId, layers) {
    await this.client.call(consumerId, 'setPreferredLayers', layers);
  }

  async consumeData(transportId, dataProducerId) {
    const { id } = await this.client.call(transportId, 'consumeData', { dataProducerId, appData: { ...this.me } });
    const d = this.client.object(id);
    const { sctpStreamParameters, label, protocol } = d.props;
    return { id, dataProducerId, sctpStreamParameters, label, protocol };
  }

  /** Closes this tab's transports on the server (and so its producers and consumers), then the connection. */
  async leave() {
    const c = this.client;
    if (!c) return;
    await Promise.allSettled(this.mine.map((id) => c.call(id, 'close')));
    c.close();
  }
}
