/**
 * The transports: WebRtcTransport, PlainTransport, PipeTransport and
 * DirectTransport (spec/media-v1.md §4.4–4.8), on one Transport base with
 * produce, consume, produceData, consumeData and the bitrate and trace calls.
 *
 * @module @ropehq/rope-client/mediasoup/transport
 */
import { MediaObject, checkAppData, defined } from './base.js';
import { UnsupportedError } from './errors.js';
import { PacketSender, PacketSubscription, fromBase64 } from './packets.js';

/** mediasoup's check of enableTraceEvent's types. */
export function checkTraceTypes(types) {
  if (!Array.isArray(types)) throw new TypeError('types must be an array');
  if (types.find((t) => typeof t !== 'string')) throw new TypeError('every type must be a string');
}

/** mediasoup's validateSctpStreamParameters. */
function checkSctpStreamParameters(p) {
  if (typeof p !== 'object' || p === null) throw new TypeError('params is not an object');
  if (typeof p.streamId !== 'number') throw new TypeError('missing params.streamId');
  const orderedGiven = p.ordered !== undefined;
  if (orderedGiven && typeof p.ordered !== 'boolean') throw new TypeError('wrong ordered');
  if (p.maxPacketLifeTime !== undefined && typeof p.maxPacketLifeTime !== 'number') throw new TypeError('invalid params.maxPacketLifeTime');
  if (p.maxRetransmits !== undefined && typeof p.maxRetransmits !== 'number') throw new TypeError('invalid params.maxRetransmits');
  if (p.maxPacketLifeTime !== undefined && p.maxRetransmits !== undefined) {
    throw new TypeError('cannot provide both maxPacketLifeTime and maxRetransmits');
  }
  if (orderedGiven && p.ordered && (p.maxPacketLifeTime !== undefined || p.maxRetransmits !== undefined)) {
    throw new TypeError('cannot be ordered with maxPacketLifeTime or maxRetransmits');
  }
}

/** A transport's sctpState: undefined without SCTP, "closed" once closed (as mediasoup's). */
function sctpState(t) {
  const state = t._prop('sctpState') || undefined;
  return state && t.closed ? 'closed' : state;
}

export class Transport extends MediaObject {
  static closeEvents = ['routerclose'];
  static childCloseEvent = 'transportclose';
  static childOrder = ['Producer', 'Consumer', 'DataProducer', 'DataConsumer'];
  static eventRoutes = { trace: 'both' };

  /** @returns {Promise<object>} the transport's dump */
  dump() { return this._call('dump'); }
  /** @returns {Promise<object[]>} the transport's stats */
  getStats() { return this._call('getStats'); }

  /** @param {number} bitrate */
  async setMaxIncomingBitrate(bitrate) { await this._call('setMaxIncomingBitrate', { bitrate }); }
  /** @param {number} bitrate */
  async setMaxOutgoingBitrate(bitrate) { await this._call('setMaxOutgoingBitrate', { bitrate }); }
  /** @param {number} bitrate */
  async setMinOutgoingBitrate(bitrate) { await this._call('setMinOutgoingBitrate', { bitrate }); }

  /** @param {string[]} [types] "probation", "bwe" */
  async enableTraceEvent(types = []) {
    checkTraceTypes(types);
    await this._call('enableTraceEvent', { types });
  }

  /** @param {object} options ProducerOptions ({id, kind, rtpParameters, paused, keyFrameRequestDelay, appData}) */
  async produce(options = {}) {
    const { id, kind, rtpParameters, paused, keyFrameRequestDelay, appData } = options ?? {};
    if (!['audio', 'video'].includes(kind)) throw new TypeError(`invalid kind "${kind}"`);
    checkAppData(appData);
    if (typeof rtpParameters !== 'object' || rtpParameters === null) throw new TypeError('missing rtpParameters');
    return this._create('produce', defined({ id, kind, rtpParameters, paused, keyFrameRequestDelay, appData }), appData);
  }

  /** @param {object} options ConsumerOptions ({producerId, rtpCapabilities, paused, mid, preferredLayers, ignoreDtx, enableRtx, pipe, appData}) */
  async consume(options = {}) {
    const { producerId, mid, appData } = options ?? {};
    if (!producerId || typeof producerId !== 'string') throw new TypeError('missing producerId');
    checkAppData(appData);
    if (mid && (typeof mid !== 'string' || mid.length === 0)) throw new TypeError('if given, mid must be non empty string');
    if (typeof options.rtpCapabilities !== 'object' || options.rtpCapabilities === null) throw new TypeError('caps is not an object');
    return this._create('consume', defined({ ...options }), appData);
  }

  /** @param {object} [options] DataProducerOptions ({id, sctpStreamParameters, label, protocol, paused, appData}) */
  async produceData(options = {}) {
    const { appData, sctpStreamParameters } = options ?? {};
    checkAppData(appData);
    if (sctpStreamParameters !== undefined) checkSctpStreamParameters(sctpStreamParameters);
    return this._create('produceData', defined({ ...options }), appData);
  }

