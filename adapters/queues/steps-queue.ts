import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { connectRedis } from '../redis/connection.js';
import { STEPS_QUEUE, jobIdPrefix } from '../../actors/queues/queue-names.js';
import type { QueuedStepDeps } from '../../actors/queues/from-queued-step.js';
import type { Logger } from '../../actors/ports/logger.js';

export interface QueueErrorMetrics { queueError(source: string): void }

/** The producer side of the steps queue, plus the event stream machines wait on. Queue errors (Redis gone,
 * a script failing) are never silenced: each is logged and counted. */
export async function openStepsQueue(redisUrl: string, log: Logger, metrics?: QueueErrorMetrics): Promise<QueuedStepDeps> {
  const connection = bullConnection(redisUrl);
  const queue = new Queue(STEPS_QUEUE, { connection });
  const events = new QueueEvents(STEPS_QUEUE, { connection });
  queue.on('error', (e) => { metrics?.queueError('queue'); log.error({ err: e.message }, 'steps queue error'); });
  events.on('error', (e) => { metrics?.queueError('events'); log.error({ err: e.message }, 'steps queue events error'); });
  await events.waitUntilReady();
  return { queue, events };
}

/** BullMQ wants a client it may duplicate for blocking reads, with no per-request retry limit. */
export const bullConnection = (redisUrl: string): ConnectionOptions =>
  connectRedis(redisUrl, { maxRetriesPerRequest: null }) as unknown as ConnectionOptions;

/** Removes every job of one object (all generations) that is not running; a running job ends on its own. */
export async function removeJobsOf(queue: QueuedStepDeps['queue'], kind: string, uid: string): Promise<number> {
  const prefix = jobIdPrefix(kind, uid);
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed']);
  let removed = 0;
  for (const job of jobs) {
    if (!job?.id?.startsWith(prefix)) continue;
    await job.remove();
    removed++;
  }
  return removed;
}
