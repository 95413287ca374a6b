// Type declarations for @ropehq/rope-client (hand-written; src/index.js is the source).

/** The protocol this client speaks. */
export declare const PROTOCOL: 'rope.v1';

/** WebSocket close codes ROPE uses (spec §16). */
export declare const CloseCode: Readonly<{
  NORMAL: 1000;
  GOING_AWAY: 1001;
  MESSAGE_TOO_BIG: 1009;
  SLOW_CONSUMER: 4000;
  PROTOCOL_VIOLATION: 4001;
  GRANT_EXPIRED: 4003;
}>;

/** JSON-RPC and ROPE error codes (spec §9.2). */
export declare const ErrorCode: Readonly<{
  PARSE_ERROR: -32700;
  INVALID_REQUEST: -32600;
  METHOD_NOT_FOUND: -32601;
  INVALID_PARAMS: -32602;
  INTERNAL_ERROR: -32603;
  OBJECT_NOT_FOUND: -32001;
  UNKNOWN_METHOD: -32002;
  INVALID_STATE: -32003;
  UNAUTHORIZED: -32004;
  OVERLOADED: -32005;
  APPLICATION_ERROR: -32010;
}>;

/** Listener options, as EventTarget takes them (declared here so the types need neither DOM nor Node lib). */
export type AddListenerOptions = boolean | { capture?: boolean; once?: boolean; passive?: boolean; signal?: AbortSignal };
export type RemoveListenerOptions = boolean | { capture?: boolean };
export type Listener<E> = ((ev: E) => any) | { handleEvent(ev: E): any };

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The state of one object, as the server sends it. */
export interface ObjectState {
  id: string;
  type: string;
  parent: string | null;
  props: Readonly<Record<string, any>>;
  appData: Readonly<Record<string, any>>;
}

/** One entry of the server's type catalogue. */
export interface TypeInfo {
  name: string;
  methods: string[];
  events: string[];
  properties: string[];
}

/** rope.init's params without `objects`. */
export interface ServerInfo {
  protocol: string;
  server?: string;
  epoch: string;
  seq: number;
  resumed: boolean;
  maxMessageSize: number;
  replayWindow: number;
  types: TypeInfo[];
  payload?: any;
  /** The connection's session (spec §17): its id, its grace in ms (null: persistent), its object bound. */
  session?: { id: string; lease: number | null; maxObjects?: number };
  /** Present, true, when the connection has a view (spec §18). */
  view?: true;
}

/** An error response from the server; `name` is `data.name`. */
export declare class RopeError extends Error {
  constructor(error: { code: number; message?: string; data?: any });
  /** The JSON-RPC error code, e.g. -32001. */
  code: number;
  /** The error's data; `data.name` is also `name`. */
  data: { name: string; [key: string]: any } | any;
}

/** A call that failed because the client was not CONNECTED or lost its connection. */
export declare class ConnectionClosedError extends Error {
  constructor(message?: string);
  name: 'ConnectionClosedError';
}

/**
 * The server refused the client's access, so it stopped reconnecting (spec §12.3.5):
 * code 4003 (grant expired), or HTTP 401 / 403 where the WebSocket exposes the status.
 */
export declare class AccessRefusedError extends Error {
  constructor(code: number, reason?: string);
  name: 'AccessRefusedError';
  code: number;
}

/** A request larger than the server's maxMessageSize; it was not sent. */
export declare class MessageTooBigError extends Error {
  constructor(size: number, limit: number);
  name: 'MessageTooBigError';
  size: number;
  limit: number;
}

/** A WebSocket class: the browser's, Node 22's global, or the `ws` package's. */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): any;
}

export interface RopeClientOptions {
  /** WebSocket class (default: globalThis.WebSocket; on Node 20 pass `ws`, or run Node with --experimental-websocket). */
  WebSocket?: WebSocketConstructor;
  /** Bearer token, sent as the `access_token` query parameter. */
  token?: string;
  /** Subprotocols to offer (default none, spec §2.2.1); with "rope.v1" the server must select it. */
  protocols?: string[];
  /** Share one connection among instances with the same URL and token (default true). */
  shared?: boolean;
  /** Reconnect and resume after a connection loss (default true). */
  reconnect?: boolean;
  /** First backoff step in ms (default 250); attempt n waits min(max, d·2ⁿ)·U(0.5, 1). */
  reconnectDelay?: number;
  /** Backoff cap in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Give up (CLOSED) after this many failed attempts in a row (default Infinity). */
  maxReconnectAttempts?: number;
  /**
   * ms from opening a WebSocket to rope.init before the attempt counts as failed (default
   * 10000): a stalled handshake is dropped, an opened socket closed with 4001, and the
   * client tries again.
   */
  connectTimeout?: number;
  /**
   * How long (ms) the server keeps the objects this client creates after losing it, or
   * 'persistent' (spec §17); the server bounds it. Default: the server's grace.
   */
  lease?: number | 'persistent';
}

export interface UpdateDetail {
  /** The props that changed, with their new values (a removed prop: undefined); absent if none. */
  props?: Record<string, any>;
  /** The new appData, when it changed. */
  appData?: Record<string, any>;
}

export interface RopeObjectEventMap {
  update: CustomEvent<UpdateDetail>;
  close: Event;
  /** Server events of the object, by name; detail is the event's data. */
  [event: string]: CustomEvent<any> | Event;
}

/**
 * One mirrored server object as a client sees it. Besides the members below,
 * every method of its type in the catalogue is callable by name.
 */
