/**
 * RtpObserver, ActiveSpeakerObserver and AudioLevelObserver
 * (spec/media-v1.md §4.13, §4.14). Producer ids in events become Producer
 * objects, as mediasoup gives them.
 *
 * @module @ropehq/rope-client/mediasoup/rtpobserver
 */
import { MediaObject } from './base.js';

export class RtpObserver extends MediaObject {
  static closeEvents = ['routerclose'];
  static eventRoutes = { pause: 'observer', resume: 'observer', addproducer: 'observer', removeproducer: 'observer' };

  get paused() { return this._prop('paused') === true; }

  async pause() { await this._call('pause'); }
  async resume() { await this._call('resume'); }

  /** @param {{producerId: string}} options */
  async addProducer({ producerId } = {}) { await this._call('addProducer', { producerId }); }
  /** @param {{producerId: string}} options */
  async removeProducer({ producerId } = {}) { await this._call('removeProducer', { producerId }); }

  /** @internal The Producer of an event's producerId (a ROPE id). */
  _producerOf(id) { return this._session.objectById(id); }

  /** @internal */
  _eventArgs(name, data) {
    if (name === 'addproducer' || name === 'removeproducer') return [this._producerOf(data?.producerId)];
    return super._eventArgs(name, data);
  }
}

export class ActiveSpeakerObserver extends RtpObserver {
  static eventRoutes = { ...RtpObserver.eventRoutes, dominantspeaker: 'both' };

  /** @internal */
  _eventArgs(name, data) {
    if (name === 'dominantspeaker') return [{ producer: this._producerOf(data?.producerId) }];
    return super._eventArgs(name, data);
  }
}

export class AudioLevelObserver extends RtpObserver {
  static eventRoutes = { ...RtpObserver.eventRoutes, volumes: 'both', silence: 'both' };

  /** @internal */
  _eventArgs(name, data) {
    if (name === 'volumes') return [(data ?? []).map((v) => ({ producer: this._producerOf(v.producerId), volume: v.volume }))];
    return super._eventArgs(name, data);
  }
}
