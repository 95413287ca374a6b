/**
 * mediasoup's error classes, and the mapping of ROPE errors to the errors
 * mediasoup throws (spec/media-v1.md §5).
 *
 * @module @ropehq/rope-client/mediasoup/errors
 */
import { ConnectionClosedError, ErrorCode, RopeError } from '../index.js';

/** Something the SFU does not support (mediasoup's UnsupportedError). */
export class UnsupportedError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UnsupportedError';
  }
}

/** A call that does not fit the object's state, or on a closed object (mediasoup's InvalidStateError). */
export class InvalidStateError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

/** Media error names (data.name of a -32010) and the class mediasoup throws for each. */
const byName = {
  TypeError,
  UnsupportedError,
  InvalidStateError,
  DuplicateIdError: TypeError, // mediasoup: "a Producer with same id … already exists" is a TypeError
};

/**
 * The error mediasoup would throw for a failed remote call: TypeError,
 * UnsupportedError, InvalidStateError or Error, with the server's message;
 * `cause` keeps the wire error, `reason` its data.detail.reason if any.
 * @param {unknown} err @param {string} what e.g. "Router.createPlainTransport"
 * @returns {Error}
 */
export function fromWire(err, what) {
  let out;
  if (err instanceof RopeError) {
    let Cls = Error;
    if (err.code === ErrorCode.APPLICATION_ERROR) Cls = byName[err.name] ?? Error;
    else if (err.code === ErrorCode.INVALID_PARAMS) Cls = TypeError;
    else if (err.code === ErrorCode.OBJECT_NOT_FOUND || err.code === ErrorCode.INVALID_STATE) Cls = InvalidStateError;
    out = new Cls(err.message);
    if (Cls === Error && err.name !== 'RopeError') out.name = err.name; // NotFoundError, Unauthorized, …
    const reason = err.data?.detail?.reason;
    if (typeof reason === 'string') out.reason = reason; // e.g. Mafalda's "no_worker" (spec/mafalda-v1.md §5)
  } else if (err instanceof ConnectionClosedError) {
    out = new InvalidStateError(`${what}: ${err.message}`);
  } else if (err instanceof Error) {
    return err;
  } else {
    out = new Error(String(err));
  }
  out.cause = err;
  return out;
}
