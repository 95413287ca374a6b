// Tokens minted in Node (src/token.js) against the Go server: a
// JS-minted token (HS256 and EdDSA) is accepted by the Go verifier and
// gets its grant, a wrongly signed one is refused at the handshake (401),
// and `ropeserver mint-token` (Go's ropeauth) mints the same claims.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { operatorToken, participantGrant, participantToken, signToken } from '../src/token.js';
import { connect, goBuild, startServer, withTimeout } from './helpers.js';

const run = promisify(execFile);
const secret = 'a test secret of at least 32 bytes, shared';

/** The HTTP status of a handshake presenting token (101 when accepted). */
function handshakeStatus(url, token) {
  return withTimeout(new Promise((resolve, reject) => {
    const u = new URL(url);
    u.searchParams.set('access_token', token);
    const ws = new WebSocket(u.href, 'rope.v1');
    ws.on('upgrade', (res) => { resolve(res.statusCode); ws.close(); });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode); res.resume(); });
    ws.on('error', (err) => { if (!String(err).includes('Unexpected server response')) reject(err); });
  }), 5000, 'handshake');
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

function headerOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
}

describe('tokens minted in Node', () => {
  let server;
  let dir;
  let ed;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rope-token-'));
    ed = generateKeyPairSync('ed25519');
    const pub = join(dir, 'ed25519.pub.pem');
    writeFileSync(pub, ed.publicKey.export({ type: 'spki', format: 'pem' }));
    server = await startServer(['-demo=false', '-token-secret', secret, '-token-public-key', pub]);
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('HS256 and EdDSA participant tokens pass the Go verifier', async () => {
    const hs = participantToken({ secret, routerId: 'room-router', subject: 'alice', ttl: 60 });
    const eddsa = participantToken({ privateKey: ed.privateKey, routerId: 'room-router', subject: 'bob', ttl: 60 });
    assert.equal(headerOf(hs).alg, 'HS256');
    assert.equal(headerOf(eddsa).alg, 'EdDSA');
    assert.equal(await handshakeStatus(server.url, hs), 101);
    assert.equal(await handshakeStatus(server.url, eddsa), 101);
  });

  it('a participant sees its room only: not the fixture, not the media root', async () => {
    const token = participantToken({ secret, routerId: 'no-such-router-yet', subject: 'carol', ttl: 60 });
    const c = await connect(server.url, { token, shared: false });
    try {
      assert.deepEqual([...c.objects].map((o) => o.id), []);
    } finally {
      c.close();
    }
  });

  it('an operator token minted in Node has full access', async () => {
    const c = await connect(server.url, { token: operatorToken({ secret, subject: 'ops' }), shared: false });
    try {
      assert.ok(c.object('fixture'), 'operator sees the fixture');
      assert.ok(c.object('media'), 'operator sees the media root');
      assert.deepEqual(await c.call('fixture', 'echo', [5]), [5]);
    } finally {
      c.close();
    }
  });

  it('refuses wrongly signed, expired and alg-confused tokens with 401', async () => {
    const other = generateKeyPairSync('ed25519');
    const now = Math.floor(Date.now() / 1000);
    const pubPem = ed.publicKey.export({ type: 'spki', format: 'pem' });
    const bad = {
      'another secret': participantToken({ secret: 'another secret of at least 32 bytes!', routerId: 'r', subject: 'm', ttl: 60 }),
      'another Ed25519 key': participantToken({ privateKey: other.privateKey, routerId: 'r', subject: 'm', ttl: 60 }),
      expired: participantToken({ secret, routerId: 'r', subject: 'm', ttl: 60, now: now - 3600 }),
      // HS256 keyed with the server's public key: the classic confusion.
      'HS256 keyed with the public key': signToken({ sub: 'm', exp: now + 60, rope: { operator: true } }, { secret: pubPem }),
      'no exp': signToken({ sub: 'm', rope: participantGrant('Router', 'r') }, { secret }),
      'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'm', exp: now + 60, rope: { operator: true } })).toString('base64url')}.`,
    };
    for (const [what, token] of Object.entries(bad)) {
      assert.equal(await handshakeStatus(server.url, token), 401, what);
    }
  });

  it('mints the same claims as ropeserver mint-token (Go ropeauth)', async () => {
    const bin = await goBuild('./cmd/ropeserver', 'ropeserver');
    for (const [flag, type] of [['-router', 'Router'], ['-mafalda-router', 'MafaldaRouter']]) {
      const { stdout } = await run(bin, ['mint-token', flag, 'room-7', '-subject', 'dave', '-ttl', '1h', '-token-secret', secret]);
      const goToken = stdout.trim();
      const jsToken = participantToken({ secret, [type === 'Router' ? 'routerId' : 'mafaldaRouterId']: 'room-7', subject: 'dave', ttl: 3600 });
      const g = claimsOf(goToken);
      const j = claimsOf(jsToken);
      assert.deepEqual(j.rope, g.rope, `${type}: rope claim`);
      assert.equal(j.sub, g.sub);
      assert.equal(j.exp - j.iat, g.exp - g.iat);
      assert.deepEqual(Object.keys(j).sort(), Object.keys(g).sort());
      assert.equal(headerOf(goToken).alg, headerOf(jsToken).alg);
      // and each passes the server
      assert.equal(await handshakeStatus(server.url, goToken), 101);
    }
    const { stdout } = await run(bin, ['mint-token', '-operator', '-subject', 'ops', '-ttl', '0', '-token-secret', secret]);
    assert.deepEqual(claimsOf(stdout.trim()).rope, claimsOf(operatorToken({ secret, subject: 'ops' })).rope);
  });
});
