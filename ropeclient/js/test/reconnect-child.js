// Child process of reconnect.test.js: a client with the WebSocket named by
// argv[3] ("ws", or "builtin" for the runtime's own: Node 22, or Node 20 with
// --experimental-websocket) connecting to argv[2]. It prints one JSON line per
// client event, then the result of a call once connected, and exits.
import WebSocket from 'ws';
import { RopeClient } from '../src/index.js';

const [url, impl] = process.argv.slice(2);
const client = new RopeClient(url, {
  WebSocket: impl === 'ws' ? WebSocket : globalThis.WebSocket,
  reconnectDelay: 10,
  maxReconnectDelay: 50,
  connectTimeout: 300,
});
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
client.addEventListener('error', (e) => say({ event: 'error', message: e.detail.error?.message }));
client.addEventListener('connected', () => say({ event: 'connected' }));
await client.ready();
const root = client.object('fixture');
say({ event: 'result', value: (await root.createCounter({ value: 7 })).id });
client.close();
