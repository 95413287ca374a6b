// The page's side of the browser test: mediasoup-client, unmodified, with
// ROPE (our JS client) as its signalling. The driver (run.mjs) calls the
// functions on window.ropeTest from the Playwright side.
import { Device } from 'mediasoup-client';
import { RopeClient } from '../../../ropeclient/js/src/index.js';

let client;
let device;

// connect opens ROPE and loads the device with the router's capabilities.
async function connect(url, routerId) {
  client = new RopeClient(url);
  await client.ready();
  const router = client.object(routerId);
  if (!router) throw new Error(`router ${routerId} not in the mirror`);
  device = new Device();
  await device.load({ routerRtpCapabilities: router.props.rtpCapabilities });
  return router;
}

// createTransport creates a WebRtcTransport on the server and its
// mediasoup-client twin, wiring connect/produce/producedata to ROPE calls.
// With opts.webRtcServerId the transport uses that WebRtcServer's
// sockets instead of its own; opts.listenInfos replaces the default
// (UDP on 127.0.0.1), [] leaving the address to the server.
async function createTransport(router, direction, opts = {}) {
  const listen = opts.webRtcServerId
    ? { webRtcServerId: opts.webRtcServerId }
    : { listenInfos: opts.listenInfos || [{ protocol: 'udp', ip: '127.0.0.1' }] };
  const { id } = await router.call('createWebRtcTransport', { ...listen, enableSctp: true });
  const remote = client.object(id);
  const options = {
    id,
    iceParameters: remote.props.iceParameters,
    iceCandidates: remote.props.iceCandidates,
    dtlsParameters: remote.props.dtlsParameters,
    sctpParameters: remote.props.sctpParameters,
  };
  const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
  transport.on('connect', ({ dtlsParameters }, ok, fail) => {
    remote.call('connect', { dtlsParameters }).then(ok, fail);
  });
  transport.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
    remote.call('produce', { kind, rtpParameters, appData }).then(ok, fail);
  });
  transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, ok, fail) => {
    remote.call('produceData', { sctpStreamParameters, label, protocol, appData }).then(ok, fail);
  });
  return { transport, remote };
}

// Simulcast encodings as in mediasoup's demo: mediasoup-client gives them
// rids r0, r1, r2 and Chromium sends them without SSRCs in the signalling.
const SIMULCAST_ENCODINGS = [
  { scaleResolutionDownBy: 4, maxBitrate: 500000 },
  { scaleResolutionDownBy: 2, maxBitrate: 1000000 },
  { scaleResolutionDownBy: 1, maxBitrate: 5000000 },
];

// produce sends the fake camera and microphone and opens a data channel;
// it returns the server ids of the producers. options as createTransport's,
// simulcast (video in three encodings), l1t3 (each with scalabilityMode
// L1T3), hd (the camera at 1280x720, 15 frames a second, rather than
// 640x480), svc (a scalabilityMode: VP9 at 1280x720 in one encoding) and
// single (a scalabilityMode: the router's first video codec, VP8, in one
// encoding, as encodings [{ scalabilityMode: 'L1T3' }]).
async function produce(url, routerId, options = {}) {
  const router = await connect(url, routerId);
  const { transport } = await createTransport(router, 'send', options);
  window.ropeTest.sendTransport = transport;
  let size = options.hd ? { width: 1280, height: 720, frameRate: 15 } : { width: 640, height: 480 };
  if (options.svc) size = { width: 1280, height: 720 };
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: size });
  const video = await transport.produce({
    track: stream.getVideoTracks()[0],
    ...(options.simulcast ? { encodings: options.l1t3 ? SIMULCAST_ENCODINGS.map((e) => ({ ...e, scalabilityMode: 'L1T3' })) : SIMULCAST_ENCODINGS } : {}),
    // SVC: VP9 in one encoding with the given scalabilityMode (L3T3_KEY:
    // three spatial and three temporal layers, K-SVC); a router without
    // VP9 leaves the codec to mediasoup-client (AV1 for
    // TestChromiumAV1SVC, whose router offers no other video codec).
    ...(options.svc ? {
      codec: device.rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp9'),
      encodings: [{ scalabilityMode: options.svc }],
    } : {}),
    ...(options.single ? { encodings: [{ scalabilityMode: options.single }] } : {}),
  });
  if (options.svc || options.single) {
    const p = video.rtpSender.getParameters();
    window.ropeTest.sendParameters = { encodings: p.encodings, codecs: p.codecs.map((c) => c.mimeType) };
  }
  const audio = await transport.produce({ track: stream.getAudioTracks()[0] });
  const data = await transport.produceData({ label: 'chat', ordered: true });
  window.ropeTest.dataProducer = data;
  await new Promise((resolve) => (data.readyState === 'open' ? resolve() : data.on('open', resolve)));
  return { video: video.id, audio: audio.id, data: data.id };
}