export declare class RopeObject extends EventTarget {
  readonly id: string;
  readonly type: string;
  readonly parent: string | null;
  /** Current props (frozen; replaced on each update). */
  readonly props: Readonly<Record<string, any>>;
  /** Current appData (frozen; replaced on each update). */
  readonly appData: Readonly<Record<string, any>>;
  /** True once the object closed (or its client closed). */
  readonly closed: boolean;
  readonly client: RopeClient;
  readonly parentObject: RopeObject | undefined;
  /** Live children in creation order. */
  readonly children: RopeObject[];
  /** Method names of the object's type in the catalogue. */
  readonly methods: string[];
  /** Calls a method of the object (rope.call). */
  call<T = any>(method: string, params?: any): Promise<T>;
  /** Replaces the object's appData (rope.setAppData). */
  setAppData(appData: Record<string, any>): Promise<null>;
  toJSON(): ObjectState;

  addEventListener<K extends keyof RopeObjectEventMap>(type: K, listener: (ev: RopeObjectEventMap[K]) => any, options?: AddListenerOptions): void;
  addEventListener(type: string, listener: Listener<Event> | null, options?: AddListenerOptions): void;
  removeEventListener<K extends keyof RopeObjectEventMap>(type: K, listener: (ev: RopeObjectEventMap[K]) => any, options?: RemoveListenerOptions): void;
  removeEventListener(type: string, listener: Listener<Event> | null, options?: RemoveListenerOptions): void;

  /** Catalogue methods, by name. */
  [method: string]: any;
}

export interface WebSocketCloseInfo {
  wasClean: boolean;
  code: number;
  reason: string;
}

export interface RopeClientEventMap {
  open: Event;
  connected: CustomEvent<{ resumed: boolean }>;
  disconnected: Event;
  /** `error` is set when the client gave up because its access was refused (spec §12.3.5). */
  close: Event & { error?: AccessRefusedError };
  error: CustomEvent<{ error: Error }> & { error: Error; message: string };
  websocketOpen: Event;
  websocketClose: CustomEvent<WebSocketCloseInfo> & WebSocketCloseInfo;
  objectCreated: CustomEvent<{ object: RopeObject }>;
  objectUpdated: CustomEvent<{ object: RopeObject } & UpdateDetail>;
  objectClosed: CustomEvent<{ object: RopeObject }>;
  objectEvent: CustomEvent<{ object: RopeObject; event: string; data: any }>;
  notification: CustomEvent<{ method: string; params: any }>;
}

export type ReadyState = 0 | 1 | 2 | 3 | 4;

/**
 * A ROPE client. Instances for the same URL, token and WebSocket class share
 * one WebSocket and one mirror; the WebSocket closes with the last one.
 */
export declare class RopeClient extends EventTarget {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  static readonly CONNECTED: 4;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  readonly CONNECTED: 4;

  /** Connects at once when url is given; otherwise call open(url). */
  constructor(url?: string | URL, options?: RopeClientOptions);

  readonly readyState: ReadyState;
  /** The normalised server URL (no token, no resume parameters). */
  readonly url: string | undefined;
  /** The underlying WebSocket while one exists (shared with other instances). */
  readonly websocket: any;
  /** The epoch of the mirror. */
  readonly epoch: string | null;
  /** The id of the server session the connection belongs to (spec §17), or null. */
  readonly session: string | null;
  /** The last sequence number applied to the mirror. */
  readonly seq: number;
  /** The type catalogue, by name. */
  readonly types: ReadonlyMap<string, TypeInfo>;
  /** The last rope.init without `objects`. */
  readonly serverInfo: ServerInfo | null;
  /** The server's connection payload (null if none). */
  readonly payload: any;
  /** Whether the connection has a view (spec §18): it sees only some objects, the global seq with gaps, and parents possibly absent. */
  readonly hasView: boolean;
  /** Why the client entered CLOSED without close(): an AccessRefusedError (spec §12.3.5), else null. */
  readonly closeError: AccessRefusedError | null;
  /** Every mirrored object, parents before children. */
  readonly objects: RopeObject[];

  /** The mirrored object with this id. */
  object(id: string): RopeObject | undefined;
  /** Connects; throws unless CLOSED. */
  open(url: string | URL): void;
  /** Closes this instance; idempotent. */
  close(): void;
  /** Resolves when CONNECTED; rejects with ConnectionClosedError if it closes first. */
  ready(): Promise<void>;
  /** rope.call; settles after the mirror applied the call's notifications. */
  call<T = any>(object: string | RopeObject, method: string, params?: any): Promise<T>;
  /** rope.setAppData. */
  setAppData(object: string | RopeObject, appData: Record<string, any>): Promise<null>;
  /** rope.ping: the server's current seq; the mirror is up to date with it when this resolves. */
  ping(): Promise<{ seq: number }>;
  /** Any request, e.g. a server-defined extra method. */
  request<T = any>(method: string, params?: any): Promise<T>;
  /** A notification (never answered); throws unless CONNECTED. */
  notify(method: string, params?: any): void;

  addEventListener<K extends keyof RopeClientEventMap>(type: K, listener: (ev: RopeClientEventMap[K]) => any, options?: AddListenerOptions): void;
  addEventListener(type: string, listener: Listener<Event> | null, options?: AddListenerOptions): void;
  removeEventListener<K extends keyof RopeClientEventMap>(type: K, listener: (ev: RopeClientEventMap[K]) => any, options?: RemoveListenerOptions): void;
  removeEventListener(type: string, listener: Listener<Event> | null, options?: RemoveListenerOptions): void;
}

export default RopeClient;
