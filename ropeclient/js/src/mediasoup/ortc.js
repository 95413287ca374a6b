/**
 * The part of mediasoup's ORTC rules a client needs synchronously:
 * router.canConsume() (codec matching as mediasoup's matchCodecs with
 * strict: true, H.264 profiles included), and parseScalabilityMode().
 *
 * @module @ropehq/rope-client/mediasoup/ortc
 */

/** H.264 profiles by profile_idc and a profile_iop bit pattern ('x' = any). */
const h264Profiles = [
  [0x42, 'x1xx0000', 'ConstrainedBaseline'],
  [0x4d, '1xxx0000', 'ConstrainedBaseline'],
  [0x58, '11xx0000', 'ConstrainedBaseline'],
  [0x42, 'x0xx0000', 'Baseline'],
  [0x58, '10xx0000', 'Baseline'],
  [0x4d, '0x0x0000', 'Main'],
  [0x64, '00000000', 'High'],
  [0x64, '00001100', 'ConstrainedHigh'],
  [0xf4, '00000000', 'PredictiveHigh444'],
];
const h264Levels = new Set([0, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52]);

/** The H.264 profile of a profile-level-id (default 42e01f), or undefined when invalid. */
function h264Profile(params) {
  const plid = params?.['profile-level-id'] ?? '42e01f';
  if (typeof plid !== 'string' || !/^[0-9a-fA-F]{6}$/.test(plid)) return undefined;
  const n = parseInt(plid, 16);
  const idc = n >> 16;
  const iop = (n >> 8) & 0xff;
  const level = n & 0xff;
  if (!h264Levels.has(level)) return undefined;
  const bits = iop.toString(2).padStart(8, '0');
  for (const [pIdc, pattern, name] of h264Profiles) {
    if (pIdc === idc && [...pattern].every((c, i) => c === 'x' || c === bits[i])) return name;
  }
  return undefined;
}

function channelsOf(codec) {
  if (codec.channels !== undefined) return codec.channels;
  return String(codec.mimeType).toLowerCase().startsWith('audio/') ? 1 : undefined;
}

/** mediasoup's matchCodecs(a, b, {strict: true}). */
function matchCodecs(a, b) {
  const mime = String(a.mimeType).toLowerCase();
  if (mime !== String(b.mimeType).toLowerCase()) return false;
  if (a.clockRate !== b.clockRate) return false;
  if (channelsOf(a) !== channelsOf(b)) return false;
  const ap = a.parameters ?? {};
  const bp = b.parameters ?? {};
  switch (mime) {
    case 'audio/multiopus':
      return ap.num_streams === bp.num_streams && ap.coupled_streams === bp.coupled_streams;
    case 'video/h264':
    case 'video/h264-svc': {
      if ((ap['packetization-mode'] || 0) !== (bp['packetization-mode'] || 0)) return false;
      const pa = h264Profile(ap);
      return pa !== undefined && pa === h264Profile(bp);
    }
    case 'video/vp9':
      return (ap['profile-id'] || 0) === (bp['profile-id'] || 0);
    default:
      return true;
  }
}

function isRtx(codec) {
  return /.+\/rtx$/i.test(String(codec?.mimeType));
}

/** Throws TypeError where mediasoup's validateRtpCapabilities would. */
function validateCaps(caps) {
  if (typeof caps !== 'object' || caps === null) throw new TypeError('caps is not an object');
  if (caps.codecs && !Array.isArray(caps.codecs)) throw new TypeError('caps.codecs is not an array');
  for (const c of caps.codecs ?? []) {
    if (typeof c !== 'object' || c === null) throw new TypeError('codec is not an object');
    if (typeof c.mimeType !== 'string' || !/^(audio|video)\/(.+)/i.test(c.mimeType)) throw new TypeError('wrong codec.mimeType');
    if (typeof c.clockRate !== 'number') throw new TypeError('missing codec.clockRate');
  }
}

/**
 * mediasoup's ortc.canConsume: some non-RTX codec of the consumable
 * parameters matches a codec of caps. Throws TypeError for invalid caps.
 * @param {{codecs: object[]}} consumableParams @param {object} caps
 */
export function canConsume(consumableParams, caps) {
  validateCaps(caps);
  const matching = (consumableParams?.codecs ?? []).filter((codec) => (caps.codecs ?? []).some((cap) => matchCodecs(cap, codec)));
  return matching.length > 0 && !isRtx(matching[0]);
}

const scalabilityModeRegex = /^[LS]([1-9]\d{0,1})T([1-9]\d{0,1})(_KEY)?/;

/**
 * mediasoup's parseScalabilityMode: "L3T2_KEY" → {spatialLayers: 3, temporalLayers: 2, ksvc: true}.
 * @param {string} [scalabilityMode]
 */
export function parseScalabilityMode(scalabilityMode) {
  const m = scalabilityModeRegex.exec(scalabilityMode ?? '');
  if (!m) return { spatialLayers: 1, temporalLayers: 1, ksvc: false };
  return { spatialLayers: Number(m[1]), temporalLayers: Number(m[2]), ksvc: Boolean(m[3]) };
}
