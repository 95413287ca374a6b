/**
 * DataProducer and DataConsumer (spec/media-v1.md §4.11, §4.12). Messages of
 * DirectTransports travel as base64, one call or event per message.
 *
 * @module @ropehq/rope-client/mediasoup/data
 */
import { MediaObject } from './base.js';
import { UnsupportedError } from './errors.js';

const NodeBuffer = globalThis.Buffer;

/** Base64 of bytes. */
function toBase64(bytes) {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Bytes of base64: a Buffer on Node (as mediasoup gives), a Uint8Array elsewhere. */
function fromBase64(b64) {
  if (NodeBuffer) return NodeBuffer.from(b64 ?? '', 'base64');
  const s = atob(b64 ?? '');
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

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

  /** Not carried over ROPE (spec/media-v1.md §6): rejects with UnsupportedError. */
  async send() { throw new UnsupportedError('DataConsumer.send() is not available over ROPE'); }

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
