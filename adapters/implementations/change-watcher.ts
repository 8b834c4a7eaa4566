// The callback actor an `applied` SQL object runs: polls its password Secret (a cheap store read) and sends
// secret.changed when its resourceVersion moves; sends resync.due when the drift check is due. It restarts with
// the actor after a restore, so the deadline (kept in context as lastCheckedAt) survives operator restarts.
import { fromCallback, type AnyEventObject } from 'xstate';
import type { SecretStore } from '../secrets/secret-store.js';
import type { WatchInput } from '../../machines/user/user.types.js';

export interface WatchTiming {
  /** How often a drift check runs (default 120 s; PGOP_SQL_RESYNC_SECONDS). */
  resyncMs: number;
  /** How often the password Secret is polled (default 2 s). */
  secretPollMs: number;
  now: () => Date;
}

export const defaultWatchTiming = (): WatchTiming => ({
  resyncMs: Number(process.env.PGOP_SQL_RESYNC_SECONDS ?? 120) * 1000,
  secretPollMs: Number(process.env.PGOP_SQL_SECRET_POLL_MS ?? 2000),
  now: () => new Date(),
});

export function changeWatcher(secrets: SecretStore | null, timing: WatchTiming) {
  return fromCallback<AnyEventObject, WatchInput>(({ input, sendBack }) => {
    const last = input.lastCheckedAt ? Date.parse(input.lastCheckedAt) : 0;
    const wait = input.wakeAfterMs ?? Math.max(0, last + timing.resyncMs - timing.now().getTime());
    const drift = setTimeout(() => sendBack({ type: 'resync.due' }), Math.min(wait, 2 ** 31 - 1));
    let busy = false;
    let sent = false;
    const poll = secrets && input.secretName ? setInterval(() => {
      if (busy || sent) return;
      busy = true;
      secrets.read(input.resource.namespace, input.secretName as string)
        .then((s) => { if ((s?.resourceVersion ?? null) !== input.secretVersion) { sent = true; sendBack({ type: 'secret.changed' }); } })
        .catch(() => undefined) // a failed read is retried at the next poll; the drift check catches anything missed
        .finally(() => { busy = false; });
    }, timing.secretPollMs) : undefined;
    return () => { clearTimeout(drift); if (poll) clearInterval(poll); };
  });
}
