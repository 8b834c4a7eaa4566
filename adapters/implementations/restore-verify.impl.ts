// Fills the restore rehearsal machine's slots: a timer that reports the time (at once, when the next run is due,
// and at least every minute), and the queued verifyRestore step under a job id made of the cluster's uid and the
// run number, so a restored machine re-attaches to the rehearsal it started.
import { fromCallback, type AnyEventObject } from 'xstate';
import type { restoreVerifyMachine } from '../../machines/restore-verify/restore-verify.machine.js';
import type { VerifyRequest } from '../../machines/restore-verify/restore-verify.types.js';
import { fromQueuedStep, type QueuedStepDeps } from '../../actors/queues/from-queued-step.js';
import { stepJobId } from '../../actors/queues/queue-names.js';

/** Long waits are cut into ticks: a suspended laptop or a changed clock is noticed within this. */
const MAX_WAIT_MS = 60_000;

export interface RestoreVerifyDeps { steps: QueuedStepDeps; now?: () => Date }

export function createRestoreVerifyImplementations(deps: RestoreVerifyDeps) {
  const now = deps.now ?? (() => new Date());
  return {
    actors: {
      waitForNextRun: fromCallback<AnyEventObject, { at: string | null }>(({ input, sendBack }) => {
        let timer: NodeJS.Timeout | undefined;
        const tick = () => {
          sendBack({ type: 'clock.ticked', now: now().toISOString() });
          const due = input.at ? Date.parse(input.at) - now().getTime() : MAX_WAIT_MS;
          timer = setTimeout(tick, Math.min(MAX_WAIT_MS, Math.max(50, due)));
        };
        // Not inside the start: the machine must finish entering the state before it hears the first tick.
        timer = setTimeout(tick, 0);
        return () => clearTimeout(timer);
      }),
      runRestoreVerify: fromQueuedStep<VerifyRequest>('verifyRestore', deps.steps,
        (r) => stepJobId({ kind: 'PostgresCluster', uid: r.uid, generation: 1 }, 'verifyRestore', `run${r.run}`)),
    },
  } satisfies Parameters<typeof restoreVerifyMachine.provide>[0];
}
