/**
 * Router: a remote mediasoup router (spec/media-v1.md §4.3).
 *
 * @module @ropehq/rope-client/mediasoup/router
 */
import { MediaObject, checkAppData, copyJson, defined } from './base.js';
import { canConsume } from './ortc.js';
import { WebRtcServer } from './worker.js';

const transportTypes = ['WebRtcTransport', 'PlainTransport', 'PipeTransport', 'DirectTransport'];

/** mediasoup's deprecated listenIp (string or {ip, announcedIp}) as a listenInfo. */
function listenIpToInfo(listenIp, port, protocol = 'udp') {
  const ip = typeof listenIp === 'string' ? { ip: listenIp } : listenIp;
  return defined({ protocol, ip: ip?.ip, announcedAddress: ip?.announcedIp, port });
}

/** The listenInfo of createPlainTransport and createPipeTransport, as mediasoup derives it. */
function singleListenInfo(listenInfo, listenIp, port) {
  if (!listenInfo && !listenIp) throw new TypeError('missing listenInfo and listenIp (one of them is mandatory)');
  if (listenInfo && listenIp) throw new TypeError('only one of listenInfo and listenIp must be given');
  return listenInfo ?? listenIpToInfo(listenIp, port);
}

export class Router extends MediaObject {
  static closeEvents = ['workerclose'];
  static childCloseEvent = 'routerclose';
  static childOrder = [...transportTypes, 'ActiveSpeakerObserver', 'AudioLevelObserver'];

  /** The router's RTP capabilities (for mediasoup-client's device.load()). */
  get rtpCapabilities() { return this._prop('rtpCapabilities'); }

  /** @internal Live transports, for tests. */
  get transportsForTesting() {
    return new Map(this._session.childrenOf(this._ropeId).filter((c) => transportTypes.includes(c._ropeType)).map((t) => [t.id, t]));
  }

  /** @returns {Promise<object>} RouterDump */
  dump() { return this._call('dump'); }

  /** @param {object} options WebRtcTransportOptions (webRtcServer, listenInfos or the deprecated listenIps, …) */
  async createWebRtcTransport(options = {}) {
    const { webRtcServer, listenInfos, listenIps, port, appData, ...rest } = options ?? {};
    if (!webRtcServer && !Array.isArray(listenInfos) && !Array.isArray(listenIps)) {
      throw new TypeError('missing webRtcServer, listenInfos and listenIps (one of them is mandatory)');
    } else if (webRtcServer && listenInfos && listenIps) {
      throw new TypeError('only one of webRtcServer, listenInfos and listenIps must be given');
    } else if (rest.numSctpStreams && (typeof rest.numSctpStreams.OS !== 'number' || typeof rest.numSctpStreams.MIS !== 'number')) {
      throw new TypeError('if given, numSctpStreams must contain OS and MIS');
    }
    checkAppData(appData);
    const params = { ...rest };
    if (webRtcServer) {
      if (!(webRtcServer instanceof WebRtcServer) || webRtcServer._session !== this._session) {
        throw new TypeError('webRtcServer is not a WebRtcServer of this connection');
      }
      params.webRtcServerId = webRtcServer._ropeId;
    } else if (listenInfos) {
      params.listenInfos = listenInfos;
    } else {
      const { enableUdp = true, enableTcp = false, preferUdp = false, preferTcp = false } = rest;
      const protocols = [];
      if (enableUdp && (preferUdp || !enableTcp || !preferTcp)) {
        protocols.push('udp');
        if (enableTcp) protocols.push('tcp');
      } else if (enableTcp && ((preferTcp && !preferUdp) || !enableUdp)) {
        protocols.push('tcp');
        if (enableUdp) protocols.push('udp');
      }
      params.listenInfos = listenIps.flatMap((ip) => protocols.map((p) => listenIpToInfo(ip, port, p)));
    }
    if (appData !== undefined) params.appData = appData;
    return this._create('createWebRtcTransport', params, appData);
  }

  /** @param {object} options PlainTransportOptions (listenInfo or the deprecated listenIp, …) */
  async createPlainTransport(options = {}) {
    const { listenInfo, listenIp, port, appData, ...rest } = options ?? {};
    const info = singleListenInfo(listenInfo, listenIp, port);
    checkAppData(appData);
    const params = { ...rest, listenInfo: info };
    if (params.rtcpMux !== false && params.rtcpListenInfo) params.rtcpMux = false; // as mediasoup: rtcpListenInfo wins
    if (appData !== undefined) params.appData = appData;
    return this._create('createPlainTransport', params, appData);
  }

