// The operator process's leadership lifecycle, the same on every platform: wait to lead (a SIGTERM/SIGINT while
// waiting ends the process's work), hold the lease and exit at once if it is lost, then run until signalled.
import type { LeaderElector } from './leader-election.js';
import type { Logger } from '../logging/logger.js';

/**
 * Resolves with a function that stops holding once this process leads, or null when it was stopped first.
 * `successor` runs just before the process exits on a lost lease: where nothing restarts the operator (the local
 * platform has no Deployment), it starts the process that waits to lead in this one's place.
 */
export async function lead(elector: LeaderElector, log: Logger, context: Record<string, unknown> = {}, successor?: () => void): Promise<(() => void) | null> {
  const waiting = new AbortController();
  const stopWaiting = () => waiting.abort();
  process.once('SIGTERM', stopWaiting);
  process.once('SIGINT', stopWaiting);
  log.info({ ...context, leader: await elector.current() }, 'waiting to lead');
  try {
    await elector.acquire(waiting.signal);
  } catch {
    log.info('stopped before leading');
    return null;
  } finally {
    process.off('SIGTERM', stopWaiting);
    process.off('SIGINT', stopWaiting);
  }
  const stopHolding = elector.hold((why) => {
    // Not sure to lead any more: stop acting at once, before another leader can start.
    log.error({ why }, 'lost leadership; exiting');
    try { successor?.(); } catch (e) { log.error({ err: (e as Error).message }, 'could not start a successor operator'); }
    log.flush();
    process.exit(3);
  });
  log.info({ identity: elector.identity }, 'leading');
  return stopHolding;
}

/** Resolves on the first SIGTERM or SIGINT. */
export function untilStopped(log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => { log.info({ signal }, 'operator stopping'); resolve(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
