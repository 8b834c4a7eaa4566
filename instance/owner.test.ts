import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapOwner } from './owner.js';

const initdb = (owner: string) => ({ bootstrap: { mode: 'initdb' as const, initdb: { database: 'app', owner, dataChecksums: true, encoding: 'UTF8', locale: 'C' } } });

test('the agent refuses to create a reserved owner role', () => {
  for (const owner of ['postgres', 'streaming_replica', 'pg_read_all_data', 'PGOP_X']) {
    assert.throws(() => bootstrapOwner(initdb(owner)), /refusing to create the owner: bootstrap.initdb.owner role name ".*" is reserved/);
  }
  assert.deepEqual(bootstrapOwner(initdb('shop')), { owner: 'shop', database: 'app' });
  assert.equal(bootstrapOwner({ bootstrap: { mode: 'clone', source: { host: 'h', port: 1 } } }), null);
});
