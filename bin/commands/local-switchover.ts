// `pgop local switchover`: ask for a planned switchover and follow it to its end.
import { randomUUID } from 'node:crypto';
import type { Platform } from '../../adapters/local/control.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { SWITCHOVER_ANNOTATION } from '../../actors/bindings/postgrescluster.binding.js';

/** A switchover that ended without promoting (rolled back, failed): its recorded outcome, for callers that expect it. */
export class SwitchoverNotPromoted extends Error {
  constructor(readonly outcome: string, message: string) { super(message); }
}

export async function switchover(p: Platform, o: { cluster: string; namespace: string; to?: string; timeoutMs: number }, out: (s: string) => void): Promise<void> {
  const key = { kind: 'PostgresCluster', namespace: o.namespace, name: o.cluster };
  const before = (await p.store.get(key)) as PostgresCluster | undefined;
  if (!before) throw new Error(`postgrescluster "${o.cluster}" not found in namespace ${o.namespace}`);
  if (o.to && !before.status?.instances?.some((i) => i.name === o.to)) {
    throw new Error(`${o.to} is not an instance of ${o.cluster} (instances: ${(before.status?.instances ?? []).map((i) => i.name).join(', ')})`);
  }
  if (o.to && o.to === before.status?.currentPrimary) throw new Error(`${o.to} is already the primary`);
  const id = randomUUID().slice(0, 8);
  const seen = before.status?.failovers?.length ?? 0;
  await p.store.annotate(key, { [SWITCHOVER_ANNOTATION]: JSON.stringify({ id, to: o.to ?? null, at: new Date().toISOString() }) });
  out(`switchover ${id} requested: ${before.status?.currentPrimary ?? '?'} → ${o.to ?? 'the most advanced replica'}`);
  const started = Date.now();
  let last = '';
  for (;;) {
    const c = (await p.store.get(key)) as PostgresCluster | undefined;
    const record = c?.status?.failovers?.slice(seen).find((f) => f.reason.includes(id));
    const line = `${c?.status?.phase ?? '?'}: ${c?.status?.phaseReason ?? ''}`;
    if (line !== last) { out(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`); last = line; }
    if (record) {
      const steps = record.steps.map((s) => `${s.step} ${s.durationMs ?? '?'}ms`).join(', ');
      if (record.outcome !== 'promoted') throw new SwitchoverNotPromoted(record.outcome, `switchover ${id} ${record.outcome}: ${record.reason}`);
      out(`switchover ${id} done: ${record.from} → ${record.to} on timeline ${record.timeline} in ${record.durationMs} ms (${steps})`);
      return;
    }
    if (Date.now() - started > o.timeoutMs) throw new Error(`switchover ${id} did not finish within ${Math.round(o.timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
