import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { beginRewrite, interruptedRewrite, isBootstrapped, markBootstrapped } from './markers.js';
import { bootstrapDataDir } from './bootstrap.js';
import { pgBinDir } from '../adapters/local/postgres-install.js';

function specIn(home: string, primary: InstanceSpec['primary']): InstanceSpec {
  mkdirSync(join(home, 'volume', 'pgdata'), { recursive: true });
  for (const f of ['s', 'r', 'a']) writeFileSync(join(home, f), 'pw\n');
  return {
    cluster: { namespace: 'default', name: 'demo' }, name: 'demo-1', serial: 1, host: '127.0.0.1', port: 5433, httpPort: 8001,
    dataDir: join(home, 'volume', 'pgdata'), runDir: join(home, 'run'), logFile: join(home, 'postgres.log'), pgBinDir: pgBinDir(undefined),
    bootstrap: { mode: 'initdb', initdb: { database: 'app', owner: 'app', dataChecksums: true, encoding: 'UTF8', locale: 'C' } }, primary,
    replicationSlot: 'pgop_demo_1', parameters: {}, pgHba: [], secrets: { superuser: join(home, 's'), replication: join(home, 'r'), app: join(home, 'a'), agentToken: join(home, 't') },
    runAsUser: null, members: ['demo-1', 'demo-2'], synchronous: null, lease: null, faultsFile: null,
  };
}

test('a rewind in progress unmarks the directory; only its end marks it again', () => {
  const spec = specIn(mkdtempSync(join(tmpdir(), 'pgop-markers-')), null);
  markBootstrapped(spec);
  assert.equal(isBootstrapped(spec), true);
  assert.equal(interruptedRewrite(spec), null);
  beginRewrite(spec, { host: '127.0.0.1', port: 6000 });
  assert.equal(isBootstrapped(spec), false, 'a crash now must not start the half-rewound directory');
  assert.deepEqual(interruptedRewrite(spec), { host: '127.0.0.1', port: 6000 });
  markBootstrapped(spec);
  assert.equal(isBootstrapped(spec), true);
  assert.equal(interruptedRewrite(spec), null);
});

test("the platform's current primary beats the one an interrupted rewind followed", () => {
  const spec = specIn(mkdtempSync(join(tmpdir(), 'pgop-markers-')), { host: '127.0.0.1', port: 7000 });
  beginRewrite(spec, { host: '127.0.0.1', port: 6000 });
  assert.deepEqual(interruptedRewrite(spec), { host: '127.0.0.1', port: 7000 });
});

test('an initdb instance whose rewind was interrupted clones again instead of running initdb', async () => {
  const spec = specIn(mkdtempSync(join(tmpdir(), 'pgop-markers-')), null);
  markBootstrapped(spec);
  beginRewrite(spec, { host: '127.0.0.1', port: 1 });
  // Nothing listens on port 1: the clone fails at once (the aborted signal stops its retries), initdb never runs.
  const stop = new AbortController();
  stop.abort();
  await assert.rejects(bootstrapDataDir(spec, null, () => undefined, stop.signal), /pg_basebackup/);
  assert.equal(existsSync(join(spec.dataDir, 'PG_VERSION')), false);
  assert.deepEqual(readdirSync(spec.dataDir), []);
  assert.equal(isBootstrapped(spec), false);
  assert.deepEqual(interruptedRewrite(spec), { host: '127.0.0.1', port: 1 }, 'still pending: the next start clones again');
});
