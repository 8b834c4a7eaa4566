// Promotion, demotion and rejoin: the role changes an agent performs on its own data directory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../adapters/os/run-command.js';
import { withClient } from '../adapters/sql/connect.js';
import { ensurePhysicalSlot, readReplicationState } from '../adapters/sql/replication.js';
import type { PrimaryLease } from '../adapters/lease/primary-lease.js';
import type { TimelineHistories } from '../adapters/lease/timeline-histories.js';
import type { Upstream } from '../machines/agent/agent.types.js';
import { peerTls, type InstanceRuntime } from './runtime.js';
import { peerTarget, renderConninfo } from './render.js';
import type { PostgresSupervisor } from './supervisor.js';
import { SUPERUSER, slotNameFor } from '../adapters/instance/spec.js';
import { bin } from './layout.js';
import { beginRewrite, markBootstrapped } from './markers.js';
import { readSecret, writeOwned } from './files.js';
import { cloneFromPrimary, type BootstrapProgress } from './bootstrap.js';
import { synchronousStandbyNames } from './sync.js';
import type { Logger } from '../adapters/logging/logger.js';

/** How often promotion looks whether recovery has ended (pg_promote(wait) polls only every 100 ms). */
const PROMOTED_POLL_MS = 10;
/**
 * At these polls (≈ 30 ms, 100 ms, 300 ms; then every second) the startup process is woken again, in case it sleeps
 * between WAL retrieval attempts: once is enough, a few times in case a wake came before the sleep began.
 */
const WAKE_AT_POLLS = [3, 10, 30];
const PROMOTE_TIMEOUT_MS = 60_000;

/**
 * pg_promote, only with the lease in hand; records this instance as the cluster's primary. Everything between the
 * promote request and the answer is on the failover's critical path, so it runs on one connection and leaves out
 * what can wait: the checkpoint that stamps the new timeline into the control file is `checkpointAfterPromotion`,
 * started once this has answered (pg_rewind against this server runs its own CHECKPOINT first, see `rejoin`).
 */
