import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envelope, readEnvelope } from './envelope.js';
import { SerializedWriter } from './serialized-writer.js';

test('envelopes round-trip and refuse what they cannot restore', () => {
  const e = envelope('cluster', 3, { value: 'ready' }, new Date('2026-01-01T00:00:00Z'));
  assert.deepEqual(readEnvelope('cluster', JSON.parse(JSON.stringify(e))), { kind: 'ok', envelope: e });
  assert.equal(readEnvelope('cluster', undefined).kind, 'none');
  assert.match((readEnvelope('cluster', { ...e, version: 99 }) as { reason: string }).reason, /newer than this operator/);
  assert.match((readEnvelope('cluster', { ...e, version: 0 }) as { reason: string }).reason, /no migration from 0/);
  assert.match((readEnvelope('cluster', { ...e, machineId: 'agent' }) as { reason: string }).reason, /not a cluster snapshot/);
});

test('the serialized writer never overlaps writes and keeps only the latest pending value', async () => {
  const written: number[] = [];
  let active = 0;
  const w = new SerializedWriter<number>(async (v) => {
    active++;
    assert.equal(active, 1);
    await new Promise((r) => setTimeout(r, 5));
    written.push(v);
    active--;
  }, (e) => { throw e; });
  for (let i = 1; i <= 5; i++) w.submit(i);
  await w.flush();
  assert.deepEqual(written, [1, 5]);
});
