// The fencing step never waits on an old primary that did not answer: confirmation's answer reaches the fencing
// effect, and what fencing did is recorded in the plan's steps (status.failovers[].steps[].detail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, toPromise } from 'xstate';
import { failoverMachine } from './failover.machine.js';
import type { Candidate, ConfirmOutput, FenceInput, Stamped } from './failover.types.js';

const at = '2026-01-01T00:00:00.000Z';
const candidate: Candidate = { name: 'demo-2', reachable: true, timeline: 1, receiveLsn: '0/300', replayLsn: '0/300' };
const input = {
  cluster: { namespace: 'default', name: 'demo' }, oldPrimary: 'demo-1', replicas: ['demo-2', 'demo-3'], synchronous: null, maxLagBytes: null,
  lastPrimaryLsn: null, reason: 'primary demo-1 lost', startedAt: at,
};

async function run(answered: boolean | undefined) {
  const seen: FenceInput[] = [];
  const machine = failoverMachine.provide({
    actions: { notifyPromoted: () => undefined },
    actors: {
      confirmPrimaryLost: fromPromise(async (): Promise<ConfirmOutput> => ({ at, lost: true, detail: 'lease expired', ...(answered === undefined ? {} : { answered }) })),
      fenceInstance: fromPromise(async ({ input: i }: { input: FenceInput }): Promise<Stamped> => {
        seen.push(i);
        return { at, detail: i.agentAnswered ? 'postgres stopped by its agent' : 'platform fencing: killed 9 processes' };
      }),
      collectCandidates: fromPromise(async (): Promise<Stamped & { candidates: Candidate[] }> => ({ at, candidates: [candidate] })),
      promoteCandidate: fromPromise(async (): Promise<Stamped & { timeline: number }> => ({ at, timeline: 2 })),
      repointReplicas: fromPromise(async (): Promise<Stamped> => ({ at })),
      rerouteTraffic: fromPromise(async (): Promise<Stamped> => ({ at })),
      requestRejoin: fromPromise(async (): Promise<Stamped> => ({ at })),
    },
  });
  const actor = createActor(machine, { input });
  actor.start();
  const out = await toPromise(actor);
  return { seen, out };
}

test('an old primary whose agent did not answer confirmation is fenced by the platform, and the step says so', async () => {
  const { seen, out } = await run(false);
  assert.equal(seen[0]?.agentAnswered, false);
  assert.equal(out.outcome, 'promoted');
  assert.deepEqual(out.steps.slice(0, 2).map((s) => [s.step, s.detail]), [['confirming', 'lease expired'], ['fencing', 'platform fencing: killed 9 processes']]);
});

test('an agent that answered is asked first; a plan restored from before the answer was kept asks too', async () => {
  assert.equal((await run(true)).seen[0]?.agentAnswered, true);
  assert.equal((await run(undefined)).seen[0]?.agentAnswered, true);
});
