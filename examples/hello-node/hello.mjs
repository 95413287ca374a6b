// Creates a worker, a router and a WebRTC transport on a media server over
// ROPE (by default the one `go run ./cmd/ropeserver` starts,
// ws://127.0.0.1:8444/; set ROPE_MEDIASOUP_URL for another), prints them
// and exits. It is a mediasoup script; only the import differs.
// Node >= 22 (or Node 20 with --experimental-websocket).
import * as mediasoup from '@ropehq/rope-client/mediasoup'; // was: from 'mediasoup'

const worker = await mediasoup.createWorker(); // connects on first use
const router = await worker.createRouter({
  mediaCodecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  ],
});
const transport = await router.createWebRtcTransport({
  listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  enableSctp: true,
});
const [c] = transport.iceCandidates;
console.log(`worker pid ${worker.pid}`);
console.log(`router ${router.id}`);
console.log(`webrtc transport ${transport.id} on ${c.address ?? c.ip}:${c.port}`);

worker.close(); // closes the router and transport; the script ends with the last worker
