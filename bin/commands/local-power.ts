// `pgop local fence|unfence|hibernate`: write the annotations the cluster machine follows (ADR 0028), and with
// --wait follow status until the change has taken effect.
import type { Platform } from '../../adapters/local/control.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { FENCED_INSTANCES_ANNOTATION, HIBERNATION_ANNOTATION, nextFencedList } from '../../machines/cluster/power.logic.js';

interface Target { cluster: string; namespace: string; timeoutMs: number; wait: boolean }

async function load(p: Platform, o: Target): Promise<PostgresCluster> {
  const c = (await p.store.get({ kind: 'PostgresCluster', namespace: o.namespace, name: o.cluster })) as PostgresCluster | undefined;
  if (!c) throw new Error(`postgrescluster "${o.cluster}" not found in namespace ${o.namespace}`);
  return c;
}

async function follow(p: Platform, o: Target, done: (c: PostgresCluster) => boolean, what: string, out: (s: string) => void): Promise<void> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const c = await load(p, o);
    const line = `${c.status?.phase ?? '?'}: ${c.status?.phaseReason ?? ''}`;
    if (line !== last) { out(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`); last = line; }
    if (done(c)) return;
    if (Date.now() - started > o.timeoutMs) throw new Error(`${what} did not finish within ${Math.round(o.timeoutMs / 1000)} s (it may still; see pgop local get)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function fence(p: Platform, o: Target & { instances: string[]; fence: boolean }, out: (s: string) => void): Promise<void> {
  const c = await load(p, o);
  const names = (c.status?.instances ?? []).map((i) => i.name);
  for (const i of o.instances) if (i !== '*' && !names.includes(i)) throw new Error(`${i} is not an instance of ${o.cluster} (instances: ${names.join(', ')})`);
  const raw = c.metadata.annotations?.[FENCED_INSTANCES_ANNOTATION];
  let current: string[] = [];
  if (raw) {
    try { current = JSON.parse(raw) as string[]; } catch { current = []; }
    if (!Array.isArray(current) || !current.every((x) => typeof x === 'string')) current = [];
  }
  const next = nextFencedList(current, o.instances, o.fence);
  await p.store.annotate({ kind: 'PostgresCluster', namespace: o.namespace, name: o.cluster }, { [FENCED_INSTANCES_ANNOTATION]: next.length ? JSON.stringify(next) : null });
  out(next.length ? `fenced instances of ${o.cluster}: ${next.join(', ')}` : `no instance of ${o.cluster} is fenced`);
  if (!o.wait) return;
  const affected = o.instances.includes('*') ? names : o.instances;
  await follow(p, o, (x) => affected.every((n) => {
    const i = x.status?.instances?.find((s) => s.name === n);
    return o.fence ? i?.ready === false && i.phase !== 'running' : i?.ready === true;
  }), o.fence ? 'fencing' : 'unfencing', out);
}

export async function hibernate(p: Platform, o: Target & { mode: string }, out: (s: string) => void): Promise<void> {
  if (o.mode !== 'on' && o.mode !== 'off') throw new Error(`hibernate takes on or off, not "${o.mode}"`);
  await load(p, o);
  await p.store.annotate({ kind: 'PostgresCluster', namespace: o.namespace, name: o.cluster }, { [HIBERNATION_ANNOTATION]: o.mode });
  out(`hibernation ${o.mode} requested for ${o.cluster}`);
  if (!o.wait) return;
  await follow(p, o, (c) => c.status?.phase === (o.mode === 'on' ? 'Hibernated' : 'Ready'), o.mode === 'on' ? 'hibernation' : 'waking', out);
}
