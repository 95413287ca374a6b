// A video-room app server: browsers load the demo page from it and speak
// JSON over a WebSocket (/ws) to it; it alone talks ROPE to the media server
// (cmd/ropeserver), through the remote mediasoup API, written as a mediasoup
// app is. Browsers never see the media server, its token or other rooms:
// the deployment docs/lifetime-and-trust.md recommends.
//
//   go run ./cmd/ropeserver            # the media server, ws://127.0.0.1:8444/
//   cd examples/node-room && npm install && npm start
//   open http://127.0.0.1:3000/        # in two tabs
//
// Environment: ROPE_MEDIASOUP_URL (default ws://127.0.0.1:8444/),
// ROPE_MEDIASOUP_TOKEN, PORT (3000), HOST (127.0.0.1), RTC_IP (the IP the
// media server's transports listen on, 127.0.0.1), ANNOUNCED_IP (the one
// browsers are told, default RTC_IP).
//
// Signalling (page/signal-ws.js of the demo): requests {id, method, params}
// answered {id, result} or {id, error}; events {event, data}. Methods:
// join, start, createTransport, connect, produce, produceData, consume,
// resume, setPreferredLayers, consumeData. A closed socket is a peer leaving.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as mediasoup from '@ropehq/rope-client/mediasoup'; // was: from 'mediasoup'
import WebSocket, { WebSocketServer } from 'ws';

/** The codecs of every room. */
export const mediaCodecs = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
];

/** Bounds on what browsers can make this server hold. */
export const limits = { rooms: 16, peersPerRoom: 16, transportsPerPeer: 2, producersPerPeer: 2, dataProducersPerPeer: 1, nameLength: 64, message: 64 * 1024 };

// The page is the demo's (demo/page, bundled in demo/dist/room.js), with
// this server's signalling selected.
const demoDir = fileURLToPath(new URL('../../demo/', import.meta.url));
const files = {
  '/': ['text/html; charset=utf-8', () => readFileSync(`${demoDir}page/index.html`, 'utf8').replace('data-signal="rope"', 'data-signal="ws"')],
  '/room.js': ['text/javascript; charset=utf-8', () => readFileSync(`${demoDir}dist/room.js`)],
  '/room.css': ['text/css; charset=utf-8', () => readFileSync(`${demoDir}page/room.css`)],
};

class SignalError extends Error {}

function check(cond, message) {
  if (!cond) throw new SignalError(message);
}

function checkName(v, what) {
  check(typeof v === 'string' && v.length > 0 && v.length <= limits.nameLength && !/[\p{Cc}\p{Cf}]/u.test(v), `bad ${what}`);
  return v;
}

/** One browser tab in a room. */
class Peer {
  constructor(room, id, name, socket) {
    this.room = room;
    this.id = id;
    this.name = name;
    this.socket = socket;
    this.started = false;
    this.transports = new Map();
    this.producers = new Map();
    this.dataProducers = new Map();
    this.consumers = new Map();
    this.dataConsumers = new Map();
  }

  send(event, data) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ event, data }));
  }

  transport(id) {
    const t = this.transports.get(id);
    check(t, 'unknown transport');
    return t;
  }
}

/** A room: a router with an ActiveSpeakerObserver, and its peers. */
class Room {
  constructor(name, router, speaker) {
    this.name = name;
    this.router = router;
    this.speaker = speaker;
    /** @type {Map<string, Peer>} */
    this.peers = new Map();
    speaker.on('dominantspeaker', ({ producer }) => this.broadcast('speaker', { peerId: producer?.appData.peerId }));
  }

  /** Sends an event to every started peer but one. */
  broadcast(event, data, except) {
    for (const p of this.peers.values()) if (p !== except && p.started) p.send(event, data);
  }
}

/**
 * Starts the app server. Resolves with {url, port, rooms, close()}.
 * @param {{port?: number, host?: string, mediaUrl?: string, token?: string, rtcIp?: string, announcedIp?: string}} [options]
 */
