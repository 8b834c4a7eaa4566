import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectRoutes, type RouteObservation } from './routes.js';
import { readyCluster } from '../../tests/fixtures/cluster-fakes.js';
import { clusterMachine } from './cluster.machine.js';

const replicasReady = (name: string): RouteObservation | undefined => (name === 'demo-1' ? { role: 'primary', ready: true } : { role: 'replica', ready: true });

test('read-write goes to the one primary record, read-only to ready running replicas', async () => {
  const { actor } = await readyCluster(3);
  const snap = actor.getSnapshot();
  assert.equal(snap.context.currentPrimary, 'demo-1');
  assert.deepEqual(selectRoutes(snap, replicasReady), { readWrite: 'demo-1', readOnly: ['demo-2', 'demo-3'] });
  // A replica its agent does not report ready, or reports as primary, gets no read-only traffic.
  assert.deepEqual(selectRoutes(snap, (n) => (n === 'demo-2' ? { role: 'replica', ready: false } : replicasReady(n))).readOnly, ['demo-3']);
  assert.deepEqual(selectRoutes(snap, (n) => (n === 'demo-3' ? undefined : replicasReady(n))).readOnly, ['demo-2']);
  actor.stop();
});

test('a primary being failed over, or known gone, gets no read-write traffic', async () => {
  const { actor } = await readyCluster(3);
  const ready = actor.getSnapshot();
  actor.stop();
  const failingOver = clusterMachine.resolveState({ value: 'failingOver', context: { ...ready.context, planFrom: 'demo-1' } });
  assert.equal(selectRoutes(failingOver, replicasReady).readWrite, null);
  const gone = clusterMachine.resolveState({ value: 'degraded', context: { ...ready.context, goneInstances: ['demo-1'] } });
  assert.equal(selectRoutes(gone, replicasReady).readWrite, null);
  // Once a plan promoted another instance, the record names it and traffic follows.
  const promoted = clusterMachine.resolveState({ value: 'ready', context: { ...ready.context, currentPrimary: 'demo-2' } });
  assert.equal(selectRoutes(promoted, (n) => (n === 'demo-2' ? { role: 'primary', ready: true } : { role: 'replica', ready: true })).readWrite, 'demo-2');
});
