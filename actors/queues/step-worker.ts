// The worker side of the steps queue: runs each step's processor, classifies errors (PermanentError →
// UnrecoverableError, no retry; anything else → retry with backoff) and stops gracefully on SIGTERM.
import { Worker, UnrecoverableError, type Job, type ConnectionOptions } from 'bullmq';
import { STEPS_QUEUE, STEP_KINDS, type StepName, type StepProgress } from './queue-names.js';
import { PermanentError } from '../ports/errors.js';
import type { Logger } from '../ports/logger.js';

export type StepProcessor = (data: Record<string, unknown>, progress: (p: StepProgress) => Promise<void>, signal: AbortSignal) => Promise<unknown>;

export interface StepWorkerOptions {
  connection: ConnectionOptions;
  processors: Partial<Record<StepName, StepProcessor>>;
  log: Logger;
  concurrency?: number;
  onJobDone?: (name: string, outcome: 'completed' | 'failed', ms: number) => void;
  /** Worker errors (Redis, lock renewal) besides being logged, e.g. counted. */
  onError?: (e: Error) => void;
}

export function startStepWorker(o: StepWorkerOptions): Worker {
  const worker = new Worker(STEPS_QUEUE, async (job: Job, _token?: string, signal?: AbortSignal) => {
    const processor = o.processors[job.name as StepName];
    if (!processor) throw new UnrecoverableError(`no processor for step ${job.name}`);
    const started = Date.now();
    o.log.info({ job: job.id, step: job.name, attempt: job.attemptsMade + 1 }, 'step started');
    // The step's policy bounds one attempt: past its timeout the processor is aborted and the attempt fails.
    const timeoutMs = STEP_KINDS[job.name as StepName].timeoutMs;
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => attempt.abort(new Error(`${job.name} did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    try {
      const result = await Promise.race([
        processor(job.data as Record<string, unknown>, (p) => job.updateProgress(p as unknown as object), attempt.signal),
        new Promise<never>((_, reject) => attempt.signal.addEventListener('abort', () => reject(attempt.signal.reason as Error), { once: true })),
      ]);
      o.log.info({ job: job.id, step: job.name, ms: Date.now() - started }, 'step completed');
      o.onJobDone?.(job.name, 'completed', Date.now() - started);
      return result;
    } catch (e) {
      o.log.warn({ job: job.id, step: job.name, err: (e as Error).message, permanent: e instanceof PermanentError }, 'step failed');
      o.onJobDone?.(job.name, 'failed', Date.now() - started);
      if (e instanceof PermanentError) throw new UnrecoverableError(e.message);
      throw e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }, { connection: o.connection, concurrency: o.concurrency ?? 4, lockDuration: 30_000, stalledInterval: 15_000 });
  worker.on('error', (e) => { o.onError?.(e); o.log.error({ err: e.message }, 'step worker error'); });
  return worker;
}
