// Signalling straight over ROPE to the media server (cmd/ropeserver's
// in-server demo): the room is DemoRooms.join's router; every other
// peer, producer and data producer is found in the mirror, which every
// connection shares (spec/media-v1.md §3.1.2). Transports, producers and
// data producers carry {peerId, name} in appData, so the other tabs know
// whose they are. See docs/browser-walkthrough.md.
import { RopeClient } from '../../ropeclient/js/src/index.js';

const transportTypes = new Set(['WebRtcTransport', 'PlainTransport', 'PipeTransport', 'DirectTransport']);

export class RopeSignal extends EventTarget {
  /** @param {string} url the server's ROPE URL @param {{token?: string}} [options] */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.token = options.token;
    this.client = null;
    this.router = null;
    this.speaker = null;
    this.me = null;
    /** @type {Map<string, Set<string>>} live transport ids by peer id */
    this.peerTransports = new Map();
    /** ids of the transports this tab created */
    this.mine = [];
  }

  async join(room, me) {
    this.me = me;
    this.client = new RopeClient(this.url, { token: this.token });
    await this.client.ready();
    const { routerId, activeSpeakerObserverId } = await this.client.call('demo', 'join', { room });
    this.router = this.client.object(routerId);
    this.speaker = this.client.object(activeSpeakerObserverId);
    return { rtpCapabilities: this.router.props.rtpCapabilities };
  }

  start() {
    const c = this.client;
    c.addEventListener('objectCreated', (e) => this.#created(e.detail.object));
    c.addEventListener('objectClosed', (e) => this.#closed(e.detail.object));
    c.addEventListener('close', () => this.#emit('closed', {}));
    this.speaker.addEventListener('dominantspeaker', (e) => this.#emit('speaker', { producerId: e.detail.producerId }));
    for (const o of c.objects) this.#created(o);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** The room's transport that holds o (o itself for a transport), if any. */
  #transportOf(o) {
    if (transportTypes.has(o.type)) return o.parent === this.router.id ? o : undefined;
    const t = o.parentObject;
    return t && transportTypes.has(t.type) && t.parent === this.router.id ? t : undefined;
  }

  #created(o) {
    const t = this.#transportOf(o);
    if (!t) return;
    const { peerId, name } = t.appData;
    if (typeof peerId !== 'string') return;
    if (o === t) {
      let set = this.peerTransports.get(peerId);
      if (!set) this.peerTransports.set(peerId, (set = new Set()));
      set.add(o.id);
      if (peerId !== this.me.peerId) this.#emit('peer', { peerId, name });
    } else if (o.type === 'Producer') {
      this.#emit('producer', { producerId: o.id, peerId, name, kind: o.props.kind, source: o.appData.source });
    } else if (o.type === 'DataProducer') {
      this.#emit('dataproducer', { dataProducerId: o.id, peerId, name, label: o.props.label });
    } else if (o.type === 'Consumer' && peerId === this.me.peerId) {
      o.addEventListener('layerschange', (e) => this.#emit('layers', { consumerId: o.id, spatialLayer: e.detail?.spatialLayer }));
    }
  }

  #closed(o) {
    if (o === this.router) {
      this.#emit('closed', {});
      return;
    }
    if (o.type === 'Producer') this.#emit('producerclose', { producerId: o.id });
    else if (o.type === 'DataProducer') this.#emit('dataproducerclose', { dataProducerId: o.id });
    else if (transportTypes.has(o.type)) {
      for (const [peerId, set] of this.peerTransports) {
        if (!set.delete(o.id) || set.size > 0) continue;
        this.peerTransports.delete(peerId);
        this.#emit('peerleft', { peerId });
      }
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
    const { id } = await this.client.call(transportId, 'produce', { kind, rtpParameters, appData: { ...appData, ...this.me } });
    if (kind === 'audio') await this.speaker.call('addProducer', { producerId: id });
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
