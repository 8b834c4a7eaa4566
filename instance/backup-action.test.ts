import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBackupRequest, waitForPeerName } from './backup-action.js';
import { BadRequest } from './api-auth.js';

test('POST /backup takes only a backup type, a uid-shaped annotation value and a time: anything else is a 400', () => {
  assert.deepEqual(parseBackupRequest({ type: 'full', uid: 'a1b2-c3', since: 1700000000 }), { type: 'full', uid: 'a1b2-c3', since: 1700000000 });
  for (const body of [
    { type: 'full --repo1-path=/tmp', uid: 'u', since: 1 },
    { type: 'incr', uid: 'u=1 --annotation=x', since: 1 },
    { type: 'diff', uid: 'u\nrepo1-path=/etc', since: 1 },
    { type: 'full', uid: '', since: 1 },
    { type: 'full', uid: 'u', since: 'yesterday' },
    { type: 'full', uid: 'u', since: -1 },
  ]) assert.throws(() => parseBackupRequest(body as Record<string, unknown>), BadRequest, JSON.stringify(body));
});

test('POST /backup from a standby (ADR 0035): the primary peer is an IPv4 pod address, a TCP port and two absolute paths', () => {
  const primary = { host: '10.1.2.3', port: 5432, dataDir: '/var/lib/postgresql/data/pgdata', socketDir: '/var/run/pgop' };
  assert.deepEqual(parseBackupRequest({ type: 'full', uid: 'u', since: 1, primary }), { type: 'full', uid: 'u', since: 1, primary });
  for (const bad of [
    { ...primary, host: 'evil.example' }, { ...primary, host: '10.1.2.3\npg1-path=/' }, { ...primary, port: 0 }, { ...primary, port: '5432' },
    { ...primary, dataDir: 'relative' }, { ...primary, dataDir: '/a/../etc' }, { ...primary, socketDir: '/tmp\nrepo1-path=/x' }, null, 'x',
  ]) assert.throws(() => parseBackupRequest({ type: 'full', uid: 'u', since: 1, primary: bad }), BadRequest, JSON.stringify(bad));
});

test('a standby waits for the installed certificate to name the primary pod IP, and says so plainly when it never does', async () => {
  const { createCa, issueServerCert } = await import('../adapters/certs/x509.js');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const now = new Date();
  const ca = await createCa('test-ca', now, 86_400_000);
  const without = await issueServerCert(ca, 'demo', { dns: ['demo-r.default.svc'], ips: [] }, now, 86_400_000);
  const withIp = await issueServerCert(ca, 'demo', { dns: ['demo-r.default.svc', '10.1.2.3'], ips: [] }, now, 86_400_000);
  const file = join(mkdtempSync(join(tmpdir(), 'peer-name-')), 'tls.crt');
  writeFileSync(file, without.cert);
  // The renewal lands while the standby waits: the wait ends with it.
  setTimeout(() => writeFileSync(file, withIp.cert), 150);
  await waitForPeerName(file, '10.1.2.3', { timeoutMs: 5_000, everyMs: 20 });
  writeFileSync(file, without.cert);
  await assert.rejects(waitForPeerName(file, '10.9.9.9', { timeoutMs: 100, everyMs: 20 }), /does not name the primary's address 10\.9\.9\.9 after/);
});
