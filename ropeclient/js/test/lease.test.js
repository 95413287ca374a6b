// Sessions and object leases (spec §17) against the Go ropeserver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, nextEvent, startServer, waitFor, withTimeout } from './helpers.js';

let server;
before(async () => { server = await startServer(['-lease-grace', '30s']); });
after(async () => { await server?.stop(); });

describe('sessions', () => {
  it('presents its session when it reconnects, so its objects stay', async () => {
    const a = await connect(server.url, { shared: false });
    const b = await connect(server.url, { shared: false });
    try {
      const sid = a.session;
      assert.match(sid ?? '', /^[0-9a-f]{32}$/);
      assert.equal(a.serverInfo.session.lease, 30000);
      const { id } = await a.object('fixture').createCounter({});
      a.websocket.terminate(); // no close frame
      await withTimeout(nextEvent(a, 'connected', 5000), 5000, 'A reconnects');
      assert.equal(a.session, sid, 'the same session after reconnecting');
      assert.equal((await b.call(id, 'increment')).value, 1, "A's counter is still there");
    } finally {
      a.close();
      b.close();
    }
  });

  it("closes a client's objects once it has been gone past the lease it asked for", async () => {
    const a = await connect(server.url, { shared: false, lease: 0 });
    const b = await connect(server.url, { shared: false });
    try {
      assert.equal(a.serverInfo.session.lease, 0);
      const { id } = await a.object('fixture').createCounter({});
      await waitFor(() => b.object(id), 2000, 'B sees the counter');
      a.close();
      await waitFor(() => !b.object(id), 5000, "A's counter closes");
    } finally {
      a.close();
      b.close();
    }
  });
});