export async function startAppServer(options = {}) {
  const env = process.env;
  const host = options.host ?? env.HOST ?? '127.0.0.1';
  const rtcIp = options.rtcIp ?? env.RTC_IP ?? '127.0.0.1';
  const announcedAddress = options.announcedIp ?? env.ANNOUNCED_IP ?? undefined;
  const listenInfo = { protocol: 'udp', ip: rtcIp, ...(announcedAddress ? { announcedAddress } : {}) };

  // What changes from a mediasoup app: connect() says where the media server
  // is (with the ws package as WebSocket on Node 20); createWorker() then
  // makes the worker there.
  await mediasoup.connect(options.mediaUrl ?? env.ROPE_MEDIASOUP_URL ?? 'ws://127.0.0.1:8444/', {
    WebSocket, token: options.token ?? env.ROPE_MEDIASOUP_TOKEN,
  });
  const worker = await mediasoup.createWorker({ logLevel: 'warn', appData: { app: 'node-room' } });
  worker.on('died', (err) => console.error('node-room: media worker died:', err.message));

  /** @type {Map<string, Room>} */
  const rooms = new Map();
  /** Rooms being created, so that concurrent joins make one. */
  const creating = new Map();

  async function roomNamed(name) {
    const existing = rooms.get(name);
    if (existing) return existing;
    if (!creating.has(name)) {
      check(rooms.size + creating.size < limits.rooms, 'too many rooms');
      creating.set(name, (async () => {
        const router = await worker.createRouter({ mediaCodecs, appData: { room: name } });
        const speaker = await router.createActiveSpeakerObserver({ interval: 300 });
        const room = new Room(name, router, speaker);
        rooms.set(name, room);
        router.observer.on('close', () => { if (rooms.get(name) === room) rooms.delete(name); });
        return room;
      })().finally(() => creating.delete(name)));
    }
    return creating.get(name);
  }

  function leave(peer) {
    const { room } = peer;
    if (room.peers.get(peer.id) !== peer) return;
    room.peers.delete(peer.id);
    for (const t of peer.transports.values()) t.close(); // and its producers, consumers, data producers
    room.broadcast('peerleft', { peerId: peer.id });
    if (room.peers.size === 0) room.router.close();
  }

  /** The signalling methods, with the peer (null before join) and the params. */
  const methods = {
    async join(state, { room: roomName, peerId, name }) {
      check(!state.peer, 'already joined');
      checkName(roomName, 'room');
      checkName(peerId, 'peerId');
      checkName(name, 'name');
      const room = await roomNamed(roomName);
      check(state.socket.readyState === WebSocket.OPEN, 'left while joining');
      check(room.peers.size < limits.peersPerRoom, 'room full');
      check(!room.peers.has(peerId), 'peerId in use');
      const peer = new Peer(room, peerId, name, state.socket);
      room.peers.set(peerId, peer);
      state.peer = peer;
      room.broadcast('peer', { peerId, name }, peer);
      return { rtpCapabilities: room.router.rtpCapabilities };
    },

    // The current state, then the changes.
    async start({ peer }) {
      peer.started = true;
      for (const other of peer.room.peers.values()) {
        if (other === peer) continue;
        peer.send('peer', { peerId: other.id, name: other.name });
        for (const p of other.producers.values()) peer.send('producer', producerInfo(other, p));
        for (const d of other.dataProducers.values()) peer.send('dataproducer', dataProducerInfo(other, d));
      }
      return {};
    },

    async createTransport({ peer }, { direction }) {
      check(direction === 'send' || direction === 'recv', 'bad direction');
      check(peer.transports.size < limits.transportsPerPeer, 'too many transports');
      const t = await peer.room.router.createWebRtcTransport({
        listenInfos: [listenInfo], enableSctp: true, numSctpStreams: { OS: 1024, MIS: 1024 },
        appData: { peerId: peer.id, direction },
      });
      peer.transports.set(t.id, t);
      t.observer.on('close', () => peer.transports.delete(t.id));
      return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters, sctpParameters: t.sctpParameters };
    },

    async connect({ peer }, { transportId, dtlsParameters }) {
      await peer.transport(transportId).connect({ dtlsParameters });
      return {};
    },

    async produce({ peer }, { transportId, kind, rtpParameters, appData }) {
      check(peer.producers.size < limits.producersPerPeer, 'too many producers');
      const source = typeof appData?.source === 'string' ? appData.source.slice(0, 16) : kind;
      const p = await peer.transport(transportId).produce({ kind, rtpParameters, appData: { peerId: peer.id, source } });
      peer.producers.set(p.id, p);
      p.observer.on('close', () => {
        peer.producers.delete(p.id);
        peer.room.broadcast('producerclose', { producerId: p.id }, peer);
      });
      if (kind === 'audio') await peer.room.speaker.addProducer({ producerId: p.id });
      peer.room.broadcast('producer', producerInfo(peer, p), peer);
      return { id: p.id };
    },

    async produceData({ peer }, { transportId, sctpStreamParameters, label, protocol }) {
      check(peer.dataProducers.size < limits.dataProducersPerPeer, 'too many data producers');
      const d = await peer.transport(transportId).produceData({ sctpStreamParameters, label, protocol, appData: { peerId: peer.id } });
      peer.dataProducers.set(d.id, d);
      d.observer.on('close', () => {
        peer.dataProducers.delete(d.id);
        peer.room.broadcast('dataproducerclose', { dataProducerId: d.id }, peer);
      });
      peer.room.broadcast('dataproducer', dataProducerInfo(peer, d), peer);
      return { id: d.id };
    },

    async consume({ peer }, { transportId, producerId, rtpCapabilities }) {
      const t = peer.transport(transportId);
      check(peer.room.router.canConsume({ producerId, rtpCapabilities }), 'cannot consume');
      const c = await t.consume({ producerId, rtpCapabilities, paused: true });
      peer.consumers.set(c.id, c);
      c.observer.on('close', () => peer.consumers.delete(c.id));
      c.on('layerschange', (layers) => peer.send('layers', { consumerId: c.id, spatialLayer: layers?.spatialLayer }));
      return { id: c.id, producerId, kind: c.kind, rtpParameters: c.rtpParameters };
    },

    async resume({ peer }, { consumerId }) {
      const c = peer.consumers.get(consumerId);
      check(c, 'unknown consumer');
      await c.resume();
      return {};
    },

    async setPreferredLayers({ peer }, { consumerId, spatialLayer, temporalLayer }) {
      const c = peer.consumers.get(consumerId);
      check(c, 'unknown consumer');
      await c.setPreferredLayers({ spatialLayer, temporalLayer });
      return {};
    },

    async consumeData({ peer }, { transportId, dataProducerId }) {
      const d = await peer.transport(transportId).consumeData({ dataProducerId });
      peer.dataConsumers.set(d.id, d);
      d.observer.on('close', () => peer.dataConsumers.delete(d.id));
      return { id: d.id, dataProducerId, sctpStreamParameters: d.sctpStreamParameters, label: d.label, protocol: d.protocol };
    },
  };

  function producerInfo(peer, p) {
    return { producerId: p.id, peerId: peer.id, name: peer.name, kind: p.kind, source: p.appData.source };
  }
  function dataProducerInfo(peer, d) {
    return { dataProducerId: d.id, peerId: peer.id, name: peer.name, label: d.label };
  }

  const http = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const f = files[path];
    if (!f || req.method !== 'GET') {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': f[0], 'Cache-Control': 'no-cache' }).end(f[1]());
  });
  const wss = new WebSocketServer({
    server: http,
    path: '/ws',
    maxPayload: limits.message,
    // Pages of other sites may not open a socket here (a cookie-less app
    // still should not serve them).
    verifyClient: ({ origin, req }) => !origin || new URL(origin).host === req.headers.host,
  });
  wss.on('connection', (socket) => {
    const state = { socket, peer: null };
    socket.on('message', async (raw) => {
      let msg;
      try {
        msg = JSON.parse(String(raw));
      } catch {
        socket.close(1003, 'not JSON');
        return;
      }
      const { id, method, params } = msg ?? {};
      const reply = (body) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ id, ...body }));
      try {
        const fn = Object.hasOwn(methods, method) ? methods[method] : undefined;
        check(fn, `unknown method ${method}`);
        check(method === 'join' || state.peer, 'join first');
        reply({ result: await fn(state, params ?? {}) });
      } catch (err) {
        // Errors of the media server are the mediasoup ones (TypeError, …): their messages are meant for callers.
        reply({ error: err instanceof SignalError || err instanceof TypeError ? err.message : `${err.name}: ${err.message}` });
      }
    });
    socket.on('close', () => { if (state.peer) leave(state.peer); });
  });

  await new Promise((resolve) => http.listen(options.port ?? Number(env.PORT ?? 3000), host, resolve));
  const { port } = http.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  return {
    url,
    port,
    rooms,
    worker,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => http.close(resolve));
      worker.close();
      mediasoup.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = await startAppServer();
  console.log(`node-room: open ${app.url} in two tabs`);
  const stop = () => app.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
