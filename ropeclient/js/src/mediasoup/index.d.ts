// Type declarations for @ropehq/rope-client/mediasoup (hand-written; index.js is the source).
// Shapes follow mediasoup v3's types; data objects are typed loosely (their
// members are mediasoup's, see spec/media-v1.md §8).

import type { RopeClient, RopeClientOptions } from '../../index.js';

export type AppData = { [key: string]: unknown };
type Json = Record<string, any>;
type Listener = (...args: any[]) => void;

/** A Node-style EventEmitter that also runs in browsers, with mediasoup's safeEmit. */
export declare class EnhancedEventEmitter {
  on(event: string, listener: Listener): this;
  addListener(event: string, listener: Listener): this;
  once(event: string, listener: Listener): this;
  prependListener(event: string, listener: Listener): this;
  prependOnceListener(event: string, listener: Listener): this;
  off(event: string, listener: Listener): this;
  removeListener(event: string, listener: Listener): this;
  removeAllListeners(event?: string): this;
  emit(event: string, ...args: any[]): boolean;
  safeEmit(event: string, ...args: any[]): boolean;
  listenerCount(event: string): number;
  listeners(event: string): Listener[];
  rawListeners(event: string): Listener[];
  eventNames(): (string | symbol)[];
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
}
export declare function enhancedOnce(emitter: EnhancedEventEmitter, event: string): Promise<any[]>;

export declare class UnsupportedError extends Error { name: 'UnsupportedError'; }
export declare class InvalidStateError extends Error { name: 'InvalidStateError'; }

/** What every remote media object has. */
declare class MediaObject<T extends AppData = AppData> extends EnhancedEventEmitter {
  readonly id: string;
  readonly closed: boolean;
  appData: T;
  readonly observer: EnhancedEventEmitter;
  /** Synchronous: closes here at once (with the descendants), and on the server in the background. */
  close(): void;
}

export type WorkerSettings<T extends AppData = AppData> = {
  logLevel?: 'debug' | 'warn' | 'error' | 'none';
  logTags?: string[];
  rtcMinPort?: number;
  rtcMaxPort?: number;
  dtlsCertificateFile?: string;
  dtlsPrivateKeyFile?: string;
  /** Accepted; changes nothing on the reference server (its bandwidth estimation is not libwebrtc's). */
  libwebrtcFieldTrials?: string;
  /** Accepted; changes nothing on the reference server (its sockets do not use io_uring). */
  disableLiburing?: boolean;
  appData?: T;
};

/** Events: died (Error), subprocessclose, listenererror. Observer: close, newrouter, newwebrtcserver. */
export declare class Worker<T extends AppData = AppData> extends MediaObject<T> {
  readonly pid: number;
  readonly died: boolean;
  readonly subprocessClosed: boolean;
  dump(): Promise<Json>;
  getResourceUsage(): Promise<Json>;
  updateSettings(settings?: { logLevel?: string; logTags?: string[] }): Promise<void>;
  createWebRtcServer<A extends AppData = AppData>(options: { listenInfos: Json[]; appData?: A }): Promise<WebRtcServer<A>>;
  createRouter<A extends AppData = AppData>(options?: { mediaCodecs?: Json[]; appData?: A }): Promise<Router<A>>;
}

/** Events: workerclose. Observer: close, webrtctransporthandled, webrtctransportunhandled. */
export declare class WebRtcServer<T extends AppData = AppData> extends MediaObject<T> {
  dump(): Promise<Json>;
}

export type PipeToRouterResult = {
  pipeConsumer?: Consumer;
  pipeProducer?: Producer;
  pipeDataConsumer?: DataConsumer;
  pipeDataProducer?: DataProducer;
};

