/**
 * A Node-style EventEmitter (on, once, off, emit, …) that also runs in
 * browsers, with mediasoup's safeEmit: a listener that throws is reported
 * as 'listenererror' and the other listeners still run.
 *
 * @module @ropehq/rope-client/mediasoup/emitter
 */

/** @typedef {(...args: any[]) => void} Listener */

export class EnhancedEventEmitter {
  /** @type {Map<string|symbol, Listener[]>} */
  #listeners = new Map();

  /** @param {string|symbol} name @param {Listener} fn @param {boolean} [once] @param {boolean} [prepend] */
  #add(name, fn, once = false, prepend = false) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let entry = fn;
    if (once) {
      entry = (...args) => {
        this.removeListener(name, entry);
        return fn.apply(this, args);
      };
      entry.listener = fn;
    }
    const list = this.#listeners.get(name) ?? [];
    if (prepend) list.unshift(entry);
    else list.push(entry);
    this.#listeners.set(name, list);
    this._listenersChanged(name);
    return this;
  }

  /** @internal Hook: the listeners of name changed (all names when undefined). */
  _listenersChanged(name) {} // eslint-disable-line no-unused-vars

  /** @param {string|symbol} name @param {Listener} fn */
  on(name, fn) { return this.#add(name, fn); }
  /** @param {string|symbol} name @param {Listener} fn */
  addListener(name, fn) { return this.#add(name, fn); }
  /** @param {string|symbol} name @param {Listener} fn */
  once(name, fn) { return this.#add(name, fn, true); }
  /** @param {string|symbol} name @param {Listener} fn */
  prependListener(name, fn) { return this.#add(name, fn, false, true); }
  /** @param {string|symbol} name @param {Listener} fn */
  prependOnceListener(name, fn) { return this.#add(name, fn, true, true); }

  /** Removes the last registration of fn (or of a once wrapper of fn). @param {string|symbol} name @param {Listener} fn */
  removeListener(name, fn) {
    const list = this.#listeners.get(name);
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === fn || list[i].listener === fn) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length === 0) this.#listeners.delete(name);
    this._listenersChanged(name);
    return this;
  }

  /** @param {string|symbol} name @param {Listener} fn */
  off(name, fn) { return this.removeListener(name, fn); }

  /** @param {string|symbol} [name] */
  removeAllListeners(name) {
    if (name === undefined) this.#listeners.clear();
    else this.#listeners.delete(name);
    this._listenersChanged(name);
    return this;
  }

  /** Calls each listener in order; a throwing listener throws, as Node's does. */
  emit(name, ...args) {
    const list = this.#listeners.get(name);
    if (!list || list.length === 0) {
      if (name === 'error') throw args[0] instanceof Error ? args[0] : new Error(`unhandled error event: ${args[0]}`);
      return false;
    }
    for (const fn of [...list]) fn.apply(this, args);
    return true;
  }

  /**
   * Emits without letting a listener's exception escape: it is reported
   * as 'listenererror' (eventName, error) and the next listeners run.
   */
  safeEmit(name, ...args) {
    const list = this.#listeners.get(name);
    if (!list || list.length === 0) return false;
    for (const fn of [...list]) {
      try {
        fn.apply(this, args);
      } catch (error) {
        try { this.emit('listenererror', name, error); } catch { /* ignored */ }
      }
    }
    return true;
  }

  /** @param {string|symbol} name */
  listenerCount(name) { return this.#listeners.get(name)?.length ?? 0; }
  /** @param {string|symbol} name */
  listeners(name) { return (this.#listeners.get(name) ?? []).map((f) => f.listener ?? f); }
  /** @param {string|symbol} name */
  rawListeners(name) { return [...(this.#listeners.get(name) ?? [])]; }
  eventNames() { return [...this.#listeners.keys()]; }
  /** Accepted for compatibility; there is no listener limit. */
  setMaxListeners() { return this; }
  getMaxListeners() { return Infinity; }
}

/**
 * Resolves with the arguments of the next emission of name (as Node's
 * events.once and mediasoup's enhancedOnce).
 * @param {EnhancedEventEmitter} emitter @param {string} name @returns {Promise<any[]>}
 */
export function enhancedOnce(emitter, name) {
  return new Promise((resolve) => emitter.once(name, (...args) => resolve(args)));
}
