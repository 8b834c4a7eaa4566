// pgop on the local platform as a benchmark system.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../../tests/helpers/cli.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { System } from './trial.js';

/** `stonith: false` starts the operator with platform fencing switched off, to measure what is left without it. */
export async function startPgop(mode: 'async' | 'required', stonith = true): Promise<System & { stop(): Promise<void> }> {
  const dir = stateDir(`pgop-bench-${mode}-`);
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, [
    'apiVersion: postgres.keiailab.io/v1alpha1', 'kind: PostgresCluster', 'metadata:', '  name: bench', 'spec:', '  instances: 3',
    ...(mode === 'required' ? ['  postgresql:', '    synchronous:', '      method: any', '      number: 1', '      dataDurability: required'] : []), '',
  ].join('\n'));
  const c = new LocalCluster(dir, 'bench');
  // The operator daemon inherits the environment of `local up`.
  if (!stonith) process.env.PGOP_LOCAL_STONITH = 'off';
  try { await c.ok(['local', 'up', '-f', file, '--wait', '--timeout', '300']); } finally { delete process.env.PGOP_LOCAL_STONITH; }
  const get = () => c.get();
  return {
    name: stonith ? `pgop (${mode})` : `pgop no STONITH (${mode})`,
    rwUri: () => c.uri('primary'),
    primary: async () => (await get()).status?.currentPrimary ?? '',
    killPrimary: async () => c.ok(['local', 'kill', (await get()).status?.currentPrimary ?? '']),
    pause: async (instance, ms) => {
      // The whole instance (agent, postmaster, every backend), thawed exactly `ms` later by the same process.
      await c.ok(['local', 'kill', instance, '--signal', 'STOP', '--for', String(ms / 1000)]);
    },
    portOf: async (instance) => c.instanceSpec(instance).port,
    // The agent's drill switch: cut from the lease store only; clients still reach its PostgreSQL.
    partition: async (instance) => { await c.ok(['local', 'partition', instance]); },
    heal: async (instance) => { await c.ok(['local', 'partition', instance, '--heal']); },
    waitHealthy: async (timeoutMs) => {
      await c.waitFor('all ready', (x: PostgresCluster) => x.status?.phase === 'Ready' && (x.status.instances ?? []).every((i) => i.ready), timeoutMs);
    },
    describeFailover: async (faultAt) => {
      const f = (await get()).status?.failovers?.filter((x) => x.kind === 'failover' && Date.parse(x.startedAt) > faultAt).at(-1);
      if (!f) return null;
      const off = (iso: string) => `+${((Date.parse(iso) - faultAt) / 1000).toFixed(2)} s`;
      return [`plan started ${off(f.startedAt)}`, ...f.steps.map((s) => `${s.step} ${off(s.at)}`)].join(', ');
    },
    stop: () => c.down(),
  };
}
