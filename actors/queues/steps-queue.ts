import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { connectRedis } from '../../adapters/redis/connection.js';
import { STEPS_QUEUE } from './queue-names.js';
import type { QueuedStepDeps } from './from-queued-step.js';

/** The producer side of the steps queue, plus the event stream machines wait on. */
export async function openStepsQueue(redisUrl: string): Promise<QueuedStepDeps> {
  const connection = bullConnection(redisUrl);
  const queue = new Queue(STEPS_QUEUE, { connection });
  const events = new QueueEvents(STEPS_QUEUE, { connection });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  await events.waitUntilReady();
  return { queue, events };
}

/** BullMQ wants a client it may duplicate for blocking reads, with no per-request retry limit. */
export const bullConnection = (redisUrl: string): ConnectionOptions =>
  connectRedis(redisUrl, { maxRetriesPerRequest: null }) as unknown as ConnectionOptions;