/** Events: workerclose. Observer: close, newtransport, newrtpobserver. */
export declare class Router<T extends AppData = AppData> extends MediaObject<T> {
  readonly rtpCapabilities: Json;
  dump(): Promise<Json>;
  createWebRtcTransport<A extends AppData = AppData>(options: Json & { webRtcServer?: WebRtcServer; appData?: A }): Promise<WebRtcTransport<A>>;
  createPlainTransport<A extends AppData = AppData>(options: Json & { appData?: A }): Promise<PlainTransport<A>>;
  createPipeTransport<A extends AppData = AppData>(options: Json & { appData?: A }): Promise<PipeTransport<A>>;
  createDirectTransport<A extends AppData = AppData>(options?: { maxMessageSize?: number; appData?: A }): Promise<DirectTransport<A>>;
  createActiveSpeakerObserver<A extends AppData = AppData>(options?: { interval?: number; appData?: A }): Promise<ActiveSpeakerObserver<A>>;
  createAudioLevelObserver<A extends AppData = AppData>(options?: { maxEntries?: number; threshold?: number; interval?: number; appData?: A }): Promise<AudioLevelObserver<A>>;
  pipeToRouter(options: Json & { producerId?: string; dataProducerId?: string; router: Router }): Promise<PipeToRouterResult>;
  /** Computed here from the mirror, synchronously. */
  canConsume(options: { producerId: string; rtpCapabilities: Json }): boolean;
}

/** Events: routerclose, trace, listenererror. Observer: close, newproducer, newconsumer, newdataproducer, newdataconsumer, trace. */
export declare class Transport<T extends AppData = AppData> extends MediaObject<T> {
  dump(): Promise<Json>;
  getStats(): Promise<Json[]>;
  connect(params?: Json): Promise<void>;
  setMaxIncomingBitrate(bitrate: number): Promise<void>;
  setMaxOutgoingBitrate(bitrate: number): Promise<void>;
  setMinOutgoingBitrate(bitrate: number): Promise<void>;
  enableTraceEvent(types?: string[]): Promise<void>;
  produce<A extends AppData = AppData>(options: Json & { kind: 'audio' | 'video'; rtpParameters: Json; appData?: A }): Promise<Producer<A>>;
  consume<A extends AppData = AppData>(options: Json & { producerId: string; rtpCapabilities: Json; appData?: A }): Promise<Consumer<A>>;
  produceData<A extends AppData = AppData>(options?: Json & { appData?: A }): Promise<DataProducer<A>>;
  consumeData<A extends AppData = AppData>(options: Json & { dataProducerId: string; appData?: A }): Promise<DataConsumer<A>>;
}

/** Events also: icestatechange, iceselectedtuplechange, dtlsstatechange, sctpstatechange, listenserverclose. */
export declare class WebRtcTransport<T extends AppData = AppData> extends Transport<T> {
  readonly iceRole: 'controlled';
  readonly iceParameters: Json;
  readonly iceCandidates: Json[];
  readonly iceState: string;
  readonly iceSelectedTuple: Json | undefined;
  readonly dtlsParameters: Json;
  readonly dtlsState: string;
  readonly dtlsRemoteCert: string | undefined;
  readonly sctpParameters: Json | undefined;
  readonly sctpState: string | undefined;
  connect(params: { dtlsParameters: Json }): Promise<void>;
  restartIce(): Promise<Json>;
}

/** Events also: tuple, rtcptuple, sctpstatechange. */
export declare class PlainTransport<T extends AppData = AppData> extends Transport<T> {
  readonly tuple: Json;
  readonly rtcpTuple: Json | undefined;
  readonly sctpParameters: Json | undefined;
  readonly sctpState: string | undefined;
  readonly srtpParameters: Json | undefined;
  connect(params?: { ip?: string; port?: number; rtcpPort?: number; srtpParameters?: Json }): Promise<void>;
}

/** Events also: sctpstatechange. */
export declare class PipeTransport<T extends AppData = AppData> extends Transport<T> {
  readonly tuple: Json;
  readonly sctpParameters: Json | undefined;
  readonly sctpState: string | undefined;
  readonly srtpParameters: Json | undefined;
  connect(params: { ip: string; port: number; srtpParameters?: Json }): Promise<void>;
}

