// Type declarations for @ropehq/rope-client/mafalda (hand-written; index.js is the source).
// Shapes follow spec/mafalda-v1.md; the mediasoup classes are those of ./mediasoup.

import type { RopeClient } from '../../index.js';
import type {
  AppData, ConnectOptions, EnhancedEventEmitter, InvalidStateError, RemoteMediasoup, Router, UnsupportedError,
} from '../mediasoup/index.js';

type Json = Record<string, any>;

export { InvalidStateError, UnsupportedError };

/** The id of the Mafalda root object. */
export declare const ROOT_ID: 'mafalda';
/** The `reason` of an error whose MafaldaRouter found no worker to place an object on. */
export declare const REASON_NO_WORKER: 'no_worker';

/** An inner worker: its id (WorkerDump.id) and process id. */
export type WorkerInfo = { workerId: string; pid: number };
/** An inner router a MafaldaRouter started using, and its worker. */
export type RouterInfo = { routerId: string; worker: WorkerInfo };

export type MafaldaRouterOptions<T extends AppData = AppData> = {
  /** Default a new UUID. */
  id?: string;
  /** Workers it may create itself; absent: one per CPU of the server; 0: only others'. */
  maxWorkers?: number;
  routerOptions?: { mediaCodecs?: Json[]; appData?: AppData };
  workerSettings?: { logLevel?: string; logTags?: string[]; rtcMinPort?: number; rtcMaxPort?: number; dtlsCertificateFile?: string; dtlsPrivateKeyFile?: string };
  /** Load in percent from which a worker takes no more of its transports while another can; default 60. */
  watermarkWorker?: number;
  /** One WebRtcServer per inner worker it places WebRTC transports on (spec/mafalda-v1.md §3.1.7). */
  webRtcServerOptions?: { listenInfos: Json[] };
  /** The MafaldaRouter's appData (kept here, stored on the server). */
  appData?: T;
};

/**
 * A mediasoup Router whose objects a Mafalda places on several workers.
 * Events and observer events also: newrouter (RouterInfo), workerdied
 * (WorkerInfo, Error), error (Error with code).
 */
export declare class MafaldaRouter<T extends AppData = AppData> extends Router<T> {
  /** The options it was created with, defaults applied. */
  readonly options: Required<Pick<MafaldaRouterOptions, 'id' | 'maxWorkers' | 'watermarkWorker'>> & MafaldaRouterOptions;
}

export type MafaldaDump = { workers: Json[]; mafaldaRouters: Json[] };
export type WorkerUsage = { workerId: string; pid: number; usage: Json };

/** A Mafalda on one connection. */
export declare class RemoteMafalda {
  constructor(url: string, options?: ConnectOptions);
  /** Emits newmafaldarouter (MafaldaRouter). */
  readonly observer: EnhancedEventEmitter;
  readonly url: string;
  readonly ropeClient: RopeClient | null;
  /** The mediasoup API of the same server and connection (workers are views of the Mafalda). */
  readonly mediasoup: RemoteMediasoup;
  /** The open MafaldaRouters, in creation order. */
  readonly mafaldaRouters: MafaldaRouter[];
  ready(): Promise<RopeClient>;
  getSupportedRtpCapabilities(): Json;
  createMafaldaRouter<A extends AppData = AppData>(options?: MafaldaRouterOptions<A>): Promise<MafaldaRouter<A>>;
  createRouter<A extends AppData = AppData>(options?: MafaldaRouterOptions<A>): Promise<MafaldaRouter<A>>;
  getMafaldaRouter(id: string): MafaldaRouter | undefined;
  getResourceUsages(): Promise<WorkerUsage[]>;
  dump(): Promise<MafaldaDump>;
  closeAllMafaldaRouters(): Promise<void>;
  close(): void;
}

export declare function connect(url?: string, options?: ConnectOptions): Promise<RemoteMafalda>;

declare const mafalda: {
  connect: typeof connect; MafaldaRouter: typeof MafaldaRouter; RemoteMafalda: typeof RemoteMafalda;
  ROOT_ID: typeof ROOT_ID; REASON_NO_WORKER: typeof REASON_NO_WORKER;
};
export default mafalda;
