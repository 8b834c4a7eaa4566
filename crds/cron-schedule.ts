// Cron schedules (croner): one reading for admission and for the machines that decide when to run. Pure: the
// reference time is always passed in; nothing here reads the clock or starts a timer (a Cron without a callback
// schedules nothing).
import { Cron } from 'croner';

/** Rehearsals restore a whole cluster: a schedule firing more often than this is a mistake, not a plan. */
export const MIN_SCHEDULE_INTERVAL_S = 10;

const parse = (expr: string): Cron => new Cron(expr, { timezone: 'UTC', paused: true });

/** Why `expr` cannot be used as a schedule, or null. */
export function scheduleProblem(expr: string): string | null {
  let c: Cron;
  try { c = parse(expr); } catch (e) { return `is not a cron expression (${(e as Error).message})`; }
  const [a, b] = c.nextRuns(2, new Date('2026-01-01T00:00:00Z'));
  if (!a || !b) return 'never fires';
  if (b.getTime() - a.getTime() < MIN_SCHEDULE_INTERVAL_S * 1000) return `fires more often than every ${MIN_SCHEDULE_INTERVAL_S} s`;
  return null;
}

/** The first time `expr` fires strictly after `afterIso` (ISO 8601), or null for a bad expression or none. */
export function nextRunAfter(expr: string, afterIso: string): string | null {
  const from = new Date(afterIso);
  if (Number.isNaN(from.getTime())) return null;
  try { return parse(expr).nextRun(from)?.toISOString() ?? null; } catch { return null; }
}
