// When a schedule is due, decided with croner from times passed in (no clock here, so it is testable without
// waiting): after an outage only the latest missed occurrence runs — one catch-up, never a storm — and the runs
// before it are counted, not replayed.
import { Cron } from 'croner';

export type CronPlan =
  | { kind: 'due'; scheduledAt: Date; missed: number; next: Date | null }
  | { kind: 'wait'; next: Date | null };

/** Counting missed runs stops here: a per-second schedule after a week-long outage is "at least" this many. */
const COUNT_CAP = 10_000;

export const parseSchedule = (schedule: string): Cron => new Cron(schedule, { paused: true, timezone: 'UTC' });

/** The latest occurrence in (since, now], found by widening a window back from now (no walk over a long outage). */
function latestIn(cron: Cron, since: Date, now: Date): Date | null {
  for (let w = 1000; ; w *= 2) {
    const from = new Date(Math.max(since.getTime(), now.getTime() - w));
    let r = cron.nextRun(from);
    if (r && r.getTime() <= now.getTime()) {
      for (let n = cron.nextRun(r); n && n.getTime() <= now.getTime(); n = cron.nextRun(n)) r = n;
      return r;
    }
    if (from.getTime() === since.getTime()) return null;
  }
}

function countBetween(cron: Cron, since: Date, until: Date): number {
  let count = 0;
  for (let n = cron.nextRun(since); n && n.getTime() < until.getTime() && count < COUNT_CAP; n = cron.nextRun(n)) count++;
  return count;
}

/**
 * `since`: every occurrence up to it is handled (run, skipped or deliberately passed over). `catchUp` false passes
 * over everything up to `now` (after a suspension ends).
 */
export function planSchedule(schedule: string, since: Date, now: Date, catchUp: boolean): CronPlan {
  const cron = parseSchedule(schedule);
  const latest = catchUp && since.getTime() < now.getTime() ? latestIn(cron, since, now) : null;
  if (latest) return { kind: 'due', scheduledAt: latest, missed: countBetween(cron, since, latest), next: cron.nextRun(now) };
  return { kind: 'wait', next: cron.nextRun(now.getTime() > since.getTime() ? now : since) };
}