  /** @param {object} options DataConsumerOptions ({dataProducerId, ordered, maxPacketLifeTime, maxRetransmits, paused, subchannels, appData}) */
  async consumeData(options = {}) {
    const { dataProducerId, appData } = options ?? {};
    if (!dataProducerId || typeof dataProducerId !== 'string') throw new TypeError('missing dataProducerId');
    checkAppData(appData);
    return this._create('consumeData', defined({ ...options }), appData);
  }

  /** @param {object} params the kind's connect parameters */
  async connect(params = {}) {
    await this._call('connect', defined({ ...params }));
  }
}

export class WebRtcTransport extends Transport {
  static closeEvents = ['routerclose', 'listenserverclose'];
  static eventRoutes = {
    trace: 'both', icestatechange: 'both', iceselectedtuplechange: 'both', dtlsstatechange: 'both', sctpstatechange: 'both',
  };

  /** @internal The WebRtcServer the transport uses, if known. */
  _webRtcServer = undefined;

  /** Always "controlled" (ICE-lite). */
  get iceRole() { return this._prop('iceRole'); }
  get iceParameters() { return this._prop('iceParameters'); }
  get iceCandidates() { return this._prop('iceCandidates'); }
  /** "closed" once closed, as mediasoup's (the mirror keeps the last published state). */
  get iceState() { return this.closed ? 'closed' : this._prop('iceState'); }
  /** undefined once closed, as mediasoup's. */
  get iceSelectedTuple() { return this.closed ? undefined : this._prop('iceSelectedTuple'); }
  get dtlsParameters() { return this._prop('dtlsParameters'); }
  /** "closed" once closed, as mediasoup's. */
  get dtlsState() { return this.closed ? 'closed' : this._prop('dtlsState'); }
  get dtlsRemoteCert() { return this._prop('dtlsRemoteCert') || undefined; }
  get sctpParameters() { return this._prop('sctpParameters'); }
  get sctpState() { return sctpState(this); }

  /** @param {{dtlsParameters: object}} params */
  async connect({ dtlsParameters } = {}) {
    await this._call('connect', defined({ dtlsParameters }));
  }

  /** @returns {Promise<object>} the new IceParameters */
  restartIce() { return this._call('restartIce'); }

  /** @internal */
  _afterClose() { this._webRtcServer?._unhandled(this); }
}

export class PlainTransport extends Transport {
  static eventRoutes = { trace: 'both', tuple: 'both', rtcptuple: 'both', sctpstatechange: 'both' };

  get tuple() { return this._prop('tuple'); }
  get rtcpTuple() { return this._prop('rtcpTuple'); }
  get sctpParameters() { return this._prop('sctpParameters'); }
  get sctpState() { return sctpState(this); }
  get srtpParameters() { return this._prop('srtpParameters'); }

  /** @param {{ip?: string, port?: number, rtcpPort?: number, srtpParameters?: object}} [params] */
  async connect({ ip, port, rtcpPort, srtpParameters } = {}) {
    await this._call('connect', defined({ ip, port, rtcpPort, srtpParameters }));
  }
}

export class PipeTransport extends Transport {
  static eventRoutes = { trace: 'both', sctpstatechange: 'both' };

  get tuple() { return this._prop('tuple'); }
  get sctpParameters() { return this._prop('sctpParameters'); }
  get sctpState() { return sctpState(this); }
  get srtpParameters() { return this._prop('srtpParameters'); }

  /** @param {{ip: string, port: number, srtpParameters?: object}} params */
  async connect({ ip, port, srtpParameters } = {}) {
    await this._call('connect', defined({ ip, port, srtpParameters }));
  }
}

export class DirectTransport extends Transport {
  /** Nothing to connect: resolves at once, as in mediasoup. */
  async connect() {}

  async setMaxIncomingBitrate() { throw new UnsupportedError('setMaxIncomingBitrate() not implemented in DirectTransport'); }
  async setMaxOutgoingBitrate() { throw new UnsupportedError('setMaxOutgoingBitrate() not implemented in DirectTransport'); }
  async setMinOutgoingBitrate() { throw new UnsupportedError('setMinOutgoingBitrate() not implemented in DirectTransport'); }

  #sender = new PacketSender(this, 'sendRtcp');
  /** 'rtcp' (Buffer) listeners subscribe this connection to the transport's RTCP. */
  #rtcp = new PacketSubscription(this, 'rtcp', 'subscribeRtcp', 'unsubscribeRtcp');

  /**
   * Hands an RTCP packet to the transport as if its remote side sent it.
   * Returns at once; packets go one call after the other, at most 1024
   * waiting, and a failure is emitted as 'listenererror' ('sendRtcp',
   * error) on the observer.
   * @param {Uint8Array} rtcpPacket
   */
  sendRtcp(rtcpPacket) { this.#sender.send(rtcpPacket); }

  /** @internal */
  _listenersChanged(name) {
    if (name === undefined || name === 'rtcp') this.#rtcp?.sync();
  }

  /** @internal A packet notification of this object. */
  _onPacket(event, packet) {
    if (event === 'rtcp' && !this.closed) this.safeEmit('rtcp', fromBase64(packet));
  }

  /** @internal The connection was made again. */
  _resubscribe() { this.#rtcp.resubscribe(); }
}
