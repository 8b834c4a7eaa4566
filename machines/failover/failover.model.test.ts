// Model-based tests of the failover plan: xstate/graph enumerates its paths (scenarios in the abstract), every
// path is replayed against the machine wired to fakes, and the replayable scenario files under tests/scenarios
// must each follow a path the machine really has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { getSimplePaths, getShortestPaths } from 'xstate/graph';
import type { AnyEventObject } from 'xstate';
import { failoverMachine as wiredFailover } from './failover.machine.js';
import { switchoverMachine as wiredSwitchover } from '../switchover/switchover.machine.js';

// Standalone (no parent cluster to notify), so the notify action becomes a no-op.
const failoverMachine = wiredFailover.provide({ actions: { notifyPromoted: () => undefined } });
const switchoverMachine = wiredSwitchover.provide({ actions: { notifyPromoted: () => undefined } });
import type { Candidate } from './failover.types.js';
import { planReplay } from '../../tests/fixtures/plan-replay.js';
import { repoRoot } from '../../tests/helpers/cli.js';

const at = '2026-01-01T00:00:00.000Z';
const cand = (name: string, lsn: string): Candidate => ({ name, reachable: true, timeline: 1, receiveLsn: lsn, replayLsn: lsn });
const cluster = { namespace: 'default', name: 'demo' };

const failoverInput = {
  cluster, oldPrimary: 'demo-1', replicas: ['demo-2', 'demo-3'], synchronous: null, maxLagBytes: null, lastPrimaryLsn: null,
  reason: 'primary demo-1 lost', startedAt: at,
};
const failoverOutputs: Record<string, unknown> = {
  confirmPrimaryLost: { at, lost: true, detail: 'gone' }, fenceInstance: { at },
  collectCandidates: { at, candidates: [cand('demo-2', '0/300'), cand('demo-3', '0/200')] },
  promoteCandidate: { at, timeline: 2 }, repointReplicas: { at }, rerouteTraffic: { at }, requestRejoin: { at }, restoreOldPrimary: { at },
};

function failoverEvents(s: { value: unknown; context: { attempted: string[] } }): AnyEventObject[] {
  const v = s.value;
  const done = (id: string, output?: unknown): AnyEventObject => ({ type: `xstate.done.actor.${id}`, output: output ?? failoverOutputs[id] });
  const error = (id: string): AnyEventObject => ({ type: `xstate.error.actor.${id}`, error: 'drill' });
  switch (v) {
    case 'confirming': return [done('confirmPrimaryLost'), done('confirmPrimaryLost', { at, lost: false, detail: 'lease live' }), error('confirmPrimaryLost')];
    case 'fencing': return [done('fenceInstance'), error('fenceInstance')];
    case 'choosing': return [done('collectCandidates'), done('collectCandidates', { at, candidates: [] }),
      done('collectCandidates', { at, candidates: [], alreadyPromoted: 'demo-3' })];
    case 'promoting': return s.context.attempted.length < 2 ? [done('promoteCandidate'), error('promoteCandidate')] : [done('promoteCandidate')];
    case 'waitingForSafeCandidate': return [{ type: 'candidates.recheck' }, { type: 'primary.returned' }];
    case 'restoringOldPrimary': return [done('restoreOldPrimary')];
    case 'repointing': return [done('repointReplicas'), error('repointReplicas')];
    case 'rerouting': return [done('rerouteTraffic')];
    case 'rejoining': return [done('requestRejoin')];
    default: return [];
  }
}

const stateNames = (path: { steps: { state: { value: unknown } }[] }) => path.steps.map((s) => String(s.state.value));

/** Paths keyed by state and attempts: choosing → promoting can repeat once per candidate, no more. */
const failoverPaths = () => getSimplePaths(failoverMachine, {
  input: failoverInput, events: failoverEvents as never,
  serializeState: (s) => JSON.stringify([s.value, (s.context as { attempted: string[] }).attempted, (s.context as { candidates: Candidate[] }).candidates.length]),
  limit: 20_000,
});

test('every simple path of the failover plan replays on the wired machine with fakes', async () => {
  const paths = failoverPaths();
  assert.ok(paths.length >= 10, `only ${paths.length} paths`);
  const finals = new Set<string>();
  for (const path of paths) {
    const replay = planReplay(failoverMachine, failoverInput, failoverOutputs, ['holdPlanLease']);
    await replay.run(path.steps.map((s) => s.event as AnyEventObject), (i, value) => {
      assert.deepEqual(value, path.steps[i]?.state.value, `step ${i} of ${stateNames(path).join(' → ')}`);
    });
    if (path.state.status === 'done') finals.add(String(path.state.value));
  }
  for (const end of ['done', 'cancelled', 'restored', 'failed']) assert.ok(finals.has(end), `no path ends in ${end}`);
});

test('no path promotes without confirming and fencing first, and none promotes from waiting without re-choosing', () => {
  for (const p of failoverPaths()) {
    const seq = stateNames(p);
    const promote = seq.indexOf('promoting');
    if (promote < 0) continue;
    assert.ok(seq.indexOf('fencing') >= 0 && seq.indexOf('fencing') < promote, seq.join(' → '));
    for (let i = 1; i < seq.length; i++) if (seq[i] === 'promoting') assert.equal(seq[i - 1], 'choosing', seq.join(' → '));
  }
});

