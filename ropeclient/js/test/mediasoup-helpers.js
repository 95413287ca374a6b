// Helpers of the mediasoup-*.test.js files: a ropeserver serving media
// objects, and mediasoup's own test data (codecs, producer parameters).
import { startServer } from './helpers.js';

/**
 * Starts cmd/ropeserver with media workers in process (a router appears
 * twice under worker processes until that fix lands on main) and with
 * clients allowed to close workers, as mediasoup's worker.close() needs.
 */
export function startMediaServer(args = []) {
  return startServer(['-workers=in-process', '-allow-worker-close', '-rtc-ip=127.0.0.1', ...args]);
}

/** Deeply frozen, as mediasoup's tests freeze their inputs (nothing may modify them). */
export function deepFreeze(o) {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(o);
}

export const mediaCodecs = deepFreeze([
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, parameters: { foo: '111' } },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video', mimeType: 'video/H264', clockRate: 90000,
    parameters: { 'level-asymmetry-allowed': 1, 'packetization-mode': 1, 'profile-level-id': '4d0032', foo: 'bar' },
  },
]);

export const audioProducerOptions = deepFreeze({
  kind: 'audio',
  rtpParameters: {
    mid: 'AUDIO',
    codecs: [{
      mimeType: 'audio/opus', payloadType: 0, clockRate: 48000, channels: 2,
      parameters: { useinbandfec: 1, usedtx: 1, foo: 222.222, bar: '333' },
    }],
    headerExtensions: [
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 10 },
      { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 12 },
    ],
    encodings: [{ ssrc: 11111111 }],
    rtcp: { cname: 'audio-1' },
  },
  appData: { foo: 1, bar: '2' },
});

export const videoProducerOptions = deepFreeze({
  kind: 'video',
  rtpParameters: {
    mid: 'VIDEO',
    codecs: [
      {
        mimeType: 'video/h264', payloadType: 112, clockRate: 90000,
        parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0032' },
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
      },
      { mimeType: 'video/rtx', payloadType: 113, clockRate: 90000, parameters: { apt: 112 } },
    ],
    headerExtensions: [
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 10 },
      { uri: 'urn:3gpp:video-orientation', id: 13 },
    ],
    encodings: [
      { ssrc: 22222222, rtx: { ssrc: 22222223 } },
      { ssrc: 22222224, rtx: { ssrc: 22222225 } },
      { ssrc: 22222226, rtx: { ssrc: 22222227 } },
      { ssrc: 22222228, rtx: { ssrc: 22222229 } },
    ],
    rtcp: { cname: 'video-1' },
  },
  appData: { foo: 1, bar: '2' },
});

/** The RTP capabilities of a receiving endpoint (mediasoup's consumerDeviceCapabilities, trimmed). */
export const consumerDeviceCapabilities = deepFreeze({
  codecs: [
    { mimeType: 'audio/opus', kind: 'audio', preferredPayloadType: 100, clockRate: 48000, channels: 2, rtcpFeedback: [{ type: 'nack' }] },
    {
      mimeType: 'video/H264', kind: 'video', preferredPayloadType: 101, clockRate: 90000,
      parameters: { 'level-asymmetry-allowed': 1, 'packetization-mode': 1, 'profile-level-id': '4d0032' },
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }],
    },
    { mimeType: 'video/rtx', kind: 'video', preferredPayloadType: 102, clockRate: 90000, parameters: { apt: 101 }, rtcpFeedback: [] },
  ],
  headerExtensions: [
    { kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, preferredEncrypt: false },
    { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, preferredEncrypt: false },
  ],
});

/** Records the events of an emitter by name, with their arguments. */
export function record(emitter, names) {
  const log = [];
  for (const n of names) emitter.on(n, (...args) => log.push([n, ...args]));
  return log;
}

/** Polls an async condition until it resolves true. */
export async function eventually(cond, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
