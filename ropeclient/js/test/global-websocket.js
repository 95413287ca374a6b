// Child process of sync.test.js: the client with the runtime's own global
// WebSocket (Node 22, or Node 20 with --experimental-websocket), no options.
import { RopeClient } from '../src/index.js';

const client = new RopeClient(process.argv[2]);
await client.ready();
const { id } = await client.object('fixture').createCounter({ value: 1 });
const result = await client.object(id).increment({ by: 4 });
const closed = new Promise((resolve) => client.addEventListener('websocketClose', (e) => resolve(e.wasClean)));
client.close();
console.log(JSON.stringify({ result, wasClean: await closed, id }));
