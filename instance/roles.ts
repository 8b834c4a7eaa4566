// Promotion, demotion and rejoin: the role changes an agent performs on its own data directory.
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../adapters/os/run-command.js';
import { withClient } from '../adapters/sql/connect.js';
import { readReplicationState } from '../adapters/sql/replication.js';
import type { PrimaryLease } from '../adapters/lease/primary-lease.js';
import type { Upstream } from '../machines/agent/agent.types.js';
import type { InstanceRuntime } from './runtime.js';
import type { PostgresSupervisor } from './supervisor.js';
import { SUPERUSER } from '../adapters/instance/spec.js';
import { bin, bootstrapMarker } from './layout.js';
import { readSecret, writeOwned } from './files.js';
import { cloneFromPrimary, type BootstrapProgress } from './bootstrap.js';
import { synchronousStandbyNames } from './sync.js';
import type { Logger } from '../adapters/logging/logger.js';

/** pg_promote, only with the lease in hand; records this instance as the cluster's primary. */
export async function promote(rt: InstanceRuntime, lease: PrimaryLease | null): Promise<number> {
  const spec = rt.spec();
  if (lease && !(await lease.renew(spec.name, spec.lease?.ttlMs ?? 5000))) {
    throw new Error('refusing to promote: this instance does not hold the primary lease');
  }
  // Required synchronous replication must hold from the first commit on the new primary, so the standby list is
  // in place before promotion (a standby ignores it; the promoted server applies it at once).
  if (lease) await restoreHistories(rt, lease);
  rt.syncNames = synchronousStandbyNames(spec, []);
  rt.writeConfig(true);
  await withClient(rt.superuser(), (c) => c.query('SELECT pg_reload_conf()'));
  // Promotion can take seconds (recovery finishing, the checkpoint); the lease must not lapse meanwhile, or the
  // freshly promoted server would find it gone and fence itself.
  const keep = lease ? setInterval(() => { void lease.renew(spec.name, spec.lease?.ttlMs ?? 5000).catch(() => undefined); }, spec.lease?.renewMs ?? 1000) : undefined;
  const timeline = await withClient(rt.superuser(), async (c) => {
    await c.query('SELECT pg_promote(true, 60)');
    // The control file learns the new timeline only at a checkpoint; pg_rewind against this server reads it there.
    await c.query('CHECKPOINT');
    return (await readReplicationState(c)).timeline ?? 0;
  }, 65_000).finally(() => clearInterval(keep));
  rt.writeConfig(false);
  await withClient(rt.superuser(), (c) => c.query('SELECT pg_reload_conf()'));
  if (lease) {
    await lease.recordPrimary({ name: spec.name, host: spec.host, port: spec.port, timeline, since: new Date().toISOString() });
    const file = historyFile(spec.dataDir, timeline);
    if (existsSync(file)) await lease.recordHistory(timeline, readFileSync(file, 'utf8'));
  }
  return timeline;
}

const historyFile = (dataDir: string, timeline: number) => join(dataDir, 'pg_wal', `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`);

/** Writes the timeline history files this instance never received, so promotion picks a timeline id nobody used. */
async function restoreHistories(rt: InstanceRuntime, lease: PrimaryLease): Promise<void> {
  const spec = rt.spec();
  for (const [timeline, content] of Object.entries(await lease.histories())) {
    const file = historyFile(spec.dataDir, Number(timeline));
    if (!existsSync(file)) writeOwned(file, content, rt.user);
  }
}

/** The LSN of the last checkpoint written, read from a stopped cluster's control file. */
export async function lastCheckpointLsn(rt: InstanceRuntime): Promise<string> {
  const spec = rt.spec();
  const out = await runCommand(bin(spec, 'pg_controldata'), ['-D', spec.dataDir], { user: rt.user, env: { LC_ALL: 'C' } });
  const m = /Latest checkpoint location:\s+([0-9A-F]+\/[0-9A-F]+)/.exec(out);
  if (!m?.[1]) throw new Error('pg_controldata did not report a checkpoint location');
  return m[1];
}

/** Clean demotion for a switchover: postgres is shut down (fast: a shutdown checkpoint), the lease goes to the plan. */
export async function demote(rt: InstanceRuntime, supervisor: PostgresSupervisor, lease: PrimaryLease | null, handoverTo: string): Promise<string> {
  await supervisor.stop('fast');
  const lsn = await lastCheckpointLsn(rt);
  const spec = rt.spec();
  if (lease && handoverTo) {
    const ok = await lease.handover(spec.name, { holder: handoverTo, host: '', port: 0 }, spec.lease?.ttlMs ?? 5000);
    if (!ok) throw new Error(`could not hand the lease to ${handoverTo}: this instance no longer holds it`);
  }
  return lsn;
}

/** Becomes a replica of `upstream`: pg_rewind (it runs crash recovery first when needed), else a fresh clone. */
export async function rejoin(rt: InstanceRuntime, upstream: Upstream, log: Logger, progress: (p: BootstrapProgress) => void, signal?: AbortSignal): Promise<void> {
  rt.follow(upstream);
  const spec = rt.spec();
  const source = `host=${upstream.host} port=${upstream.port} user=${SUPERUSER} dbname=postgres connect_timeout=5`;
  progress({ step: 'pg_rewind', percent: null });
  try {
    // pg_rewind compares timelines from the control files; a freshly promoted source must have checkpointed.
    await withClient({ host: upstream.host, port: upstream.port, user: SUPERUSER, password: readSecret(spec.secrets.superuser) }, (c) => c.query('CHECKPOINT'), 30_000);
    await runCommand(bin(spec, 'pg_rewind'), ['-D', spec.dataDir, `--source-server=${source}`, '--progress'], {
      user: rt.user, env: { PGPASSWORD: readSecret(spec.secrets.superuser), LC_ALL: 'C' }, ...(signal ? { signal } : {}),
    });
    rt.writeConfig(true);
    log.info({ upstream: upstream.name }, 'rejoined with pg_rewind');
  } catch (e) {
    log.warn({ upstream: upstream.name, err: (e as Error).message }, 'pg_rewind failed; cloning afresh');
    await cloneFromPrimary({ ...spec, bootstrap: { mode: 'clone', source: { host: upstream.host, port: upstream.port } } }, rt.user, progress, signal);
  }
  writeFileSync(bootstrapMarker(spec), new Date().toISOString());
}
