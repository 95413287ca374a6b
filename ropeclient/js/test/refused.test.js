// Refused access ends reconnection (spec §12.3.5), against Go servers: a
// connection whose grant expires is closed with 4003 and the client does
// not reconnect with the same token (the server would answer 401); a
// handshake refused with 401 or 403 (the ws package exposes the status)
// is not retried. Each ends in CLOSED with a close event carrying an
// AccessRefusedError.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AccessRefusedError, CloseCode, RopeClient } from '../src/index.js';
import { startViewServer, waitFor } from './helpers.js';

/** Records a client's events by type, in order. */
function record(client) {
  const events = [];
  for (const type of ['connected', 'disconnected', 'websocketOpen', 'websocketClose', 'error', 'close']) {
    client.addEventListener(type, (ev) => events.push({ type, ev }));
  }
  return events;
}

let server;
before(async () => { server = await startViewServer(); });
after(async () => { await server?.stop(); });

describe('refused access', () => {
  it('a grant that expires (4003) ends the client: no reconnection with the same token', async () => {
    const c = new RopeClient(server.url, { WebSocket, token: 'expiring:300:alice', reconnectDelay: 10, maxReconnectDelay: 50 });
    const events = record(c);
    await c.ready();
    const counter = await c.object('fixture').createCounter({ value: 1 });
    assert.ok(c.object(counter.id));
    await waitFor(() => c.readyState === RopeClient.CLOSED, 10000, 'CLOSED after the grant expired');
    const types = events.map((e) => e.type);
    assert.deepEqual(types, ['websocketOpen', 'connected', 'websocketClose', 'disconnected', 'error', 'close']);
    const closed = events.find((e) => e.type === 'websocketClose').ev;
    assert.equal(closed.code, CloseCode.GRANT_EXPIRED);
    const { error } = events.find((e) => e.type === 'close').ev;
    assert.ok(error instanceof AccessRefusedError, `close event error ${error}`);
    assert.equal(error.code, 4003);
    assert.match(error.message, /grant expired/);
    assert.equal(c.closeError, error);
    assert.equal(events.find((e) => e.type === 'error').ev.error, error);
    await assert.rejects(c.ready(), AccessRefusedError);
    // Nothing more happens: no reconnection, which would end in 401 errors.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, types.length, `later events: ${events.slice(types.length).map((e) => e.type)}`);
  });

  it('a token refused at the handshake (401) is not retried', async () => {
    const c = new RopeClient(server.url, { WebSocket, token: 'not-a-token', reconnectDelay: 10, maxReconnectDelay: 50 });
    const events = record(c);
    await assert.rejects(c.ready(), (err) => err instanceof AccessRefusedError && err.code === 401);
    assert.deepEqual(events.map((e) => e.type), ['error', 'close']);
    assert.equal(c.closeError.code, 401);
    assert.match(c.closeError.message, /token refused \(HTTP 401\)/);
  });

  it('a handshake forbidden (403) is not retried', async () => {
    let hits = 0;
    const http = createServer((req, res) => { hits++; res.writeHead(403); res.end('no'); });
    await new Promise((r) => http.listen(0, '127.0.0.1', r));
    try {
      const c = new RopeClient(`ws://127.0.0.1:${http.address().port}/`, { WebSocket, reconnectDelay: 10, maxReconnectDelay: 50 });
      await assert.rejects(c.ready(), (err) => err instanceof AccessRefusedError && err.code === 403);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(hits, 1);
      assert.equal(c.readyState, RopeClient.CLOSED);
    } finally {
      await new Promise((r) => http.close(r));
    }
  });
});