export async function promote(rt: InstanceRuntime, lease: PrimaryLease | null, histories: TimelineHistories | null): Promise<number> {
  const spec = rt.spec();
  if (lease && !(await lease.renew(spec.name, spec.lease?.ttlMs ?? 5000))) {
    throw new Error('refusing to promote: this instance does not hold the primary lease');
  }
  if (histories) await restoreHistories(rt, histories);
  // Required synchronous replication must hold from the first commit on the new primary. A standby already runs
  // with the list it would enforce (InstanceRuntime.writeConfig), so its checkpointer applied it long ago; the
  // reload here only catches a member change of the last moment.
  rt.syncNames = synchronousStandbyNames(spec, []);
  rt.writeConfig(true);
  // Promotion can take seconds (recovery finishing); the lease must not lapse meanwhile, or the freshly promoted
  // server would find it gone and fence itself.
  const keep = lease ? setInterval(() => { void lease.renew(spec.name, spec.lease?.ttlMs ?? 5000).catch(() => undefined); }, spec.lease?.renewMs ?? 1000) : undefined;
  const timeline = await withClient(rt.superuser(), async (c) => {
    await c.query('SELECT pg_reload_conf()');
    await c.query('SELECT pg_promote(false)');
    // A standby whose primary just vanished notices the promote request, then still sleeps out
    // wal_retrieve_retry_interval (since its last failed connection) before it ends recovery: up to 1 s. A SIGHUP
    // wakes the startup process from that sleep (StartupProcSigHupHandler sets its latch); reloading an unchanged
    // configuration does nothing else. Sent at once and a few times more while waiting (not every poll: a long
    // replay would fill the log with reloads).
    await c.query('SELECT pg_reload_conf()');
    // Meanwhile the other members' slots (a standby may create physical slots; they survive its promotion), so
    // they exist before anyone is pointed here: a standby that connects with a slot name the server lacks gives up
    // and retries only after wal_retrieve_retry_interval. The plan ensures them again, so a failure only costs time.
    for (const m of spec.members) if (m !== spec.name) await ensurePhysicalSlot(c, slotNameFor(m)).catch(() => undefined);
    const deadline = Date.now() + PROMOTE_TIMEOUT_MS;
    for (let i = 1; (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r; i++) {
      if (Date.now() > deadline) throw new Error(`promotion did not finish within ${PROMOTE_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, PROMOTED_POLL_MS));
      if (WAKE_AT_POLLS.includes(i) || i % 100 === 0) await c.query('SELECT pg_reload_conf()');
    }
    rt.writeConfig(false);
    await c.query('SELECT pg_reload_conf()');
    return (await readReplicationState(c)).timeline ?? 0;
  }, PROMOTE_TIMEOUT_MS + 5000).finally(() => clearInterval(keep));
  rt.promotedTimeline = timeline;
  if (lease) await lease.recordPrimary({ name: spec.name, host: spec.host, port: spec.port, timeline, since: new Date().toISOString() });
  const file = historyFile(spec.dataDir, timeline);
  if (histories && existsSync(file)) await histories.record(timeline, readFileSync(file, 'utf8'));
  return timeline;
}

/** Short: a replica whose primary does not answer (mid-failover) reports ready without this check. */
const SLOT_CHECK_TIMEOUT_MS = 1500;

/**
 * A replica's own slot on the primary it follows (ADR 0047), ensured from the replica's side; true when it was
 * missing. The primary and the failover plan create every member's slot, but a replica that starts without one (seen
 * on Kubernetes after a failover during which it was fenced) would retry "replication slot does not exist" forever. Creating a missing physical slot is idempotent;
 * a member being removed is stopped before its slot is dropped, so this never brings a removed member's slot back.
 */
export async function ensureOwnSlot(rt: InstanceRuntime): Promise<boolean> {
  const spec = rt.spec();
  if (!spec.primary) return false;
  const endpoint = { host: spec.primary.host, port: spec.primary.port, user: SUPERUSER, password: readSecret(spec.secrets.superuser), tls: peerTls(spec) };
  return withClient(endpoint, (c) => ensurePhysicalSlot(c, spec.replicationSlot), SLOT_CHECK_TIMEOUT_MS);
}

/**
 * The checkpoint after promotion, off the critical path: the control file learns the new timeline only at a
 * checkpoint, and the end-of-recovery one PostgreSQL requests itself is spread out. Nothing waits on it: `rejoin`
 * checkpoints its source before pg_rewind.
 */
export async function checkpointAfterPromotion(rt: InstanceRuntime): Promise<void> {
  await withClient(rt.superuser(), (c) => c.query('CHECKPOINT'), 60_000);
}

const historyFile = (dataDir: string, timeline: number) => join(dataDir, 'pg_wal', `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`);

/** Writes the timeline history files this instance never received, so promotion picks a timeline id nobody used. */
async function restoreHistories(rt: InstanceRuntime, histories: TimelineHistories): Promise<void> {
  const spec = rt.spec();
  for (const [timeline, content] of Object.entries(await histories.all())) {
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
  const source = renderConninfo([...peerTarget(spec, upstream), ['user', SUPERUSER], ['dbname', 'postgres'], ['connect_timeout', '5']]);
  progress({ step: 'pg_rewind', percent: null });
  // From here the directory may be half-rewritten: a crash must lead to a fresh clone, not to starting it.
  beginRewrite(spec, upstream);
  try {
    // pg_rewind compares timelines from the control files; a freshly promoted source must have checkpointed.
    await withClient({ host: upstream.host, port: upstream.port, user: SUPERUSER, password: readSecret(spec.secrets.superuser), tls: peerTls(spec) }, (c) => c.query('CHECKPOINT'), 30_000);
    await runCommand(bin(spec, 'pg_rewind'), ['-D', spec.dataDir, `--source-server=${source}`, '--progress'], {
      user: rt.user, env: { PGPASSWORD: readSecret(spec.secrets.superuser), LC_ALL: 'C', HOME: spec.runDir }, ...(signal ? { signal } : {}),
    });
    rt.writeConfig(true);
    log.info({ upstream: upstream.name }, 'rejoined with pg_rewind');
  } catch (e) {
    log.warn({ upstream: upstream.name, err: (e as Error).message }, 'pg_rewind failed; cloning afresh');
    await cloneFromPrimary({ ...spec, bootstrap: { mode: 'clone', source: { host: upstream.host, port: upstream.port } } }, rt.user, progress, signal);
  }
  markBootstrapped(spec);
}
