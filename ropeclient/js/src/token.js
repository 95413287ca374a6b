/**
 * Minting ROPE access tokens in a Node app server (Go: package ropeauth):
 * JSON Web Tokens whose "rope" claim carries a grant, what a browser's
 * connection to the media server may see and call. HS256 with a shared
 * secret, or EdDSA with an Ed25519 private key (the server then verifies
 * with the public key, -token-public-key). node:crypto only; Node only.
 *
 *   import { participantToken } from '@ropehq/rope-client/token';
 *   const token = participantToken({ secret, routerId, subject: userId, ttl: 3600 });
 *   // give it to the browser: new RopeClient(url, { token })
 *
 * The claims are those of Go's ropeauth.Participant / MafaldaParticipant /
 * Operator, member for member (the tests compare them).
 *
 * @module @ropehq/rope-client/token
 */
import { createHmac, createPrivateKey, sign as cryptoSign } from 'node:crypto';

/** The most live objects of each type one participant may own (Go: ropeauth.Participant*). */
export const ParticipantQuotas = Object.freeze({
  WebRtcTransport: 4,
  Producer: 8,
  Consumer: 64,
  DataProducer: 8,
  DataConsumer: 64,
});

/** The shortest HMAC secret, in bytes (Go: ropeauth.MinSecretBytes). */
export const MIN_SECRET_BYTES = 32;

const mediaMethods = ['pause', 'resume', 'close', 'getStats'];

/**
 * The "rope" claim of a media-room participant on a router of routerType
 * ("Router" or "MafaldaRouter"): see Go's ropeauth.Participant.
 * @param {string} routerType
 * @param {string} routerId
 */
export function participantGrant(routerType, routerId) {
  return {
    roots: [routerId],
    hide: {
      WebRtcTransport: 'othersShallow',
      PlainTransport: 'othersShallow',
      PipeTransport: 'othersShallow',
      DirectTransport: 'othersShallow',
      Consumer: 'others',
      DataConsumer: 'others',
    },
    calls: {
      [routerType]: { any: ['createWebRtcTransport', 'canConsume'] },
      WebRtcTransport: {
        own: ['connect', 'restartIce', 'produce', 'consume', 'produceData', 'consumeData',
          'setMaxIncomingBitrate', 'setMaxOutgoingBitrate', 'setMinOutgoingBitrate', 'getStats', 'close'],
      },
      Producer: { own: [...mediaMethods] },
      Consumer: { own: [...mediaMethods, 'setPreferredLayers', 'setPriority', 'unsetPriority', 'requestKeyFrame'] },
      DataProducer: { own: [...mediaMethods] },
      DataConsumer: { own: [...mediaMethods] },
    },
    quotas: { ...ParticipantQuotas },
  };
}

/**
 * @typedef {object} KeyOptions
 * @property {string | Uint8Array} [secret] HMAC secret (HS256), at least 32 bytes
 * @property {import('node:crypto').KeyObject | string} [privateKey] Ed25519 private key (EdDSA): a KeyObject or PEM
 * @property {string} [audience] "aud", when the server checks one (-token-audience)
 */

/**
 * The token of a media-room participant on the router routerId: it sees
 * that room only, creates and drives its own WebRTC transports, producers
 * and consumers, and never sees other participants' transports.
 * @param {KeyOptions & {routerId?: string, mafaldaRouterId?: string, subject: string, ttl: number, now?: number}} opts
 *   ttl in seconds; now (seconds since the epoch) for tests; mafaldaRouterId for a MafaldaRouter room
 * @returns {string}
 */
export function participantToken(opts) {
  const { routerId, mafaldaRouterId, subject, ttl } = opts;
  if ((routerId ? 1 : 0) + (mafaldaRouterId ? 1 : 0) !== 1) {
    throw new TypeError('participantToken: give one of routerId and mafaldaRouterId');
  }
  if (!(ttl > 0)) throw new TypeError('participantToken: ttl (seconds) must be positive');
  // The objects of full-access connections have the owner "": an empty
  // subject would own them all (the server refuses such a token).
  if (typeof subject !== 'string' || subject === '') throw new TypeError('participantToken: subject must be a non-empty string');
  const rope = mafaldaRouterId ? participantGrant('MafaldaRouter', mafaldaRouterId) : participantGrant('Router', routerId);
  return signToken(claims(subject, ttl, opts.now, rope, opts.audience), opts);
}

/**
 * An operator token: full access. ttl in seconds; 0 or absent: no expiry.
 * @param {KeyOptions & {subject: string, ttl?: number, now?: number}} opts
 * @returns {string}
 */
export function operatorToken(opts) {
  return signToken(claims(opts.subject, opts.ttl || 0, opts.now, { operator: true }, opts.audience), opts);
}

function claims(subject, ttl, now, rope, audience) {
  if (typeof subject !== 'string') throw new TypeError('subject must be a string');
  const iat = Math.floor(now ?? Date.now() / 1000);
  const c = { sub: subject, iat };
  if (ttl > 0) c.exp = iat + Math.floor(ttl);
  if (audience) c.aud = [audience];
  c.rope = rope;
  return c;
}

/**
 * Signs any claims: HS256 with secret, or EdDSA with an Ed25519 privateKey.
 * @param {object} payload the claims
 * @param {KeyOptions} keys
 * @returns {string} the compact JWT
 */
export function signToken(payload, { secret, privateKey }) {
  if ((secret ? 1 : 0) + (privateKey ? 1 : 0) !== 1) throw new TypeError('give one of secret and privateKey');
  let alg;
  let key;
  if (secret) {
    key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (key.length < MIN_SECRET_BYTES) throw new RangeError(`secret: ${key.length} bytes, want at least ${MIN_SECRET_BYTES}`);
    alg = 'HS256';
  } else {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
    if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`privateKey: ${key.asymmetricKeyType}, want ed25519 (EdDSA)`);
    alg = 'EdDSA';
  }
  const input = `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify(payload))}`;
  const sig = alg === 'HS256' ? createHmac('sha256', key).update(input).digest() : cryptoSign(null, Buffer.from(input), key);
  return `${input}.${b64(sig)}`;
}

function b64(data) {
  return Buffer.from(data).toString('base64url');
}