// withoutBwe is caps without what lets a sender estimate the bandwidth
// toward this receiver (transport-cc and abs-send-time, their feedback):
// the SFU then forwards the layers asked for, whatever its estimate.
function withoutBwe(caps) {
  const bwe = ['transport-cc', 'goog-remb'];
  return {
    ...caps,
    codecs: caps.codecs.map((c) => ({ ...c, rtcpFeedback: (c.rtcpFeedback || []).filter((f) => !bwe.includes(f.type)) })),
    headerExtensions: caps.headerExtensions.filter((h) => !/transport-wide-cc|abs-send-time/.test(h.uri)),
  };
}

// consume receives the given producers (ids.video, ids.audio and, when
// set, the data producer ids.data); the driver then polls stats().
// options as createTransport's, and noBwe (consume without transport-cc
// and REMB: see withoutBwe).
async function consume(url, routerId, ids, options = {}) {
  const router = await connect(url, routerId);
  const { transport, remote } = await createTransport(router, 'recv', options);
  const tracks = [];
  const rtpCapabilities = options.noBwe ? withoutBwe(device.rtpCapabilities) : device.rtpCapabilities;
  for (const producerId of [ids.video, ids.audio]) {
    const { id } = await remote.call('consume', { producerId, rtpCapabilities, paused: true });
    const mirror = client.object(id);
    const consumer = await transport.consume({
      id, producerId, kind: mirror.props.kind, rtpParameters: mirror.props.rtpParameters,
    });
    tracks.push(consumer.track);
    await mirror.call('resume');
  }
  document.getElementById('remote').srcObject = new MediaStream(tracks);
  window.ropeTest.received = [];
  window.ropeTest.recvTransport = transport;
  if (!ids.data) return true; // no data channel asked for
  const { id: dcId } = await remote.call('consumeData', { dataProducerId: ids.data });
  const dcMirror = client.object(dcId);
  const dataConsumer = await transport.consumeData({
    id: dcId, dataProducerId: ids.data, sctpStreamParameters: dcMirror.props.sctpStreamParameters,
    label: dcMirror.props.label, protocol: dcMirror.props.protocol,
  });
  dataConsumer.on('message', (m) => window.ropeTest.received.push(String(m)));
  return true;
}

// stats reports what the consuming tab decodes and hears: the video
// element's size, and the inbound stream's frames decoded and width of
// the last decoded frame.
async function stats() {
  const video = document.getElementById('remote');
  const report = await window.ropeTest.recvTransport.getStats();
  let framesDecoded = 0;
  let frameWidth = 0;
  let frameHeight = 0;
  let audioPackets = 0;
  let videoPackets = 0;
  report.forEach((s) => {
    // Not mediasoup-client's probator (mid "probator", SSRC 1234), which
    // receives the SFU's probation packets and decodes nothing.
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid !== 'probator' && s.ssrc !== 1234) {
      framesDecoded = s.framesDecoded || 0;
      frameWidth = s.frameWidth || 0;
      frameHeight = s.frameHeight || 0;
      videoPackets = s.packetsReceived || 0;
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPackets = s.packetsReceived || 0;
  });
  return {
    width: video.videoWidth, height: video.videoHeight, framesDecoded, frameWidth, frameHeight, videoPackets, audioPackets,
    received: window.ropeTest.received,
  };
}

// sendStats reports what the producing tab sends: per video encoding
// (rid) the bytes sent, frames encoded and size, and the bandwidth
// estimate of its transport (availableOutgoingBitrate, from our
// transport-cc feedback).
async function sendStats() {
  const report = await window.ropeTest.sendTransport.getStats();
  const layers = [];
  let availableOutgoingBitrate = 0;
  report.forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      layers.push({
        rid: s.rid || '', bytesSent: s.bytesSent || 0, framesEncoded: s.framesEncoded || 0,
        width: s.frameWidth || 0, height: s.frameHeight || 0, active: s.active,
        qualityLimitationReason: s.qualityLimitationReason,
      });
    }
    if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) {
      availableOutgoingBitrate = s.availableOutgoingBitrate;
    }
  });
  layers.sort((x, y) => (x.rid < y.rid ? -1 : 1));
  return { layers, availableOutgoingBitrate, parameters: window.ropeTest.sendParameters };
}

function send(text) {
  window.ropeTest.dataProducer.send(text);
}

window.ropeTest = { produce, consume, stats, sendStats, send };
