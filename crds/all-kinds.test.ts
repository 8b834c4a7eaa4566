import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { admit, AdmissionError } from './admission.js';
import { definitions } from './registry.js';
import { repoRoot } from './generate.js';

const samples = join(repoRoot(), 'crds', 'samples');
const load = (f: string) => parse(readFileSync(join(samples, f), 'utf8')) as Record<string, unknown>;
function errors(obj: unknown, old?: ReturnType<typeof admit>): string[] {
  try { admit(obj, old); return []; } catch (e) { if (e instanceof AdmissionError) return e.causes.map((c) => `${c.field}: ${c.message}`); throw e; }
}

test('every kind has a sample, and every sample is admitted', () => {
  const files = readdirSync(samples).filter((f) => f.endsWith('.yaml'));
  const kinds = new Set(files.map((f) => load(f).kind));
  for (const d of definitions) assert.ok(kinds.has(d.kind), `no sample for ${d.kind}`);
  for (const f of files) assert.deepEqual(errors(load(f)), [], f);
  assert.equal(definitions.length, 10);
});

test('cross-field rules refuse what cannot work, naming the field', () => {
  const restore = load('backupjob-pitr.yaml');
  const spec = restore.spec as Record<string, unknown>;
  assert.match(errors({ ...restore, spec: { ...spec, restore: undefined } }).join(), /spec\.restore: a restore needs spec\.restore/);
  assert.match(errors({ ...restore, spec: { ...spec, restore: { targetTime: '2026-11-21T08:00:00Z', targetLSN: '0/1', into: { cluster: 'x' } } } }).join(), /set at most one of targetTime, targetLSN, targetName/);
  const range = load('shardrange.yaml');
  const rs = range.spec as { ranges: unknown[] };
  assert.match(errors({ ...range, spec: { ...rs, ranges: [{ start: '', end: '40', shard: 'a' }, { start: '80', end: '', shard: 'b' }] } }).join(), /contiguous/);
  assert.match(errors({ ...range, spec: { ...rs, ranges: [{ start: '', end: '80', shard: 'a' }] } }).join(), /cover the whole keyspace/);
  const split = load('shardsplitjob.yaml');
  assert.match(errors({ ...split, spec: { ...(split.spec as object), targetShards: ['a'] } }).join(), /spec\.targetShards/);
  const catalog = load('imagecatalog.yaml');
  assert.match(errors({ ...catalog, spec: { images: [{ major: 16, image: 'a' }, { major: 16, image: 'b' }] } }).join(), /lists a PostgreSQL major twice/);
  const user = load('postgresuser.yaml');
  assert.match(errors({ ...user, spec: { ...(user.spec as object), name: 'postgres' } }).join(), /spec\.name: is a reserved role name/);
  const pooler = load('pooler.yaml');
  assert.match(errors({ ...pooler, spec: { cluster: { name: 'demo' }, pgbouncer: { parameters: { listen_port: '6432' } } } }).join(), /listen_port is a PgBouncer setting the operator manages/);
  const sched = load('scheduledbackup.yaml');
  assert.match(errors({ ...sched, spec: { ...(sched.spec as object), schedule: 'nightly' } }).join(), /spec\.schedule: must be a cron schedule/);
});

test('immutable fields stay put on update', () => {
  const db = load('postgresdatabase.yaml');
  const old = admit(db);
  assert.match(errors({ ...db, spec: { ...(db.spec as object), name: 'other' } }, old).join(), /spec\.name: is immutable/);
  const backup = load('backupjob.yaml');
  assert.match(errors({ ...backup, spec: { ...(backup.spec as object), backupType: 'incr' } }, admit(backup)).join(), /spec: spec is immutable/);
});