/** Events also: rtcp (Buffer), delivered while a listener is registered (the connection subscribes). */
export declare class DirectTransport<T extends AppData = AppData> extends Transport<T> {
  /** Returns at once; packets go in order, one call each, at most 1024 waiting (more are dropped); a failure is the observer's 'listenererror' ('sendRtcp', error). */
  sendRtcp(rtcpPacket: Uint8Array): void;
}

/** Events: transportclose, score, videoorientationchange, trace. Observer: close, pause, resume, score, videoorientationchange, trace. */
export declare class Producer<T extends AppData = AppData> extends MediaObject<T> {
  readonly kind: 'audio' | 'video';
  readonly rtpParameters: Json;
  readonly type: 'simple' | 'simulcast' | 'svc' | 'pipe';
  readonly consumableRtpParameters: Json;
  readonly paused: boolean;
  readonly score: Json[];
  dump(): Promise<Json>;
  getStats(): Promise<Json[]>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  enableTraceEvent(types?: string[]): Promise<void>;
  /** DirectTransport producers; returns at once; packets go in order, one call each, at most 1024 waiting (more are dropped); a failure is the observer's 'listenererror' ('send', error). */
  send(rtpPacket: Uint8Array): void;
}

/** Events: transportclose, producerclose, producerpause, producerresume, score, layerschange, trace, rtp (Buffer; DirectTransport consumers, delivered while a listener is registered: the connection subscribes). Observer: close, pause, resume, score, layerschange, trace. */
export declare class Consumer<T extends AppData = AppData> extends MediaObject<T> {
  readonly producerId: string;
  readonly kind: 'audio' | 'video';
  readonly rtpParameters: Json;
  readonly type: 'simple' | 'simulcast' | 'svc' | 'pipe';
  readonly paused: boolean;
  readonly producerPaused: boolean;
  readonly priority: number;
  readonly score: Json;
  readonly preferredLayers: { spatialLayer: number; temporalLayer?: number } | undefined;
  readonly currentLayers: { spatialLayer: number; temporalLayer?: number } | undefined;
  dump(): Promise<Json>;
  getStats(): Promise<Json[]>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  setPreferredLayers(layers: { spatialLayer: number; temporalLayer?: number }): Promise<void>;
  setPriority(priority: number): Promise<void>;
  unsetPriority(): Promise<void>;
  requestKeyFrame(): Promise<void>;
  enableTraceEvent(types?: string[]): Promise<void>;
}

/** Events: transportclose. Observer: close, pause, resume. */
export declare class DataProducer<T extends AppData = AppData> extends MediaObject<T> {
  readonly type: 'sctp' | 'direct';
  readonly sctpStreamParameters: Json | undefined;
  readonly label: string;
  readonly protocol: string;
  readonly paused: boolean;
  dump(): Promise<Json>;
  getStats(): Promise<Json[]>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** DirectTransport only; returns at once, messages go in order. */
  send(message: string | Uint8Array, ppid?: number, subchannels?: number[], requiredSubchannel?: number): void;
}

/** Events: transportclose, dataproducerclose, dataproducerpause, dataproducerresume, message (Buffer, ppid), sctpsendbufferfull, bufferedamountlow (number). Observer: close, pause, resume. */
export declare class DataConsumer<T extends AppData = AppData> extends MediaObject<T> {
  readonly dataProducerId: string;
  readonly type: 'sctp' | 'direct';
  readonly sctpStreamParameters: Json | undefined;
  readonly label: string;
  readonly protocol: string;
  readonly paused: boolean;
  readonly dataProducerPaused: boolean;
  readonly subchannels: number[];
  dump(): Promise<Json>;
  getStats(): Promise<Json[]>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  setBufferedAmountLowThreshold(threshold: number): Promise<void>;
  getBufferedAmount(): Promise<number>;
  setSubchannels(subchannels: number[]): Promise<void>;
  addSubchannel(subchannel: number): Promise<void>;
  removeSubchannel(subchannel: number): Promise<void>;
  /** A message from the server to the consumer's endpoint (SCTP stream, or 'message' on a DirectTransport); rejects with Error "sctpsendbufferfull" when the SCTP send buffer is full. */
  send(message: string | Uint8Array, ppid?: number): Promise<void>;
}

