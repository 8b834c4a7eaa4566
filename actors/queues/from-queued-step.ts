// The one actor through which a machine waits on a long-running BullMQ step. It enqueues the job under a
// deterministic id (a second add is a no-op while the job exists), then reports progress and the outcome back as
// events. Restored after an operator restart, it re-attaches to the same job instead of starting another.
import { fromCallback, type AnyEventObject } from 'xstate';
import { Job, type Queue, type QueueEvents } from 'bullmq';
import { STEP_KINDS, type StepName, type StepProgress } from './queue-names.js';


export type QueuedStepEvent =
  | { type: 'step.progress'; progress: StepProgress }
  | { type: 'step.succeeded'; result: unknown }
  | { type: 'step.failed'; error: string; permanent: boolean };

export interface QueuedStepDeps {
  queue: Queue;
  events: QueueEvents;
  pollMs?: number;
}

/** `jobIdOf` must give the same id for the same logical step, so a re-run finds the job it started. */
export function fromQueuedStep<I extends object>(step: StepName, deps: QueuedStepDeps, jobIdOf: (input: I) => string) {
  return fromCallback<AnyEventObject, I>(({ input: data, sendBack }) => {
    const input = { jobId: jobIdOf(data), data };
    let stopped = false;
    let finished = false;
    const finish = (e: QueuedStepEvent) => { if (finished || stopped) return; finished = true; sendBack(e); };
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      if (jobId === input.jobId && !stopped) sendBack({ type: 'step.progress', progress: data as StepProgress });
    };
    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
      if (jobId === input.jobId) finish({ type: 'step.succeeded', result: returnvalue });
    };
    const onFailed = async ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
      if (jobId !== input.jobId) return;
      const job = await Job.fromId(deps.queue, jobId);
      // A failure with attempts left is retried by BullMQ; only the final one ends the step.
      if (job && (await job.getState()) === 'failed') finish({ type: 'step.failed', error: failedReason, permanent: job.attemptsMade < (job.opts.attempts ?? 1) });
    };
    deps.events.on('progress', onProgress);
    deps.events.on('completed', onCompleted);
    deps.events.on('failed', onFailed);

    const check = async () => {
      const job = await Job.fromId(deps.queue, input.jobId);
      if (!job) return;
      const state = await job.getState();
      if (state === 'completed') finish({ type: 'step.succeeded', result: job.returnvalue });
      // The reason is written with the state; if it is not readable yet, the event or the next poll brings it.
      else if (state === 'failed' && job.failedReason) finish({ type: 'step.failed', error: job.failedReason, permanent: job.attemptsMade < (job.opts.attempts ?? 1) });
    };
    void (async () => {
      const existing = await Job.fromId(deps.queue, input.jobId);
      if (!existing) {
        const policy = STEP_KINDS[step];
        await deps.queue.add(step, input.data as Record<string, unknown>, {
          jobId: input.jobId,
          attempts: policy.attempts,
          backoff: { type: policy.backoff.type, delay: policy.backoff.delayMs },
          // Kept for a while so a restored machine still finds the outcome of a job that ended while it was down.
          removeOnComplete: { age: policy.keepCompletedS },
          removeOnFail: { age: policy.keepFailedS },
        });
      }
      await check();
    })().catch((e: unknown) => finish({ type: 'step.failed', error: `could not queue ${step}: ${(e as Error).message}`, permanent: false }));
    // QueueEvents can miss an event across a reconnect; polling is the safety net.
    const timer = setInterval(() => { void check().catch(() => undefined); }, deps.pollMs ?? 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
      deps.events.off('progress', onProgress);
      deps.events.off('completed', onCompleted);
      deps.events.off('failed', onFailed);
    };
  });
}
