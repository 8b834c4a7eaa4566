import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { ScramServer, ScramClientWithKey, parseVerifier, mockVerifier } from './scram.js';

/** What PostgreSQL stores for a password (src/common/scram-common.c). */
function verifierFor(password: string, salt: Buffer, iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** A password-holding SCRAM client, as libpq computes it. */
function passwordClient(password: string, clientFirst: string, serverFirst: string) {
  const a = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(a.s!, 'base64'), Number(a.i), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const without = `c=biws,r=${a.r}`;
  const auth = `${clientFirst.slice(3)},${serverFirst},${without}`;
  const sig = createHmac('sha256', storedKey).update(auth).digest();
  return { final: `${without},p=${Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64')}`, clientKey };
}

test('a correct password passes, recovers ClientKey, and that key logs in to a server holding the same verifier', () => {
  const v = parseVerifier(verifierFor('s3cret', Buffer.from('0123456789abcdef')))!;
  const server = new ScramServer(v);
  const clientFirst = 'n,,n=alice,r=abcdefghijklmnop';
  const serverFirst = server.first(clientFirst);
  const { final, clientKey } = passwordClient('s3cret', clientFirst, serverFirst);
  const result = server.final(final);
  assert.deepEqual(result.clientKey, clientKey);

  // The router now plays the client towards a second server (PostgreSQL) with only the recovered key.
  const backend = new ScramServer(v);
  const router = new ScramClientWithKey(result.clientKey, v.serverKey);
  const backendFirst = backend.first(router.first());
  const proof = backend.final(router.final(backendFirst));
  assert.doesNotThrow(() => router.verify(proof.serverFinal));
  assert.throws(() => router.verify('v=AAAA'), /signature/);
});

test('a wrong password, a replayed nonce, channel binding and unknown roles all fail', () => {
  const v = parseVerifier(verifierFor('s3cret', Buffer.from('0123456789abcdef')))!;
  const server = new ScramServer(v);
  const cf = 'n,,n=,r=nonce1';
  const { final } = passwordClient('wrong', cf, server.first(cf));
  assert.throws(() => server.final(final), /password authentication failed/);
  const s2 = new ScramServer(v);
  s2.first(cf);
  assert.throws(() => s2.final('c=biws,r=nonce1,p=AAAA'), /nonce/);
  assert.throws(() => new ScramServer(v).first('p=tls-server-end-point,,n=,r=x'), /channel binding/);
  const mock = new ScramServer(mockVerifier('ghost', Buffer.alloc(32)));
  const mf = mock.first(cf);
  assert.throws(() => mock.final(passwordClient('anything', cf, mf).final), /password authentication failed/);
  assert.equal(parseVerifier('md5abcdef'), null);
  assert.equal(parseVerifier(null), null);
});