const switchoverInput = { cluster, requestId: 'r1', primary: 'demo-1', target: null, replicas: ['demo-2', 'demo-3'], startedAt: at };
const switchoverOutputs: Record<string, unknown> = {
  collectCandidates: { at, candidates: [cand('demo-2', '0/300'), cand('demo-3', '0/200')] }, checkpointPrimary: { at },
  demotePrimary: { at, checkpointLsn: '0/400' }, waitForReplay: { at }, promoteCandidate: { at, timeline: 2 },
  repointReplicas: { at }, rerouteTraffic: { at }, waitForRejoin: { at }, restoreOldPrimary: { at },
};
function switchoverEvents(s: { value: unknown }): AnyEventObject[] {
  const id = {
    choosing: 'collectCandidates', checkpointing: 'checkpointPrimary', demoting: 'demotePrimary', waitingForReplay: 'waitForReplay',
    promoting: 'promoteCandidate', repointing: 'repointReplicas', rerouting: 'rerouteTraffic', rejoining: 'waitForRejoin', rollingBack: 'restoreOldPrimary',
  }[String(s.value)];
  if (!id) return [];
  const failable = ['checkpointPrimary', 'demotePrimary', 'waitForReplay', 'promoteCandidate'].includes(id);
  return [{ type: `xstate.done.actor.${id}`, output: switchoverOutputs[id] }, ...(failable ? [{ type: `xstate.error.actor.${id}`, error: 'drill' }] : [])];
}

test('every path of the switchover plan replays; a failure after demotion always ends rolled back', async () => {
  const paths = getSimplePaths(switchoverMachine, { input: switchoverInput, events: switchoverEvents as never, limit: 5000 });
  assert.ok(paths.length >= 5);
  for (const path of paths) {
    const replay = planReplay(switchoverMachine, switchoverInput, switchoverOutputs, []);
    await replay.run(path.steps.map((s) => s.event as AnyEventObject), (i, value) => assert.deepEqual(value, path.steps[i]?.state.value));
    const seq = stateNames(path);
    if (path.state.status === 'done' && seq.includes('demoting') && seq.at(-1) !== 'done') assert.equal(seq.at(-1), 'rolledBack', seq.join(' → '));
  }
});

test('each replayable scenario under tests/scenarios follows a path of its machine', () => {
  const dir = join(repoRoot, 'tests', 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 6);
  const failoverSeqs = failoverPaths().map(stateNames);
  const switchoverPaths = getShortestPaths(switchoverMachine, { input: switchoverInput, events: switchoverEvents as never }).map(stateNames);
  for (const f of files) {
    const s = parse(readFileSync(join(dir, f), 'utf8')) as { model?: { machine: string; path: string[] } };
    assert.ok(s.model, `${f} names no model path`);
    const known = s.model.machine === 'failover' ? failoverSeqs : switchoverPaths;
    assert.ok(known.some((p) => JSON.stringify(p) === JSON.stringify(s.model?.path)), `${f}: ${s.model.path.join(' → ')} is not a path of the ${s.model.machine} machine`);
  }
});

test('a plan persisted in any state restores into that state and re-runs the effect it was waiting on', async () => {
  const invokeOf: Record<string, string> = {
    confirming: 'confirmPrimaryLost', fencing: 'fenceInstance', choosing: 'collectCandidates', promoting: 'promoteCandidate',
    repointing: 'repointReplicas', rerouting: 'rerouteTraffic', rejoining: 'requestRejoin', restoringOldPrimary: 'restoreOldPrimary',
    waitingForSafeCandidate: 'holdPlanLease',
  };
  const { createActor, fromPromise, fromCallback } = await import('xstate');
  const paths = getShortestPaths(failoverMachine, { input: failoverInput, events: failoverEvents as never, serializeState: (s) => JSON.stringify(s.value) });
  const covered = new Set<string>();
  for (const path of paths) {
    const target = String(path.state.value);
    if (path.state.status === 'done') continue;
    // A wired actor driven to that point, persisted through JSON like status.machine.
    const persisted = await planReplay(failoverMachine, failoverInput, failoverOutputs, ['holdPlanLease'])
      .run(path.steps.map((s) => s.event as AnyEventObject), () => undefined);
    const started: string[] = [];
    const actors: Record<string, unknown> = {};
    for (const id of Object.values(invokeOf)) {
      actors[id] = id === 'holdPlanLease' ? fromCallback(() => { started.push(id); return () => undefined; }) : fromPromise(() => { started.push(id); return new Promise(() => undefined); });
    }
    const restored = createActor(failoverMachine.provide({ actors } as never), { input: failoverInput, snapshot: persisted as never }).start();
    assert.notEqual(restored.getSnapshot().status, 'error', `${target} did not restore`);
    assert.deepEqual(restored.getSnapshot().value, path.state.value);
    await new Promise((r) => setImmediate(r));
    if (invokeOf[target]) assert.deepEqual(started, [invokeOf[target]], `restored in ${target}, the effect must run again`);
    restored.stop();
    covered.add(target);
  }
  for (const s of Object.keys(invokeOf)) assert.ok(covered.has(s), `no restore check for ${s}`);
});