/** Events: routerclose. Observer: close, pause, resume, addproducer (Producer), removeproducer (Producer). */
export declare class RtpObserver<T extends AppData = AppData> extends MediaObject<T> {
  readonly paused: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
  addProducer(options: { producerId: string }): Promise<void>;
  removeProducer(options: { producerId: string }): Promise<void>;
}
/** Events also: dominantspeaker ({producer}). */
export declare class ActiveSpeakerObserver<T extends AppData = AppData> extends RtpObserver<T> {}
/** Events also: volumes ([{producer, volume}]), silence. */
export declare class AudioLevelObserver<T extends AppData = AppData> extends RtpObserver<T> {}

export type ConnectOptions = {
  WebSocket?: any;
  token?: string;
  rootId?: string;
  timeout?: number;
  rope?: RopeClientOptions;
};

export declare const types: {
  Worker: typeof Worker; WebRtcServer: typeof WebRtcServer; Router: typeof Router; Transport: typeof Transport;
  WebRtcTransport: typeof WebRtcTransport; PlainTransport: typeof PlainTransport; PipeTransport: typeof PipeTransport;
  DirectTransport: typeof DirectTransport; Producer: typeof Producer; Consumer: typeof Consumer;
  DataProducer: typeof DataProducer; DataConsumer: typeof DataConsumer; RtpObserver: typeof RtpObserver;
  ActiveSpeakerObserver: typeof ActiveSpeakerObserver; AudioLevelObserver: typeof AudioLevelObserver;
  UnsupportedError: typeof UnsupportedError; InvalidStateError: typeof InvalidStateError;
};

export type ScalabilityMode = { spatialLayers: number; temporalLayers: number; ksvc: boolean };
export declare function parseScalabilityMode(scalabilityMode?: string): ScalabilityMode;

/** The mediasoup API on one connection. */
export declare class RemoteMediasoup {
  constructor(url: string, options?: ConnectOptions);
  readonly version: string;
  /** The server's version (mediasoup's followed, with the server's); undefined before connecting. */
  readonly serverVersion: string | undefined;
  readonly workerBin: undefined;
  readonly types: typeof types;
  readonly observer: EnhancedEventEmitter;
  readonly url: string;
  readonly ropeClient: RopeClient | null;
  parseScalabilityMode: typeof parseScalabilityMode;
  ready(): Promise<void>;
  createWorker<A extends AppData = AppData>(settings?: WorkerSettings<A>): Promise<Worker<A>>;
  getSupportedRtpCapabilities(): Json;
  setLogEventListeners(listeners?: Json): void;
  close(): void;
}

/** The mediasoup version whose Node API this follows, with this package's: "3.14.16+rope.0.1.0". */
export declare const version: string;
/** Always undefined: workers run on the server. */
export declare const workerBin: undefined;
/** Emits newworker (Worker). */
export declare const observer: EnhancedEventEmitter;
export declare function connect(url?: string, options?: ConnectOptions): Promise<RemoteMediasoup>;
export declare function createWorker<A extends AppData = AppData>(settings?: WorkerSettings<A>): Promise<Worker<A>>;
export declare function getSupportedRtpCapabilities(): Json;
export declare function setLogEventListeners(listeners?: Json): void;
export declare function close(): void;

declare const mediasoup: {
  version: string; workerBin: undefined; types: typeof types; observer: EnhancedEventEmitter;
  connect: typeof connect; createWorker: typeof createWorker; getSupportedRtpCapabilities: typeof getSupportedRtpCapabilities;
  setLogEventListeners: typeof setLogEventListeners; parseScalabilityMode: typeof parseScalabilityMode; close: typeof close;
};
export default mediasoup;
