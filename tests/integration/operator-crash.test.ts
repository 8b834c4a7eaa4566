// Crash safety, proven on real processes: the operator is SIGKILLed the moment the failover plan enters each of
// its states (the list comes from the machine, along the path a primary crash takes), restarted, and the same plan
// must resume and finish: exactly one promotion, the lease with the new primary, no orphaned slot.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { getShortestPaths } from 'xstate/graph';
import type { AnyEventObject } from 'xstate';
import { failoverMachine } from '../../machines/failover/failover.machine.js';
import { LocalCluster, stateDir, sample, pgop } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { isAlive } from '../../adapters/local/processes.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = new LocalCluster(stateDir('pgop-crash-'));
after(() => cluster.down());

/** The states a failover passes through when the primary is simply lost, read off the machine's graph. */
function crashPathStates(): string[] {
  const at = '2026-01-01T00:00:00Z';
  const done = (id: string, output: unknown): AnyEventObject => ({ type: `xstate.done.actor.${id}`, output });
  const outputs: Record<string, unknown> = {
    confirming: { at, lost: true, detail: '' }, fencing: { at }, choosing: { at, candidates: [{ name: 'b', reachable: true, timeline: 1, receiveLsn: '0/1', replayLsn: '0/1' }] },
    promoting: { at, timeline: 2 }, repointing: { at }, rerouting: { at }, rejoining: { at },
  };
  const ids: Record<string, string> = {
    confirming: 'confirmPrimaryLost', fencing: 'fenceInstance', choosing: 'collectCandidates', promoting: 'promoteCandidate',
    repointing: 'repointReplicas', rerouting: 'rerouteTraffic', rejoining: 'requestRejoin',
  };
  const paths = getShortestPaths(failoverMachine.provide({ actions: { notifyPromoted: () => undefined } }), {
    input: { cluster: { namespace: 'default', name: 'x' }, oldPrimary: 'a', replicas: ['b'], synchronous: null, maxLagBytes: null, lastPrimaryLsn: null, reason: '', startedAt: at },
    events: ((s: { value: unknown }) => { const v = String(s.value); return ids[v] ? [done(ids[v], outputs[v])] : []; }) as never,
    toState: (s) => s.value === 'done',
  });
  const path = paths[0];
  assert.ok(path, 'the failover machine has a path to done');
  return path.steps.map((s) => String(s.state.value)).filter((v) => v !== 'done');
}

const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).every((i) => i.ready);

test('the cluster comes up', async () => {
  await cluster.ok(['local', 'up', '-f', sample('postgrescluster-ha.yaml'), '--wait', '--timeout', '240']);
});

for (const state of crashPathStates()) {
  test(`an operator killed as the failover enters "${state}" resumes the same plan after a restart`, async () => {
    const before = await cluster.waitFor('Ready', allReady, 120_000);
    const oldPrimary = before.status?.currentPrimary ?? '';
    const plansBefore = before.status?.failovers?.length ?? 0;
    const timelineBefore = before.status?.timeline ?? 0;
    // Restart the operator with the crash drill armed.
    const stopped = await cluster.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
    const stoppedPid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
    await eventually(async () => isAlive(stoppedPid), (alive) => !alive, 30_000);
    const armed = await pgop(['local', 'up', '--state-dir', cluster.state], { PGOP_CRASH_AT: `failover:${state}` });
    assert.equal(armed.code, 0, armed.stderr);
    const crashingPid = Number(/operator running \(pid (\d+)\)/.exec(armed.stdout)?.[1]);
    await cluster.ok(['local', 'kill', oldPrimary]);
    await eventually(async () => isAlive(crashingPid), (alive) => !alive, 60_000);
    // A restart without the drill: the persisted plan must carry on from where it was.
    await cluster.ok(['local', 'up']);
    const after = await cluster.waitFor('the resumed failover to finish', (c) => (c.status?.failovers?.length ?? 0) > plansBefore && c.status?.currentPrimary !== oldPrimary, 90_000);
    const plans = (after.status?.failovers ?? []).slice(plansBefore);
    assert.equal(plans.length, 1, `one plan, got ${JSON.stringify(plans.map((p) => p.outcome))}`);
    assert.equal(plans[0]?.outcome, 'promoted');
    const done = await cluster.waitFor('Ready with the old primary rejoined', allReady, 120_000);
    assert.equal(done.status?.timeline, timelineBefore + 1, 'exactly one promotion: the timeline moved by one');
    const newPrimary = done.status?.currentPrimary ?? '';
    assert.equal(await cluster.leaseHolder(), newPrimary);
    const su = `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${cluster.instanceSpec(newPrimary).port}/postgres?${cluster.tlsQuery()}`;
    const slots = await query<{ slot_name: string; active: boolean }>(su, 'SELECT slot_name, active FROM pg_replication_slots ORDER BY 1');
    const others = (done.status?.instances ?? []).map((i) => i.name).filter((n) => n !== newPrimary);
    assert.deepEqual(slots.map((s) => s.slot_name), others.map((n) => `pgop_${n.replace(/-/g, '_')}`).sort(), 'one slot per replica, none orphaned');
    await eventually(() => query<{ slot_name: string; active: boolean }>(su, 'SELECT slot_name, active FROM pg_replication_slots'), (rows) => rows.every((r) => r.active), 30_000);
  });
}
