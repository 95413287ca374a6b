/**
 * DataProducer and DataConsumer (spec/media-v1.md §4.11, §4.12). Messages
 * travel as base64, one call or event per message.
 *
 * @module @ropehq/rope-client/mediasoup/data
 */
import { MediaObject } from './base.js';
import { toBase64, fromBase64 } from './packets.js';

export class DataProducer extends MediaObject {
  static closeEvents = ['transportclose'];
  static eventRoutes = { pause: 'observer', resume: 'observer' };

  /** The sends in flight, in order. */
  #sending = Promise.resolve();

  /** The data producer's id (its media id). */
  get id() { return this._prop('id') ?? this._ropeId; }
  /** "sctp" or "direct". */
  get type() { return this._prop('type'); }
  get sctpStreamParameters() { return this._prop('sctpStreamParameters'); }
  get label() { return this._prop('label'); }
  get protocol() { return this._prop('protocol'); }
  get paused() { return this._prop('paused') === true; }

  /** @returns {Promise<object>} DataProducerDump */
  dump() { return this._call('dump'); }
  /** @returns {Promise<object[]>} DataProducerStat[] */
  getStats() { return this._call('getStats'); }
  async pause() { await this._call('pause'); }
  async resume() { await this._call('resume'); }

  /**
   * Sends a message to the data consumers (DirectTransport data producers).
   * Returns at once, as mediasoup's; the message goes as one call, and a
   * failure is emitted as 'listenererror' ('send', error) on the observer.
   * @param {string|Uint8Array} message @param {number} [ppid]
   * @param {number[]} [subchannels] @param {number} [requiredSubchannel]
   */
  send(message, ppid, subchannels, requiredSubchannel) {
    const isString = typeof message === 'string';
    if (!isString && !(message instanceof Uint8Array)) throw new TypeError('message must be a string or a Buffer');
    if (typeof ppid !== 'number') ppid = isString ? (message.length > 0 ? 51 : 56) : (message.length > 0 ? 53 : 57);
    if (ppid === 56) message = ' ';
    else if (ppid === 57) message = new Uint8Array(1);
    const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : message;
    const params = { message: toBase64(bytes), ppid };
    if (subchannels !== undefined) params.subchannels = subchannels;
    if (requiredSubchannel !== undefined) params.requiredSubchannel = requiredSubchannel;
    // One call per message, each after the previous one: the server may run
    // concurrent calls in any order.
    this.#sending = this.#sending.then(() => this._call('send', params)).catch((error) => {
      try { this.observer.emit('listenererror', 'send', error); } catch { /* no listener */ }
    });
  }
}

export class DataConsumer extends MediaObject {
  static closeEvents = ['transportclose', 'dataproducerclose'];
  static eventRoutes = { message: 'object', sctpsendbufferfull: 'object', bufferedamountlow: 'object' };

  get dataProducerId() { return this._prop('dataProducerId'); }
  /** "sctp" or "direct". */
  get type() { return this._prop('type'); }
  get sctpStreamParameters() { return this._prop('sctpStreamParameters'); }
  get label() { return this._prop('label'); }
  get protocol() { return this._prop('protocol'); }
  get paused() { return this._prop('paused') === true; }
  get dataProducerPaused() { return this._prop('dataProducerPaused') === true; }
  get subchannels() { return this._prop('subchannels') ?? []; }

  /** @returns {Promise<object>} DataConsumerDump */
  dump() { return this._call('dump'); }
  /** @returns {Promise<object[]>} DataConsumerStat[] */
  getStats() { return this._call('getStats'); }
  async pause() { await this._call('pause'); }
  async resume() { await this._call('resume'); }

  /** @param {number} threshold */
  async setBufferedAmountLowThreshold(threshold) { await this._call('setBufferedAmountLowThreshold', { threshold }); }
  /** @returns {Promise<number>} */
  getBufferedAmount() { return this._call('getBufferedAmount'); }
  /** @param {number[]} subchannels */
  async setSubchannels(subchannels) { await this._call('setSubchannels', { subchannels }); }
  /** @param {number} subchannel */
  async addSubchannel(subchannel) { await this._call('addSubchannel', { subchannel }); }
  /** @param {number} subchannel */
  async removeSubchannel(subchannel) { await this._call('removeSubchannel', { subchannel }); }

  /**
   * Sends a message from the server to the data consumer's endpoint (its
   * SCTP stream, or its 'message' listeners on a DirectTransport), as
   * mediasoup's: ppid defaults to 51/56 for a string, 53/57 for bytes.
   * Rejects with an Error "sctpsendbufferfull" when the SCTP send buffer
   * is full (after the 'sctpsendbufferfull' event).
   * @param {string|Uint8Array} message @param {number} [ppid]
   */
  async send(message, ppid) {
    const isString = typeof message === 'string';
    if (!isString && !(message instanceof Uint8Array)) throw new TypeError('message must be a string or a Buffer');
    if (typeof ppid !== 'number') ppid = isString ? (message.length > 0 ? 51 : 56) : (message.length > 0 ? 53 : 57);
    if (ppid === 56) message = ' ';
    else if (ppid === 57) message = new Uint8Array(1);
    const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : message;
    await this._call('send', { message: toBase64(bytes), ppid });
  }

  /** @internal mediasoup's observer 'pause'/'resume': when the effective state changes. */
  _event(name, data) {
    switch (name) {
      case 'pause':
      case 'resume':
        if (!this.dataProducerPaused) this.observer.safeEmit(name);
        return;
      case 'dataproducerpause':
      case 'dataproducerresume':
        this.safeEmit(name);
        if (!this.paused) this.observer.safeEmit(name === 'dataproducerpause' ? 'pause' : 'resume');
        return;
      default:
        super._event(name, data);
    }
  }

  /** @internal */
  _eventArgs(name, data) {
    if (name === 'message') return [fromBase64(data?.message), data?.ppid];
    if (name === 'bufferedamountlow') return [data?.bufferedAmount];
    return super._eventArgs(name, data);
  }
}
