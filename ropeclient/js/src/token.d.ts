// Types of @ropehq/rope-client/token (src/token.js): minting ROPE access
// tokens in a Node app server. Go: package ropeauth.
import type { KeyObject } from 'node:crypto';

/** The "rope" claim: what a token's holder may see and call. */
export interface RopeGrantClaim {
  /** Full access; nothing else may be set. */
  operator?: boolean;
  /** Ids whose subtrees are visible; absent: every object. */
  roots?: string[];
  /** Per type name: 'others' hides the objects (and what is under them) the subject does not own, 'all' every one (and what is under them), 'othersShallow' the objects the subject does not own but not what is under them. */
  hide?: Record<string, 'others' | 'all' | 'othersShallow'>;
  /** Per type name: methods allowed on any visible object, and on the subject's own; '*' is every method. A type absent allows none. */
  calls?: Record<string, { any?: string[]; own?: string[] }>;
  /** Per type name: the most live objects of that type the subject may own. */
  quotas?: Record<string, number>;
}

export interface KeyOptions {
  /** HMAC secret (HS256), at least 32 bytes; the server's -token-secret. */
  secret?: string | Uint8Array;
  /** Ed25519 private key (EdDSA), a KeyObject or PEM; the server verifies with its public key (-token-public-key). */
  privateKey?: KeyObject | string;
  /** "aud", when the server checks one (-token-audience). */
  audience?: string;
}

export declare const ParticipantQuotas: Readonly<{
  WebRtcTransport: number; Producer: number; Consumer: number; DataProducer: number; DataConsumer: number;
}>;
export declare const MIN_SECRET_BYTES: number;

/** The "rope" claim of a media-room participant on a router of that type. */
export declare function participantGrant(routerType: 'Router' | 'MafaldaRouter', routerId: string): RopeGrantClaim;

/** A media-room participant's token (Go: ropeauth.Participant, MafaldaParticipant). ttl in seconds. */
export declare function participantToken(opts: KeyOptions & {
  routerId?: string; mafaldaRouterId?: string; subject: string; ttl: number; now?: number;
}): string;

/** An operator token: full access. ttl in seconds; 0 or absent: no expiry. */
export declare function operatorToken(opts: KeyOptions & { subject: string; ttl?: number; now?: number }): string;

/** Signs any claims as a compact JWT: HS256 with secret, or EdDSA with privateKey. */
export declare function signToken(payload: object, keys: KeyOptions): string;
