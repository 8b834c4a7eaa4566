// synchronous_standby_names from the cluster spec. `required` always lists every standby, so commits wait even when
// they are down (RPO 0); `preferred` lists only the standbys streaming now, and falls back to asynchronous.
import type { InstanceSpec } from '../adapters/instance/spec.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function synchronousStandbyNames(spec: Pick<InstanceSpec, 'synchronous' | 'members' | 'name'>, streaming: string[]): string {
  const sync = spec.synchronous;
  if (!sync) return '';
  const standbys = spec.members.filter((m) => m !== spec.name);
  const candidates = sync.dataDurability === 'required' ? standbys : standbys.filter((s) => streaming.includes(s));
  const n = sync.dataDurability === 'required' ? sync.number : Math.min(sync.number, candidates.length);
  if (n <= 0 || !candidates.length) return '';
  return `${sync.method.toUpperCase()} ${n} (${candidates.map(quote).join(', ')})`;
}
