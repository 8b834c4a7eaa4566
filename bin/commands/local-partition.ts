// `pgop local partition`: drills that cut an instance off from the lease store (and heal it).
import { join } from 'node:path';
import { setFaults } from '../../adapters/local/faults.js';
import type { Platform } from '../../adapters/local/control.js';

export async function failPromotion(p: Platform, o: { instance: string; namespace: string; heal?: boolean }): Promise<string> {
  const raw = await p.store.redis.hget('pgop:pods', `${o.namespace}/${o.instance}`);
  if (!raw) throw new Error(`instance "${o.instance}" not found in namespace ${o.namespace}`);
  setFaults(join(p.state.instanceDir(o.namespace, o.instance), 'faults.json'), { promoteFails: !o.heal });
  return o.heal ? `${o.instance} may be promoted again` : `${o.instance} will refuse promotion (heal with --heal)`;
}

export async function partition(p: Platform, o: { instance: string; namespace: string; heal?: boolean }): Promise<string> {
  const raw = await p.store.redis.hget('pgop:pods', `${o.namespace}/${o.instance}`);
  if (!raw) throw new Error(`instance "${o.instance}" not found in namespace ${o.namespace}`);
  const file = join(p.state.instanceDir(o.namespace, o.instance), 'faults.json');
  setFaults(file, { leaseStoreCut: !o.heal });
  return o.heal ? `${o.instance} reaches the lease store again` : `${o.instance} is cut off from the lease store (heal with --heal)`;
}
