// The callback actor an `applied` SQL object runs: polls its password Secret (a cheap store read) and sends
// secret.changed when its resourceVersion moves; sends resync.due when the drift check is due; sends cluster.changed
// when the cluster's primary is no longer the one the object was applied on (after a failover an asynchronous
// replica may have missed the last change, so it is checked there at once, not at the next drift check). It restarts
// with the actor after a restore, so the deadline (kept in context as lastCheckedAt) survives operator restarts.
import { fromCallback, type AnyEventObject } from 'xstate';
import type { SecretStore } from '../secrets/secret-store.js';
import type { ChangeFeed } from '../../actors/binding.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { ResourceRef, WatchInput } from '../../machines/user/user.types.js';
import { resolveTargets, targetsOf } from './shard-targets.js';

export interface WatchTiming {
  /** How often a drift check runs (default 120 s; PGOP_SQL_RESYNC_SECONDS). */
  resyncMs: number;
  /** How often the password Secret is polled (default 2 s). */
  secretPollMs: number;
  now: () => Date;
}

/** Where a moved primary is seen: the runtime's change feed, the operator's own view of each cluster, the store. */
export interface PrimaryWatch {
  changes: ChangeFeed;
  /** The cluster machine's current primary, in memory: a store read happens only once it differs. */
  currentPrimary(cluster: ResourceRef): string | null;
  store: ResourceReader;
}

export const defaultWatchTiming = (): WatchTiming => ({
  resyncMs: Number(process.env.PGOP_SQL_RESYNC_SECONDS ?? 120) * 1000,
  secretPollMs: Number(process.env.PGOP_SQL_SECRET_POLL_MS ?? 2000),
  now: () => new Date(),
});

export function changeWatcher(secrets: SecretStore | null, timing: WatchTiming, primaries?: PrimaryWatch) {
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
    const unwatch = primaries && input.appliedOn ? watchPrimary(primaries, input.cluster, input.appliedOn, () => {
      if (sent) return;
      sent = true;
      sendBack({ type: 'cluster.changed' });
    }) : undefined;
    return () => { clearTimeout(drift); if (poll) clearInterval(poll); unwatch?.(); };
  });
}

/**
 * Calls `moved` once the store says the cluster takes changes on another primary than `appliedOn`. The store, not
 * the machine's memory, decides, because the object's next step resolves its target from the store: deciding on
 * memory could send it round before the status says where the primary is.
 */
function watchPrimary(w: PrimaryWatch, cluster: ResourceRef, appliedOn: string, moved: () => void): () => void {
  let targets: ReturnType<typeof targetsOf>;
  try { targets = targetsOf(cluster, appliedOn); } catch { return () => undefined; }
  const mine = (key: { kind: string; namespace: string; name: string }) => key.kind === 'PostgresCluster'
    && (key.namespace === cluster.namespace && key.name === cluster.name || targets.some((t) => t.cluster.namespace === key.namespace && t.cluster.name === key.name));
  let reading = false;
  let again = false;
  let done = false;
  const check = () => {
    if (done) return;
    const differs = targets.some((t) => { const p = w.currentPrimary(t.cluster); return p !== null && p !== t.instance; });
    if (!differs) return;
    if (reading) { again = true; return; }
    reading = true;
    resolveTargets(w.store, cluster)
      .then((t) => { if (!done && t.ready && t.primary !== appliedOn) { done = true; moved(); } })
      .catch(() => undefined) // the next change, or the drift check, looks again
      .finally(() => { reading = false; if (again) { again = false; check(); } });
  };
  const unsubscribe = w.changes((key) => { if (mine(key)) check(); });
  check();
  return () => { done = true; unsubscribe(); };
}