  /** @param {object} options PipeTransportOptions (listenInfo or the deprecated listenIp, …) */
  async createPipeTransport(options = {}) {
    const { listenInfo, listenIp, port, appData, ...rest } = options ?? {};
    const info = singleListenInfo(listenInfo, listenIp, port);
    checkAppData(appData);
    const params = { ...rest, listenInfo: info };
    if (appData !== undefined) params.appData = appData;
    return this._create('createPipeTransport', params, appData);
  }

  /** @param {{maxMessageSize?: number, appData?: object}} [options] */
  async createDirectTransport({ maxMessageSize = 262144, appData } = { maxMessageSize: 262144 }) {
    if (typeof maxMessageSize !== 'number' || maxMessageSize < 0) {
      throw new TypeError('if given, maxMessageSize must be a positive number');
    }
    checkAppData(appData);
    return this._create('createDirectTransport', defined({ maxMessageSize, appData }), appData);
  }

  /** @param {{interval?: number, appData?: object}} [options] */
  async createActiveSpeakerObserver({ interval = 300, appData } = {}) {
    if (typeof interval !== 'number') throw new TypeError('if given, interval must be an number');
    checkAppData(appData);
    return this._create('createActiveSpeakerObserver', defined({ interval, appData }), appData);
  }

  /** @param {{maxEntries?: number, threshold?: number, interval?: number, appData?: object}} [options] */
  async createAudioLevelObserver({ maxEntries = 1, threshold = -80, interval = 1000, appData } = {}) {
    if (typeof maxEntries !== 'number' || maxEntries <= 0) {
      throw new TypeError('if given, maxEntries must be a positive number');
    } else if (typeof threshold !== 'number' || threshold < -127 || threshold > 0) {
      throw new TypeError('if given, threshole must be a negative number greater than -127');
    } else if (typeof interval !== 'number') {
      throw new TypeError('if given, interval must be an number');
    }
    checkAppData(appData);
    return this._create('createAudioLevelObserver', defined({ maxEntries, threshold, interval, appData }), appData);
  }

  /**
   * Pipes a producer or data producer of this router into another router of
   * the same server.
   * @param {object} options PipeToRouterOptions ({producerId | dataProducerId, router, listenInfo, …})
   * @returns {Promise<{pipeConsumer?: any, pipeProducer?: any, pipeDataConsumer?: any, pipeDataProducer?: any}>}
   */
  async pipeToRouter(options = {}) {
    const { producerId, dataProducerId, router, listenInfo, listenIp, ...rest } = options ?? {};
    if (listenInfo && listenIp) throw new TypeError('only one of listenInfo and listenIp must be given');
    else if (!producerId && !dataProducerId) throw new TypeError('missing producerId or dataProducerId');
    else if (producerId && dataProducerId) throw new TypeError('just producerId or dataProducerId can be given');
    else if (!router) throw new TypeError('Router not found');
    else if (router === this) throw new TypeError('cannot use this Router as destination');
    else if (!(router instanceof Router) || router._session !== this._session) {
      throw new TypeError('router is not a Router of this connection');
    }
    const params = defined({
      ...rest,
      producerId,
      dataProducerId,
      routerId: router._ropeId,
      listenInfo: listenInfo ?? (listenIp ? listenIpToInfo(listenIp) : { protocol: 'udp', ip: '127.0.0.1' }),
    });
    const res = await this._call('pipeToRouter', params);
    const s = this._session;
    const get = (id) => (id ? s.objectById(id) : undefined);
    return defined({
      pipeConsumer: get(res?.pipeConsumerId),
      pipeProducer: get(res?.pipeProducerId),
      pipeDataConsumer: get(res?.pipeDataConsumerId),
      pipeDataProducer: get(res?.pipeDataProducerId),
    });
  }

  /**
   * Whether the given RTP capabilities can consume the producer: computed
   * here, synchronously as in mediasoup, from the producer's
   * consumableRtpParameters in the mirror.
   * @param {{producerId: string, rtpCapabilities: object}} options
   */
  canConsume({ producerId, rtpCapabilities } = {}) {
    const producer = this._producer(producerId);
    if (!producer) return false;
    try {
      return canConsume(producer.consumableRtpParameters, copyJson(rtpCapabilities));
    } catch {
      return false;
    }
  }

  /** @internal The live producer of this router with that media id. */
  _producer(producerId) {
    const s = this._session;
    for (const t of s.childrenOf(this._ropeId)) {
      if (!transportTypes.includes(t._ropeType)) continue;
      for (const p of s.childrenOf(t._ropeId)) {
        if (p._ropeType === 'Producer' && p.id === producerId && !p.closed) return p;
      }
    }
    return undefined;
  }
}
