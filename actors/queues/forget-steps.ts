// A deleted resource's finished step jobs go with it: job ids are deterministic per name (so a restored machine finds
// its job), and a recreated resource of the same name would otherwise find the old one's outcome and skip the work.
import type { Queue } from 'bullmq';
import type { StepName } from './queue-names.js';

/** Removes the finished `step` jobs whose input `belongs` to the deleted resource; returns how many. */
export async function forgetFinishedSteps(queue: Queue, step: StepName, belongs: (data: unknown) => boolean): Promise<number> {
  let removed = 0;
  for (const job of await queue.getJobs(['completed', 'failed'])) {
    if (job && job.name === step && belongs(job.data)) { await job.remove(); removed++; }
  }
  return removed;
}
