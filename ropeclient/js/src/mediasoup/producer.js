/**
 * Producer and Consumer (spec/media-v1.md §4.9, §4.10).
 *
 * @module @ropehq/rope-client/mediasoup/producer
 */
import { MediaObject } from './base.js';
import { PacketSender, PacketSubscription, fromBase64 } from './packets.js';
import { checkTraceTypes } from './transport.js';

export class Producer extends MediaObject {
  static closeEvents = ['transportclose'];
  static eventRoutes = {
    score: 'both', videoorientationchange: 'both', trace: 'both', pause: 'observer', resume: 'observer',
  };

  /** The producer's id (its media id: a piped producer keeps its id). */
  get id() { return this._prop('id') ?? this._ropeId; }
  get kind() { return this._prop('kind'); }
  get rtpParameters() { return this._prop('rtpParameters'); }
  /** "simple", "simulcast", "svc" or "pipe". */
  get type() { return this._prop('type'); }
  get consumableRtpParameters() { return this._prop('consumableRtpParameters'); }
  get paused() { return this._prop('paused') === true; }
  get score() { return this._prop('score') ?? []; }

  /** @returns {Promise<object>} ProducerDump */
  dump() { return this._call('dump'); }
  /** @returns {Promise<object[]>} ProducerStat[] */
  getStats() { return this._call('getStats'); }
  async pause() { await this._call('pause'); }
  async resume() { await this._call('resume'); }

  /** @param {string[]} [types] "rtp", "keyframe", "nack", "pli", "fir", "sr" */
  async enableTraceEvent(types = []) {
    checkTraceTypes(types);
    await this._call('enableTraceEvent', { types });
  }

  #sender = new PacketSender(this, 'send');

  /**
   * Injects an RTP packet (producers of a DirectTransport). Returns at
   * once, as mediasoup's; packets go one call after the other, at most
   * 1024 waiting (more are dropped), and a failure is emitted as
   * 'listenererror' ('send', error) on the observer.
   * @param {Uint8Array} rtpPacket
   */
  send(rtpPacket) { this.#sender.send(rtpPacket); }
}

export class Consumer extends MediaObject {
  static closeEvents = ['transportclose', 'producerclose'];
  static eventRoutes = { score: 'both', layerschange: 'both', trace: 'both' };

  /** 'rtp' (Buffer) listeners subscribe this connection to the consumer's RTP (DirectTransport consumers). */
  #rtp = new PacketSubscription(this, 'rtp', 'subscribeRtp', 'unsubscribeRtp');

  /** @internal */
  _listenersChanged(name) {
    if (name === undefined || name === 'rtp') this.#rtp?.sync();
  }

  /** @internal A packet notification of this object. */
  _onPacket(event, packet) {
    if (event === 'rtp' && !this.closed) this.safeEmit('rtp', fromBase64(packet));
  }

  /** @internal The connection was made again. */
  _resubscribe() { this.#rtp.resubscribe(); }

  get producerId() { return this._prop('producerId'); }
  get kind() { return this._prop('kind'); }
  get rtpParameters() { return this._prop('rtpParameters'); }
  /** "simple", "simulcast", "svc" or "pipe". */
  get type() { return this._prop('type'); }
  get paused() { return this._prop('paused') === true; }
  get producerPaused() { return this._prop('producerPaused') === true; }
  get priority() { return this._prop('priority'); }
  get score() { return this._prop('score'); }
  get preferredLayers() { return layers(this._prop('preferredLayers')); }
  get currentLayers() { return layers(this._prop('currentLayers')); }

  /** @returns {Promise<object>} ConsumerDump */
  dump() { return this._call('dump'); }
  /** @returns {Promise<object[]>} the consumer's and its producer's stats */
  getStats() { return this._call('getStats'); }
  async pause() { await this._call('pause'); }
  async resume() { await this._call('resume'); }

  /** @param {{spatialLayer: number, temporalLayer?: number}} layers */
  async setPreferredLayers({ spatialLayer, temporalLayer } = {}) {
    if (typeof spatialLayer !== 'number') throw new TypeError('spatialLayer must be a number');
    if (temporalLayer && typeof temporalLayer !== 'number') throw new TypeError('if given, temporalLayer must be a number');
    await this._call('setPreferredLayers', temporalLayer === undefined ? { spatialLayer } : { spatialLayer, temporalLayer });
  }

  /** @param {number} priority */
  async setPriority(priority) {
    if (typeof priority !== 'number' || priority < 0) throw new TypeError('priority must be a positive number');
    await this._call('setPriority', { priority });
  }

  async unsetPriority() { await this._call('unsetPriority'); }
  async requestKeyFrame() { await this._call('requestKeyFrame'); }

  /** @param {string[]} [types] "rtp", "keyframe", "nack", "pli", "fir" */
  async enableTraceEvent(types = []) {
    checkTraceTypes(types);
    await this._call('enableTraceEvent', { types });
  }

  /** @internal mediasoup's observer 'pause'/'resume': when the effective state changes. */
  _event(name, data) {
    switch (name) {
      case 'pause':
      case 'resume':
        if (!this.producerPaused) this.observer.safeEmit(name);
        return;
      case 'producerpause':
      case 'producerresume':
        this.safeEmit(name);
        if (!this.paused) this.observer.safeEmit(name === 'producerpause' ? 'pause' : 'resume');
        return;
      default:
        super._event(name, data);
    }
  }

  /** @internal */
  _eventArgs(name, data) {
    if (name === 'layerschange') return [layers(data)];
    return super._eventArgs(name, data);
  }
}

/** Consumer layers as mediasoup gives them (undefined when none). */
function layers(l) {
  if (!l) return undefined;
  return l.temporalLayer === undefined || l.temporalLayer === null
    ? { spatialLayer: l.spatialLayer }
    : { spatialLayer: l.spatialLayer, temporalLayer: l.temporalLayer };
}
